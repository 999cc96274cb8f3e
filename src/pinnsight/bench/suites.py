"""Benchmark suites as data: TOML files parsed into frozen dataclasses and validated before anything runs.

Why TOML files (shipped in ``pinnsight/bench/suites/``) rather than Python objects: a suite is a table of
cases with the published numbers they are compared to and where each number comes from — data, reviewed like
data, and a user can write one without code and run it with ``pinnsight bench my-suite.toml``. TOML needs no
dependency (``tomllib``), has real numbers, booleans and nested tables, and no executable content. The parsed
form is the frozen ``Suite`` / ``Case`` dataclasses below; every (case, seed) is validated by constructing its
``TrainConfig`` at load time, so a typo fails before a single run starts.

A suite file::

    description = "..."
    seeds = [0, 1, 2]                       # default seeds of every case
    [sources]                               # citation keys used by `published.source`
    krishnapriyan2021 = "A. S. Krishnapriyan et al. ... NeurIPS 2021."
    [defaults]                              # any case key; a case's own value replaces it
    phases = [{ name = "adam", steps = 5000 }, { name = "lbfgs", steps = 1000 }]
    [[case]]
    problem = "convection"
    params = { beta = 30.0 }
    remedies = ["curriculum:start=1"]        # TrainConfig remedy specs NAME[:key=value,...]; [] = vanilla
    published = { rel_l2 = 0.90, source = "krishnapriyan2021", where = "Table 1" }

Case keys: ``name`` (default: problem, coefficients and remedies), ``problem``, ``params``, ``remedies``,
``seeds``, ``published``, ``engine`` ("pinnsight", or "deepxde" for the peer, see ``bench.peers``) and the
``TrainConfig`` fields ``model, model_options, phases, points, weights, x64,
log_every, eval_every, target_rel_l2, stall_steps, stall_rtol, exact_bc, symmetric`` (the phases are the budget).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import PhaseConfig, TrainConfig
from ..errors import PinnsightError
from .peers import check_engine_case

#: TrainConfig fields a case may set (seed comes from the suite's seeds; remedies are handled separately)
CONFIG_KEYS = ("model", "model_options", "phases", "points", "weights", "x64", "log_every", "eval_every",
               "target_rel_l2", "stall_steps", "stall_rtol", "exact_bc", "symmetric")
CASE_KEYS = ("name", "problem", "params", "remedies", "seeds", "published", "engine", *CONFIG_KEYS)
SUITE_KEYS = ("description", "seeds", "sources", "defaults", "case")
PUBLISHED_KEYS = ("rel_l2", "source", "where")


@dataclass(frozen=True)
class Published:
    """A number from a paper that a case is compared to, with its citation key and location (table, figure)."""

    rel_l2: float
    source: str
    where: str = ""


@dataclass(frozen=True)
class Case:
    """One benchmark case: a problem with coefficients, a remedy configuration, a budget and its seeds."""

    name: str
    problem: str
    params: Mapping[str, Any]
    remedies: tuple[str, ...]
    seeds: tuple[int, ...]
    options: Mapping[str, Any]  # the other TrainConfig fields (model, phases, points, ...)
    published: Published | None = None
    engine: str = "pinnsight"  # or "deepxde": the same case trained by DeepXDE (see bench.peers)

    def config(self, seed: int) -> TrainConfig:
        """The case's TrainConfig for ``seed`` (remedies passed through only when there are any)."""
        kwargs: dict[str, Any] = dict(self.options)
        if "phases" in kwargs:
            kwargs["phases"] = tuple(PhaseConfig(p["name"], p["steps"], p.get("options", {}), p.get("terms", ())) for p in kwargs["phases"])
        if self.remedies:
            if "remedies" not in {f.name for f in dataclasses.fields(TrainConfig)}:
                raise PinnsightError("remedies need TrainConfig.remedies, which this version of pinnsight lacks")
            kwargs["remedies"] = tuple(self.remedies)
        return TrainConfig(problem=self.problem, params=dict(self.params), seed=seed, **kwargs)

    @property
    def remedy_label(self) -> str:
        label = " + ".join(self.remedies) if self.remedies else "vanilla"
        return label if self.engine == "pinnsight" else f"{label} ({self.engine})"


@dataclass(frozen=True)
class Task:
    """One run of a sweep: a case at one seed, its resolved config and that config's hash."""

    case: Case
    seed: int
    config: TrainConfig
    config_hash: str


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    cases: tuple[Case, ...]
    sources: Mapping[str, str] = field(default_factory=dict)
    path: str = ""

    def select(self, cases: tuple[str, ...] = (), seeds: tuple[int, ...] = ()) -> "Suite":
        """The suite with only the cases named in ``cases`` (exact names, or a problem name: all its cases) and,
        of their seeds, only those in ``seeds`` (empty: all). A name or seed that selects nothing is an error."""
        picked = self.cases
        if cases:
            unknown = [c for c in cases if not any(c in (k.name, k.problem) for k in self.cases)]
            if unknown:
                names = ", ".join(repr(k.name) for k in self.cases)
                raise PinnsightError(f"suite {self.name}: no case {unknown[0]!r} (cases: {names})")
            picked = tuple(k for k in picked if k.name in cases or k.problem in cases)
        if seeds:
            picked = tuple(dataclasses.replace(k, seeds=tuple(s for s in k.seeds if s in seeds)) for k in picked)
            if not any(k.seeds for k in picked):
                raise PinnsightError(f"suite {self.name}: no selected case has seed(s) {', '.join(map(str, seeds))}")
        return dataclasses.replace(self, cases=picked)

    def tasks(self) -> list[Task]:
        """Every (case, seed) with its validated config; a duplicate config is an error (it would run once)."""
        out, seen = [], {}
        for case in self.cases:
            for seed in case.seeds:
                try:
                    phases = [p.get("name") for p in case.options.get("phases", [{"name": "adam"}])]
                    check_engine_case(case.engine, case.problem, case.remedies, case.options.get("model", "mlp"),
                                      phases)
                    config = case.config(seed)
                except (TypeError, AttributeError, ValueError) as e:  # PinnsightError is a ValueError
                    raise PinnsightError(f"suite {self.name}, case {case.name!r}, seed {seed}: {e}") from None
                h = config_hash(config, case.engine)
                if h in seen:
                    raise PinnsightError(f"suite {self.name}: case {case.name!r} seed {seed} has the same config "
                                         f"as case {seen[h]!r}")
                seen[h] = case.name
                out.append(Task(case, seed, config, h))
        return out


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def config_hash(config: TrainConfig, engine: str = "pinnsight") -> str:
    """sha256 of the canonical JSON of the resolved config (every default filled in, seed included), with
    "off" values (None, False, 0, empty) left out of every object.

    Leaving them out keeps hashes stable when a new opt-in field (``remedies=()``, a new optimizer option
    defaulting to 0) is added to the config: runs already in the database still match. Within one version's
    schema every key is always present, so omitting off values cannot make two different configs collide.
    """
    return hashlib.sha256(canonical_json(_without_off(config_record(config, engine))).encode()).hexdigest()


def config_record(config: TrainConfig, engine: str = "pinnsight") -> dict[str, Any]:
    """The resolved config as recorded in the database (with the engine when it is not pinnsight)."""
    return config.to_dict() if engine == "pinnsight" else {**config.to_dict(), "engine": engine}


def _without_off(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _without_off(v) for k, v in obj.items() if not _is_off(v)}
    if isinstance(obj, (list, tuple)):
        return [_without_off(v) for v in obj]
    return obj


def _is_off(v: Any) -> bool:
    return v is None or v is False or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0) or (
        isinstance(v, (Mapping, list, tuple, str)) and len(v) == 0)


# ---------------------------------------------------------------------------------------------- loading
def builtin_suites() -> dict[str, Path]:
    """Name -> file of the suites shipped with pinnsight."""
    folder = resources.files("pinnsight.bench") / "suites"
    return {p.name[: -len(".toml")]: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name, or a suite file by path; validated (PinnsightError with the case at fault)."""
    builtin = builtin_suites()
    path = Path(name_or_path)
    if str(name_or_path) in builtin:
        path, name = builtin[str(name_or_path)], str(name_or_path)
    elif path.suffix == ".toml" and path.is_file():
        name = path.stem
    else:
        raise PinnsightError(f"unknown suite {str(name_or_path)!r} (built-in: {', '.join(sorted(builtin))}; "
                             "or give a path to a .toml suite file)")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise PinnsightError(f"suite {name}: cannot read {path} ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise PinnsightError(f"suite {name}: {path} is not valid TOML ({e})") from None
    suite = parse_suite(name, data, path=str(path))
    suite.tasks()  # validate every (case, seed) now, before any run
    return suite


def parse_suite(name: str, data: Mapping[str, Any], path: str = "") -> Suite:
    """Build a Suite from parsed TOML; structural errors name the suite, the case and the key."""
    where = f"suite {name}"
    _known(data, SUITE_KEYS, where)
    seeds = _seeds(data.get("seeds", [0]), where)
    sources = data.get("sources", {})
    if not isinstance(sources, Mapping) or not all(isinstance(v, str) for v in sources.values()):
        raise PinnsightError(f"{where}: [sources] must map citation keys to strings")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, Mapping):
        raise PinnsightError(f"{where}: [defaults] must be a table")
    _known(defaults, CASE_KEYS, f"{where}, [defaults]")
    raw_cases = data.get("case", [])
    if not isinstance(raw_cases, list) or not raw_cases:
        raise PinnsightError(f"{where}: no [[case]] entries")
    cases, names = [], set()
    for i, raw in enumerate(raw_cases, 1):
        if not isinstance(raw, Mapping):
            raise PinnsightError(f"{where}, case {i}: must be a table")
        case = _parse_case({**defaults, **raw}, seeds, sources, f"{where}, case {i}")
        if case.name in names:
            raise PinnsightError(f"{where}, case {i}: duplicate case name {case.name!r}")
        names.add(case.name)
        cases.append(case)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise PinnsightError(f"{where}: description must be a string")
    return Suite(name, description, tuple(cases), dict(sources), path)


def _parse_case(raw: Mapping[str, Any], seeds: tuple[int, ...], sources: Mapping[str, str], where: str) -> Case:
    _known(raw, CASE_KEYS, where)
    problem = raw.get("problem")
    if not isinstance(problem, str) or not problem:
        raise PinnsightError(f"{where}: 'problem' (a problem name) is required")
    params = raw.get("params", {})
    if not isinstance(params, Mapping):
        raise PinnsightError(f"{where}: 'params' must be a table of coefficients")
    remedies = raw.get("remedies", [])
    if isinstance(remedies, str):
        remedies = [remedies]
    if not isinstance(remedies, list) or not all(isinstance(r, str) and r for r in remedies):
        raise PinnsightError(f"{where}: 'remedies' must be a list of remedy specs NAME[:key=value,...]")
    phases = raw.get("phases")
    if phases is not None:
        if not isinstance(phases, list) or not all(isinstance(p, Mapping) for p in phases):
            raise PinnsightError(f"{where}: 'phases' must be a list of tables {{ name = ..., steps = ... }}")
        for p in phases:
            _known(p, ("name", "steps", "options"), f"{where}, phase {p.get('name', '?')}")
            if "name" not in p or "steps" not in p:
                raise PinnsightError(f"{where}: every phase needs 'name' and 'steps'")
    options = {k: raw[k] for k in CONFIG_KEYS if k in raw}
    published = _published(raw.get("published"), sources, where)
    engine = raw.get("engine", "pinnsight")
    name = raw.get("name") or default_case_name(problem, params, remedies, engine)
    if not isinstance(name, str):
        raise PinnsightError(f"{where}: 'name' must be a string")
    case_seeds = _seeds(raw["seeds"], where) if "seeds" in raw else seeds
    return Case(name, problem, dict(params), tuple(remedies), case_seeds, options, published, engine)


def default_case_name(problem: str, params: Mapping[str, Any], remedies, engine: str = "pinnsight") -> str:
    coeffs = " ".join(f"{k}={_fmt(v)}" for k, v in params.items())
    name = f"{problem} {coeffs}".strip()
    name = f"{name} [{' + '.join(remedies)}]" if remedies else name
    return name if engine == "pinnsight" else f"{name} ({engine})"


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _published(raw: Any, sources: Mapping[str, str], where: str) -> Published | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise PinnsightError(f"{where}: 'published' must be a table {{ rel_l2 = ..., source = ... }}")
    _known(raw, PUBLISHED_KEYS, f"{where}, published")
    value, source = raw.get("rel_l2"), raw.get("source")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise PinnsightError(f"{where}: published rel_l2={value!r} must be a positive number")
    if not isinstance(source, str) or source not in sources:
        raise PinnsightError(f"{where}: published source {source!r} is not a key of [sources] "
                             f"({', '.join(sources) or 'none defined'})")
    return Published(float(value), source, str(raw.get("where", "")))


def _seeds(raw: Any, where: str) -> tuple[int, ...]:
    if (not isinstance(raw, list) or not raw
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in raw)):
        raise PinnsightError(f"{where}: seeds={raw!r} must be a non-empty list of non-negative integers")
    if len(set(raw)) != len(raw):
        raise PinnsightError(f"{where}: seeds={raw!r} has duplicates")
    return tuple(raw)


def _known(table: Mapping[str, Any], keys, where: str) -> None:
    unknown = [k for k in table if k not in keys]
    if unknown:
        raise PinnsightError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(keys)})")
