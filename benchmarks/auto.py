"""``--remedy auto`` against vanilla and a hand-picked configuration, per case.

For each case (problem + coefficients) and seed it trains three configurations on the same phases, model and
points: ``vanilla`` (no remedy), ``auto`` (``--remedy auto``: a probe, its diagnosis, the chosen remedies) and
``hand`` (the best configuration known for the case, below; override with ``--hand CASE=SPEC+SPEC``). Outer
drivers (curriculum stages, time windows) run the whole phase sequence per segment, as in ``pinnsight train``;
auto's wall time includes its probe. Every finished run is one JSON line in ``--jsonl``: a rerun skips what is
recorded there (resumable).

    python3 benchmarks/auto.py --quick --jsonl runs/auto-quick.jsonl        # minutes: tiny budget, one seed
    python3 benchmarks/auto.py --jsonl runs/auto.jsonl --seeds 0,1,2         # the full comparison (hours)

Timings depend on the machine and its load: say which when quoting them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._jsonl import append_row, read_rows  # noqa: E402
from pinnsight.config import PhaseConfig, TrainConfig  # noqa: E402
from pinnsight.remedies import remedy_specs  # noqa: E402
from pinnsight import train  # noqa: E402

CASES = {
    "convection-30": ("convection", {"beta": 30.0}),
    "convection-40": ("convection", {"beta": 40.0}),
    "reaction-10": ("reaction", {"rho": 10.0}),
    "rd-5-5": ("reaction-diffusion", {"nu": 5.0, "rho": 5.0}),
    "helmholtz": ("helmholtz", {}),
    "allen-cahn": ("allen-cahn", {}),
    "burgers": ("burgers", {}),
    "klein-gordon": ("klein-gordon", {}),  # no rule was measured on it with a quasi-Newton recipe
}

#: hand-picked remedies per case ('+' joins specs): the curricula of Krishnapriyan et al. (2021) and of an
#: earlier hand-written script (not in this repository),
#: seq2seq for reaction–diffusion (their Table 2), learning-rate annealing for Helmholtz (Wang, Teng & Perdikaris
#: 2021), causal weighting for Allen–Cahn (Wang, Sankaran & Perdikaris 2022)
HAND = {
    "convection-30": "curriculum:values=1/5/10/20,keep_optimizer=1",
    "convection-40": "curriculum:values=1/5/10/20/30,keep_optimizer=1",
    "reaction-10": "curriculum:start=1,stages=4",
    "rd-5-5": "seq2seq:windows=5",
    "helmholtz": "lra",
    "allen-cahn": "causal",
    "burgers": "rad",
    "klein-gordon": "lra",
}

SIZES = {  # adam, lbfgs, model options, residual points, probe steps
    "quick": (300, 50, {"width": 20, "depth": 3}, 500, 150),
    "medium": (5000, 500, {"width": 50, "depth": 4}, 1000, 1000),
    "full": (20000, 2000, {"width": 50, "depth": 4}, 1000, 2000),
}


def config_for(case: str, label: str, seed: int, size: str, hand: dict[str, str]) -> TrainConfig:
    problem, params = CASES[case]
    adam, lbfgs, model, res, probe = SIZES[size]
    if label == "vanilla":
        remedies = ()
    elif label == "auto":
        remedies = (f"auto:probe_steps={probe},second_order=0",)  # first-order remedies only
    elif label == "auto-second-order":  # auto may also adopt a measured float64 second-order recipe
        # the choice alone, as before verification existed: verify-and-escalate is benchmarks/auto_escalation.py
        remedies = (f"auto:probe_steps={probe},second_order=1,verify=0",)
    elif label == "auto-verify":  # as a user runs it: the recipe, then verify and escalate (default budget)
        remedies = (f"auto:probe_steps={probe}",)
    else:
        remedies = tuple(s for s in hand[case].split("+") if s)
        remedies = tuple(s for s in remedies if s.split(":")[0] in remedy_specs())  # e.g. lra not registered yet
    return TrainConfig(problem=problem, params=params, model_options=model, points={"res": res},
                       phases=(PhaseConfig("adam", adam), PhaseConfig("lbfgs", lbfgs)), seed=seed,
                       remedies=remedies, log_every=min(100, adam), eval_every=min(100, adam) * 5)


def run_one(config: TrainConfig) -> dict:
    t0 = time.perf_counter()
    result = train(config, progress=False)
    m = result.metrics
    auto = m.get("auto", {})
    return {"rel_l2": m["rel_l2"], "wall_s": time.perf_counter() - t0, "steps": m["steps"],
            "remedies": [str(r) for r in result.config.remedies], "findings": [f["name"] for f in auto.get("findings", [])],
            "probe_rel_l2": auto.get("probe", {}).get("rel_l2"), "recipe": auto.get("chosen", {}).get("recipe"),
            "symmetric": result.config.symmetric, "model": result.config.model,
            "model_options": dict(result.config.model_options),
            "escalation": [{"action": (a.get("action") or {}).get("name"), "for": (a.get("action") or {}).get("for"),
                            "rel_l2": a.get("rel_l2"), "wall_s": a.get("wall_s")}
                           for a in auto.get("verification", {}).get("attempts", [])],
            "kept": auto.get("verification", {}).get("kept")}


def read_done(path: Path) -> dict[tuple, dict]:
    return {(r["case"], r["label"], r["seed"], r["size"]): r for r in read_rows(path)}


def table(rows: list[dict], cases, labels) -> str:
    out = ["| case | " + " | ".join(f"{lab}: rel L2 (wall s)" for lab in labels) + " | auto chose |",
           "|---|" + "---|" * (len(labels) + 1)]
    for case in cases:
        cells, chose = [], ""
        for lab in labels:
            rs = [r for r in rows if r["case"] == case and r["label"] == lab]
            if not rs:
                cells.append("—")
                continue
            err = statistics.median(r["rel_l2"] for r in rs)
            wall = statistics.median(r["wall_s"] for r in rs)
            cells.append(f"{err:.2e} ({wall:.0f})")
            if lab.startswith("auto"):
                picked = "; ".join((" + ".join(r["remedies"]) or "none")
                                   + (f" [recipe {r['recipe']}]" if r.get("recipe") else "") for r in rs)
                chose = f"{chose} {lab}: {picked}".strip()
        out.append(f"| {case} | " + " | ".join(cells) + f" | {chose} |")
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--labels", default="vanilla,auto,hand")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--quick", action="store_true", help="tiny budget (300 Adam + 50 L-BFGS, 3×20 net)")
    ap.add_argument("--size", choices=tuple(SIZES), default=None, help="budget (default full; --quick = quick)")
    ap.add_argument("--hand", action="append", default=[], metavar="CASE=SPEC+SPEC", help="override a hand-picked config")
    ap.add_argument("--jsonl", type=Path, required=True, help="results, one JSON line per run (resumable)")
    args = ap.parse_args(argv)
    size = args.size or ("quick" if args.quick else "full")
    hand = dict(HAND)
    for item in args.hand:
        case, _, spec = item.partition("=")
        hand[case] = spec
    cases, labels = args.cases.split(","), args.labels.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    unknown = [c for c in cases if c not in CASES] + [lab for lab in labels if lab not in ("vanilla", "auto", "auto-second-order", "auto-verify", "hand")]
    if unknown:
        raise SystemExit(f"unknown case or label: {', '.join(unknown)}")
    done = read_done(args.jsonl)
    for case in cases:
        for seed in seeds:
            for lab in labels:
                key = (case, lab, seed, size)
                if key in done:
                    continue
                config = config_for(case, lab, seed, size, hand)
                row = {"case": case, "label": lab, "seed": seed, "size": size, "requested": [str(r) for r in config.remedies],
                       **run_one(config)}
                append_row(args.jsonl, row)
                done[key] = row
                print(f"{case} {lab} seed {seed}: rel L2 {row['rel_l2']:.3e} in {row['wall_s']:.0f} s "
                      f"({' + '.join(row['remedies']) or 'no remedy'})", flush=True)
    rows = [r for r in done.values() if r["size"] == size and r["case"] in cases and r["seed"] in seeds]
    print(table(rows, cases, labels))


if __name__ == "__main__":
    main()
