"""`python -m workbook`: see workbook/cli.py."""

import sys

try:
    from workbook.cli import main
except ModuleNotFoundError as missing:  # a terminal without the virtual environment
    if (missing.name or "").startswith("workbook"):
        raise  # a bug of ours, not a missing install
    # Python finds this folder from the repository's root, but not the packages that
    # requirements.txt installed into .venv: say what to do in one line, not a traceback.
    sys.exit(
        f"python -m workbook: the package {missing.name!r} is not installed for this Python "
        f"({sys.executable}). Activate the workbook's virtual environment first: "
        ". .venv/bin/activate (Windows: .venv\\Scripts\\activate), from the repository's root."
    )

if __name__ == "__main__":
    main()
