"""BLAS threads against XLA's (issue 20, item 7): one Levenberg–Marquardt phase (convection β = 10, float64, 3 × 30,
1000 residual points, 60 iterations) run as a new user would — no environment variable set, pinnsight's default
(one BLAS thread, ``pinnsight.threads``) — and with ``OPENBLAS_NUM_THREADS=2`` (what OpenBLAS takes on 2 cores when
nothing limits it), while another job shares the machine (a NumPy matrix-product loop started here, unless
``--no-load``). Rows in benchmarks/results/threads.jsonl (a label already there is skipped).

    python3 benchmarks/threads.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run_row  # noqa: E402

JSONL = Path(__file__).resolve().parent / "results" / "threads.jsonl"
CASE = ["convection", "-p", "beta=10", "--x64", "--model", "mlp:width=30,depth=3", "--points", "res=1000",
        "--optimizer", "adam:steps=10", "--optimizer", "gauss-newton:steps=60", "--no-progress"]
LOAD = "import numpy as np\na = np.random.rand(400, 400)\nwhile True:\n    a = np.tanh(a @ a)"
ROWS = {"lm-blas-2": "2", "lm-blas-default": None}


def main() -> int:
    other = None if "--no-load" in sys.argv else subprocess.Popen(
        [sys.executable, "-c", LOAD], env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    try:
        for label, threads in ROWS.items():
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
            if threads is not None:
                os.environ["OPENBLAS_NUM_THREADS"] = threads
            code = run_row.main(["--jsonl", str(JSONL), "--label", label, "--", *CASE])
            if code:
                return code
    finally:
        if other is not None:
            other.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
