"""Remedies for the failure modes of Krishnapriyan et al. (2021): vanilla vs each remedy vs combinations.

Prints a Markdown table (rel L2 mean ± std over seeds, wall time) for each case × remedy configuration, next
to the papers' numbers where there are any. Outer drivers (curriculum stages, seq2seq windows) run the phase
sequence once per segment; with ``--equal-budget`` (default) each segment gets 1/count of the steps, so every
configuration of a case trains for the same total number of optimizer steps.

    python3 benchmarks/remedies.py --quick                       # a minute or two: 1 seed, small budget
    python3 benchmarks/remedies.py --cases convection-30 --remedies vanilla,curriculum --seeds 0,1,2 \\
        --adam 20000 --lbfgs 2000 --json results.json            # the issue's table, one case at a time

Timings depend on the machine and its load: say which when quoting them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._jsonl import append_row, read_rows  # noqa: E402
from pinnsight.config import PhaseConfig, TrainConfig  # noqa: E402
from pinnsight import train  # noqa: E402

CASES = {
    "convection-20": ("convection", {"beta": 20.0}),
    "convection-30": ("convection", {"beta": 30.0}),
    "convection-40": ("convection", {"beta": 40.0}),
    "convection-50": ("convection", {"beta": 50.0}),
    "reaction-5": ("reaction", {"rho": 5.0}),
    "reaction-10": ("reaction", {"rho": 10.0}),
    "rd-3-5": ("reaction-diffusion", {"nu": 3.0, "rho": 5.0}),
    "rd-5-5": ("reaction-diffusion", {"nu": 5.0, "rho": 5.0}),
}

#: remedy configurations by label: '+' joins spec strings (each NAME[:key=value,...])
REMEDIES = {
    "vanilla": "",
    "curriculum": "curriculum:start=1,stages=4",
    "seq2seq": "seq2seq:windows=5",
    "causal": "causal",
    "adaptive-sampling": "adaptive-sampling",
    "rar": "rar",
    "rad": "rad",
    "combo-curriculum": "curriculum:start=1,stages=4+causal+adaptive-sampling",
    "combo-seq2seq": "seq2seq:windows=5+causal+adaptive-sampling",
    # the second-order combination (issue 5's optimizer + issue 4's curriculum): float64, small net with the exact
    # periodic embedding, a Levenberg–Marquardt phase per stage (stages ≈ 5 apart in the coefficient); its own
    # fixed budget (``steps`` LM iterations per stage), not the table's Adam/L-BFGS budget
    "curriculum+lm": {"curriculum_spacing": 5.0, "phases": "gauss-newton:steps=300", "x64": True,
                      "model": "periodic:width=20,depth=3", "points": {"res": 1500, "ic": 256}},
    "curriculum+lm500": {"curriculum_spacing": 5.0, "phases": "gauss-newton:steps=500", "x64": True,
                         "model": "periodic:width=20,depth=3", "points": {"res": 1500, "ic": 256}},
}

#: the papers' rel L2 (issue 4): curriculum convection (Krishnapriyan et al. Table 1), seq2seq reaction(-diffusion)
PAPER = {
    ("convection-20", "curriculum"): 9.8e-3, ("convection-30", "curriculum"): 2.0e-2,
    ("convection-40", "curriculum"): 5.3e-2, ("reaction-5", "seq2seq"): 7e-2, ("reaction-10", "seq2seq"): 7e-2,
    ("rd-3-5", "seq2seq"): 1.6e-2, ("rd-5-5", "seq2seq"): 2.4e-2,
}

QUICK = {"cases": ["convection-20", "reaction-5"], "seeds": [0], "adam": 600, "lbfgs": 50}


def segment_count(config: TrainConfig) -> int:
    """How many segments the config's outer driver (if any) runs the phase sequence for."""
    from pinnsight.remedies import resolve_options, window_edges
    from pinnsight.remedies.curriculum import stage_values

    problem = config.build_problem()
    for spec in config.remedies:
        rs, options = resolve_options(spec, problem)
        if rs.name == "curriculum":
            return len(stage_values(options, problem))
        if rs.name == "seq2seq":
            t0, t1 = problem.bounds[problem.time_index]
            return len(window_edges(t0, t1, options["windows"], options["dt"])) - 1
    return 1


def lm_combination(case: str, recipe: dict, seed: int, args) -> TrainConfig:
    """The curriculum + Levenberg–Marquardt combination: stages ``curriculum_spacing`` apart in the (first)
    coefficient, from 1 to the target, each running the recipe's phases in full."""
    problem, params = CASES[case]
    coef, target = next(iter(params.items()))
    stages = max(2, round(target / recipe["curriculum_spacing"]) + 1)
    phases = []
    for part in recipe["phases"].split("+"):
        name, _, opts = part.partition(":")
        options = dict(kv.split("=", 1) for kv in opts.split(",") if kv)
        phases.append(PhaseConfig(name, int(options.pop("steps")), options))
    model, _, model_opts = recipe["model"].partition(":")
    return TrainConfig(
        problem=problem, params=params, seed=seed, x64=recipe["x64"], model=model,
        model_options=dict(kv.split("=") for kv in model_opts.split(",") if kv), points=recipe["points"],
        remedies=(f"curriculum:coef={coef},start=1,stages={stages}",), phases=tuple(phases),
        log_every=50, eval_every=50,
    )


def make_config(case: str, remedies, seed: int, args) -> TrainConfig:
    if isinstance(remedies, dict):
        return lm_combination(case, remedies, seed, args)
    problem, params = CASES[case]
    specs = tuple(s for s in remedies.split("+") if s)
    base = TrainConfig(problem=problem, params=params, seed=seed, x64=args.x64, remedies=specs,
                       model_options=dict(kv.split("=") for kv in args.model.split(",") if kv) if args.model else {},
                       log_every=args.log_every, eval_every=args.log_every * 10)
    count = segment_count(base) if args.equal_budget else 1
    phases = tuple(
        PhaseConfig(name, max(1, steps // count))
        for name, steps in (("adam", args.adam), ("lbfgs", args.lbfgs)) if steps
    )
    return dataclasses.replace(base, phases=phases)


def run(args) -> list[dict]:
    rows = read_rows(args.jsonl)
    have = {(r["case"], r["remedy"], r["seed"]) for r in rows}
    rows = [r for r in rows if r["case"] in args.cases and r["remedy"] in args.remedies and r["seed"] in args.seeds]
    for case in args.cases:
        for label in args.remedies:
            for seed in args.seeds:
                if (case, label, seed) in have or args.table_only:
                    continue
                config = make_config(case, REMEDIES.get(label, label), seed, args)
                t0 = time.perf_counter()
                result = train(config, progress=False)
                m = result.metrics
                row = {"case": case, "remedy": label, "specs": [str(r) for r in config.remedies], "seed": seed,
                       "rel_l2": m["rel_l2"], "wall_s": time.perf_counter() - t0, "steps": m["steps"],
                       "phases": [(p.name, p.steps) for p in config.phases],
                       "x64": config.x64, "model": config.model, "stop": m.get("stop_reason")}
                rows.append(row)
                append_row(args.jsonl, row)
                print(f"  {case:14s} {label:20s} seed {seed}: rel L2 {row['rel_l2']:.3e}  {row['wall_s']:.1f} s",
                      file=sys.stderr, flush=True)
    return rows


def speed(args) -> None:
    """Median ms per Adam step (chunks of ``log_every`` steps, compile and evaluation chunks left out) on the
    standard convection setup (β = 30, 4 × 50, 1000 + 100 + 100 points), per remedy configuration. Without
    remedies it also runs on a checkout before the remedies existed (PYTHONPATH=<that checkout>/src)."""
    import numpy as np

    for label in args.remedies:
        specs = tuple(s for s in REMEDIES.get(label, label).split("+") if s)
        kw = {"remedies": specs} if specs else {}
        config = TrainConfig(problem="convection", params={"beta": 30.0}, phases=(PhaseConfig("adam", args.adam),),
                             log_every=args.log_every, eval_every=args.log_every * (args.adam // args.log_every), **kw)
        result = train(config, progress=False)
        walls = [r["wall_s"] for r in result.history if r["phase"] == "adam"]
        dt = np.diff(walls)[1:-1] / args.log_every * 1e3
        print(f"| {label} | {np.median(dt):.3f} | {dt.min():.3f} |", flush=True)


def markdown(rows: list[dict], args) -> str:
    labels = list(dict.fromkeys(r["remedy"] for r in rows))
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines = [
        f"Budget per configuration: Adam {args.adam} + L-BFGS {args.lbfgs} steps"
        + (" in total (divided among curriculum stages / seq2seq windows)" if args.equal_budget else " per segment")
        + f"; seeds {', '.join(map(str, args.seeds))}; {'float64' if args.x64 else 'float32'}; "
        "rel L2 mean ± std over seeds (wall s, mean). Paper numbers in brackets."
        + (" `curriculum+lm`: its own recipe (float64, periodic 3×20 net, 1500 residual + 256 initial points, "
           "stages 5 apart in the coefficient from 1, 300 Levenberg–Marquardt iterations per stage, no Adam)."
           if "curriculum+lm" in labels else "")
        + (" `curriculum+lm500`: the same with 500 iterations per stage." if "curriculum+lm500" in labels else ""),
        "",
        "| case | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for case in cases:
        cells = []
        for label in labels:
            rs = [r for r in rows if r["case"] == case and r["remedy"] == label]
            if not rs:
                cells.append("")
                continue
            errs = [r["rel_l2"] for r in rs]
            spread = f" ± {statistics.stdev(errs):.1e}" if len(errs) > 1 else ""
            paper = f" [{PAPER[case, label]:.1e}]" if (case, label) in PAPER else ""
            wall = statistics.mean(r["wall_s"] for r in rs)
            cells.append(f"{statistics.mean(errs):.2e}{spread} ({wall:.0f} s){paper}")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    best = []
    for case in cases:
        means = {lb: statistics.mean(r["rel_l2"] for r in rows if r["case"] == case and r["remedy"] == lb)
                 for lb in labels if any(r["case"] == case and r["remedy"] == lb for r in rows)}
        lb = min(means, key=means.get)
        best.append(f"{case}: {lb} ({means[lb]:.2e})")
    lines += ["", "Best per case: " + "; ".join(best) + "."]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    p.add_argument("--remedies", default=",".join(REMEDIES),
                   help="comma list of labels (" + ", ".join(REMEDIES) + ") or '+'-joined spec strings")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--adam", type=int, default=20000)
    p.add_argument("--lbfgs", type=int, default=2000)
    p.add_argument("--model", default="", help="model options, e.g. width=50,depth=4")
    p.add_argument("--x64", action="store_true")
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--per-segment", dest="equal_budget", action="store_false",
                   help="give every curriculum stage / window the full budget (default: divide it)")
    p.add_argument("--quick", action="store_true", help=f"small smoke configuration: {QUICK}")
    p.add_argument("--json", default=None, help="also write the raw rows here")
    p.add_argument("--jsonl", default=None, help="append each finished row here and skip rows already there (resume)")
    p.add_argument("--table-only", action="store_true", help="print the table of the --jsonl rows; train nothing")
    p.add_argument("--speed", action="store_true",
                   help="instead: ms per Adam step for each --remedies label (use e.g. --adam 3000)")
    args = p.parse_args(argv)
    args.cases = [c for c in args.cases.split(",") if c]
    args.remedies = [r for r in args.remedies.split(",") if r]
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    if args.quick:
        args.cases, args.seeds, args.adam, args.lbfgs = QUICK["cases"], QUICK["seeds"], QUICK["adam"], QUICK["lbfgs"]
    if args.speed:
        print("| remedies | ms/step (median) | ms/step (min) |\n|---|---|---|")
        speed(args)
        return 0
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        p.error(f"unknown case {unknown[0]!r} (known: {', '.join(CASES)})")
    t0 = time.perf_counter()
    rows = run(args)
    print(markdown(rows, args))
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items()}, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
