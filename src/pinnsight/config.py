"""Frozen, validated run configuration: what a run directory's ``config.json`` records."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import spec
from .errors import PinnsightError
from .models import require_symmetries, resolve_model_options
from .optimizers import phase_specs
from .problems import Problem, make_problem, problem_specs, resolve_params


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
#: optimizer options that must be positive (every other numeric option is non-negative)
POSITIVE_OPTIONS = ("lr", "memory", "decay_steps", "max_linesearch_steps")


def _phase_checks(name: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Range checks of phase ``name``'s options: the general rule (flags 0 or 1, numbers ≥ 0, a few > 0), then
    the phase's own (``PhaseSpec.checks``)."""
    own = phase_specs()[name].checks
    out = {}
    for key, default in defaults.items():
        if isinstance(default, str):
            general = None
        elif key in FLAG_OPTIONS:
            general = spec.Check(lambda v: v in (0, 1), "is out of range (must be 0 or 1)")
        elif key in POSITIVE_OPTIONS:
            general = spec.positive
        else:
            general = spec.non_negative
        parts = [c for c in (general, own.get(key)) if c is not None]
        if parts:
            out[key] = spec.all_of(*parts)
    return out


@dataclass(frozen=True)
class PhaseConfig:
    """One optimizer phase: ``name`` (adam, lbfgs), a step budget, and options overriding the defaults.

    ``terms`` (default: all) limits the loss to these terms during this phase — the others weigh 0 — e.g. the
    sequential training of Maddu et al. (2022): data first (``adam:steps=2000,terms=data``), then physics and
    data. On the command line the terms are joined by ``+`` (``terms=data+bc``)."""

    name: str
    steps: int
    options: Mapping[str, Any] = field(default_factory=dict)
    terms: tuple[str, ...] = ()

    def __post_init__(self):
        terms = self.terms.split("+") if isinstance(self.terms, str) else self.terms
        if not isinstance(terms, (tuple, list)) or not all(isinstance(t, str) and t for t in terms):
            raise PinnsightError(f"optimizer {self.name}: terms={self.terms!r} must name loss terms (data+bc)")
        object.__setattr__(self, "terms", tuple(terms))
        if not isinstance(self.name, str) or self.name not in PHASE_DEFAULTS:
            raise PinnsightError(f"unknown optimizer {self.name!r} (known: {', '.join(PHASE_DEFAULTS)})")
        where = f"optimizer {self.name}"
        object.__setattr__(self, "steps", spec.value(self.steps, int, where, "steps", spec.non_negative))
        defaults = PHASE_DEFAULTS[self.name]
        resolved = spec.options_from_defaults(defaults, self.options, where, checks=_phase_checks(self.name, defaults),
                                              also=("steps",))
        object.__setattr__(self, "options", resolved)

    @classmethod
    def from_value(cls, value: Any) -> "PhaseConfig":
        """A PhaseConfig, a mapping ``{"name", "steps", "options"}`` (config.json, TOML) or a spec string
        ``NAME:steps=N,key=value`` (steps default 1000, as on the command line)."""
        if isinstance(value, PhaseConfig):
            return value
        if isinstance(value, str):
            name, raw = spec.parse_spec(value, "optimizer")
            return cls(name, raw.pop("steps", 1000), raw, raw.pop("terms", ()))
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"name", "steps", "options", "terms"})
            if unknown or "name" not in value or "steps" not in value:
                raise PinnsightError(f"optimizer phase {dict(value)!r}: expected the fields name, steps and options"
                                     + (f" (unknown: {', '.join(map(str, unknown))})" if unknown else ""))
            return cls(value["name"], value["steps"], value.get("options") or {}, value.get("terms") or ())
        raise PinnsightError(f"optimizer phase {value!r} must be a PhaseConfig, a table with name/steps/options or "
                             "a spec NAME:steps=N,key=value")


def _optional_float(value, where: str, name: str):
    return None if value is None else spec.value(value, float, where, name, None)


@dataclass(frozen=True)
class UnknownConfig:
    """A coefficient of the problem trained with the network (an inverse problem): its initial value, bounds
    (``lo``/``hi``; None: unbounded; a positive coefficient of a registered problem gets ``lo = 0`` unless given)
    and, when known, the ``truth`` (metrics then hold the relative error). The problem's own value of the
    coefficient is what its reference was computed with."""

    name: str
    initial: float
    lo: float | None = None
    hi: float | None = None
    truth: float | None = None

    def __post_init__(self):
        where = f"unknown {self.name}"
        if not isinstance(self.name, str) or not self.name:
            raise PinnsightError(f"unknown coefficient: a name is needed, got {self.name!r}")
        object.__setattr__(self, "initial", spec.value(self.initial, float, where, "initial", None))
        for name in ("lo", "hi", "truth"):
            object.__setattr__(self, name, _optional_float(getattr(self, name), where, name))
        lo, hi, v = self.lo, self.hi, self.initial
        if lo is not None and hi is not None and not lo < hi:
            raise PinnsightError(f"{where}: lo={lo:g} must be below hi={hi:g}")
        if (lo is not None and not v > lo) or (hi is not None and not v < hi):
            raise PinnsightError(f"{where}: the initial value {v:g} must lie strictly inside its bounds "
                                 f"({'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'})")

    @classmethod
    def from_value(cls, value: Any) -> "UnknownConfig":
        """An UnknownConfig, a mapping of its fields, or the command line's ``NAME=INITIAL[:lo=A,hi=B,truth=T]``."""
        if isinstance(value, UnknownConfig):
            return value
        if isinstance(value, Mapping):
            extra = sorted(set(value) - {"name", "initial", "lo", "hi", "truth"})
            if extra or "name" not in value or "initial" not in value:
                raise PinnsightError(f"unknown {dict(value)!r}: expected the fields name, initial and optionally lo, "
                                     "hi, truth" + (f" (not: {', '.join(map(str, extra))})" if extra else ""))
            return cls(**value)
        if isinstance(value, str):
            head, _, rest = value.partition(":")
            name, eq, initial = head.partition("=")
            if not eq or not name.strip():
                raise PinnsightError(f"--unknown {value!r}: expected NAME=INITIAL[:lo=A,hi=B,truth=T]")
            options = spec.parse_spec(f"x:{rest}", "--unknown")[1] if rest else {}
            bad = sorted(set(options) - {"lo", "hi", "truth"})
            if bad:
                raise PinnsightError(f"--unknown {value!r}: unknown option {bad[0]!r} (options: lo, hi, truth)")
            return cls(name.strip(), initial, **options)
        raise PinnsightError(f"unknown coefficient {value!r} must be NAME=INITIAL[:lo=A,hi=B,truth=T] or a table")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DataConfig:
    """Measurements of the field from a file (``.npz`` or ``.csv``, columns named after the coordinates and the
    field): a fraction ``held_out`` is kept out of training and reported; ``noise`` adds relative Gaussian noise
    (σ = noise × std of the values, Raissi et al. 2019's protocol) with the run's seed."""

    path: str
    held_out: float = 0.0
    noise: float = 0.0

    def __post_init__(self):
        if not isinstance(self.path, str) or not self.path:
            raise PinnsightError(f"data: path={self.path!r} must be a file name")
        object.__setattr__(self, "held_out", spec.value(self.held_out, float, "data", "held_out",
                                                        spec.Check(lambda v: 0 <= v < 1, "must be in [0, 1)")))
        object.__setattr__(self, "noise", spec.value(self.noise, float, "data", "noise", spec.non_negative))

    @classmethod
    def from_value(cls, value: Any) -> "DataConfig | None":
        if value is None or isinstance(value, DataConfig):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            extra = sorted(set(value) - {"path", "held_out", "noise"})
            if extra or "path" not in value:
                raise PinnsightError(f"data {dict(value)!r}: expected the fields path, held_out, noise")
            return cls(**value)
        raise PinnsightError(f"data {value!r} must be a file name or a table with path, held_out, noise")


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
    #: remedies applied in order: ``RemedyConfig`` s (name + typed options); strings ``NAME[:key=value,...]`` and
    #: mappings ``{"name", "options"}`` are accepted and resolved (see ``pinnsight.remedies``)
    remedies: tuple[Any, ...] = ()
    #: coefficients trained with the network (``UnknownConfig`` s, or ``NAME=INITIAL[:lo=,hi=,truth=]`` strings)
    unknowns: tuple[Any, ...] = ()
    #: measurements from a file (``DataConfig``, or its path): the loss term ``data``
    data: Any = None
    #: the Dirichlet conditions imposed exactly, u = g + φ·N with φ a distance function of their boundary parts
    #: (Sukumar & Srivastava 2022; ``models.distance``) instead of as penalty terms
    exact_bc: bool = False
    #: the problem's reflection symmetries built into the network (``Problem.symmetries``, ``models.symmetry``)
    symmetric: bool = False

    def __post_init__(self):
        if not isinstance(self.problem, (str, Problem)):
            raise PinnsightError(f"config: problem={self.problem!r} must be a problem name or a Problem object")
        if not isinstance(self.model, str):
            raise PinnsightError(f"config: model={self.model!r} must be a model name (options go in model_options)")
        for name in ("params", "model_options", "points", "weights"):
            if not isinstance(getattr(self, name), Mapping):
                raise PinnsightError(f"config: {name}={getattr(self, name)!r} must be a mapping of name to value")
        object.__setattr__(self, "params", _resolve_params(self.problem, self.params))
        object.__setattr__(self, "model_options", resolve_model_options(self.model, self.model_options))
        if isinstance(self.phases, (str, Mapping, PhaseConfig)):
            raise PinnsightError(f"config: phases={self.phases!r} must be a sequence of optimizer phases")
        object.__setattr__(self, "phases", tuple(PhaseConfig.from_value(p) for p in self.phases))
        fields = {
            "seed": (int, spec.all_of(spec.non_negative, spec.below(2**32, "2**32"))),
            "x64": (bool, None),
            "exact_bc": (bool, None),
            "symmetric": (bool, None),
            "log_every": (int, spec.positive),
            "eval_every": (int, spec.positive),
            "stall_steps": (int, spec.non_negative),
            "stall_rtol": (float, spec.non_negative),
        }
        for name, (kind, check) in fields.items():
            object.__setattr__(self, name, spec.value(getattr(self, name), kind, "config", name, check))
        object.__setattr__(self, "data", DataConfig.from_value(self.data))
        problem = self.build_problem()
        if self.symmetric:
            require_symmetries(problem)
        object.__setattr__(self, "unknowns", _resolve_unknowns(self.problem, problem, self.unknowns))
        terms = problem.term_names
        defaults = {"res": 1000, **{c.name: c.n_points for c in problem.constraints}}
        object.__setattr__(self, "points", _per_term("points", problem.batch_names, defaults, self.points, int,
                                                     spec.positive))
        object.__setattr__(self, "weights", _per_term("weights", terms, dict.fromkeys(terms, 1.0), self.weights, float,
                                                      spec.non_negative))
        _check_phase_terms(self.phases, terms)
        if self.target_rel_l2 is not None:
            object.__setattr__(self, "target_rel_l2", spec.value(self.target_rel_l2, float, "config", "target_rel_l2",
                                                                 spec.positive))
        if self.eval_every % self.log_every:
            raise PinnsightError(f"eval_every={self.eval_every} must be a multiple of log_every={self.log_every}")
        from .remedies import owns_points, validate_specs

        object.__setattr__(self, "remedies", validate_specs(self.remedies, problem))
        _check_fresh_points(self.phases, self.remedies, owns_points)
        _check_sum_of_squares(self.phases, self.remedies)

    def build_problem(self):
        if isinstance(self.problem, Problem):
            problem = self.problem.with_coefficients(**self.params) if self.params else self.problem
        else:
            problem = make_problem(self.problem, **self.params)
        return problem if self.data is None else _with_data(problem, self.data, self.seed)

    def unknown_bounds(self) -> dict[str, tuple]:
        """``name -> (initial, lo, hi)`` of the unknowns (what ``models.make_model`` takes)."""
        return {u.name: (u.initial, u.lo, u.hi) for u in self.unknowns}

    def model_kwargs(self) -> dict[str, Any]:
        """What ``models.make_model`` takes from the configuration besides the model's own options."""
        return {"unknowns": self.unknown_bounds(), "exact_bc": self.exact_bc, "symmetric": self.symmetric,
                **self.model_options}

    @property
    def problem_name(self) -> str:
        return self.problem.name if isinstance(self.problem, Problem) else self.problem

    def with_problem(self, problem) -> "TrainConfig":
        """This configuration for another problem (a name or a ``Problem`` object), its own coefficients."""
        built = problem if isinstance(problem, Problem) else make_problem(problem)
        keep = lambda d, names: {k: v for k, v in d.items() if k in names}  # noqa: E731  (what the problem has)
        return dataclasses.replace(self, problem=problem, params={}, points=keep(self.points, built.batch_names),
                                   weights=keep(self.weights, built.term_names))

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.phases)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; a Problem object is recorded by its name (``from_dict`` then needs it registered)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d.update(problem=self.problem_name, params=dict(self.params), model_options=dict(self.model_options),
                 points=dict(self.points), weights=dict(self.weights),
                 phases=[_phase_dict(p) for p in self.phases],
                 remedies=[{"name": r.name, "options": dict(r.options)} for r in self.remedies],
                 unknowns=[u.to_dict() for u in self.unknowns],
                 data=None if self.data is None else dataclasses.asdict(self.data))
        for flag in ("exact_bc", "symmetric"):  # recorded only when set: older files and their hashes unchanged
            if not getattr(self, flag):
                d.pop(flag)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        """Inverse of ``to_dict`` (remedies also as spec strings, the form older run directories hold); raises
        PinnsightError on malformed input."""
        if not isinstance(d, Mapping):
            raise PinnsightError("config must be a JSON object")
        d = dict(d)
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(str(k) for k in set(d) - set(names))
        if unknown:
            raise PinnsightError(f"malformed config: unknown field {unknown[0]!r} (fields: {', '.join(names)})")
        phases = d.pop("phases", None)
        if phases is None:
            phases = default_phases()
        elif isinstance(phases, (str, Mapping)) or not isinstance(phases, (list, tuple)):
            raise PinnsightError(f"config: phases={phases!r} must be a list of optimizer phases")
        remedies = d.pop("remedies", ())
        if isinstance(remedies, Mapping) or not isinstance(remedies, (str, list, tuple)):
            raise PinnsightError(f"config: remedies={remedies!r} must be a list of remedies")
        try:
            return cls(phases=tuple(PhaseConfig.from_value(p) for p in phases),
                       remedies=(remedies,) if isinstance(remedies, str) else tuple(remedies), **d)
        except TypeError as e:
            raise PinnsightError(f"malformed config: {e}") from None


def _phase_dict(phase: PhaseConfig) -> dict[str, Any]:
    """A phase as config.json holds it (``terms`` only when it names some: older files and hashes unchanged)."""
    d = {"name": phase.name, "steps": phase.steps, "options": dict(phase.options)}
    return {**d, "terms": list(phase.terms)} if phase.terms else d


def _check_phase_terms(phases, terms) -> None:
    for phase in phases:
        unknown = [t for t in phase.terms if t not in terms]
        if unknown:
            raise PinnsightError(f"optimizer {phase.name}: terms: {unknown[0]!r} is not a loss term of the problem "
                                 f"(terms: {', '.join(terms)})")


def _with_data(problem, data: DataConfig, seed: int):
    """``problem`` with the data term of the file ``data.path`` (noise added, split as configured)."""
    from .observations import read_observations

    obs = read_observations(data.path, coords=problem.coords, fields=problem.fields, bounds=problem.bounds)
    if data.noise:
        obs = obs.with_noise(data.noise, seed)
    train, held = obs.split(data.held_out, seed)
    return problem.with_observations(train, held_out=held)


def _resolve_unknowns(name, problem, given) -> tuple[UnknownConfig, ...]:
    """The unknowns as UnknownConfig s: each a coefficient of ``problem`` (once), positive ones bounded below."""
    if isinstance(given, (str, Mapping, UnknownConfig)):
        given = (given,)
    out = [UnknownConfig.from_value(u) for u in given]
    names = [u.name for u in out]
    for u in out:
        if u.name not in problem.coefficients:
            raise PinnsightError(f"--unknown {u.name}: not a coefficient of {problem.name} "
                                 f"(coefficients: {', '.join(problem.coefficients) or 'none'})")
        if names.count(u.name) > 1:
            raise PinnsightError(f"--unknown {u.name} is given twice")
    if isinstance(name, str):
        params = problem_specs()[name].params
        out = [dataclasses.replace(u, lo=0.0) if u.lo is None and _positive(params.get(u.name)) else u for u in out]
    return tuple(out)


def _positive(param) -> bool:
    return param is not None and param.min is not None and param.min >= 0


def _per_term(what, terms, defaults, given, kind, check):
    unknown = sorted(str(k) for k in set(given) - set(terms))
    if unknown:
        raise PinnsightError(f"{what}: unknown loss term {unknown[0]!r} (terms: {', '.join(terms)})")
    return {**defaults, **{k: spec.value(v, kind, what, k, check) for k, v in given.items()}}


def _resolve_params(problem, given):
    """A registered problem's validated parameters, or a Problem object's coefficients updated by ``given``."""
    if not isinstance(problem, Problem):
        return resolve_params(problem, given)
    unknown = sorted(set(given or {}) - set(problem.coefficients))
    if unknown:
        raise PinnsightError(f"{problem.name}: unknown coefficient {unknown[0]!r} "
                             f"(coefficients: {', '.join(problem.coefficients) or 'none'})")
    return {k: spec.coerce(v, float, problem.name, k) for k, v in (given or {}).items()}


def read_config_file(path) -> TrainConfig:
    """The ``TrainConfig`` a file holds: a run directory's ``config.json`` (its ``"config"`` entry; a run directory
    itself stands for its config.json), a bare ``TrainConfig.to_dict`` object in JSON, or a TOML file with the same
    fields (``[[phases]]`` tables with name, steps, options; ``remedies`` as spec strings or tables with name and
    options). PinnsightError naming the file when it is missing, unreadable or malformed."""
    import json
    import tomllib
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise PinnsightError(f"--config {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PinnsightError(f"--config {path}: cannot be read ({e})") from None
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise PinnsightError(f"--config {path}: is not valid TOML ({e})") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise PinnsightError(f"--config {path}: is not valid JSON ({e}; a TOML file must end in .toml)") from None
    if not isinstance(data, Mapping):
        raise PinnsightError(f"--config {path}: holds a {type(data).__name__}, not an object of config fields")
    if data.get("kind") == "hard-constraint-family":
        raise PinnsightError(f"--config {path}: is a train-family run's config; rerun it with pinnsight train-family")
    if "config" in data:
        data = data["config"]
        if not isinstance(data, Mapping):
            raise PinnsightError(f"--config {path}: its 'config' entry is not an object of config fields")
    try:
        return TrainConfig.from_dict(data)
    except PinnsightError as e:
        raise PinnsightError(f"--config {path}: {e}") from None


def _check_fresh_points(phases, remedies, owns_points) -> None:
    """``adam:fresh=1`` draws its own points every step: refused beside a remedy that places the points."""
    if any(p.options.get("fresh") for p in phases):
        owner = next((r for r in remedies if owns_points(r)), None)
        if owner is not None:
            raise PinnsightError(f"adam:fresh=1 draws its own points every step; remedy {owner.name} "
                                 "places the points itself: use one or the other")


def _check_sum_of_squares(phases, remedies) -> None:
    """Refuse a phase that needs the loss to be Σ w mean(r²) beside a remedy that declares it changes the loss."""
    from .optimizers import phase_spec
    from .remedies import remedy_specs

    changed = [r.name for r in remedies if not remedy_specs()[r.name].sum_of_squares]
    needy = [p.name for p in phases if phase_spec(p.name).needs_sum_of_squares]
    if changed and needy:
        raise PinnsightError(
            f"{needy[0]} needs the loss to be the weighted sum of squared residuals, and remedy {', '.join(changed)} "
            "changes it: use lbfgs, bfgs, ssbroyden or newton-cg with it")

