"""How often an entry script exits cleanly: run `original/pre_temporal.py` N times
(default 200) and count exit statuses. Clean means its own status (1: it orphans on
purpose), never a crash in interpreter shutdown (134, 139, or a negative signal).

    python benchmarks/clean_exits.py [runs] [script]
"""

import collections
import sys

from timing import PYTHON, REPO_ROOT, quiet_env, time_command

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
script = sys.argv[2] if len(sys.argv) > 2 else "original/pre_temporal.py"
results = time_command([PYTHON, str(REPO_ROOT / script)], runs, quiet_env())
codes = collections.Counter(code for _, code in results)
clean = codes[1] + codes[0]
print(f"{script}: {clean} of {runs} runs exited cleanly; exit statuses {dict(codes)}")
