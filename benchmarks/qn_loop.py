"""Long quasi-Newton phases at full speed (issue 20, item 2): seconds per SSBroyden iteration of ``pinnsight train``
against a minimal hand-written JAX loop of the same method on the same problem.

Both: Burgers ν = 0.01/π, float64, a 3 × 30 tanh network (1981 parameters), 10 000 residual + 100 initial + 100
boundary points, SSBroyden with optax's strong-Wolfe zoom line search, the dense n × n inverse-Hessian update,
``--iters`` iterations from a random start. The hand loop is one ``lax.fori_loop`` over all iterations (one
compilation, no host transfer until the end); its loss is written here from scratch (``jax.grad`` derivatives of
the network, the mean squares of residual, initial and boundary rows); it shares with pinnsight only the update
formulas (``optimizers.quasi_newton.scaling`` / ``inverse_update``, tested against a NumPy transcription) and the
line search (optax). A second hand loop runs on pinnsight's own objective (its derivatives, its points): the loop's
overhead alone. pinnsight runs its chunks of ``--log-every`` iterations (error evaluation every 1000 only).
Reported: s per iteration and per function evaluation (line searches take different numbers of evaluations from
different starts). Rows in benchmarks/results/qn_loop.jsonl.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/qn_loop.py --iters 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run_row  # noqa: E402
from benchmarks._jsonl import append_row, read_rows  # noqa: E402

JSONL = Path(__file__).resolve().parent / "results" / "qn_loop.jsonl"
NU = 0.01 / 3.141592653589793


def own_loss(seed: int = 0):
    """The loss written from scratch: (loss(x), x0) with the network's parameters flattened."""
    import jax
    import jax.flatten_util
    import jax.numpy as jnp

    k = jax.random.split(jax.random.PRNGKey(seed), 8)
    sizes = [2, 30, 30, 30, 1]
    params = [(jax.random.normal(k[i], (m, n)) * jnp.sqrt(2.0 / (m + n)), jnp.zeros(n))
              for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]))]
    x0, unravel = jax.flatten_util.ravel_pytree(params)
    res = jnp.stack([jax.random.uniform(k[4], (10000,), minval=-1, maxval=1),
                     jax.random.uniform(k[5], (10000,))], 1)
    ic = jnp.stack([jax.random.uniform(k[6], (100,), minval=-1, maxval=1), jnp.zeros(100)], 1)
    bc = jnp.stack([jnp.where(jnp.arange(100) % 2 == 0, -1.0, 1.0), jax.random.uniform(k[7], (100,))], 1)

    def u(p, z):
        h = z
        for W, b in p[:-1]:
            h = jnp.tanh(h @ W + b)
        return (h @ p[-1][0] + p[-1][1])[0]

    def residual(p, z):
        g = jax.grad(u, 1)(p, z)
        uxx = jax.grad(lambda q: jax.grad(u, 1)(p, q)[0])(z)[0]
        return g[1] + u(p, z) * g[0] - NU * uxx

    def loss(x):
        p = unravel(x)
        r = jax.vmap(lambda z: residual(p, z))(res)
        r0 = jax.vmap(lambda z: u(p, z))(ic) + jnp.sin(jnp.pi * ic[:, 0])
        rb = jax.vmap(lambda z: u(p, z))(bc)
        return jnp.mean(r ** 2) + jnp.mean(r0 ** 2) + jnp.mean(rb ** 2)

    return loss, x0


def pinnsight_loss(seed: int = 0):
    """pinnsight's own objective of the same run (its derivatives, its points): (loss(x), x0)."""
    import jax
    import jax.flatten_util

    from pinnsight.config import PhaseConfig, TrainConfig
    from pinnsight.losses import make_objective
    from pinnsight.trainer import initial_state

    cfg = TrainConfig(problem="burgers", x64=True, model_options={"width": 30, "depth": 3}, points={"res": 10000},
                      phases=(PhaseConfig("ssbroyden", 1),), seed=seed)
    problem = cfg.build_problem()
    static, state = initial_state(cfg, problem)
    objective = make_objective(problem, static)
    x0, unravel = jax.flatten_util.ravel_pytree(state.params)
    return (lambda x: objective(unravel(x), state.batch, state.weights, state.coeffs)[0]), x0


def hand_loop(iters: int, loss, x0) -> dict:
    """The minimal loop on ``loss``: one fori_loop of ``iters`` SSBroyden iterations, compiled once."""
    import jax
    import jax.flatten_util
    import jax.numpy as jnp
    import optax

    from pinnsight.optimizers.quasi_newton import inverse_update, scaling

    n, ls = x0.size, optax.scale_by_zoom_linesearch(max_linesearch_steps=25, initial_guess_strategy="one")

    def body(_, c):
        x, f, g, H, lss, evals = c
        d = -(H @ g)
        s, lss = ls.update(d, lss, x, value=f, grad=g, value_fn=loss)
        f1, g1 = lss.value, lss.grad
        y = g1 - g
        tau, phi = scaling("ssbroyden", s, y, g, (s @ d) / (d @ d), H @ y, n)
        ok = (f1 < f) & (y @ s > 1e-10 * jnp.linalg.norm(s) * jnp.linalg.norm(y))
        H = jnp.where(ok, inverse_update(H, s, y, tau, phi), H)
        return x + s, f1, g1, H, lss, evals + lss.info.num_linesearch_steps.astype(evals.dtype)

    @jax.jit
    def run(x):
        f, g = jax.value_and_grad(loss)(x)
        H = jnp.minimum(1.0, 1.0 / jnp.linalg.norm(g)) * jnp.eye(n, dtype=x.dtype)
        return jax.lax.fori_loop(0, iters, body, (x, f, g, H, ls.init(x), jnp.zeros((), jnp.int32)))

    t = time.perf_counter()
    compiled = run.lower(x0).compile()
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    out = jax.block_until_ready(compiled(x0))
    wall = time.perf_counter() - t
    return {"wall_s": wall, "compile_s": compile_s, "function_evals": int(out[5]), "final_loss": float(out[1]),
            "n_params": int(n), "s_per_iter": wall / iters, "s_per_feval": wall / max(1, int(out[5]))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=2000)
    args = ap.parse_args(argv)
    import jax
    import jax.flatten_util

    jax.config.update("jax_enable_x64", True)
    for name, build in (("own-loss", own_loss), ("pinnsight-loss", pinnsight_loss)):
        label = f"hand-{name}-ssbroyden-{args.iters}"
        if label in {r["label"] for r in read_rows(JSONL)}:
            continue
        load0 = os.getloadavg()[0]
        row = hand_loop(args.iters, *build())
        append_row(JSONL, {"label": label, "iters": args.iters, **row, "load_before": load0,
                           "load_after": os.getloadavg()[0], "command": " ".join(sys.argv)})
        print(label, row)
    return run_row.main(["--jsonl", str(JSONL), "--label", f"pinnsight-ssbroyden-{args.iters}", "--",
                         "burgers", "--x64", "--model", "mlp:width=30,depth=3", "--points", "res=10000",
                         "--optimizer", f"ssbroyden:steps={args.iters}", "--no-progress"])


if __name__ == "__main__":
    sys.exit(main())
