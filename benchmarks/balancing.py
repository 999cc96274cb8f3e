"""Loss balancing (issue 6): the tables of the loss-weighting papers, vanilla vs lra / ntk / inverse-dirichlet /
modified MLP, with time marching and causal training for Allen–Cahn and plain Burgers for reference.

Prints a Markdown table per case (rel L2 mean ± std over seeds, mean wall time, paper value in brackets). Every
finished run is appended to ``--jsonl`` at once, and runs already there (same case, row, seed and budget) are
skipped, so an interrupted table resumes where it stopped.

    python3 benchmarks/balancing.py --quick                            # Helmholtz, 1 seed, 1000 Adam steps
    python3 benchmarks/balancing.py --cases helmholtz --seeds 0 --adam 5000 --jsonl balancing.jsonl
    python3 benchmarks/balancing.py --seeds 0,1,2 --jsonl balancing.jsonl   # everything at the papers' budgets

Rows (``--rows`` picks some): ``lra`` is the paper's formula (Wang, Teng, Perdikaris 2021, Alg. 1: λ̂ from the
unweighted terms, α = 0.9 on the new estimate); ``lra-code`` is the authors' published update (λ̂ from the gradient
of the weighted term, λ ← 0.9 λ + 0.1 λ̂) with the paper's statistics over all parameters; ``lra-layers`` is the whole
of their code, statistics per weight matrix (``pool=layers``), see ``pinnsight.remedies.weighting``. Differences from
the papers: fixed collocation points unless ``--fresh 128`` (the papers draw a fresh batch of 128 points per term and
step), raw inputs unless ``--normalize`` (the authors' codes standardise them), float32. Timings depend on the
machine and its load: say which when quoting them.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._jsonl import append_row, read_rows  # noqa: E402
from benchmarks.remedies import segment_count  # noqa: E402
from pinnsight.config import PhaseConfig, TrainConfig  # noqa: E402
from pinnsight import train  # noqa: E402

LRA = "lra:alpha=0.9,every=10"  # the paper's formula and constants
LRA_CODE = "lra:weighted=1,alpha=0.1,every=10"  # the authors' update rule, statistics over all parameters
LRA_LAYERS = LRA_CODE + ",pool=layers"  # ... and their statistics: per weight matrix, mean of the means


@dataclasses.dataclass(frozen=True)
class Case:
    problem: str
    params: dict[str, float]
    model: tuple[str, dict[str, Any]]  # the "vanilla" network
    #: label -> (model override | None, '+'-specs) or, for a fixed recipe, (model, specs, Recipe)
    rows: dict[str, tuple]
    paper: dict[str, float]  # label -> published rel L2
    adam: int
    lbfgs: int = 0
    points: dict[str, int] = dataclasses.field(default_factory=dict)
    source: str = ""
    #: ``--fresh B`` layout: term -> number of edges it pools. The papers draw B rows per edge and sum one mean
    #: square per edge, so a term pooling k edges gets k·B rows and the fixed weight k (same loss as the paper's)
    fresh: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A row with its own optimizer phases (not scaled by ``--adam``/``--lbfgs``), e.g. float64 second order."""

    phases: tuple[tuple[str, int], ...]
    x64: bool = True
    points: dict[str, int] = dataclasses.field(default_factory=dict)  # overrides the case's points
    weights: dict[str, float] = dataclasses.field(default_factory=dict)  # fixed loss weights


#: issue 6's "best configuration": Adam, then energy natural gradient (Müller & Zeinhofer 2023) in float64, on a
#: 3 × 30 tanh network (the dense Gram solve is cubic in the parameter count: 1981 parameters on the 2-D problems)
NG_ROW = (("mlp", {"width": 30, "depth": 3}), "", Recipe((("adam", 1000), ("natural-gradient", 500))))


#: wave's best configuration: the same phases (natural gradient 1000) on 3 × 40, initial and boundary terms weighted
#: 100 (unweighted, the data terms are the ones left unfitted)
WAVE_NG_ROW = (("mlp", {"width": 40, "depth": 3}), "",
               Recipe((("adam", 1000), ("natural-gradient", 1000)), weights={"ic": 100.0, "ic_t": 100.0, "bc": 100.0}))

#: ... and time-marched: 2 windows, each Adam 500 → natural gradient 1000 (the sample-space Woodbury solve keeps a
#: natural-gradient iteration of this 3441-parameter network on 1300 rows at ≈ 0.3 s)
WAVE_S2S_ROW = (WAVE_NG_ROW[0], "seq2seq:windows=2",
                dataclasses.replace(WAVE_NG_ROW[2], phases=(("adam", 500), ("natural-gradient", 1000))))

WAVE_S2S3_ROW = (WAVE_S2S_ROW[0], "seq2seq:windows=3", WAVE_S2S_ROW[2])  # ... in 3 windows

#: Allen–Cahn's best configuration: 4 time windows, each Adam 500 → natural gradient 300 (float64) on the exact
#: periodic embedding + 3 × 30, 2000 residual points per window, initial-condition weight 100 (errors at t_k grow
#: like e^{5t} where u ≈ 0, so the data each window starts from is weighted up)
AC_ROW = (("periodic", {"width": 30, "depth": 3}), "seq2seq:windows=4",
          Recipe((("adam", 500), ("natural-gradient", 300)), points={"res": 2000}, weights={"ic": 100.0}))
#: ... with 450 natural-gradient iterations per window, and also with 3 harmonics in the periodic embedding
AC_ROW_450 = (AC_ROW[0], AC_ROW[1], dataclasses.replace(AC_ROW[2], phases=(("adam", 500), ("natural-gradient", 450))))
AC_ROW_450_H3 = (("periodic", {"width": 30, "depth": 3, "harmonics": 3}), AC_ROW[1], AC_ROW_450[2])


def _mmlp(width: int, depth: int) -> tuple[str, dict[str, Any]]:
    return ("modified-mlp", {"width": width, "depth": depth})


CASES = {
    # Wang, Teng, Perdikaris, SIAM J. Sci. Comput. 43 (2021), Table 2: 3 × 50, 40000 Adam steps.
    "helmholtz": Case(
        "helmholtz", {"a1": 1.0, "a2": 4.0}, ("mlp", {"width": 50, "depth": 3}),
        rows={"vanilla": (None, ""), "lra": (None, LRA), "lra-code": (None, LRA_CODE),
              "modified-mlp": (_mmlp(50, 3), ""), "lra+modified-mlp": (_mmlp(50, 3), LRA),
              "lra-code+modified-mlp": (_mmlp(50, 3), LRA_CODE), "lra-layers": (None, LRA_LAYERS),
              "lra-layers+modified-mlp": (_mmlp(50, 3), LRA_LAYERS),
              "ntk": (None, "ntk:every=1000"), "inverse-dirichlet": (None, "inverse-dirichlet"),
              "adam+natural-gradient": NG_ROW},
        paper={"vanilla": 1.06e-1, "lra": 1.12e-2, "lra-code": 1.12e-2, "modified-mlp": 2.46e-2,
               "lra+modified-mlp": 3.87e-3, "lra-code+modified-mlp": 3.87e-3,
               "lra-layers": 1.12e-2, "lra-layers+modified-mlp": 3.87e-3},
        adam=40000, source="Wang, Teng, Perdikaris 2021, Table 2", fresh={"res": 1, "bc": 4},
    ),
    # same paper, Table 3: 5 × 50, 40000 Adam steps.
    "klein-gordon": Case(
        "klein-gordon", {}, ("mlp", {"width": 50, "depth": 5}),
        rows={"vanilla": (None, ""), "lra": (None, LRA), "lra-code": (None, LRA_CODE),
              "modified-mlp": (_mmlp(50, 5), ""), "lra+modified-mlp": (_mmlp(50, 5), LRA),
              "lra-code+modified-mlp": (_mmlp(50, 5), LRA_CODE), "lra-layers": (None, LRA_LAYERS),
              "lra-layers+modified-mlp": (_mmlp(50, 5), LRA_LAYERS), "adam+natural-gradient": NG_ROW},
        paper={"vanilla": 1.79e-1, "lra": 1.06e-2, "lra-code": 1.06e-2, "modified-mlp": 1.97e-2,
               "lra+modified-mlp": 2.81e-3, "lra-code+modified-mlp": 2.81e-3,
               "lra-layers": 1.06e-2, "lra-layers+modified-mlp": 2.81e-3},
        adam=40000, source="Wang, Teng, Perdikaris 2021, Table 3", fresh={"res": 1, "ic": 1, "ic_t": 1, "bc": 2},
    ),
    # Wang, Yu, Perdikaris, J. Comput. Phys. 449 (2022), wave c = 2: fixed weights vs NTK weights. The network
    # (3 × 500) is the layer list of the authors' notebook PINNsNTK_Wave1D.ipynb, which trains 80001 steps with NTK
    # updates every 100 (docs/benchmarks.md); the rows here update every 1000 steps to fit a CPU budget.
    "wave": Case(
        "wave", {"c": 2.0}, ("mlp", {"width": 500, "depth": 3}),
        rows={"vanilla": (None, ""), "ntk": (None, "ntk:every=1000,points=256,chunk=64"),
              "adam+natural-gradient": NG_ROW, "adam+natural-gradient-weighted": WAVE_NG_ROW,
              "seq2seq+natural-gradient-weighted": WAVE_S2S_ROW,
              "seq2seq3+natural-gradient-weighted": WAVE_S2S3_ROW},
        paper={"vanilla": 4.5e-1, "ntk": 1.7e-3}, adam=40000, source="Wang, Yu, Perdikaris 2022",
        fresh={"res": 1, "ic": 1, "ic_t": 1, "bc": 2},
    ),
    # Allen–Cahn: plain PINN, time marching, causal training with a modified MLP on the exact periodic embedding
    # (published values as quoted in issue 6: Wang, Sankaran, Perdikaris 2022 and the works they compare with).
    "allen-cahn": Case(
        "allen-cahn", {}, ("mlp", {"width": 128, "depth": 4}),
        rows={"vanilla": (None, ""), "seq2seq": (None, "seq2seq:windows=10"),
              "causal+modified-mlp": (("periodic", {"width": 128, "depth": 4, "net": "modified-mlp"}), "causal"),
              "seq2seq+natural-gradient": AC_ROW, "seq2seq+natural-gradient-450": AC_ROW_450,
              "seq2seq+natural-gradient-450-h3": AC_ROW_450_H3},
        paper={"vanilla": 4.98e-1, "seq2seq": 1.68e-2, "causal+modified-mlp": 1.39e-4},
        adam=40000, source="Wang, Sankaran, Perdikaris 2022 (as quoted in issue 6)",
    ),
    # Raissi, Perdikaris, Karniadakis 2019: 8 hidden layers × 20, 10000 residual points, L-BFGS.
    "burgers": Case(
        "burgers", {}, ("mlp", {"width": 20, "depth": 8}),
        rows={"vanilla": (None, ""), "lra-code": (None, LRA_CODE), "inverse-dirichlet": (None, "inverse-dirichlet")},
        paper={"vanilla": 6.7e-4}, adam=5000, lbfgs=5000, points={"res": 10000},
        source="Raissi, Perdikaris, Karniadakis 2019",
    ),
}

QUICK = {"cases": ["helmholtz"], "seeds": [0], "adam": 1000, "lbfgs": 0}


def budget(case: Case, args) -> tuple[int, int]:
    """(Adam steps, L-BFGS steps) for ``case``: the command line's, else the case's paper budget."""
    return (case.adam if args.adam is None else args.adam, case.lbfgs if args.lbfgs is None else args.lbfgs)


def row_budget(case: Case, label: str, args) -> tuple[int, int]:
    """(Adam steps, L-BFGS steps) of one row: a recipe's own Adam steps (its other phases are in its label),
    else ``budget``."""
    recipe = case.rows[label][2:]
    if recipe:
        return sum(s for n, s in recipe[0].phases if n == "adam"), 0
    return budget(case, args)


def make_config(name: str, label: str, seed: int, args) -> TrainConfig:
    case = CASES[name]
    model, specs, *recipe = case.rows[label]
    model_name, model_options = model or case.model
    points, weights = case.points, {}
    if args.fresh and not recipe:  # stochastic mini-batches, fresh every Adam step, as in the papers
        if not case.fresh:
            raise SystemExit(f"--fresh: case {name} has no mini-batch layout")
        points = {term: k * args.fresh for term, k in case.fresh.items()}
        weights = {term: float(k) for term, k in case.fresh.items() if k > 1}
    if args.normalize and not recipe:  # standardised inputs, as the authors' codes
        model_options = {**model_options, "normalize": True}
    base = TrainConfig(problem=case.problem, params=case.params, model=model_name, model_options=model_options,
                       points=points, weights=weights, seed=seed, remedies=tuple(s for s in specs.split("+") if s),
                       log_every=args.log_every, eval_every=args.log_every * 10)
    if recipe:
        return dataclasses.replace(base, phases=tuple(PhaseConfig(n, s) for n, s in recipe[0].phases),
                                   x64=recipe[0].x64, points={**points, **recipe[0].points},
                                   weights={**weights, **recipe[0].weights})
    adam, lbfgs = budget(case, args)
    count = segment_count(base)  # time windows share the budget: every row trains for the same number of steps
    fresh = {"fresh": 1} if args.fresh else {}
    phases = tuple(PhaseConfig(n, max(1, s // count), fresh if n == "adam" else {})
                   for n, s in (("adam", adam), ("lbfgs", lbfgs)) if s)
    return dataclasses.replace(base, phases=phases)


def key(row: dict) -> tuple:
    return (row["case"], row["row"], row["seed"], row["adam"], row["lbfgs"], row.get("fresh", 0),
            row.get("normalize", 0))


def run(args) -> list[dict]:
    # rows with a "variant" ran under an earlier code version (their "note" says which): kept in the file for the
    # record, never counted as done nor shown in this script's table
    rows = [r for r in read_rows(args.jsonl) if "variant" not in r]
    have = {key(r) for r in rows}
    wanted = []
    for name in args.cases:
        case = CASES[name]
        for label in (r for r in case.rows if not args.rows or r in args.rows):
            adam, lbfgs = row_budget(case, label, args)
            plain = len(case.rows[label]) == 2  # recipes keep their own fixed points and raw inputs
            fresh, normalize = (args.fresh, int(args.normalize)) if plain else (0, 0)
            for seed in args.seeds:
                wanted.append((name, label, seed, adam, lbfgs, fresh, normalize))
    for name, label, seed, adam, lbfgs, fresh, normalize in wanted:
        if (name, label, seed, adam, lbfgs, fresh, normalize) in have:
            continue
        config = make_config(name, label, seed, args)
        t0 = time.perf_counter()
        result = train(config, progress=False)
        m = result.metrics
        row = {"case": name, "row": label, "seed": seed, "adam": adam, "lbfgs": lbfgs, "fresh": fresh,
               "normalize": normalize,
               "rel_l2": m["rel_l2"], "wall_s": time.perf_counter() - t0, "steps": m["steps"],
               "stop": m["stop_reason"], "model": config.model, "model_options": dict(config.model_options),
               "remedies": [str(r) for r in config.remedies], "x64": config.x64, "points": dict(config.points),
               "weights": dict(config.weights),
               "phases": [[p.name, p.steps] for p in config.phases],
               "final_weights": {k: v for k, v in result.history[-1].items() if k.endswith("_weight")}}
        rows.append(row)
        append_row(args.jsonl, row)
        print(f"  {name:13s} {label:22s} seed {seed}: rel L2 {row['rel_l2']:.3e}  {row['wall_s']:.1f} s",
              file=sys.stderr, flush=True)
    return [r for r in rows if key(r) in set(wanted)]


def markdown(rows: list[dict]) -> str:
    out = []
    for name in dict.fromkeys(r["case"] for r in rows):
        case = CASES[name]
        mine = [r for r in rows if r["case"] == name]
        adam, lbfgs, fresh = mine[0]["adam"], mine[0]["lbfgs"], max(r.get("fresh", 0) for r in mine)
        seeds = sorted({r["seed"] for r in mine})
        model, opts = case.model
        setting = ("recipe rows (each row says what it ran)" if all(r.get("x64") for r in mine) else
                   f"{model} {opts.get('depth')} × {opts.get('width')}, Adam {adam}"
                   + (f" + L-BFGS {lbfgs}" if lbfgs else "") + " steps"
                   + (f", fresh batches of {fresh} per term and step" if fresh else ", fixed points")
                   + (", standardised inputs" if any(r.get("normalize") for r in mine) else ""))
        out += [f"**{name}** {' '.join(f'{k}={v:g}' for k, v in case.params.items())} — {setting}"
                f", seeds {', '.join(map(str, seeds))}; paper: {case.source}", "",
                "| row | rel L2 | wall s | paper |", "|---|---|---|---|"]
        for label in dict.fromkeys(r["row"] for r in mine):
            errs = [r["rel_l2"] for r in mine if r["row"] == label]
            spread = f" ± {statistics.stdev(errs):.1e}" if len(errs) > 1 else ""
            wall = statistics.mean(r["wall_s"] for r in mine if r["row"] == label)
            paper = f"{case.paper[label]:.2e}" if label in case.paper else ""
            first = next(r for r in mine if r["row"] == label)
            if first.get("x64"):  # a recipe row: say what it ran
                o = first["model_options"]
                extra = f", {o['harmonics']} harmonics" if o.get("harmonics", 1) != 1 else ""
                extra += "".join(f", {spec}" for spec in first["remedies"])
                extra += "".join(f", {n} {term} points" for term, n in first.get("points", {}).items())
                extra += "".join(f", {term} weight {w:g}" for term, w in first.get("weights", {}).items() if w != 1)
                label = (f"{label} ({' + '.join(f'{n} {k}' for n, k in first['phases'])}, float64, "
                         f"{first['model']} {o.get('depth')} × {o.get('width')}{extra})")
            out.append(f"| {label} | {statistics.mean(errs):.2e}{spread} | {wall:.0f} | {paper} |")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    p.add_argument("--rows", default="", help="comma list of row labels (default: each case's rows)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--adam", type=int, default=None, help="Adam steps for every case (default: the paper's)")
    p.add_argument("--lbfgs", type=int, default=None, help="L-BFGS steps for every case (default: the paper's)")
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--fresh", type=int, default=0, metavar="B",
                   help="draw a fresh batch every Adam step, B rows per residual / condition / boundary edge "
                        "(the papers: 128); default: fixed points")
    p.add_argument("--normalize", action="store_true",
                   help="standardise the network inputs on the problem's box (model option normalize=1), as the "
                        "authors' codes do; recipe rows keep theirs")
    p.add_argument("--quick", action="store_true", help=f"small smoke configuration: {QUICK}")
    p.add_argument("--jsonl", default=None, help="append each finished run here; runs already there are skipped")
    args = p.parse_args(argv)
    args.cases = [c for c in args.cases.split(",") if c]
    args.rows = [r for r in args.rows.split(",") if r]
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    if args.quick:
        args.cases, args.seeds, args.adam, args.lbfgs = QUICK["cases"], QUICK["seeds"], QUICK["adam"], QUICK["lbfgs"]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        p.error(f"unknown case {unknown[0]!r} (known: {', '.join(CASES)})")
    known = {r for c in args.cases for r in CASES[c].rows}
    bad = [r for r in args.rows if r not in known]
    if bad:
        p.error(f"unknown row {bad[0]!r} (rows of these cases: {', '.join(sorted(known))})")
    t0 = time.perf_counter()
    rows = run(args)
    print(markdown(rows))
    print(f"(total {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
