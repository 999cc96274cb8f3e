"""Empirical NTK at initialisation as the coefficient grows: the calibration of the conditioning-growth signature.

For each case and coefficient value: a 4×50 tanh MLP at its seed-0 initialisation, 256 residual + 64 points per
constraint (seed-1 draw), float64; prints λ_max of each kernel block, the spread λ_max(K_res) / min_c λ_max(K_cc)
that ``diagnostics.signatures.conditioning_growth`` reads, the block traces, and the Gauss–Newton condition number
on the nonzero spectrum with its numerical rank.

    python3 benchmarks/ntk_spread.py [--jsonl benchmarks/results/ntk_spread.jsonl]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp

from pinnsight.diagnostics import condition_from_jacobian, make_jacobians, ntk_spectra, ntk_spread, scaled_jacobian
from pinnsight.models import make_model
from pinnsight.problems import make_problem
from pinnsight.sampling import sample_batch

CASES = {"convection": ("beta", (1, 5, 10, 20, 30, 40, 50)), "reaction": ("rho", (1, 5, 10)),
         "reaction-diffusion": ("rho", (1, 5))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--constraint", type=int, default=64)
    ap.add_argument("--jsonl", default=None, help="also append every table row here as one JSON line")
    args = ap.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    print("| problem | coefficient | λ_max(K_res) | min_c λ_max(K_cc) | spread | GN cond (rank / rows) | s |")
    print("|---|---|---|---|---|---|---|")
    for name, (coef, values) in CASES.items():
        base = make_problem(name)
        params, static = eqx.partition(make_model("mlp", base.dim, key=jax.random.PRNGKey(0), dtype=jnp.float64),
                                       eqx.is_array)
        points = {"res": args.res, **{c.name: args.constraint for c in base.constraints}}
        batch = sample_batch(base, jax.random.PRNGKey(1), points, jnp.float64)
        jac = make_jacobians(base, static, params)
        for v in values:
            t = time.perf_counter()
            problem = make_problem(name, **{coef: float(v)})
            coeffs = {k: jnp.asarray(x, jnp.float64) for k, x in problem.coefficients.items()}
            js = jac(params, batch, coeffs)
            sp = ntk_spectra(js)
            c = condition_from_jacobian(scaled_jacobian(js))
            cons = min(float(s[0]) for k, s in sp.items() if k not in ("res", "all"))
            print(f"| {name} | {coef}={v:g} | {sp['res'][0]:.3g} | {cons:.3g} | {ntk_spread(sp):.3g} | "
                  f"{c.cond:.2e} ({c.rank} / {c.n_rows}) | {time.perf_counter() - t:.1f} |", flush=True)
            if args.jsonl:
                Path(args.jsonl).parent.mkdir(parents=True, exist_ok=True)
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps({"problem": name, "coef": coef, "value": float(v), "res": args.res,
                                        "constraint": args.constraint, "lmax_res": float(sp["res"][0]),
                                        "lmax_constraint_min": cons, "spread": float(ntk_spread(sp)),
                                        "gn_cond": float(c.cond), "rank": int(c.rank), "rows": int(c.n_rows),
                                        "wall_s": time.perf_counter() - t}) + "\n")


if __name__ == "__main__":
    main()
