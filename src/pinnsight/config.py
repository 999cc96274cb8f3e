"""Frozen, validated run configuration: what a run directory's ``config.json`` records."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import PinnsightError
from .models import resolve_model_options
from .optimizers import phase_specs
from .problems import Problem, make_problem, resolve_params


class _PhaseDefaults(Mapping):
    """name -> option defaults of every registered optimizer phase (``optimizers.register_phase``)."""

    def __getitem__(self, name):
        return dict(phase_specs()[name].defaults)

    def __iter__(self):
        return iter(phase_specs())

    def __len__(self):
        return len(phase_specs())

#: optimizer phases and their options with defaults (type taken from the default): a view of the phase registry
PHASE_DEFAULTS = _PhaseDefaults()


#: optimizer options that are on/off switches (0 or 1)
FLAG_OPTIONS = ("fresh", "woodbury", "matrix_free", "marquardt", "jac_forward")


@dataclass(frozen=True)
class PhaseConfig:
    """One optimizer phase: ``name`` (adam, lbfgs), a step budget, and options overriding the defaults."""

    name: str
    steps: int
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.name not in PHASE_DEFAULTS:
            raise PinnsightError(f"unknown optimizer {self.name!r} (known: {', '.join(PHASE_DEFAULTS)})")
        if not isinstance(self.steps, int) or self.steps < 0:
            raise PinnsightError(f"optimizer {self.name}: steps={self.steps!r} must be a non-negative integer")
        defaults = PHASE_DEFAULTS[self.name]
        resolved = dict(defaults)
        for key, raw in self.options.items():
            if key not in defaults:
                raise PinnsightError(
                    f"optimizer {self.name}: unknown option {key!r} (options: steps, {', '.join(defaults)})"
                )
            kind = type(defaults[key])
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise PinnsightError(f"optimizer {self.name}: {key}={raw!r} is not a valid {kind.__name__}") from None
            if value < 0 or (key in ("lr", "memory", "decay_steps", "max_linesearch_steps") and value == 0) \
                    or (key in FLAG_OPTIONS and value not in (0, 1)):
                raise PinnsightError(f"optimizer {self.name}: {key}={raw!r} is out of range")
            resolved[key] = value
        object.__setattr__(self, "options", resolved)


def default_phases() -> tuple[PhaseConfig, ...]:
    return (PhaseConfig("adam", 5000), PhaseConfig("lbfgs", 1000))


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run. Validated on construction; ``to_dict`` is JSON-ready.

    ``points`` and ``weights`` are keyed by loss term (``res`` and the problem's constraint names); missing
    entries take defaults (1000 residual points, each constraint's own count; weight 1).
    """

    #: a registered problem's name, or a ``Problem`` object (a user's own; its coefficients are the defaults)
    problem: Any = "convection"
    params: Mapping[str, Any] = field(default_factory=dict)
    model: str = "mlp"
    model_options: Mapping[str, Any] = field(default_factory=dict)
    phases: tuple[PhaseConfig, ...] = field(default_factory=default_phases)
    points: Mapping[str, int] = field(default_factory=dict)
    weights: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0
    x64: bool = False
    log_every: int = 100
    eval_every: int = 500
    target_rel_l2: float | None = None
    stall_steps: int = 0
    stall_rtol: float = 1e-3
    #: remedy spec strings ``NAME[:key=value,...]`` (see ``pinnsight.remedies``), applied in order
    remedies: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "params", _resolve_params(self.problem, self.params))
        object.__setattr__(self, "model_options", resolve_model_options(self.model, self.model_options))
        object.__setattr__(self, "phases", tuple(self.phases))
        problem = self.build_problem()
        terms = problem.term_names
        defaults = {"res": 1000, **{c.name: c.n_points for c in problem.constraints}}
        object.__setattr__(self, "points", _per_term("points", terms, defaults, self.points, int, positive=True))
        object.__setattr__(self, "weights", _per_term("weights", terms, dict.fromkeys(terms, 1.0), self.weights, float))
        for name in ("log_every", "eval_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0:
                raise PinnsightError(f"{name}={getattr(self, name)!r} must be a positive integer")
        if self.eval_every % self.log_every:
            raise PinnsightError(f"eval_every={self.eval_every} must be a multiple of log_every={self.log_every}")
        if self.target_rel_l2 is not None and not self.target_rel_l2 > 0:
            raise PinnsightError(f"target_rel_l2={self.target_rel_l2!r} must be positive")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise PinnsightError(f"seed={self.seed!r} must be a non-negative integer")
        if self.stall_steps < 0 or self.stall_rtol < 0:
            raise PinnsightError("stall_steps and stall_rtol must be non-negative")
        from .remedies import validate_specs

        object.__setattr__(self, "remedies", validate_specs(self.remedies, self.build_problem()))
        if any(p.options.get("fresh") for p in self.phases):
            from .remedies import owns_points

            owner = next((r for r in self.remedies if owns_points(r)), None)
            if owner is not None:
                raise PinnsightError(f"adam:fresh=1 draws its own points every step; remedy {owner.split(':')[0]} "
                                     "places the points itself: use one or the other")

    def build_problem(self):
        if isinstance(self.problem, Problem):
            return self.problem.with_coefficients(**self.params) if self.params else self.problem
        return make_problem(self.problem, **self.params)

    @property
    def problem_name(self) -> str:
        return self.problem.name if isinstance(self.problem, Problem) else self.problem

    def with_problem(self, problem) -> "TrainConfig":
        """This configuration for another problem (a name or a ``Problem`` object), its own coefficients."""
        return dataclasses.replace(self, problem=problem, params={})

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.phases)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; a Problem object is recorded by its name (``from_dict`` then needs it registered)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d.update(problem=self.problem_name, params=dict(self.params), model_options=dict(self.model_options),
                 points=dict(self.points), weights=dict(self.weights),
                 phases=[dataclasses.asdict(p) for p in self.phases], remedies=list(self.remedies))
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        """Inverse of ``to_dict``; raises PinnsightError on malformed input."""
        if not isinstance(d, Mapping):
            raise PinnsightError("config must be a JSON object")
        d = dict(d)
        try:
            phases = tuple(PhaseConfig(**p) for p in d.pop("phases", [dataclasses.asdict(p) for p in default_phases()]))
            return cls(phases=phases, **d)
        except TypeError as e:
            raise PinnsightError(f"malformed config: {e}") from None


def _per_term(what, terms, defaults, given, kind, positive=False):
    unknown = sorted(set(given) - set(terms))
    if unknown:
        raise PinnsightError(f"{what}: unknown loss term {unknown[0]!r} (terms: {', '.join(terms)})")
    out = dict(defaults)
    for k, v in given.items():
        try:
            value = kind(v)
        except (TypeError, ValueError):
            raise PinnsightError(f"{what}: {k}={v!r} is not a valid {kind.__name__}") from None
        if value < 0 or (positive and value == 0) or value != value:
            raise PinnsightError(f"{what}: {k}={v!r} is out of range")
        out[k] = value
    return out


def _resolve_params(problem, given):
    """A registered problem's validated parameters, or a Problem object's coefficients updated by ``given``."""
    if not isinstance(problem, Problem):
        return resolve_params(problem, given)
    unknown = sorted(set(given or {}) - set(problem.coefficients))
    if unknown:
        raise PinnsightError(f"{problem.name}: unknown coefficient {unknown[0]!r} "
                             f"(coefficients: {', '.join(problem.coefficients) or 'none'})")
    out = {}
    for k, v in (given or {}).items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            raise PinnsightError(f"{problem.name}: {k}={v!r} is not a number") from None
        if not math.isfinite(out[k]):
            raise PinnsightError(f"{problem.name}: {k}={v!r} must be finite")
    return out
