"""Hard constraints (Négiar, Mahoney, Krishnapriyan, ICLR 2023) against soft-constraint PINNs (issue 8).

For each case a hard-constraint basis is trained once over a parameter family (``pinnsight.hard.family``), then
evaluated at the listed values by one least-squares solve each (rel L2 on the reference grid; warm solve time,
median of 5, compiled once for the family); the soft-constraint PINN (``pinnsight.train``, vanilla) and the best soft
remedy (curriculum for convection/diffusion, learning-rate annealing ``lra`` for Helmholtz) are trained separately
at every value.

    python3 benchmarks/hard_constraint.py --quick              # a couple of minutes: tiny budgets
    python3 benchmarks/hard_constraint.py --json out.json      # the docs/benchmarks.md table

Timings depend on the machine and its load: say which when quoting them.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # LAPACK threads spin against XLA's on 2 cores (see cli.py)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from pinnsight.config import PhaseConfig, TrainConfig  # noqa: E402
from pinnsight.hard.family import FamilyConfig, train_family  # noqa: E402
from pinnsight import train  # noqa: E402

#: tensor-product bases (``separable=1``: one small net per coordinate, Fourier ladder in the non-periodic ones),
#: the default of ``--basis``; CASES keep the single-network ``mlp`` basis of the first measurement
TENSOR = {
    "convection": {"separable": True, "factors": "4/64", "width": 64, "depth": 2, "points": 2000, "embed": "fourier",
                   "frequencies": 24},
    "diffusion": {"separable": True, "factors": "4/16", "width": 32, "depth": 2, "points": 600, "embed": "fourier",
                  "frequencies": 8},
    "helmholtz": {"separable": True, "factors": "16/16", "width": 32, "depth": 2, "points": 1200, "embed": "fourier",
                  "frequencies": 12},
}

#: case -> (problem, fixed params, family parameter, range, evaluation values, hard-constraint options, soft remedy)
CASES = {
    "convection": ("convection", {}, "beta", (1.0, 50.0), (10.0, 30.0, 50.0),
                   {"basis": 64, "width": 64, "depth": 3, "points": 600, "embed": "periodic"},
                   "curriculum:start=1,stages=4"),
    "diffusion": ("diffusion", {}, "nu", (1.0, 5.0), (1.0, 5.0),
                  {"basis": 32, "width": 32, "depth": 3, "points": 400, "embed": "periodic"},
                  "curriculum:start=1,stages=4"),
    "helmholtz": ("helmholtz", {}, "k", (0.5, 2.0), (1.0, 2.0),
                  {"basis": 64, "width": 64, "depth": 3, "points": 800, "embed": "periodic"},
                  "lra"),
}


def hard_case(name, steps, points, params_per_step, seed, basis="tensor"):
    problem, fixed, pname, rng, values, opts, _ = CASES[name]
    opts = TENSOR[name] if basis == "tensor" else opts
    cfg = FamilyConfig(problem=problem, params=fixed, ranges={pname: rng}, model_options=opts, steps=steps,
                       points={"res": points}, params_per_step=params_per_step, validate={pname: values}, seed=seed,
                       log_every=100, lr=3e-3, decay_steps=max(steps // 3, 1))
    result = train_family(cfg, echo=lambda s: print(s, file=sys.stderr, flush=True))
    model = result.model
    dtype = model.dtype
    solve = eqx.filter_jit(lambda m, co: m.solve(co))
    base = model.default_coeffs()
    co = {**base, pname: jnp.asarray(values[0], dtype)}
    t = time.perf_counter()
    solve(model, co).block_until_ready()
    first = time.perf_counter() - t
    rows = []
    for v in values:
        co = {**base, pname: jnp.asarray(v, dtype)}
        times = []
        for _ in range(5):
            t = time.perf_counter()
            solve(model, co).block_until_ready()
            times.append(time.perf_counter() - t)
        rows.append({"value": v, "rel_l2": result.metrics["rel_l2"][f"{pname}={v:g}"], "solve_s": float(np.median(times))})
    return {"method": "hard-constraint", "case": name, "param": pname, "range": list(rng), "train_s": result.metrics["train_s"],
            "wall_s": result.metrics["wall_s"], "first_solve_s": first, "rows": rows, "options": opts,
            "steps": steps, "ill_conditioned": result.metrics["ill_conditioned"],
            "cond": [s["cond_ridge"] for s in result.metrics["solve"]]}


def soft_case(name, remedy, adam, lbfgs, seed):
    problem, fixed, pname, _, values, _, best = CASES[name]
    spec = best if remedy == "best" else None
    rows = []
    for v in values:
        config = TrainConfig(problem=problem, params={**fixed, pname: v}, phases=(PhaseConfig("adam", adam), PhaseConfig("lbfgs", lbfgs)),
                             seed=seed, eval_every=500, remedies=(spec,) if spec else ())
        r = train(config, progress=False)
        rows.append({"value": v, "rel_l2": r.metrics["rel_l2"], "train_s": r.metrics["wall_s"]})
        print(f"  {name} {remedy} {pname}={v:g}: {r.metrics['rel_l2']:.3e} ({r.metrics['wall_s']:.1f} s)", file=sys.stderr, flush=True)
    return {"method": f"soft:{spec or 'vanilla'}", "case": name, "param": pname, "rows": rows,
            "train_s": sum(row["train_s"] for row in rows), "adam": adam, "lbfgs": lbfgs}


def table(results) -> str:
    lines = ["| case | method | " + " | ".join(["values: rel L2"]) + " | training wall s | solve per new value |",
             "|---|---|---|---:|---|"]
    for r in results:
        errs = ", ".join(f"{row['value']:g}: {row['rel_l2']:.2e}" for row in r["rows"])
        if r["method"] == "hard-constraint":
            solve = ", ".join(f"{1e3 * row['solve_s']:.1f} ms" for row in r["rows"]) + f" (first {r['first_solve_s']:.2f} s)"
            train_s = f"{r['train_s']:.0f} (once, family {r['param']} ∈ [{r['range'][0]:g}, {r['range'][1]:g}])"
        else:
            solve = "a new training"
            train_s = f"{r['train_s']:.0f} (all values)"
        lines.append(f"| {r['case']} ({r['param']}) | {r['method']} | {errs} | {train_s} | {solve} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="convection,diffusion,helmholtz")
    ap.add_argument("--methods", default="hard,vanilla,best")
    ap.add_argument("--hard-steps", default="convection=1000,diffusion=400,helmholtz=400")
    ap.add_argument("--basis", choices=("tensor", "mlp"), default="tensor",
                    help="hard-constraint basis: tensor product of per-coordinate nets, or one network")
    ap.add_argument("--hard-points", type=int, default=600, help="fresh residual points per family step")
    ap.add_argument("--params-per-step", type=int, default=4)
    ap.add_argument("--adam", type=int, default=1500)
    ap.add_argument("--lbfgs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="tiny budgets (pipeline check)")
    ap.add_argument("--json", default=None, help="append results as JSON lines to this file")
    args = ap.parse_args(argv)
    steps = {k: int(v) for k, v in (s.split("=") for s in args.hard_steps.split(","))}
    if args.quick:
        steps = dict.fromkeys(steps, 100)
        args.adam, args.lbfgs, args.hard_points = 300, 20, 300
    results = []
    t0 = time.perf_counter()
    for case in args.cases.split(","):
        for method in args.methods.split(","):
            if method == "hard":
                r = hard_case(case, steps.get(case, 400), args.hard_points, args.params_per_step, args.seed, args.basis)
            else:
                r = soft_case(case, method, args.adam, args.lbfgs, args.seed)
            results.append(r)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(r) + "\n")
            print(table([r]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(results))
    print(f"\ntotal wall time {time.perf_counter() - t0:.0f} s; device {jax.devices()[0].platform}")


if __name__ == "__main__":
    main()
