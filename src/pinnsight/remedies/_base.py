"""Remedy protocol, spec strings and composition.

A remedy is an explicit-state transform in the spirit of optax (``init`` / ``update`` with typed NamedTuple
states). Three kinds of hook, any of which a remedy may provide:

1. ``objective``: an in-loss transform, ``objective(base) -> objective`` (causal weighting). Its traced
   hyperparameters live in the ``coeffs`` dict (a jitted-function argument), so changing them never retraces.
2. ``init(segment) -> (changes, state)`` and ``update(state, info) -> (changes, state)``: called by the host
   loop at the start of each segment and after each jitted chunk; ``Changes`` may replace batch entries,
   coefficients or weights, or ask for an optimizer restart (adaptive collocation, RAR/RAD, ε schedules).
3. ``driver``: an outer driver, ``driver(state) -> generator`` that yields ``Segment`` s (curriculum stages,
   time windows) and receives each segment's final ``TrainingState``; every segment runs the phase sequence.

``chain`` composes remedies (in-loss transforms nest, changes merge in order, at most one driver).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import spec as spec_text
from ..errors import PinnsightError


class Changes(NamedTuple):
    """What a remedy asks the host loop to change; ``None`` means "leave as is"."""

    batch: Mapping[str, Any] | None = None  # replacement entries of the batch (rows per loss term)
    coeffs: Mapping[str, Any] | None = None  # new traced scalars (coefficients, remedy hyperparameters)
    weights: Mapping[str, Any] | None = None  # new loss weights
    restart: bool = False  # re-initialise the optimizer state of the running phase
    log: Mapping[str, Any] | None = None  # extra history columns for the current row
    events: tuple[dict, ...] = ()  # recorded in metrics["remedies"][name]["events"]

    @property
    def empty(self) -> bool:
        return self.batch is None and self.coeffs is None and self.weights is None and not self.restart


NO_CHANGE = Changes()


class Segment(NamedTuple):
    """One sub-problem an outer driver asks the trainer to solve with the whole phase sequence."""

    index: int = 0
    label: str = "all"
    bounds: tuple[tuple[float, float], ...] = ()  # the box residual points live in
    coeffs: Mapping[str, float] | None = None  # coefficient values for this segment
    batch: Mapping[str, Any] | None = None  # replacement batch (time windows)
    params: Any = None  # replacement parameters (a fresh network), None = warm start
    #: ``region(points) -> bool array``: the points this segment's network predicts in the stitched solution
    region: Callable[[np.ndarray], np.ndarray] | None = None
    final: bool = True  # the target rel L2 may stop training only in a final segment
    columns: Mapping[str, Any] | None = None  # history columns for rows of this segment
    info: Mapping[str, Any] | None = None  # recorded in metrics["remedies"]["segments"]
    count: int = 1  # how many segments the driver yields in all (progress bar)
    keep_optimizer: bool = False  # first-order phases go on from the last segment's optimizer state
    steps_scale: float = 1.0  # every phase of this segment runs round(steps × steps_scale) steps


class StepInfo(NamedTuple):
    """What the host loop tells remedies after a jitted chunk (host floats; no extra device sync)."""

    step: int  # global step count (all phases and segments)
    phase: str
    phase_step: int  # steps done in this phase so far
    segment_step: int  # steps done in this segment (all its phases) so far
    params: Any
    state: Any  # TrainingState (params, batch, weights, coeffs)
    losses: Mapping[str, float]  # per-term mean squares and auxiliary values of the last step
    loss: float  # Σ_k w_k L_k of the last step
    segment: Segment
    first_order: bool = False  # the running phase is first-order (PhaseSpec.first_order)


class RemedySetup(NamedTuple):
    """Everything a remedy may build its jitted functions from (built once per ``train`` call)."""

    config: Any
    problem: Any
    static: Any  # non-array part of the model
    dtype: Any
    key: Any  # PRNG key reserved for remedies
    ref_points: np.ndarray  # the reference grid as rows
    fresh_params: Callable[[Any], Any]  # key -> newly initialised parameters


def _no_init(segment):
    return NO_CHANGE, None


def _no_update(state, info):
    return NO_CHANGE, state


class Remedy(NamedTuple):
    """A built remedy. Every hook is optional; see the module docstring."""

    name: str
    init: Callable[[Segment], tuple[Changes, Any]] = _no_init
    update: Callable[[Any, StepInfo], tuple[Changes, Any]] = _no_update
    #: an in-loss transform of the reduction ``losses.make_objective`` uses: ``reduce(base) -> reduction``
    reduce: Callable[[Callable], Callable] | None = None
    driver: Callable[[Any], Generator] | None = None
    options: Mapping[str, Any] | None = None  # resolved options (filled in by ``build_remedies``)
    summary: Callable[[list[dict], list[dict]], dict] | None = None  # (events, history) -> metrics entries
    #: ``rows(batch, coeffs) -> {term: (N,) factors}``: per-row factors (no gradient) an in-loss transform
    #: multiplies a term's residual rows by before squaring (``reduce`` applies them to the loss); the
    #: Gauss–Newton and natural-gradient phases multiply their residual rows by them too, so the loss stays ‖r‖²
    rows: Callable[[Any, Any], Mapping[str, Any]] | None = None


def chain(*remedies: Remedy) -> Remedy:
    """Compose remedies: in-loss transforms nest (first innermost), changes merge in order (later wins on the
    same key, restarts OR), at most one outer driver. The state is the tuple of the members' states."""
    drivers = [r for r in remedies if r.driver is not None]
    if len(drivers) > 1:
        raise PinnsightError(f"at most one outer driver among remedies ({', '.join(r.name for r in drivers)})")

    def init(segment):
        out = [r.init(segment) for r in remedies]
        return merge([_tag(c, r.name) for (c, _), r in zip(out, remedies)]), tuple(s for _, s in out)

    def update(states, info):
        out = [r.update(s, info) for r, s in zip(remedies, states)]
        return merge([_tag(c, r.name) for (c, _), r in zip(out, remedies)]), tuple(s for _, s in out)

    def reduce(base):
        for r in remedies:
            if r.reduce is not None:
                base = r.reduce(base)
        return base

    scalers = [r.rows for r in remedies if r.rows is not None]

    def rows(batch, coeffs):  # the members' factors multiply
        out: dict[str, Any] = {}
        for f in scalers:
            for k, v in f(batch, coeffs).items():
                out[k] = out[k] * v if k in out else v
        return out

    return Remedy(
        name="+".join(r.name for r in remedies), init=init, update=update, reduce=reduce,
        driver=drivers[0].driver if drivers else None, rows=rows if scalers else None,
    )


def _tag(c: Changes, name: str) -> Changes:
    return c._replace(events=tuple({"remedy": name, **e} for e in c.events)) if c.events else c


def merge(changes: list[Changes]) -> Changes:
    """One ``Changes`` from several (later entries win on the same key)."""
    if all(c is NO_CHANGE for c in changes):
        return NO_CHANGE

    def union(field):
        parts = [getattr(c, field) for c in changes if getattr(c, field) is not None]
        return {k: v for p in parts for k, v in p.items()} if parts else None

    return Changes(
        batch=union("batch"), coeffs=union("coeffs"), weights=union("weights"),
        restart=any(c.restart for c in changes), log=union("log"),
        events=tuple(e for c in changes for e in c.events),
    )


# ---------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class RemedySpec:
    """A named remedy: option defaults (their types parse CLI strings), a builder and a validity check."""

    name: str
    summary: str
    defaults: Mapping[str, Any]
    build: Callable[[Mapping[str, Any], RemedySetup], Remedy]
    check: Callable[[Mapping[str, Any], Any], None] | None = None  # check(options, problem), raises
    aliases: tuple[str, ...] = ()
    driver: bool = False  # an outer driver (at most one per run)
    owns_points: bool = False  # places the residual points itself (conflicts with adam:fresh=1)
    sum_of_squares: bool = True  # the loss stays Σ_k w_k mean(r_k²) (Gauss–Newton, natural gradient need it)
    first_order_only: bool = False  # acts during first-order phases only (weights held in second-order ones)
    adapts_weights: bool = False  # sets the loss weights itself (a fixed --weight would fight it)
    schedules_coefficient: bool = False  # raises a coefficient of the problem stage by stage
    #: history columns it writes, grouped into panels of the remedies figure: ((title, (column, ...)), ...);
    #: a column ending in "*" stands for every column with that prefix
    timeline: tuple[tuple[str, tuple[str, ...]], ...] = ()


_REMEDIES: dict[str, RemedySpec] = {}
_ALIASES: dict[str, str] = {}


def register_remedy(spec: RemedySpec) -> RemedySpec:
    """Make a remedy available as ``--remedy NAME[:key=value,...]`` and ``TrainConfig(remedies=...)``."""
    _REMEDIES[spec.name] = spec
    for a in (spec.name, *spec.aliases):
        _ALIASES[a] = spec.name
    return spec


def remedy_specs() -> dict[str, RemedySpec]:
    return dict(sorted(_REMEDIES.items()))


@dataclass(frozen=True)
class RemedyConfig:
    """One configured remedy: its canonical ``name`` and its resolved, typed ``options`` (every option, defaults
    filled in). ``str`` gives the spec string ``name:key=value,...`` with the non-default options only; build one
    with ``remedy_config`` (from a spec string, a mapping ``{"name", "options"}`` or another RemedyConfig)."""

    name: str
    options: Mapping[str, Any]

    def __str__(self) -> str:
        defaults = _REMEDIES[self.name].defaults if self.name in _REMEDIES else {}
        changed = {k: v for k, v in self.options.items() if k not in defaults or defaults[k] != v}
        return spec_text.format_spec(self.name, changed)


def _canonical(name: Any) -> str:
    if not isinstance(name, str) or name.strip() not in _ALIASES:
        raise PinnsightError(f"unknown remedy {name!r} (known: {', '.join(sorted(_REMEDIES))})")
    return _ALIASES[name.strip()]


def parse_spec(spec: "str | RemedyConfig") -> tuple[str, dict[str, str]]:
    """``"name:key=value,key=value"`` -> (canonical name, raw options); PinnsightError when malformed. A
    ``RemedyConfig`` gives its name and its non-default options as text."""
    if isinstance(spec, RemedyConfig):
        spec = str(spec)
    if not isinstance(spec, str):
        raise PinnsightError(f"remedy {spec!r} must be a string NAME[:key=value,...]")
    name, raw = spec_text.parse_spec(spec, "remedy")
    return _canonical(name), raw


def remedy_config(value: "str | RemedyConfig | Mapping[str, Any]", problem=None) -> RemedyConfig:
    """A ``RemedyConfig`` from a spec string ``NAME[:key=value,...]``, a mapping ``{"name": .., "options": {..}}``
    (config.json, TOML) or a RemedyConfig: options coerced by ``spec.options_from_defaults`` (the type of each
    default), then the remedy's own ``check`` (with ``problem``, its problem-dependent checks too)."""
    if isinstance(value, RemedyConfig):
        name, raw = _canonical(value.name), dict(value.options)
    elif isinstance(value, str):
        name, raw = parse_spec(value)
    elif isinstance(value, Mapping):
        unknown = sorted(str(k) for k in set(value) - {"name", "options"})
        if unknown or "name" not in value:
            raise PinnsightError(f"remedy {dict(value)!r}: expected the fields name and options"
                                 + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
        name, raw = _canonical(value["name"]), value.get("options") or {}
    else:
        raise PinnsightError(f"remedy {value!r} must be a spec string NAME[:key=value,...], a table with name and "
                             "options, or a RemedyConfig")
    rs = _REMEDIES[name]
    options = spec_text.options_from_defaults(rs.defaults, raw, f"remedy {name}")
    if rs.check is not None:
        rs.check(options, problem)
    return RemedyConfig(name, options)


def resolve_options(spec, problem=None) -> tuple[RemedySpec, dict[str, Any]]:
    """Parse and validate one remedy (``remedy_config``): (its RemedySpec, options with defaults filled in, typed)."""
    rc = remedy_config(spec, problem)
    return _REMEDIES[rc.name], dict(rc.options)


def owns_points(spec) -> bool:
    """Whether the remedy (a spec string or RemedyConfig) places the collocation points itself (adaptive sampling,
    time windows)."""
    name = spec.name if isinstance(spec, RemedyConfig) else parse_spec(spec)[0]
    return _REMEDIES[name].owns_points


def validate_specs(specs, problem=None) -> tuple[RemedyConfig, ...]:
    """Resolve remedies (for ``TrainConfig``): spec strings, mappings or RemedyConfigs, one or a sequence -> a
    tuple of RemedyConfig; a remedy given twice or two outer drivers are errors."""
    if specs is None:
        specs = ()
    if isinstance(specs, (str, Mapping, RemedyConfig)):
        specs = (specs,)
    configs = tuple(remedy_config(s, problem) for s in specs)
    seen = [r.name for r in configs]
    dup = sorted({n for n in seen if seen.count(n) > 1})
    if dup:
        raise PinnsightError(f"remedy {dup[0]!r} given more than once")
    drivers = [r.name for r in configs if _REMEDIES[r.name].driver]
    if len(drivers) > 1:
        raise PinnsightError(f"remedies {' and '.join(drivers)} are both outer drivers; use at most one")
    return configs


def build_remedies(configs, setup: RemedySetup) -> list[Remedy]:
    """Build the configured remedies (RemedyConfigs, or anything ``remedy_config`` takes) for one training run."""
    out = []
    for c in configs:
        rc = remedy_config(c, setup.problem)
        options = dict(rc.options)
        out.append(_REMEDIES[rc.name].build(options, setup)._replace(options=options))
    return out


def positive(name: str, options: Mapping[str, Any], *keys: str, allow_zero: bool = False) -> None:
    """Range check helper: options[k] > 0 (or ≥ 0)."""
    for k in keys:
        spec_text.check(options[k], spec_text.non_negative if allow_zero else spec_text.positive, f"remedy {name}", k)


def choice(name: str, options: Mapping[str, Any], key: str, choices: tuple[Any, ...]) -> None:
    spec_text.check(options[key], spec_text.one_of(*choices), f"remedy {name}", key)


def needs_time(name: str, problem) -> None:
    if problem is not None and problem.time is None:
        raise PinnsightError(f"remedy {name} needs a problem with a time coordinate ({problem.name} has none)")
