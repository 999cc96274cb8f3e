"""The PDE residual of a trained 1-D space + time run near a seam x = ±1, and the collocation points nearest it.

    python3 benchmarks/seam_residual.py runs/rows/allen-cahn-sym-root-seq2seq4-ssb6k-s0 [--times 0.76,0.8,0.9,0.99]

Prints, per time, u + 1 and the residual at x = −1, −0.9995, …, −0.99 (the last window's network, as
``params.eqx`` holds it), then the points of the last window's ``collocation.npz`` within 0.006 of |x| = 1. Used for
the Allen–Cahn seam dip in docs/benchmarks.md ("Accuracy records").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

XS = (-1.0, -0.9995, -0.999, -0.998, -0.996, -0.993, -0.99)


def main(argv=None) -> None:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    from pinnsight.runs import load_run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--times", default="0.76,0.8,0.9,0.99")
    args = ap.parse_args(argv)
    config, model, _ = load_run(args.run_dir)
    problem = config.build_problem()
    coeffs = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    u = lambda x, t: jnp.ravel(model(jnp.stack([x, t])))[0]  # noqa: E731
    for t in (float(v) for v in args.times.split(",")):
        for x in XS:
            r = problem.residual(u, jnp.float64(x), jnp.float64(t), coeffs)
            print(f"t = {t:.2f}  x = {x:.4f}  residual {float(jnp.ravel(r)[0]):+.2e}  u + 1 = {float(u(x, t)) + 1:+.2e}")
    pts = np.load(args.run_dir / "collocation.npz")
    last = sorted(k for k in pts if k.startswith("points_"))[-1]
    near = pts[last][np.abs(np.abs(pts[last][:, 0]) - 1) < 0.006]
    print(f"{last}: points within 0.006 of |x| = 1 (x, t):", np.array2string(near, precision=5))


if __name__ == "__main__":
    sys.exit(main())
