"""How fast `workbook check` feels: median wall time of 10 runs each of
`python -m workbook check NN` (practice, fails as shipped) and `... --solution` (passes),
for every exercise or the ones named.

    python benchmarks/check_speed.py [runs] [NN ...]
"""

import sys

from timing import PYTHON, quiet_env, report, time_command

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
numbers = sys.argv[2:] or ["01", "02", "03"]
env = quiet_env()
for number in numbers:
    for extra in ([], ["--solution"]):
        label = " ".join(["workbook check", number, *extra])
        report(label, time_command([PYTHON, "-m", "workbook", "check", number, *extra], runs, env))
