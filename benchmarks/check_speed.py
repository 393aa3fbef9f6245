"""How fast `workbook check` feels: median wall time of 10 runs each of
`python -m workbook check NN` (practice, fails as shipped) and `... --solution` (passes),
for the exercises named (01-03 by default).

    python benchmarks/check_speed.py [runs] [NN ...]
    python benchmarks/check_speed.py 7 04 05 06
    python benchmarks/check_speed.py 5 11      # exercise 11: target a median of at most 3 s
    python benchmarks/check_speed.py 5 13      # exercise 13: target a median of at most 5 s (issue 20)
    python benchmarks/check_speed.py 10 12     # exercise 12: target a median of at most 3 s
"""

import argparse

from timing import PYTHON, quiet_env, report, time_command

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("runs", nargs="?", type=int, default=10, help="runs of each command (default 10)")
parser.add_argument("numbers", nargs="*", default=["01", "02", "03"], metavar="NN", help="exercises (default 01 02 03)")
args = parser.parse_args()
env = quiet_env()
for number in args.numbers:
    for extra in ([], ["--solution"]):
        label = " ".join(["workbook check", number, *extra])
        report(label, time_command([PYTHON, "-m", "workbook", "check", number, *extra], args.runs, env))
