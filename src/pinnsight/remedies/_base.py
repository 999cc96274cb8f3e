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

    return Remedy(
        name="+".join(r.name for r in remedies), init=init, update=update, reduce=reduce,
        driver=drivers[0].driver if drivers else None,
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


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"name:key=value,key=value"`` -> (canonical name, raw options); PinnsightError when malformed."""
    if not isinstance(spec, str):
        raise PinnsightError(f"remedy {spec!r} must be a string NAME[:key=value,...]")
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if name not in _ALIASES:
        raise PinnsightError(f"unknown remedy {name!r} (known: {', '.join(sorted(_REMEDIES))})")
    raw = {}
    for item in (p for p in rest.split(",") if p.strip()):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise PinnsightError(f"remedy {name}: option {item!r} is not of the form key=value")
        raw[key.strip()] = value.strip()
    return _ALIASES[name], raw


def resolve_options(spec: str, problem=None) -> tuple[RemedySpec, dict[str, Any]]:
    """Parse and validate one spec string: (its RemedySpec, options with defaults filled in and typed)."""
    name, raw = parse_spec(spec)
    rs = _REMEDIES[name]
    options = dict(rs.defaults)
    for key, value in raw.items():
        if key not in rs.defaults:
            raise PinnsightError(f"remedy {name}: unknown option {key!r} (options: {', '.join(rs.defaults)})")
        kind = type(rs.defaults[key])
        try:
            parsed = float(value) if kind in (int, float) else kind(value)
            if kind is int:
                if not float(parsed).is_integer():
                    raise ValueError
                parsed = int(parsed)
        except (TypeError, ValueError, OverflowError):
            raise PinnsightError(f"remedy {name}: {key}={value!r} is not a valid {kind.__name__}") from None
        if kind is float and not np.isfinite(parsed):
            raise PinnsightError(f"remedy {name}: {key}={value!r} must be finite")
        options[key] = parsed
    if rs.check is not None:
        rs.check(options, problem)
    return rs, options


def owns_points(spec: str) -> bool:
    """Whether the remedy of ``spec`` places the collocation points itself (adaptive sampling, time windows)."""
    return _REMEDIES[parse_spec(spec)[0]].owns_points


def validate_specs(specs, problem=None) -> tuple[str, ...]:
    """Validate remedy spec strings (for ``TrainConfig``); returns them as a tuple of stripped strings."""
    if specs is None:
        specs = ()
    if isinstance(specs, str):
        specs = (specs,)
    specs = tuple(s.strip() if isinstance(s, str) else s for s in specs)
    resolved = [resolve_options(s, problem)[0] for s in specs]
    seen = [r.name for r in resolved]
    dup = sorted({n for n in seen if seen.count(n) > 1})
    if dup:
        raise PinnsightError(f"remedy {dup[0]!r} given more than once")
    drivers = [r.name for r in resolved if r.driver]
    if len(drivers) > 1:
        raise PinnsightError(f"remedies {' and '.join(drivers)} are both outer drivers; use at most one")
    return specs


def build_remedies(specs, setup: RemedySetup) -> list[Remedy]:
    """Build the remedies named by ``specs`` (validated spec strings) for one training run."""
    out = []
    for s in specs:
        rs, options = resolve_options(s, setup.problem)
        out.append(rs.build(options, setup)._replace(options=options))
    return out


def positive(name: str, options: Mapping[str, Any], *keys: str, allow_zero: bool = False) -> None:
    """Range check helper: options[k] > 0 (or ≥ 0)."""
    for k in keys:
        v = options[k]
        if v < 0 or (v == 0 and not allow_zero):
            raise PinnsightError(f"remedy {name}: {k}={v!r} must be {'non-negative' if allow_zero else 'positive'}")


def choice(name: str, options: Mapping[str, Any], key: str, choices: tuple[Any, ...]) -> None:
    if options[key] not in choices:
        raise PinnsightError(f"remedy {name}: {key}={options[key]!r} is not one of {', '.join(map(str, choices))}")


def needs_time(name: str, problem) -> None:
    if problem is not None and problem.time is None:
        raise PinnsightError(f"remedy {name} needs a problem with a time coordinate ({problem.name} has none)")
