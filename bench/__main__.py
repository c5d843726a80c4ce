"""Every benchmark, one after the other, with the same options:

    .venv/bin/python -m bench [--db postgresql] [--quick] [--app-dir /tmp/before]

Exit status 1 when any target failed (each benchmark prints its own PASS/FAIL lines).
"""

import subprocess
import sys

from bench.common import PYTHON, REPO

BENCHMARKS = ("webhooks", "hung_database", "signins", "notifications")

if __name__ == "__main__":
    failed = []
    for name in BENCHMARKS:
        done = subprocess.run(
            [PYTHON, "-m", f"bench.{name}", *sys.argv[1:]], cwd=REPO, timeout=3600
        )
        if done.returncode:
            failed.append(name)
        print(flush=True)
    print(f"== targets failed in: {', '.join(failed)}" if failed else "== every target met")
    sys.exit(1 if failed else 0)
