"""Reproduce the failure modes of Krishnapriyan et al. (NeurIPS 2021) with a vanilla PINN.

    python3 benchmarks/failure_modes.py [--adam 5000] [--lbfgs 1000] [--seeds 0] [--out runs/failure-modes]

Vanilla = the defaults of ``pinnsight train`` (4×50 tanh MLP, 1000 residual + 100 initial + 100 periodic points,
Adam then L-BFGS). Prints a Markdown table (rel L2, wall time, stop reason) beside the paper's numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np

import pinnsight as ps
from pinnsight.config import PhaseConfig
from pinnsight.runs import write_run

# Paper: Krishnapriyan et al. 2021, vanilla PINN rel L2 for convection (Sec. 3.1 / Fig. 1); None: not given.
CASES = [
    ("convection", {"beta": 1.0}, 7.8e-3),
    ("convection", {"beta": 10.0}, 1.1e-2),
    ("convection", {"beta": 20.0}, 0.75),
    ("convection", {"beta": 30.0}, 0.90),
    ("convection", {"beta": 40.0}, 0.96),
    ("reaction", {"rho": 1.0}, None),
    ("reaction", {"rho": 5.0}, None),
    ("reaction", {"rho": 10.0}, None),
    ("reaction-diffusion", {"nu": 2.0, "rho": 5.0}, None),
    ("reaction-diffusion", {"nu": 5.0, "rho": 5.0}, None),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adam", type=int, default=5000)
    ap.add_argument("--lbfgs", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", type=Path, default=None, help="write each run directory under this folder")
    args = ap.parse_args()
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    print(f"# vanilla failure modes — {date.today()}, {os.cpu_count()} cores ({cpu}), {platform.system()}")
    print(f"command: python3 benchmarks/failure_modes.py --adam {args.adam} --lbfgs {args.lbfgs} "
          f"--seeds {' '.join(map(str, args.seeds))}\n")
    print("| problem | coefficients | rel L2 (mean ± std over seeds) | paper | wall s | stop |")
    print("|---|---|---|---|---|---|")
    for problem, params, paper in CASES:
        errs, walls, stops = [], [], []
        for seed in args.seeds:
            config = ps.TrainConfig(problem=problem, params=params, seed=seed,
                                    phases=(PhaseConfig("adam", args.adam), PhaseConfig("lbfgs", args.lbfgs)))
            t0 = time.perf_counter()
            result = ps.train(config, progress=False)
            walls.append(time.perf_counter() - t0)
            errs.append(result.metrics["rel_l2"])
            stops.append(result.metrics["stop_reason"])
            if args.out:
                tag = "-".join(f"{k}{v:g}" for k, v in params.items())
                write_run(args.out / f"{problem}-{tag}-s{seed}", result)
        coeffs = ", ".join(f"{k}={v:g}" for k, v in params.items())
        spread = f" ± {np.std(errs):.1e}" if len(errs) > 1 else ""
        print(f"| {problem} | {coeffs} | {np.mean(errs):.2e}{spread} | {paper if paper is not None else '—'} | "
              f"{np.mean(walls):.0f} | {','.join(sorted(set(stops)))} |", flush=True)


if __name__ == "__main__":
    main()
