"""The planner, ``--remedy auto``: a short probe training, its diagnosis, and the remedies chosen from the findings.

``resolve_auto(config)`` is a resolution step before training: it trains a probe (the same problem, model and
seed; Adam only, no remedies, ``probe_steps`` steps), diagnoses it (``report.diagnose``, NTK in the run's own
dtype, no Gauss–Newton SVD), and returns the config with ``auto`` replaced by the chosen remedies (and fixed
weights or a Fourier-feature model where a finding asks for them), plus a record of the choice and its reasons
for ``config.json``. The main training then starts from scratch. ``choose`` — findings → remedy specs — is a
pure function.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from .config import PhaseConfig, TrainConfig
from .precision import precision
from .problems import Problem
from .problems.seams import diffusivity, kinked_seams
from .diagnostics.report import diagnose, from_result
from .diagnostics.signatures import RECIPES, SEVERITIES, Finding
from .escalation import escalate
from .remedies import parse_spec, remedy_specs, resolve_options
from .spec import coerce, parse_pairs
from .spec import parse_spec as parse_named
from .trainer import RunResult
from .trainer import train as train_only

AUTO = "auto"


class AutoChoice(NamedTuple):
    """What ``choose`` picked: remedy specs (in order), fixed weights, a model change, and why."""

    specs: tuple[str, ...]
    weights: dict[str, float]
    model: tuple[str, dict[str, Any]] | None
    reasons: tuple[dict[str, str], ...]
    recipe: str | None = None  # a name of ``signatures.RECIPES`` (only with ``recipes=True``)
    recipe_model: tuple[str, dict[str, Any]] | None = None  # the network the adopted suggestion names


#: Findings are served root causes first: the coefficient's conditioning (curriculum), term balance, causality,
#: sampling, stalls, spectral bias; then by severity.
PRIORITY = ("conditioning-growth", "unbalanced-terms", "error-grows-in-time", "late-time-residual",
            "loss-low-error-high", "stall", "high-frequency-error")


def choose(findings: Sequence[Finding], *, user_specs: Sequence[str] = (), model: str = "mlp",
           model_options: dict | None = None, recipes: bool = False) -> AutoChoice:
    """Remedies for ``findings`` (with their suggestions filled in, ``signatures.with_suggestions``), served in
    ``PRIORITY`` order, then most severe first.

    Per finding the first suggestion that fits is taken (an unbalanced residual term is left to the curriculum
    when one is chosen): a remedy not chosen yet, at most one outer driver
    (curriculum, seq2seq) in all; fixed ``--weight`` only when no adaptive weighting remedy is chosen; a
    Fourier-feature model only in place of the plain ``mlp`` (width and depth kept). A finding whose remedy is
    already chosen adds its reason to that choice. ``user_specs`` (remedies given next to ``auto``) are kept first.
    With ``recipes``, the first finding (same order) that names a whole second-order recipe (``Suggestion.recipe``)
    is adopted whole: its remedy spec (if any) replaces the first-order picks (``user_specs`` kept), no fixed weights
    or model swap; ``resolve_auto`` then sets the recipe's precision, network, points and optimizer phases.
    """
    picks = _Picks(list(user_specs), [parse_spec(s)[0] for s in user_specs])
    rank = {n: i for i, n in enumerate(PRIORITY)}
    ordered = sorted(findings, key=lambda f: (rank.get(f.name, len(PRIORITY)), -SEVERITIES.index(f.severity)))
    for f in ordered:
        if f.name == "unbalanced-terms" and f.evidence.get("largest") == "res" and picks.any("schedules_coefficient"):
            # the residual dominates because the coefficient is large: the curriculum treats that cause (adding a
            # weighting on top took reaction ρ = 10 from 4.7e-2 to 0.63 in benchmarks/auto.py --quick)
            picks.reasons.append({"finding": f.name, "choice": "none", "why": "explained by the coefficient's "
                                  "conditioning growth, which the curriculum treats"})
            continue
        for s in f.suggestions:  # the first that fits (whole recipes are taken below, only when asked)
            if s.recipe is None and picks.take(f, s, model, model_options):
                break
    adopted = _adopt_recipe(ordered, picks, user_specs) if recipes else None
    recipe, recipe_model = (adopted.recipe, _model_of(adopted.args)) if adopted else (None, None)
    return AutoChoice(tuple(picks.specs), picks.weights, picks.model, tuple(picks.reasons), recipe, recipe_model)


def _model_of(args: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    """(name, options) of the ``--model`` in a suggestion's arguments: the network the suggestion was written for
    (a recipe's, with the periodic embedding added or removed as the problem's data allow, and its inputs)."""
    i = next((i for i, a in enumerate(args) if a == "--model"), None)
    return None if i is None else parse_named(args[i + 1], "--model")


@dataclasses.dataclass
class _Picks:
    """What ``choose`` has picked so far."""

    specs: list
    names: list
    weights: dict = dataclasses.field(default_factory=dict)
    model: tuple | None = None
    reasons: list = dataclasses.field(default_factory=list)

    def any(self, prop: str) -> bool:
        """Whether a picked remedy declares ``prop`` (a RemedySpec property)."""
        registry = remedy_specs()
        return any(getattr(registry[n], prop) for n in self.names if n in registry)

    def note(self, f, s, **extra) -> bool:
        self.reasons.append({"finding": f.name, "choice": s.spec or " ".join(s.args), "why": s.why, **extra})
        return True

    def take(self, f, s, model: str, model_options) -> bool:
        """Pick suggestion ``s`` of finding ``f`` if it fits; True when the finding is served."""
        if s.spec is not None:
            name = parse_spec(s.spec)[0]
            if name in self.names:
                return self.note(f, s, note="already chosen")
            driver = remedy_specs()[name].driver if name in remedy_specs() else False
            if driver and self.any("driver"):
                return False
            self.specs.append(s.spec)
            self.names.append(name)
            return self.note(f, s)
        if s.args[:1] == ("--weight",):
            ((term, w),) = parse_pairs([s.args[1]], "--weight").items()
            if term in self.weights or self.any("adapts_weights"):
                return False
            self.weights[term] = coerce(w, float, "--weight", term)
            return self.note(f, s)
        if s.args[:1] == ("--model",) and model == "mlp" and self.model is None:
            name, options = parse_named(s.args[1], "--model")
            keep = {k: v for k, v in (model_options or {}).items() if k in ("width", "depth")}
            self.model = (name, {**keep, **options})
            return self.note(f, s)
        return False


def _adopt_recipe(ordered, picks: _Picks, user_specs):
    """The first finding naming a whole second-order recipe: taken whole, as measured — it replaces the first-order
    choices (a weighting or resampling remedy under a natural-gradient phase made Helmholtz worse, and causal
    weighting is not a sum of squares, which Gauss–Newton needs)."""
    for f in ordered:
        s = next((s for s in f.suggestions if s.recipe is not None), None)
        if s is None:
            continue
        replaced = [sp for sp in picks.specs if sp not in user_specs]
        own = {parse_spec(u)[0] for u in user_specs}
        picks.specs = list(user_specs) + ([s.spec] if s.spec is not None and parse_spec(s.spec)[0] not in own else [])
        picks.weights, picks.model = {}, None
        picks.reasons.append({"finding": f.name, "choice": f"recipe {s.recipe}: "
                              + " ".join(([f"--remedy {s.spec}"] if s.spec else []) + list(s.args)),
                              "why": s.why, "note": "replaces " + (", ".join(replaced) or "nothing")})
        return s
    return None


def split_auto(specs: Sequence[str]) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    """(options of the ``auto`` spec or None, the other specs)."""
    auto, rest = None, []
    for s in specs:
        if parse_spec(s)[0] == AUTO:
            auto = resolve_options(s)[1]
        else:
            rest.append(str(s))  # RemedyConfig -> its spec string (the choices are spec strings too)
    return auto, tuple(rest)


def probe_config(config: TrainConfig, steps: int) -> TrainConfig:
    """The probe: Adam only (the config's first Adam options, if any) for ``steps`` steps, no remedies, about 50
    history rows (enough for the stall detector)."""
    adam = next((p for p in config.phases if p.name == "adam"), None)
    opts = {k: v for k, v in (adam.options if adam else {}).items()}
    log_every = max(1, steps // 50)
    return dataclasses.replace(config, phases=(PhaseConfig("adam", steps, opts),), remedies=(), log_every=log_every,
                               eval_every=log_every * max(1, 50 // 5), target_rel_l2=None, stall_steps=0)


def resolve_auto(config: TrainConfig, *, progress: bool | None = False) -> tuple[TrainConfig, dict[str, Any]]:
    """Run the probe, diagnose it, choose; returns (the config to train, the record for config.json)."""
    options, rest = split_auto(config.remedies)
    if options is None:
        return config, {}
    t0 = time.perf_counter()
    probe = train_only(probe_config(config, options["probe_steps"]), progress=progress)
    # the diagnosis measures the probe's error against the reference; a problem without one (a user's own) is
    # trained as configured and left to the verification, which needs no reference
    findings = [] if probe.reference is None else diagnose(
        from_result(probe), x64=False, conditioning=False, ntk_points=options["ntk_points"],
        constraint_points=max(8, options["ntk_points"] // 4)).findings
    choice = choose(findings, user_specs=rest, model=config.model, model_options=dict(config.model_options),
                    recipes=bool(options.get("second_order", 1)))
    changes: dict[str, Any] = {"remedies": choice.specs}
    if choice.recipe is not None:
        r = RECIPES[choice.recipe]
        model = choice.recipe_model or (r.model[0], dict(r.model[1]))
        changes.update(x64=r.x64, model=model[0], model_options=dict(model[1]),
                       points={**config.points, **dict(r.points)},
                       phases=tuple(PhaseConfig(n, k) for n, k in r.phases),
                       weights={**config.weights, **dict(r.weights)})
    if choice.weights:
        changes["weights"] = {**config.weights, **choice.weights}
    if choice.model is not None:
        changes["model"], changes["model_options"] = choice.model
    problem = config.build_problem()
    reasons = [*choice.reasons, *_symmetry_choice(config, problem, options, changes),
               *_seam_choice(config, problem, options, changes)]
    resolved = dataclasses.replace(config, **changes)
    record = {
        "requested": [str(r) for r in config.remedies], "options": options,
        "probe": {"steps": probe.metrics["steps"], "rel_l2": probe.metrics.get("rel_l2"),
                  "wall_s": time.perf_counter() - t0},
        "findings": [f.to_dict() for f in findings],
        **({"note": "no reference: the probe was not diagnosed; the verification steers"}
           if probe.reference is None else {}),
        "chosen": {"remedies": list(choice.specs), "weights": choice.weights, "recipe": choice.recipe,
                   "model": None if choice.model is None else {"name": choice.model[0], "options": choice.model[1]}},
        "reasons": reasons,
    }
    return resolved, record


def _symmetry_choice(config: TrainConfig, problem: Problem, options, changes: dict) -> list[dict[str, str]]:
    """With ``symmetric=1`` (the default), a problem that declares reflection symmetries gets them built into the
    network (``changes["symmetric"]``): the solution has them, and a network that has them exactly cannot spend
    its capacity or its error on breaking them (Burgers: 1.1e-5 → 4.9e-8 on its worst seed)."""
    if not problem.symmetries or config.symmetric or not options.get("symmetric", 1):
        return []
    # the points stay as many: on half of them Burgers' natural-gradient recipe failed (0.30 against 3.0e-3)
    changes["symmetric"] = True
    mirrors = "; ".join(_mirror_words(r, problem.fields) for r in problem.symmetries)
    return [{"finding": "declared-symmetry", "choice": "--symmetric",
             "why": f"the problem declares the mirror symmetry {mirrors}: the network is given it exactly"}]


def _seam_choice(config: TrainConfig, problem: Problem, options, changes: dict) -> list[dict[str, str]]:
    """With ``seam=1`` (the default), a periodic network (as chosen) for a problem whose initial data is kinked at
    a periodic seam (``problems.seams.kinked_seams``) and whose residual gives the diffusivity there gets the
    seam-kink input (``seam=κ``): the kink and its rounding are then one input's multiple (Allen–Cahn's record
    recipe, seeds 0–2: 7.5e-7 / 2.5e-6 / 1.0e-6 against 9.9e-6 / 2.1e-5 / 1.5e-5 without it)."""
    model = changes.get("model", config.model)
    opts = dict(changes.get("model_options", config.model_options))
    if model != "periodic" or opts.get("seam") or not options.get("seam", 1):
        return []
    kinks = kinked_seams(problem)
    kappa = diffusivity(problem, kinks[0]) if kinks else None
    if kappa is None:
        return []
    changes["model_options"] = {**opts, "seam": float(f"{kappa:.6g}")}
    return [{"finding": "kinked-seam", "choice": f"--model periodic:seam={kappa:.6g}",
             "why": f"the initial data jumps in slope across the periodic seam of {problem.coords[kinks[0]]} and the "
                    f"equation diffuses it with κ = {kappa:.6g}: the network is given that rounded kink as an input"}]


def _mirror_words(r, fields) -> str:
    """``x → −x with u → −u`` (``x → 2 − x`` about 1)."""
    image = f"−{r.coord}" if r.center == 0 else f"{2 * r.center:g} − {r.coord}"
    signs = ", ".join(f"{f} → {'−' if s < 0 else ''}{f}" for f, s in zip(fields, r.signs(len(fields))))
    return f"{r.coord} → {image} with {signs}"


def plan(config: TrainConfig, *, progress: bool | None = False) -> tuple[TrainConfig, dict[str, Any]]:
    """The configuration to train: ``config`` itself, or with ``auto`` resolved by a probe (and its record)."""
    with precision(config.x64):
        return resolve_auto(config, progress=progress)


def train(config_or_problem, config: TrainConfig | None = None, *, progress: bool | None = None,
          checkpoint=None, checkpoint_every: float = 60.0, extra: dict | None = None) -> RunResult:
    """Plan (resolve ``--remedy auto``), then train (``pinnsight.trainer.train``: same arguments, checkpoints
    included; the checkpoint records the planned config and the planner's choice, so a resumed run does not plan
    again), then — with ``auto:verify=1``, the default — verify the result and escalate (``escalation``; the
    escalation's attempts are not checkpointed); the planner's record is ``metrics["auto"]``. The trainer itself
    knows nothing of planning."""
    if isinstance(config_or_problem, Problem):
        config = TrainConfig(problem=config_or_problem) if config is None else config.with_problem(config_or_problem)
    else:
        config = config_or_problem
    planned, record = plan(config, progress=False if progress is False else None)
    extra = {**(extra or {}), **({"auto": record} if record else {})}
    result = train_only(planned, progress=progress, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                        extra=extra)
    if record and record["options"].get("verify", 1):
        with precision(planned.x64):
            result, record["verification"] = escalate(result, budget_s=record["options"].get("budget_s", 0.0),
                                                      rounds=record["options"].get("rounds", 4),
                                                      progress=False if progress is False else None)
    if record:
        result.metrics["auto"] = record
    return result
