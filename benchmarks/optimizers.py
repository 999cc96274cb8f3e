"""Second-order optimizer phases (issue 5): Adam, Adam + L-BFGS, Adam + each new phase, alone or per curriculum stage.

Prints a Markdown table: rel L2 on the reference grid, wall time, iterations and seconds per iteration of the last
phase, for each case × dtype × optimizer sequence. A sequence is '+'-joined phase names, each optionally with its
own options (``gauss-newton:steps=300,matrix_free=1``); a phase without ``steps=`` gets ``--adam`` steps (Adam) or
``--second`` steps (the others). With ``--curriculum 1/5/10/20`` every sequence runs once per stage (issue 4's
remedy), warm-started, and the table reports the last stage.

    python3 benchmarks/optimizers.py --quick                 # a few minutes: convection β=10, float64, 3×20 net
    python3 benchmarks/optimizers.py --cases convection-30 --dtypes float64 --sequences gauss-newton \\
        --curriculum 1/5/10/20 --second 300 --model periodic:width=20,depth=3 --points res=1500,ic=256
    python3 benchmarks/optimizers.py --cases convection-40,reaction-5 --dtypes float32,float64 \\
        --sequences adam,adam+lbfgs,adam+bfgs,adam+ssbroyden,adam+gauss-newton,adam+newton-cg --adam 5000 --second 1000

Timings depend on the machine and its load (the 2-core CPU is shared): say which when quoting them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._jsonl import append_row, read_rows  # noqa: E402
from pinnsight.config import PhaseConfig, TrainConfig  # noqa: E402
from pinnsight import train  # noqa: E402

CASES = {
    "convection-5": ("convection", {"beta": 5.0}),
    "convection-10": ("convection", {"beta": 10.0}),
    "convection-30": ("convection", {"beta": 30.0}),
    "convection-40": ("convection", {"beta": 40.0}),
    "convection-50": ("convection", {"beta": 50.0}),
    "reaction-1": ("reaction", {"rho": 1.0}),
    "reaction-5": ("reaction", {"rho": 5.0}),
    "helmholtz": ("helmholtz", {}),
    "burgers": ("burgers", {}),
}

#: Rathore et al. (ICML 2024), best over widths: Adam / Adam+L-BFGS / +NNCG
PAPER = {
    ("convection-40", "adam"): 5.96e-2, ("convection-40", "adam+lbfgs"): 4.19e-3,
    ("convection-40", "adam+lbfgs+newton-cg"): 1.94e-3,
    ("reaction-5", "adam"): 2.12e-2, ("reaction-5", "adam+lbfgs"): 1.92e-2, ("reaction-5", "adam+lbfgs+newton-cg"): 9.92e-3,
}

QUICK = dict(cases=["convection-10"], dtypes=["float64"], sequences=["adam", "adam+lbfgs", "adam+gauss-newton"],
             adam=1000, second=200, model="mlp:width=20,depth=3", points="res=1000")


def parse_kv(text: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in text.split(",") if kv)


def phases_of(sequence: str, args) -> tuple[PhaseConfig, ...]:
    out = []
    for part in sequence.split("+"):
        name, _, opts = part.partition(":")
        options = parse_kv(opts)
        steps = int(options.pop("steps", args.adam if name == "adam" else args.second))
        out.append(PhaseConfig(name, steps, options))
    return tuple(out)


def make_config(case: str, dtype: str, sequence: str, args) -> TrainConfig:
    problem, params = CASES[case]
    model, _, model_opts = args.model.partition(":")
    remedies = (f"curriculum:values={args.curriculum}",) if args.curriculum else ()
    return TrainConfig(
        problem=problem, params=params, model=model, model_options=parse_kv(model_opts),
        points={k: int(v) for k, v in parse_kv(args.points).items()}, phases=phases_of(sequence, args),
        seed=args.seed, x64=dtype == "float64", log_every=args.log_every, eval_every=args.log_every,
        remedies=remedies,
    )


def setup(args) -> dict:
    """What besides (case, dtype, sequence) decides a row: a resumed ``--jsonl`` row counts only if it matches."""
    return {"adam": args.adam, "second": args.second, "model": args.model, "points": args.points,
            "curriculum": args.curriculum, "seed": args.seed}


def run(args) -> list[dict]:
    done = {(r["case"], r["dtype"], r["sequence"]): r for r in read_rows(args.jsonl) if r.get("setup") == setup(args)}
    rows = []
    for case in args.cases:
        for dtype in args.dtypes:
            for sequence in args.sequences:
                if (case, dtype, sequence) in done:
                    rows.append(done[case, dtype, sequence])
                    continue
                config = make_config(case, dtype, sequence, args)
                t0 = time.perf_counter()
                result = train(config, progress=False)
                last = result.phases[-1]
                row = {
                    "case": case, "dtype": dtype, "sequence": sequence, "rel_l2": result.metrics["rel_l2"],
                    "wall_s": time.perf_counter() - t0, "steps": result.metrics["steps"],
                    "last_phase": {"name": last.name, "steps": last.steps, "wall_s": last.wall_s,
                                   "stop": last.stop_reason, "fevals": last.function_evals, "loss": last.end_loss},
                    "phases": [vars(p) for p in result.phases], "setup": setup(args),
                }
                rows.append(row)
                append_row(args.jsonl, row)
                print(f"  {case:14s} {dtype} {sequence:28s} rel L2 {row['rel_l2']:.3e}  {row['wall_s']:.1f} s  "
                      f"({last.name}: {last.steps} it, {last.stop_reason})", file=sys.stderr, flush=True)
    return rows


def markdown(rows: list[dict], args) -> str:
    curriculum = f"; β/ρ curriculum {args.curriculum} (phases run per stage, last stage reported)" if args.curriculum else ""
    lines = [
        f"Model {args.model}; points {args.points or 'default'}; seed {args.seed}; Adam {args.adam}, other phases "
        f"{args.second} iterations unless given{curriculum}. Wall time of the whole run (compilation included) on a "
        "shared machine; s/it = wall time per iteration of the last phase (last stage).",
        "",
        "| case | dtype | sequence | rel L2 | wall s | last phase: iterations, stop, s/it | paper |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lp = r["last_phase"]
        per_it = lp["wall_s"] / lp["steps"] if lp["steps"] else float("nan")
        paper = PAPER.get((r["case"], r["sequence"]))
        lines.append(
            f"| {r['case']} | {r['dtype']} | {r['sequence']} | {r['rel_l2']:.2e} | {r['wall_s']:.0f} | "
            f"{lp['name']}: {lp['steps']}, {lp['stop']}, {per_it:.3g} | {f'{paper:.2e}' if paper else ''} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="convection-30,convection-40,reaction-5")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--sequences", default="adam,adam+lbfgs,adam+bfgs,adam+ssbroyden,adam+gauss-newton,adam+newton-cg")
    p.add_argument("--adam", type=int, default=5000, help="Adam steps (per stage with --curriculum)")
    p.add_argument("--second", type=int, default=1000, help="iterations of each other phase (per stage)")
    p.add_argument("--model", default="mlp:width=20,depth=3", help="NAME[:key=value,...]")
    p.add_argument("--points", default="", help="per-term point counts, e.g. res=1500,ic=256")
    p.add_argument("--curriculum", default="", help="stage values before the target, e.g. 1/5/10/20")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--quick", action="store_true", help="a small configuration (minutes)")
    p.add_argument("--json", help="also write the rows here")
    p.add_argument("--jsonl", help="append each finished row here; rows already there (same setup) are reused")
    p.add_argument("--table-only", action="store_true", help="print the table of the --jsonl rows; train nothing")
    args = p.parse_args(argv)
    args.cases, args.dtypes, args.sequences = (s.split(",") for s in (args.cases, args.dtypes, args.sequences))
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        p.error(f"unknown case {unknown[0]!r} (known: {', '.join(CASES)})")
    if args.table_only:
        rows = [r for r in read_rows(args.jsonl) if r.get("setup") == setup(args) and r["case"] in args.cases
                and r["dtype"] in args.dtypes and r["sequence"] in args.sequences]
    else:
        rows = run(args)
    print(markdown(rows, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
