"""Median wall time of `python -m workbook run 03`, which starts (and stops) its own
embedded dev server when nothing answers on localhost:7233.

    python benchmarks/run_speed.py [runs]
"""

import sys

from timing import PYTHON, quiet_env, report, time_command

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
report("workbook run 03", time_command([PYTHON, "-m", "workbook", "run", "03"], runs, quiet_env()))
