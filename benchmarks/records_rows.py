"""Record attempts trained outside the ``records`` suite (issue 20), one ``pinnsight train`` run per case, recorded
by benchmarks/run_row.py in benchmarks/results/records.jsonl (a label already there is skipped); rendered in
docs/benchmarks.md ("Accuracy records") with the error at 10 / 20 / 30 minutes from each run's history.

- burgers-rad500-ssb24k-sN: Burgers, 10 000 points resampled by RAD every 500 iterations inside SSBroyden 24 000.
- helmholtz-rad500-ssb8k-s0 / -ssb16k-sN: Helmholtz (1, 4), the same levers on 4000 points, SSBroyden 8000 / 16 000
  (the -ssb16k-s0 row was the records suite's run of the same configuration, recorded with run_row --run-dir).
- reaction5-rad500-ssb8k-s0: reaction ρ = 5, the same levers on a periodic 3 × 30 network.
- allen-cahn-seq2seq4-ssb3k-s0 / -ssb6k-s0: Allen–Cahn, the KdV recipe's marching (4 windows of Adam 1000 +
  SSBroyden 3000 / 6000).
- kdv-seq2seq4-ssb6k-sN: KdV, 4 seq2seq windows of Adam 1000 + SSBroyden 6000 (the suite's case has 3000).
- convection50-seq2seq5-ssb4k-sN: convection β = 50, the same marching (5 windows of Adam 1000 + SSBroyden 4000,
  IC weight 100) on a periodic 3 × 30 network — the lever the LM curriculum (3.5e-4) did not use.
- convection50-seq2seq5-ssb6k-sN: the same with SSBroyden 6000 per window (recipes/convection-record.toml).
- allen-cahn-seq2seq4-ssb6k-ic2048-s0: allen-cahn-seq2seq4-ssb6k-s0 with 2048 initial points (512 before): its
  u0 = x² cos πx jumps in slope across x = ±1, which a periodic network can only approach by a sharp turn near the
  seam; that row's error was 2.2e-3 there at t = 0, between the random initial points, and 1e-7 in the middle.
- allen-cahn-seq2seq4-rad500-ssb6k-s0: allen-cahn-seq2seq4-ssb6k-s0 with RAD every 500 iterations in each window
  (points move to the seam at early times, where that row's error sat; more initial points made it worse).
- reaction5-mlp-rad500-ssb8k-sN: reaction ρ = 5 as reaction5-rad500-ssb8k-s0 but on a plain 3 × 30 network with the
  periodic penalty: the Gaussian u0 is periodic in value, not in slope (a jump of 3.4e-3 at the seam, amplified
  e^ρ-fold), which the exact periodic embedding cannot represent — that row's error sits at x = 0, 2π.
- allen-cahn-{mlp,h8,rba-all,edges}-seq2seq4-ssb6k-s0: allen-cahn-seq2seq4-ssb6k-s0 on a plain 3 × 30 (the
  periodic penalty), with 8 harmonics, with residual-based attention on every term, and with a short first window
  (edges 0.1 / 0.4 / 0.7): levers aimed at the seam layer of the first window, where that row's error sat.
- allen-cahn-seq2seq4-ssb6k-s1 / -s2: the record recipe (recipes/allen-cahn-record.toml) on seeds 1 and 2.
- allen-cahn-h8-rba-all-seq2seq4-ssb6k-s0: the two best levers above together (8 harmonics and attention on every
  term).
- allen-cahn-root-seq2seq4-ssb6k-sN: the record recipe with a √t input (``root_time=1``): 83–87 % of the rows
  above's squared error sits in the one grid column at the seam, where the kink's vertex rises like √t
  (u + 1 = 0, 1.6e-3, 2.1e-3, 3.1e-3 at t = 0, 0.005, 0.01, 0.05), which a network smooth in t follows only
  from above (the rounded t = 0 fit) or below (the fits that pin t = 0: the plain network, 2048 initial points).
- burgers-sym-rad500-ssb24k-sN / allen-cahn-sym-root-seq2seq4-ssb6k-sN: the Burgers record recipe and the
  Allen–Cahn √t recipe with the problem's mirror symmetry built into the network (``--symmetric``: Burgers odd in
  x, its shock at x = 0 by construction; Allen–Cahn even, its seam kink centred on x = ±1), on half the residual
  points — the symmetric network evaluates itself twice per point, and each point stands for its mirror image too,
  so the cost per iteration and the density of points on the folded domain are those of the rows without it.

- allen-cahn-sym-root-uni500-seq2seq4-ssb6k-sN: the symmetric √t row with its residual points redrawn uniformly every
  500 iterations (``rad:every=500,k=0``, the quasi-Newton state kept): on seed 0 without it, 89 % of the squared
  error sat in the seam column, a dip of width ≈ 0.002 at x = ±1 whose PDE residual (1e-3, against ≤ 1e-5 elsewhere)
  no residual point saw — the network had grown it between fixed points.
- allen-cahn-seam-root-seq2seq4-ssb6k-sN / allen-cahn-seam-seq2seq4-ssb6k-sN: the √t record recipe (and the same
  without the √t input) with the seam-kink input (``seam=1e-4``, the diffusivity ε²): the heat-smoothed distance to
  the seam, g = E|d + σZ|, σ² = 2ε²t, so that u0's V at x = ±1 and its rounding by diffusion are one feature's
  multiple, not a sharp turn of a smooth network.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/records_rows.py --only LABEL
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run_row  # noqa: E402

JSONL = Path(__file__).resolve().parent / "results" / "records.jsonl"
COMMON = ["--x64", "--eval-every", "1000", "--no-progress"]
BURGERS = ["burgers", "--model", "mlp:width=30,depth=3", "--points", "res=10000", "--optimizer", "adam:steps=2000",
           "--optimizer", "ssbroyden:steps=24000", "--remedy", "rad:every=500"]
REACTION = ["reaction", "-p", "rho=5", "--model", "mlp:width=30,depth=3", "--points", "res=4000", "--optimizer",
            "adam:steps=2000", "--optimizer", "ssbroyden:steps=8000", "--remedy", "rad:every=500"]
CONVECTION = ["convection", "-p", "beta=50", "--model", "periodic:width=30,depth=3", "--points", "res=4000", "--weight",
              "ic=100", "--remedy", "seq2seq:windows=5", "--optimizer", "adam:steps=1000", "--optimizer",
              "ssbroyden:steps=4000"]
HELMHOLTZ = ["helmholtz", "--model", "mlp:width=30,depth=3", "--points", "res=4000", "--optimizer", "adam:steps=2000",
             "--optimizer", "ssbroyden:steps=16000", "--remedy", "rad:every=500"]
KDV = ["kdv", "--model", "periodic:width=30,depth=3,harmonics=3", "--points", "res=4000", "--remedy",
       "seq2seq:windows=4", "--optimizer", "adam:steps=1000", "--optimizer", "ssbroyden:steps=6000"]
ALLEN_CAHN = ["allen-cahn", "--model", "periodic:width=30,depth=3,harmonics=3", "--points", "res=4000", "--weight",
              "ic=100", "--remedy", "seq2seq:windows=4", "--optimizer", "adam:steps=1000", "--optimizer",
              "ssbroyden:steps=6000"]
CASES = {
    **{f"burgers-rad500-ssb24k-s{seed}": [*BURGERS, "--seed", str(seed)] for seed in (0, 1, 2)},
    "helmholtz-rad500-ssb8k-s0": ["helmholtz", "--model", "mlp:width=30,depth=3", "--points", "res=4000",
                                  "--optimizer", "adam:steps=2000", "--optimizer", "ssbroyden:steps=8000", "--remedy",
                                  "rad:every=500", "--seed", "0"],
    "helmholtz-rad500-ssb16k-s0": ["helmholtz", "--model", "mlp:width=30,depth=3", "--points", "res=4000",
                                   "--optimizer", "adam:steps=2000", "--optimizer", "ssbroyden:steps=16000",
                                   "--remedy", "rad:every=500", "--seed", "0"],
    "reaction5-rad500-ssb8k-s0": ["reaction", "-p", "rho=5", "--model", "periodic:width=30,depth=3", "--points",
                                  "res=4000", "--optimizer", "adam:steps=2000", "--optimizer", "ssbroyden:steps=8000",
                                  "--remedy", "rad:every=500", "--seed", "0"],
    "allen-cahn-seq2seq4-ssb3k-s0": ["allen-cahn", "--model", "periodic:width=30,depth=3,harmonics=3", "--points",
                                     "res=4000", "--weight", "ic=100", "--remedy", "seq2seq:windows=4", "--optimizer",
                                     "adam:steps=1000", "--optimizer", "ssbroyden:steps=3000", "--seed", "0"],
    "allen-cahn-seq2seq4-ssb6k-s0": ["allen-cahn", "--model", "periodic:width=30,depth=3,harmonics=3", "--points",
                                     "res=4000", "--weight", "ic=100", "--remedy", "seq2seq:windows=4", "--optimizer",
                                     "adam:steps=1000", "--optimizer", "ssbroyden:steps=6000", "--seed", "0"],
    "kdv-seq2seq4-ssb6k-s0": ["kdv", "--model", "periodic:width=30,depth=3,harmonics=3", "--points", "res=4000",
                              "--remedy", "seq2seq:windows=4", "--optimizer", "adam:steps=1000", "--optimizer",
                              "ssbroyden:steps=6000", "--seed", "0"],
    "allen-cahn-seq2seq4-ssb6k-ic2048-s0": ["allen-cahn", "--model", "periodic:width=30,depth=3,harmonics=3",
                                            "--points", "res=4000", "--points", "ic=2048", "--weight", "ic=100",
                                            "--remedy", "seq2seq:windows=4", "--optimizer", "adam:steps=1000",
                                            "--optimizer", "ssbroyden:steps=6000", "--seed", "0"],
    "allen-cahn-seq2seq4-rad500-ssb6k-s0": ["allen-cahn", "--model", "periodic:width=30,depth=3,harmonics=3",
                                            "--points", "res=4000", "--weight", "ic=100", "--remedy",
                                            "seq2seq:windows=4", "--remedy", "rad:every=500", "--optimizer",
                                            "adam:steps=1000", "--optimizer", "ssbroyden:steps=6000", "--seed", "0"],
    **{f"reaction5-mlp-rad500-ssb8k-s{seed}": [*REACTION, "--seed", str(seed)] for seed in (0, 1, 2)},
    **{f"convection50-seq2seq5-ssb4k-s{seed}": [*CONVECTION, "--seed", str(seed)] for seed in (0, 1, 2)},
    **{f"convection50-seq2seq5-ssb6k-s{seed}": [*CONVECTION[:-1], "ssbroyden:steps=6000", "--seed", str(seed)]
       for seed in (0, 1, 2)},
    **{f"helmholtz-rad500-ssb16k-s{seed}": [*HELMHOLTZ, "--seed", str(seed)] for seed in (1, 2)},
    "allen-cahn-mlp-seq2seq4-ssb6k-s0": [*ALLEN_CAHN[:2], "mlp:width=30,depth=3", *ALLEN_CAHN[3:], "--seed", "0"],
    "allen-cahn-h8-seq2seq4-ssb6k-s0": [*ALLEN_CAHN[:2], "periodic:width=30,depth=3,harmonics=8", *ALLEN_CAHN[3:],
                                        "--seed", "0"],
    "allen-cahn-rba-all-seq2seq4-ssb6k-s0": [*ALLEN_CAHN, "--remedy", "rba:terms=all", "--seed", "0"],
    "allen-cahn-edges-seq2seq4-ssb6k-s0": [*ALLEN_CAHN[:8], "seq2seq:windows=4,edges=0.1/0.4/0.7", *ALLEN_CAHN[9:],
                                           "--seed", "0"],
    **{f"kdv-seq2seq4-ssb6k-s{seed}": [*KDV, "--seed", str(seed)] for seed in (1, 2)},
    **{f"allen-cahn-seq2seq4-ssb6k-s{seed}": [*ALLEN_CAHN, "--seed", str(seed)] for seed in (1, 2)},
    "allen-cahn-h8-rba-all-seq2seq4-ssb6k-s0": [*ALLEN_CAHN[:2], "periodic:width=30,depth=3,harmonics=8",
                                                *ALLEN_CAHN[3:], "--remedy", "rba:terms=all", "--seed", "0"],
    **{f"allen-cahn-root-seq2seq4-ssb6k-s{seed}": [*ALLEN_CAHN[:2], "periodic:width=30,depth=3,harmonics=3,root_time=1",
                                                  *ALLEN_CAHN[3:], "--seed", str(seed)] for seed in (0, 1, 2)},
    **{f"allen-cahn-root-ic2048-seq2seq4-ssb6k-s{seed}": [
        *ALLEN_CAHN[:2], "periodic:width=30,depth=3,harmonics=3,root_time=1", *ALLEN_CAHN[3:5], "--points", "ic=2048",
        *ALLEN_CAHN[5:], "--seed", str(seed)] for seed in (0, 1, 2)},
    **{f"allen-cahn-root-rba-all-seq2seq4-ssb6k-s{seed}": [
        *ALLEN_CAHN[:2], "periodic:width=30,depth=3,harmonics=3,root_time=1", *ALLEN_CAHN[3:], "--remedy",
        "rba:terms=all", "--seed", str(seed)] for seed in (0, 1, 2)},
    **{f"burgers-sym-rad500-ssb24k-s{seed}": [*BURGERS[:4], "res=5000", *BURGERS[5:], "--symmetric", "--seed",
                                              str(seed)] for seed in (0, 1, 2)},
    **{f"allen-cahn-sym-root-seq2seq4-ssb6k-s{seed}": [
        *ALLEN_CAHN[:2], "periodic:width=30,depth=3,harmonics=3,root_time=1", ALLEN_CAHN[3], "res=2000",
        *ALLEN_CAHN[5:], "--symmetric", "--seed", str(seed)] for seed in (0, 1, 2)},
    **{f"allen-cahn-sym-root-uni500-seq2seq4-ssb6k-s{seed}": [
        *ALLEN_CAHN[:2], "periodic:width=30,depth=3,harmonics=3,root_time=1", ALLEN_CAHN[3], "res=2000",
        *ALLEN_CAHN[5:], "--remedy", "rad:every=500,k=0", "--symmetric", "--seed", str(seed)] for seed in (0, 1, 2)},
    **{f"allen-cahn-seam-root-seq2seq4-ssb6k-s{seed}": [
        *ALLEN_CAHN[:2], "periodic:width=30,depth=3,harmonics=3,root_time=1,seam=1e-4", *ALLEN_CAHN[3:], "--seed",
        str(seed)] for seed in (0, 1, 2)},
    **{f"allen-cahn-seam-seq2seq4-ssb6k-s{seed}": [
        *ALLEN_CAHN[:2], "periodic:width=30,depth=3,harmonics=3,seam=1e-4", *ALLEN_CAHN[3:], "--seed",
        str(seed)] for seed in (0, 1, 2)},
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    return run_row.run_cases(JSONL, CASES, COMMON, args.only)


if __name__ == "__main__":
    sys.exit(main())
