"""Re-execute every notebook in notebooks/ in place (what `make notebooks` runs).

Each notebook runs in a fresh kernel with PYTHONHASHSEED=0, its folder as the working
directory (as under nbval and in Jupyter), with no timing metadata recorded, so that a
re-run changes no stored text output but that of cells tagged nbval-ignore-output. A
notebook saved by someone else while it ran is not overwritten. It prints each
notebook's wall time and peak memory (the largest resident set of the kernel or its
driver, from getrusage of one child process per notebook) and fails past the budget:
<= 30 s and <= 1.5 GB per notebook, <= 240 s for all of them. A chapter whose conclusions
rest on training several seeds declares so in its notebook metadata,
``"companion": {"trains_seeds": "<what it trains>"}``, and gets 45 s.

    python scripts/execute_notebooks.py [notebooks/01_x.ipynb ...]
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PER_NOTEBOOK_S, TRAINING_S, TOTAL_S, PEAK_MB = 30.0, 45.0, 240.0, 1536.0


def budget(path):
    """The notebook's time budget: 45 s where its metadata says it trains several seeds."""
    import json
    meta = json.loads(Path(path).read_text()).get("metadata", {}).get("companion", {})
    return TRAINING_S if meta.get("trains_seeds") else PER_NOTEBOOK_S

# One child process per notebook, so that its peak memory is its own.
# The notebook is written back only if nobody saved it meanwhile (exit 3 otherwise).
CHILD = r"""
import os, sys, nbformat
from pathlib import Path
from nbclient import NotebookClient
path = sys.argv[1]
before = os.stat(path).st_mtime_ns
nb = nbformat.read(path, as_version=4)
nb.metadata.pop("widgets", None)
# store_widget_state=False: the widgets carry their own static HTML; saving the live state
# would add ~170 KB of random-id metadata to a notebook on every run.
NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False, store_widget_state=False,
               resources={"metadata": {"path": str(Path(path).resolve().parent)}}).execute()
if os.stat(path).st_mtime_ns != before:
    print(f"{path}: changed on disk while it ran; not overwritten, run it again", file=sys.stderr)
    sys.exit(3)
nbformat.write(nb, path)
"""


def run(path):
    # the same environment as nbval in `make test` (PYTHONHASHSEED=0 comes from the Makefile too)
    env = dict(os.environ, PYTHONHASHSEED="0")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    # ru_maxrss of the child covers its own waited-for children (the kernel) too.
    return os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024.0


def main(argv):
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    failures, total = [], 0.0
    for path in paths:
        limit = budget(path)
        rc, wall, peak = run(path)
        total += wall
        rel = path.resolve()
        rel = rel.relative_to(ROOT) if ROOT in rel.parents else rel
        print(f"{rel}: {wall:.1f} s, peak {peak:.0f} MB" + ("" if rc == 0 else
              "  NOT WRITTEN (changed meanwhile)" if rc == 3 else f"  FAILED (exit {rc})"),
              flush=True)
        if rc != 0:
            failures.append(f"{rel}: " + ("changed on disk while it ran, not written" if rc == 3
                                          else "execution failed"))
        if wall > limit:
            failures.append(f"{rel}: {wall:.1f} s > budget {limit:.0f} s")
        if peak > PEAK_MB:
            failures.append(f"{rel}: peak {peak:.0f} MB > budget {PEAK_MB:.0f} MB")
    print(f"all {len(paths)} notebooks: {total:.1f} s")
    if total > TOTAL_S:
        failures.append(f"all notebooks: {total:.1f} s > budget {TOTAL_S:.0f} s")
    for f in failures:
        print("error:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
