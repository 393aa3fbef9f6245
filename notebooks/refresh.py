"""Re-run every notebook and store its real outputs (after changing what they print).

    python notebooks/refresh.py [NN ...]     (every notebook, or those numbered NN)

nbval compares the stored outputs with a fresh run, so a change to the audit, the
timeline or a starter's wording needs this. Per-cell timing metadata is dropped to keep
diffs small.
"""

import json
import subprocess
import sys
from pathlib import Path

wanted = sys.argv[1:]
for notebook in sorted(Path(__file__).parent.glob("*.ipynb")):
    if wanted and notebook.name[:2] not in wanted:
        continue
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace", str(notebook)],
        check=True,
    )
    content = json.loads(notebook.read_text())
    for cell in content["cells"]:
        cell.get("metadata", {}).pop("execution", None)
    notebook.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")
