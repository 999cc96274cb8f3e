"""Problems on domains that are not boxes (issue 19), one ``pinnsight train`` run per case, recorded by
benchmarks/run_row.py in benchmarks/results/domains.jsonl (a label already there is skipped):

- laplace-lshape: Δu = 0 on the L-shape, exact u = r^{2/3} sin(2θ/3) (corner singularity at the origin).
- poisson-annulus: −Δu = 2π² sin(πx) sin(πy) on 0.5 < r < 1, exact.
- heat-disk: u_t = κΔu on the unit disk, u = 0 on the circle, two Bessel modes (exact).
- helmholtz-plate: Δu + k²u = q on a plate with two holes (finite-element reference).
- cylinder: steady Navier–Stokes past a cylinder in a channel, DFG 2D-1, Re = 20 (finite-element reference).
For each: the plain PINN (penalty terms), exact Dirichlet conditions by distance functions (``--exact-bc``), a
residual-driven sampling remedy (RAD), and a float64 second-order recipe; rel L2 on the grid points inside the domain.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/domains.py [--only LABEL]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run_row  # noqa: E402

JSONL = Path(__file__).resolve().parent / "results" / "domains.jsonl"
COMMON = ["--log-every", "100", "--eval-every", "1000", "--no-progress"]
POINTS = ["--points", "res=2000"]  # unless a case gives its own
F32 = ["--optimizer", "adam:steps=5000", "--optimizer", "lbfgs:steps=5000"]
F64 = ["--x64", "--model", "mlp:width=30,depth=3", "--optimizer", "adam:steps=2000", "--optimizer",
       "lbfgs:steps=3000", "--optimizer", "natural-gradient:steps=100"]
CASES = {
    "lshape-plain": ["laplace-lshape", *F32],
    "lshape-exact-bc": ["laplace-lshape", "--exact-bc", *F32],
    "lshape-rad": ["laplace-lshape", "--remedy", "rad:every=500", *F32],
    "lshape-f64-ng": ["laplace-lshape", *F64],
    "lshape-f64-ssbroyden": ["laplace-lshape", "--x64", "--model", "mlp:width=30,depth=3", "--points", "res=4000",
                             "--optimizer", "adam:steps=2000", "--optimizer", "ssbroyden:steps=8000"],
    "lshape-f64-ssbroyden-rad": ["laplace-lshape", "--x64", "--model", "mlp:width=30,depth=3", "--points", "res=4000",
                                 "--remedy", "rad:every=500", "--optimizer", "adam:steps=2000", "--optimizer",
                                 "ssbroyden:steps=10000"],
    "annulus-plain": ["poisson-annulus", *F32],
    "annulus-exact-bc": ["poisson-annulus", "--exact-bc", *F32],
    "annulus-f64-ng": ["poisson-annulus", *F64],
    "heat-disk-plain": ["heat-disk", *F32],
    "heat-disk-exact-bc": ["heat-disk", "--exact-bc", *F32],
    "heat-disk-f64-ng": ["heat-disk", *F64],
    "plate-plain": ["helmholtz-plate", *F32],
    "plate-exact-bc": ["helmholtz-plate", "--exact-bc", *F32],
    "cylinder-plain": ["cylinder", "--model", "mlp:width=50,depth=4", *F32],
    "cylinder-f64-ng": ["cylinder", *F64],
    "cylinder-bc100": ["cylinder", "--model", "mlp:width=50,depth=4", "--weight", "bc_u=100", "--weight", "bc_v=100",
                       "--weight", "cyl_u=100", "--weight", "cyl_v=100", *F32],
    "cylinder-f64-ssbroyden": ["cylinder", "--x64", "--model", "mlp:width=40,depth=4,normalize=1", "--weight", "bc_u=100",
                               "--weight", "bc_v=100", "--weight", "cyl_u=100", "--weight", "cyl_v=100", "--points",
                               "res=4000", "--optimizer", "adam:steps=3000", "--optimizer", "ssbroyden:steps=2500"],
    "cylinder-f64-ssbroyden-rad": ["cylinder", "--x64", "--model", "mlp:width=40,depth=4,normalize=1", "--weight",
                                   "bc_u=100", "--weight", "bc_v=100", "--weight", "cyl_u=100", "--weight",
                                   "cyl_v=100", "--points", "res=4000", "--remedy", "rad:every=500", "--optimizer",
                                   "adam:steps=3000", "--optimizer", "ssbroyden:steps=2500"],
    "cylinder-f64-ssbroyden-4k": ["cylinder", "--x64", "--model", "mlp:width=40,depth=4,normalize=1", "--weight",
                                  "bc_u=100", "--weight", "bc_v=100", "--weight", "cyl_u=100", "--weight", "cyl_v=100",
                                  "--points", "res=4000", "--optimizer", "adam:steps=1500", "--optimizer",
                                  "ssbroyden:steps=4000"],
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    cases = {label: case if "--points" in case else [*case, *POINTS] for label, case in CASES.items()}
    return run_row.run_cases(JSONL, cases, COMMON, args.only)


if __name__ == "__main__":
    sys.exit(main())
