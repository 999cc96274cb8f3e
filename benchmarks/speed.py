"""Milliseconds per Adam step: pinnsight vs a minimal hand-written JAX loop vs DeepXDE, in one run.

    python3 benchmarks/speed.py [--steps 2000] [--repeats 3] [--only pinnsight jax jax_scan torch deepxde] \
        [--jsonl benchmarks/results/speed.jsonl]

Standard setup (see ``speed_peers``): convection β = 30, 4×50 tanh MLP, 1000 collocation + 100 initial +
100 periodic-pair points, Adam lr 1e-3, float32. pinnsight is timed through the same jitted chunk that ``train``
runs (``log_every`` = 100 steps fused in one ``lax.while_loop``, ``trainer.PhaseRun.chunk``), in blocks of 100 steps with one synchronisation per block,
exactly as the peers; the whole ``train()`` wall time per step (compilation, evaluation, logging included) is
reported beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed_peers as peers  # noqa: E402

import pinnsight as ps  # noqa: E402
from pinnsight.config import PhaseConfig  # noqa: E402
from pinnsight.losses import make_objective  # noqa: E402
from pinnsight.trainer import PhaseCompiler, PhaseRun, initial_state  # noqa: E402


def standard_config(steps: int) -> ps.TrainConfig:
    return ps.TrainConfig(
        problem="convection", params={"beta": peers.BETA},
        phases=(PhaseConfig("adam", steps, {"lr": peers.LR, "decay_rate": 1.0}),),
        points={"res": peers.N_COLLOCATION, "ic": peers.N_INITIAL, "bc": peers.N_PERIODIC},
        log_every=peers.DEFAULT_BLOCK, eval_every=max(peers.DEFAULT_BLOCK, steps),
    )


def time_pinnsight(steps: int = 2000, seed: int = 0, block: int = peers.DEFAULT_BLOCK) -> dict:
    """pinnsight's Adam chunk (the code ``train`` runs), timed per block; plus whole-``train`` wall per step."""
    config = standard_config(steps)
    problem = config.build_problem()
    static, st = initial_state(config, problem)
    compiler = PhaseCompiler(problem, static, make_objective(problem, static), sum_of_squares=True, sample=None,
                             seed=0)
    run = PhaseRun(compiler, config.phases[0], st, warm=False)
    t0 = time.perf_counter()
    run.chunk(block)  # compiles; the chunk syncs the host once (its stop reason and counts)
    warmup_s = time.perf_counter() - t0
    per_step = []
    for _ in range(peers._n_blocks(steps, block)):
        tb = time.perf_counter()
        run.chunk(block)
        per_step.append((time.perf_counter() - tb) * 1e3 / block)
    losses = [run.value]
    t0 = time.perf_counter()
    result = ps.train(config, progress=False)
    whole = time.perf_counter() - t0
    return peers._summarise(
        "pinnsight (train's jitted Adam chunk)", per_step, block, compile_plus_warmup_s=warmup_s,
        final_loss=float(losses[-1]), wall_ms_per_step_train=whole * 1e3 / steps,
        train_rel_l2=result.metrics["rel_l2"],
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=["pinnsight", "jax", "jax_scan", "torch", "deepxde"])
    ap.add_argument("--jsonl", default=None, help="also append one JSON line per implementation (and the machine)")
    args = ap.parse_args(argv)
    runners = {
        "pinnsight": lambda: time_pinnsight(args.steps),
        "jax": lambda: peers.time_minimal_jax(args.steps),
        "jax_scan": lambda: peers.time_minimal_jax_scan(args.steps),
        "torch": lambda: peers.time_torch_eager(args.steps),
        "deepxde": lambda: peers.time_deepxde(args.steps),
    }
    rows = []
    for key in args.only:
        print(f"[speed] {key} ...", file=sys.stderr, flush=True)
        try:
            rows.append(peers._best_of(runners[key], args.repeats))
        except ImportError as exc:
            print(f"- {key} skipped ({exc})")
    info = peers.machine_info()
    print(f"Command: `python3 benchmarks/speed.py --steps {args.steps} --repeats {args.repeats}`; machine: "
          f"{info.get('cpu_model', '?')}, {info.get('cores', info.get('n_cores', '?'))} cores, "
          f"jax device {jax.devices()[0].platform}\n")
    print("| implementation | median ms/step | p10 | p90 | vs pinnsight |")
    print("|---|---:|---:|---:|---:|")
    base = next((r["ms_per_step_median"] for r in rows if r["name"].startswith("pinnsight")), None)
    for r in rows:
        ratio = f"{r['ms_per_step_median'] / base:.2f}×" if base else "—"
        print(f"| {r['name']} | {r['ms_per_step_median']:.3f} | {r['ms_per_step_p10']:.3f} | "
              f"{r['ms_per_step_p90']:.3f} | {ratio} |")
    for r in rows:
        if "wall_ms_per_step_train" in r:
            print(f"\npinnsight whole `train()` ({args.steps} Adam steps incl. compilation, evaluation, logging): "
                  f"{r['wall_ms_per_step_train']:.3f} ms/step")
    print("\nMachine: " + "; ".join(f"{k}={v}" for k, v in info.items()))
    if args.jsonl:
        Path(args.jsonl).parent.mkdir(parents=True, exist_ok=True)
        with open(args.jsonl, "a") as f:
            for r in rows:
                f.write(json.dumps({**r, "steps": args.steps, "repeats": args.repeats, "machine": info,
                                    "jax_platform": jax.devices()[0].platform}, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
