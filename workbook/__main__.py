"""`python -m workbook`: see workbook/cli.py."""

from workbook.cli import main

if __name__ == "__main__":
    main()
