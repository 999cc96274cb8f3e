"""Identification benchmarks (issue 18), one ``pinnsight train`` run per case, recorded by benchmarks/run_row.py in
benchmarks/results/identification.jsonl (a label already there is skipped):

- Burgers (Raissi, Perdikaris & Karniadakis 2019, Sec. 4.1.1): λ₁ and λ₂ of u_t + λ₁ u u_x − λ₂ u_xx = 0 (truth 1
  and 0.01/π) from 2000 random samples of the reference solution, clean and with 1 % Gaussian noise; the initial
  and boundary terms are weighted 0 (the paper fits data and residual only).
- Reaction–diffusion as an inverse problem (the seeds' failure case turned inverse): ν and ρ (truth 3 and 5) from
  500 samples with 1 % noise, started at 1 and 1; fixed weights, inverse-Dirichlet and learning-rate annealing,
  each trained on all terms together and sequentially as Maddu et al. (2022) do (2000 Adam steps on the data term
  alone, ``adam:steps=2000,terms=data``, then all terms).

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/identification.py [--only LABEL]

Samples are drawn (seed 0) from the package's own references on their grids and written under runs/rows/.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run_row  # noqa: E402

JSONL = Path(__file__).resolve().parent / "results" / "identification.jsonl"
DATA = Path("runs/rows/burgers_2000.npz")
RD_DATA = Path("runs/rows/rd_500.npz")
NU = 0.01 / math.pi
COMMON = ["--unknown", "lambda1=0:truth=1", "--unknown", f"nu=0.0025:truth={NU!r}", "--data", str(DATA),
          "--weight", "ic=0", "--weight", "bc=0", "--points", "res=2000", "--log-every", "100",
          "--eval-every", "1000", "--no-progress"]
CASES = {
    "burgers-id-clean-f32": ["--optimizer", "adam:steps=5000", "--optimizer", "lbfgs:steps=5000"],
    "burgers-id-noise1-f32": ["--optimizer", "adam:steps=5000", "--optimizer", "lbfgs:steps=5000", "--noise",
                              "0.01"],
    "burgers-id-clean-f64": ["--x64", "--optimizer", "adam:steps=3000", "--optimizer", "lbfgs:steps=10000"],
    "burgers-id-clean-f64-ng": ["--x64", "--optimizer", "adam:steps=3000", "--optimizer", "lbfgs:steps=5000",
                                "--optimizer", "natural-gradient:steps=100"],
    "burgers-id-noise1-f64": ["--x64", "--optimizer", "adam:steps=3000", "--optimizer", "lbfgs:steps=10000",
                              "--noise", "0.01"],
}
RD = ["reaction-diffusion", "--unknown", "nu=1:truth=3", "--unknown", "rho=1:truth=5", "--data", str(RD_DATA),
      "--noise", "0.01", "--log-every", "100", "--eval-every", "1000", "--no-progress"]
TOGETHER = ["--optimizer", "adam:steps=5000", "--optimizer", "lbfgs:steps=2000"]
#: Maddu et al. (2022)'s sequential training: the data alone first, then physics and data
SEQUENTIAL = ["--optimizer", "adam:steps=2000,terms=data", *TOGETHER]
RD_CASES = {
    "rd-inverse-fixed": TOGETHER,
    "rd-inverse-inverse-dirichlet": [*TOGETHER, "--remedy", "inverse-dirichlet"],
    "rd-inverse-lra": [*TOGETHER, "--remedy", "lra"],
    "rd-sequential-fixed": SEQUENTIAL,
    "rd-sequential-inverse-dirichlet": [*SEQUENTIAL, "--remedy", "inverse-dirichlet"],
    "rd-sequential-lra": [*SEQUENTIAL, "--remedy", "lra"],
}


def write_samples(problem: str, path: Path, n: int, seed: int = 0) -> None:
    from pinnsight.problems import make_problem

    ref = make_problem(problem).reference_solution()
    pts, vals = ref.points(), ref.values.ravel()
    idx = np.random.default_rng(seed).choice(len(pts), n, replace=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=pts[idx, 0], t=pts[idx, 1], u=vals[idx])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    write_samples("burgers", DATA, 2000)
    write_samples("reaction-diffusion", RD_DATA, 500)
    runs = {**{k: ["burgers", *COMMON, *v] for k, v in CASES.items()}, **{k: [*RD, *v] for k, v in RD_CASES.items()}}
    for label, args_ in runs.items():
        if args.only and label != args.only:
            continue
        run_row.main(["--jsonl", str(JSONL), "--label", label, "--", *args_])
    return 0


if __name__ == "__main__":
    sys.exit(main())
