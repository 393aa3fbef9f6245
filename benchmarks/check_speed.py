"""How fast `workbook check` feels: median wall time of 10 runs each of
`python -m workbook check 03` (practice, fails) and `... --solution` (passes).

    python benchmarks/check_speed.py [runs]
"""

import sys

from timing import PYTHON, quiet_env, report, time_command

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
env = quiet_env()
report("workbook check 03", time_command([PYTHON, "-m", "workbook", "check", "03"], runs, env))
report("workbook check 03 --solution",
       time_command([PYTHON, "-m", "workbook", "check", "03", "--solution"], runs, env))  # fmt: skip
