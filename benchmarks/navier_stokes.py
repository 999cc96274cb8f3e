"""Navier–Stokes benchmarks (issue 18), one ``pinnsight train`` run per case, recorded by benchmarks/run_row.py in
benchmarks/results/navier_stokes.jsonl (a label already there is skipped):

- Kovasznay flow at Re = 20 (steady, exact), forward: rel L2 of u, v, p.
- Lid-driven cavity at Re = 100 (steady; finite-element reference), forward: rel L2 of u, v, p and of the speed
  |(u, v)| (``speed_rel_l2``: the figure Wang, Teng & Perdikaris 2021 report, plain PINN 2.71e-1, learning-rate
  annealing + modified MLP 3.42e-2, in stream-function form).
- Taylor–Green vortex (ν = 0.1, exact), ν identified from 1000 velocity samples (u, v) with 1 % noise, started at
  ν = 0.02; ν also sets the face data (``value(x, y, t, c)``), so its gradient comes through them too.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/navier_stokes.py [--only LABEL]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run_row  # noqa: E402

JSONL = Path(__file__).resolve().parent / "results" / "navier_stokes.jsonl"
TG_DATA = Path("runs/rows/taylor_green_1000.npz")
COMMON = ["--log-every", "100", "--eval-every", "1000", "--no-progress"]
CASES = {
    "kovasznay-f32": ["kovasznay", "--points", "res=2000", "--optimizer", "adam:steps=5000", "--optimizer",
                      "lbfgs:steps=5000"],
    "kovasznay-f64": ["kovasznay", "--x64", "--points", "res=2000", "--optimizer", "adam:steps=3000", "--optimizer",
                      "lbfgs:steps=10000"],
    "cavity-f32": ["cavity", "--points", "res=2000", "--optimizer", "adam:steps=5000", "--optimizer",
                   "lbfgs:steps=5000"],
    "cavity-lra-mmlp-f32": ["cavity", "--model", "modified-mlp", "--remedy", "lra", "--points", "res=2000",
                            "--optimizer", "adam:steps=5000", "--optimizer", "lbfgs:steps=5000"],
    "cavity-lra1-mmlp-f32": ["cavity", "--model", "modified-mlp", "--remedy", "lra:weighted=1", "--points",
                             "res=2000", "--optimizer", "adam:steps=5000", "--optimizer", "lbfgs:steps=5000"],
    "cavity-f64-ng": ["cavity", "--x64", "--points", "res=2000", "--optimizer", "adam:steps=3000", "--optimizer",
                      "lbfgs:steps=3000", "--optimizer", "natural-gradient:steps=50"],
    "taylor-green-nu-id": ["taylor-green", "--unknown", "nu=0.02:truth=0.1", "--data", str(TG_DATA), "--noise",
                           "0.01", "--points", "res=2000", "--optimizer", "adam:steps=5000", "--optimizer",
                           "lbfgs:steps=3000"],
}


def write_velocity_samples(n: int = 1000, seed: int = 0) -> None:
    """``n`` uniform points of the Taylor–Green box with the exact u and v (ν = 0.1)."""
    from pinnsight.problems.navier_stokes import taylor_green_exact

    rng = np.random.default_rng(seed)
    x, y, t = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 1, n)
    exact = taylor_green_exact(x, y, t, 0.1)
    TG_DATA.parent.mkdir(parents=True, exist_ok=True)
    np.savez(TG_DATA, x=x, y=y, t=t, u=np.asarray(exact["u"]), v=np.asarray(exact["v"]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    write_velocity_samples()
    return run_row.run_cases(JSONL, CASES, COMMON, args.only)


if __name__ == "__main__":
    sys.exit(main())
