"""Overhead of recording gradient statistics during training (``--diagnostics`` = ``--remedy grad-stats``).

Trains the standard setup (convection β = 30, 4×50 tanh, 1000 + 100 + 100 points, Adam, float32) with and without
the ``grad-stats`` hook, interleaved, ``--repeats`` times each, and reports (a) the steady-state overhead: the cost
of one statistics call (median time of the 100-step chunks that include a call minus that of the chunks that do
not, paired within the same runs, so robust to the machine's load) over the Adam time between calls, and (b) the
whole ``train()`` wall time (the statistics function's compilation included).

    python3 benchmarks/diagnostics_overhead.py --steps 3000 --repeats 3 --every 500 \
        [--jsonl benchmarks/results/diagnostics_overhead.jsonl]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight import train


def chunk_times(history: list[dict], skip: int) -> tuple[list[float], list[float]]:
    """Wall time of each logged Adam chunk after step ``skip``, split into (chunks that ran a statistics call,
    the others). The hook runs right after a row is logged (its columns land in that row), so its cost falls in
    the next row's interval."""
    rows = [r for r in history if r["phase"] == "adam"]
    hooked, plain = [], []
    for prev, row in zip(rows, rows[1:]):
        if prev["step"] >= skip:
            (hooked if "res_grad_norm" in prev else plain).append(row["wall_s"] - prev["wall_s"])
    return hooked, plain


def run(steps: int, every: int | None) -> tuple[list[dict], float]:
    remedies = (f"grad-stats:every={every}",) if every else ()
    config = TrainConfig(problem="convection", params={"beta": 30.0}, phases=(PhaseConfig("adam", steps),),
                         remedies=remedies, log_every=100, eval_every=steps)
    result = train(config, progress=False)
    return result.history, result.metrics["wall_s"]


def direct_call_ms(repeats: int = 20) -> float:
    """Median wall time of one statistics call (compiled, host transfer included) on the standard setup."""
    import time

    from pinnsight.diagnostics.gradients import make_gradient_statistics, to_host
    from pinnsight.trainer import initial_state

    config = TrainConfig(problem="convection", params={"beta": 30.0})
    static, state = initial_state(config, config.build_problem())
    stats = make_gradient_statistics(config.build_problem(), static)
    to_host(stats(state.params, state.batch, state.coeffs))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        to_host(stats(state.params, state.batch, state.coeffs))
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--skip", type=int, default=1000, help="steady state starts here (after the hook's compilation)")
    ap.add_argument("--jsonl", default=None, help="also append the measurement here as one JSON line")
    args = ap.parse_args(argv)
    base_chunks, hooked, plain, walls = [], [], [], {"without": [], "with": []}
    for _ in range(args.repeats):
        h, w = run(args.steps, None)
        base_chunks += chunk_times(h, args.skip)[1]
        walls["without"].append(w)
        h, w = run(args.steps, args.every)
        a, b = chunk_times(h, args.skip)
        hooked += a
        plain += b
        walls["with"].append(w)
    med = statistics.median
    per_call = med(hooked) - med(plain)  # paired within the same runs: robust to the machine's load
    overhead = per_call / (args.every / 100 * med(plain))
    print(f"chunk of 100 Adam steps (median): {1e3 * med(base_chunks):.1f} ms without the hook, "
          f"{1e3 * med(plain):.1f} ms with it (chunks without a call), {1e3 * med(hooked):.1f} ms (chunks with one)")
    print(f"one statistics call ≈ {1e3 * per_call:.1f} ms → steady-state overhead at every={args.every}: "
          f"{100 * overhead:.2f} %")
    call = direct_call_ms()
    step = 1e3 * med(base_chunks) / 100
    print(f"direct timing: one statistics call {call:.1f} ms = {call / step:.1f} Adam steps ({step:.2f} ms/step here) "
          f"→ {100 * call / (args.every * step):.2f} % at every={args.every}")
    wb, wh = med(walls["without"]), med(walls["with"])
    print(f"whole train() ({args.steps} steps, compilation included): {wb:.2f} s without, {wh:.2f} s with "
          f"({100 * (wh / wb - 1):+.1f} %)")
    if args.jsonl:
        Path(args.jsonl).parent.mkdir(parents=True, exist_ok=True)
        with open(args.jsonl, "a") as f:
            f.write(json.dumps({
                "steps": args.steps, "repeats": args.repeats, "every": args.every, "skip": args.skip,
                "chunk_ms_without": 1e3 * med(base_chunks), "chunk_ms_plain": 1e3 * med(plain),
                "chunk_ms_hooked": 1e3 * med(hooked), "per_call_ms": 1e3 * per_call,
                "overhead_pct": 100 * overhead, "direct_call_ms": call, "adam_step_ms": step,
                "direct_overhead_pct": 100 * call / (args.every * step), "train_s_without": wb,
                "train_s_with": wh}) + "\n")


if __name__ == "__main__":
    main()
