"""Training a hard-constraint basis over a family of PDE parameters, and solving for new parameter values
(Négiar, Mahoney, Krishnapriyan, ICLR 2023, Sec. 3.2: the basis is learned once for a range of PDE parameters; a
new parameter value then costs one least-squares solve).

Each Adam step draws ``params_per_step`` parameter values (stratified uniform over the range), solves the
least-squares layer for each (``vmap``), and averages the PINN loss of the constrained solutions u_p on fresh
collocation and constraint points (not the enforcement points): the basis is trained so that the solution fitted at
the enforcement points has a small residual everywhere.

Family parameters must be coefficients that enter the PDE residual (β, ν, a forcing amplitude): the constraint
targets are sampled once, at the family's centre, so a parameter that changes initial or boundary data is refused
(``pinnsight solve`` may still change it: it re-targets the enforcement rows for the new problem).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import spec
from ..errors import PinnsightError
from ..losses import loss_terms, weighted_loss
from ..models import make_model, resolve_model_options
from ..problems import make_problem, problem_specs, resolve_params
from ..sampling import sample_batch
from .linear import IllConditionedWarning

KIND = "hard-constraint-family"
FAMILY_FILES = ("config.json", "metrics.json", "history.csv", "params.eqx")



def _checked_ranges(problem: str, given: dict) -> dict[str, tuple[float, float]]:
    """``--param-range`` values as ``{name: (lo, hi)}``: numeric parameters of *problem*, ``lo < hi``."""
    pspec = problem_specs()[problem]
    ranges = {}
    for name, rng in given.items():
        if name not in pspec.params or pspec.params[name].choices is not None:
            numeric = [k for k, p in pspec.params.items() if p.choices is None]
            raise PinnsightError(
                f"train-family: {name!r} is not a numeric parameter of {problem} (numeric: {', '.join(numeric)})"
            )
        lo, hi = (float(resolve_params(problem, {name: v})[name]) for v in rng)
        if not lo < hi:
            raise PinnsightError(f"train-family: range {name}={lo:g}:{hi:g} must have LO < HI")
        ranges[name] = (lo, hi)
    return ranges


def _checked_validate(ranges: dict, given: dict) -> dict[str, tuple[float, ...]]:
    """Validation values per ranged parameter (default: its ends and centre), each inside its range."""
    validate = {}
    for name, (lo, hi) in ranges.items():
        vals = tuple(spec.coerce(v, float, "validate", name) for v in given.get(name, (lo, 0.5 * (lo + hi), hi)))
        if not vals or any(not lo <= v <= hi for v in vals):
            raise PinnsightError(f"validate: {name} values {vals} must lie in the range [{lo:g}, {hi:g}]")
        validate[name] = vals
    return validate

@dataclass(frozen=True)
class FamilyConfig:
    """A family run: ``problem`` with fixed ``params``, ``ranges`` {name: (lo, hi)} of the family parameters,
    hard-constraint ``model_options``, Adam (``steps``, ``lr`` decayed by ``decay_rate`` every ``decay_steps``),
    ``points`` per loss term drawn fresh each step, ``weights`` per term, validation ``validate`` values per
    family parameter (default lo, centre, hi)."""

    problem: str
    ranges: Mapping[str, tuple[float, float]]
    params: Mapping[str, Any] = field(default_factory=dict)
    model_options: Mapping[str, Any] = field(default_factory=dict)
    steps: int = 2000
    lr: float = 2e-3
    decay_rate: float = 0.5
    decay_steps: int = 1000
    params_per_step: int = 4
    points: Mapping[str, int] = field(default_factory=dict)
    weights: Mapping[str, float] = field(default_factory=dict)
    validate: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    seed: int = 0
    x64: bool = True
    log_every: int = 100

    def __post_init__(self):
        if self.problem not in problem_specs():
            resolve_params(self.problem)  # raises the registry's "unknown problem" error
        if not self.ranges:
            raise PinnsightError("train-family: give at least one --param-range NAME=LO:HI")
        ranges = _checked_ranges(self.problem, self.ranges)
        object.__setattr__(self, "ranges", ranges)
        clash = sorted(set(self.params) & set(ranges))
        if clash:
            raise PinnsightError(f"train-family: {clash[0]!r} is given both as -p and as --param-range")
        centre = {k: 0.5 * (lo + hi) for k, (lo, hi) in ranges.items()}
        object.__setattr__(self, "params", {k: v for k, v in resolve_params(self.problem, {**self.params, **centre}).items()
                                            if k not in ranges})
        opts = resolve_model_options("hard-constraint", self.model_options)
        object.__setattr__(self, "model_options", opts)
        where = "train-family"
        ints = {"steps": spec.non_negative, "params_per_step": spec.positive, "log_every": spec.positive,
                "decay_steps": spec.positive, "seed": spec.all_of(spec.non_negative, spec.below(2**32, "2**32"))}
        for name, check in ints.items():
            object.__setattr__(self, name, spec.value(getattr(self, name), int, where, name, check))
        object.__setattr__(self, "lr", spec.value(self.lr, float, where, "lr", spec.positive))
        object.__setattr__(self, "decay_rate", spec.value(self.decay_rate, float, where, "decay_rate",
                                                          spec.between(0, 1, low_open=True)))
        object.__setattr__(self, "x64", spec.value(self.x64, bool, where, "x64"))
        problem = self.base_problem()
        terms = problem.term_names
        defaults = {"res": 1000, **{c.name: c.n_points for c in problem.constraints}}
        for what, given in (("points", self.points), ("weights", self.weights)):
            unknown = sorted(set(given) - set(terms))
            if unknown:
                raise PinnsightError(f"{what}: unknown loss term {unknown[0]!r} (terms: {', '.join(terms)})")
        points = {**defaults, **{k: spec.value(v, int, "points", k, spec.positive) for k, v in self.points.items()}}
        weights = {**dict.fromkeys(terms, 1.0),
                   **{k: spec.value(v, float, "weights", k, spec.non_negative) for k, v in self.weights.items()}}
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "validate", _checked_validate(ranges, self.validate))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.ranges)

    def centre(self) -> dict[str, float]:
        return {k: 0.5 * (lo + hi) for k, (lo, hi) in self.ranges.items()}

    def base_problem(self, **values):
        return make_problem(self.problem, **{**self.params, **self.centre(), **values})

    def validation_values(self) -> list[dict[str, float]]:
        names = self.names
        return [dict(zip(names, combo)) for combo in itertools.product(*(self.validate[n] for n in names))]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ranges"] = {k: list(v) for k, v in self.ranges.items()}
        d["validate"] = {k: list(v) for k, v in self.validate.items()}
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FamilyConfig":
        try:
            d = dict(d)
            d["ranges"] = {k: tuple(v) for k, v in d["ranges"].items()}
            d["validate"] = {k: tuple(v) for k, v in d.get("validate", {}).items()}
            return cls(**d)
        except (TypeError, KeyError, AttributeError) as e:
            raise PinnsightError(f"malformed family config: {e}") from None


def _dtype(x64: bool):
    from ..precision import dtype_of

    return dtype_of(x64)


def build_model(config: FamilyConfig, key: jax.Array | None = None):
    """The hard-constraint model at the family's centre (untrained unless deserialised into)."""
    dtype = _dtype(config.x64)
    problem = config.base_problem()
    key = jax.random.PRNGKey(config.seed) if key is None else key
    return eqx.filter_jit(
        lambda k: make_model("hard-constraint", problem.dim, key=k, dtype=dtype, problem=problem, **config.model_options)
    )(key)


def check_targets_fixed(config: FamilyConfig) -> None:
    """PinnsightError if a family parameter changes the constraint targets (they are sampled at the centre)."""
    dtype = _dtype(config.x64)
    counts = {c.name: 16 for c in config.base_problem().constraints}
    if not counts:
        return
    key = jax.random.PRNGKey(3)
    for name, (lo, hi) in config.ranges.items():
        values = (lo, lo + 0.3183 * (hi - lo), 0.5 * (lo + hi), hi)  # ends, centre and an irrational-ish point
        rows = [sample_batch(config.base_problem(**{name: v}), key, {"res": 1, **counts}, dtype) for v in values]
        for con in counts:
            if not all(np.allclose(np.asarray(rows[0][con]), np.asarray(r[con]), rtol=1e-10, atol=1e-10) for r in rows):
                raise PinnsightError(
                    f"train-family: {name} changes the {con!r} constraint data of {config.problem}; a family may only "
                    f"vary coefficients of the PDE residual (train one value with `pinnsight train`, or fix {name})"
                )


def stratified(key: jax.Array, n: int, ranges: jax.Array) -> jax.Array:
    """``n`` parameter vectors, coordinate i uniform in stratum k of ``ranges[i]`` (shuffled per coordinate)."""
    d = ranges.shape[0]
    k_u, k_p = jax.random.split(key)
    u = (jnp.arange(n, dtype=ranges.dtype)[:, None] + jax.random.uniform(k_u, (n, d), ranges.dtype)) / n
    u = jnp.stack([jax.random.permutation(k, u[:, i]) for i, k in enumerate(jax.random.split(k_p, d))], axis=1)
    return ranges[None, :, 0] + u * (ranges[None, :, 1] - ranges[None, :, 0])


def make_family_loss(config: FamilyConfig, static, problem, dtype):
    """``loss(params, key) -> (mean loss, mean terms)`` over ``params_per_step`` family values and fresh points."""
    names = config.names
    ranges = jnp.asarray([config.ranges[n] for n in names], dtype)
    base = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    weights = {k: jnp.asarray(v, dtype) for k, v in config.weights.items()}

    def loss(params, key):
        model = eqx.combine(params, static)
        k_pts, k_par = jax.random.split(key)
        batch = sample_batch(problem, k_pts, config.points, dtype)
        values = stratified(k_par, config.params_per_step, ranges)

        def one(v):
            coeffs = {**base, **{n: v[i] for i, n in enumerate(names)}}
            terms = loss_terms(problem, model.bind(problem, coeffs), batch, coeffs)
            return weighted_loss(terms, weights), terms

        totals, terms = jax.vmap(one)(values)
        return jnp.mean(totals), jax.tree.map(jnp.mean, terms)

    return loss


def make_evaluator(config: FamilyConfig, static, problem, dtype):
    """``errors(params) -> (V,)`` rel L2 on the reference grids of the validation values, and those values."""
    values = config.validation_values()
    refs = [config.base_problem(**v).reference_solution() for v in values]
    pts = jnp.asarray(refs[0].points(), dtype)
    if any(r.values.shape != refs[0].values.shape for r in refs):
        raise PinnsightError("validation references must share one grid")
    ref_values = jnp.asarray(np.stack([r.values.ravel() for r in refs]), dtype)
    coeff_rows = jnp.asarray([[v[n] for n in config.names] for v in values], dtype)
    base = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}

    @jax.jit
    def errors(params):
        model = eqx.combine(params, static)

        def one(v, ref):
            coeffs = {**base, **{n: v[i] for i, n in enumerate(config.names)}}
            pred = jax.vmap(model.bind(problem, coeffs))(pts)
            return jnp.linalg.norm(pred - ref) / jnp.linalg.norm(ref)

        return jax.lax.map(lambda a: one(*a), (coeff_rows, ref_values))

    return errors, values


@dataclass
class FamilyResult:
    config: FamilyConfig
    model: Any
    history: list[dict[str, Any]]
    metrics: dict[str, Any]


def train_family(config: FamilyConfig, *, echo=None) -> FamilyResult:
    """Adam on the family loss (``make_family_loss``) in jitted ``lax.scan`` chunks of ``log_every`` steps;
    rel L2 at the validation values after every chunk."""
    from ..precision import precision

    with precision(config.x64):  # a float32 family computes in 32-bit mode whatever ran before
        return _train_family(config, echo)


def _adam_chunk(loss, opt):
    """``chunk(params, opt_state, keys) -> (params, opt_state, values, last terms)``: one Adam step per key, fused."""

    def step(carry, key):
        params, opt_state = carry
        (value, terms), grads = jax.value_and_grad(loss, has_aux=True)(params, key)
        updates, opt_state = opt.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), (value, terms)

    @jax.jit
    def chunk(params, opt_state, keys):
        (params, opt_state), (values, terms) = jax.lax.scan(step, (params, opt_state), keys)
        return params, opt_state, values, jax.tree.map(lambda v: v[-1], terms)

    return chunk


class _FamilyHistory:
    """History rows of a family run: loss, terms and the rel L2 at every validation value."""

    def __init__(self, errors, labels, echo, t0: float):
        self.errors, self.labels, self.echo, self.t0, self.rows = errors, labels, echo, t0, []

    def record(self, params, step_no: int, loss_value: float, terms) -> None:
        errs = np.asarray(self.errors(params), np.float64)
        self.rows.append({"step": step_no, "wall_s": round(time.perf_counter() - self.t0, 3), "loss": loss_value,
                          **{f"{k}_loss": float(v) for k, v in terms.items()},
                          **{f"rel_l2[{lab}]": float(e) for lab, e in zip(self.labels, errs)}})
        if self.echo is not None:
            self.echo(f"  step {step_no:6d}  loss {loss_value:.3e}  rel L2 "
                      + "  ".join(f"{lab}: {e:.2e}" for lab, e in zip(self.labels, errs)))


def _solve_reports(model, val_values, dtype) -> list[dict]:
    """The least-squares report at every validation value (ill-conditioning warnings passed on once)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IllConditionedWarning)
        base = model.default_coeffs()  # the family's targets do not depend on its parameters (check_targets_fixed)
        solve = [dict(value, **model.report({**base, **{k: jnp.asarray(v, dtype) for k, v in value.items()}}))
                 for value in val_values]
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=3)
    return solve


def _train_family(config: FamilyConfig, echo) -> FamilyResult:
    t0 = time.perf_counter()
    from ..trainer import enable_compilation_cache

    enable_compilation_cache()
    dtype = _dtype(config.x64)
    check_targets_fixed(config)
    problem = config.base_problem()
    params, static = eqx.partition(build_model(config), eqx.is_array)
    loss = make_family_loss(config, static, problem, dtype)
    opt = optax.adam(optax.exponential_decay(config.lr, config.decay_steps, config.decay_rate))
    opt_state, chunk = opt.init(params), _adam_chunk(loss, opt)
    errors, val_values = make_evaluator(config, static, problem, dtype)
    labels = [",".join(f"{k}={v:g}" for k, v in vals.items()) for vals in val_values]
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 1)
    hist = _FamilyHistory(errors, labels, echo, t0)
    first, first_terms = jax.jit(loss)(params, key)
    hist.record(params, 0, float(first), first_terms)
    done, stop, t_train = 0, "budget", time.perf_counter()
    while done < config.steps:
        n = min(config.log_every, config.steps - done)
        new_params, new_state, values, terms = chunk(params, opt_state, jax.random.split(jax.random.fold_in(key, done), n))
        if not bool(jnp.all(jnp.isfinite(values))):
            stop = "nan"  # keep the last finite parameters
            break
        params, opt_state, done = new_params, new_state, done + n
        hist.record(params, done, float(values[-1]), terms)
    train_s = time.perf_counter() - t_train
    model = eqx.combine(params, static)
    solve = _solve_reports(model, val_values, dtype)
    errs = hist.rows[-1]
    metrics = {
        "kind": KIND, "rel_l2": {lab: errs[f"rel_l2[{lab}]"] for lab in labels},
        "rel_l2_max": max(errs[f"rel_l2[{lab}]"] for lab in labels), "steps": done, "stop_reason": stop,
        "train_s": train_s, "wall_s": time.perf_counter() - t0,
        "final_losses": {k[:-5]: v for k, v in errs.items() if k.endswith("_loss")}, "solve": solve,
        "ill_conditioned": any(s["ill_conditioned"] for s in solve),
        "n_params": int(sum(x.size for x in jax.tree.leaves(eqx.filter(model.basis, eqx.is_array)))),
        "dtype": jnp.dtype(dtype).name,
    }
    return FamilyResult(config, model, hist.rows, metrics)


# ---------------------------------------------------------------------------------------------- run dirs
def write_family_run(out: Path, result: FamilyResult) -> Path:
    """Write ``out`` atomically (temp dir + rename): config.json (kind, family config, environment),
    metrics.json, history.csv, params.eqx."""
    from ..runs import _write_history, _write_json, environment, new_run_dir

    with new_run_dir(out) as tmp:
        _write_json(tmp / "config.json", {"kind": KIND, "family": result.config.to_dict(), **environment()})
        _write_json(tmp / "metrics.json", result.metrics)
        _write_history(tmp / "history.csv", result.history)
        eqx.tree_serialise_leaves(tmp / "params.eqx", result.model)
    return Path(out)


def load_family_run(run_dir: Path) -> tuple[FamilyConfig, Any, dict[str, Any]]:
    """``(config, model, metrics)`` of a family run directory; PinnsightError when it is not one."""
    from ..runs import read_run_files

    run_dir = Path(run_dir)
    recorded, metrics = read_run_files(run_dir, FAMILY_FILES)
    if not isinstance(recorded, dict) or recorded.get("kind") != KIND:
        raise PinnsightError(f"{run_dir} is not a hard-constraint family run (config.json kind != {KIND!r})")
    config = FamilyConfig.from_dict(recorded["family"])
    skeleton = build_model(config)
    try:
        model = eqx.tree_deserialise_leaves(run_dir / "params.eqx", skeleton)
    except Exception as e:  # noqa: BLE001 - any failure here means a corrupt file
        raise PinnsightError(f"{run_dir}/params.eqx is unreadable ({e.__class__.__name__})") from None
    return config, model, metrics


def is_family_run(run_dir: Path) -> bool:
    try:
        return json.loads((Path(run_dir) / "config.json").read_text()).get("kind") == KIND
    except (OSError, ValueError, AttributeError):
        return False


# ------------------------------------------------------------------------------------------------- solve
@dataclass
class SolveResult:
    params: dict[str, Any]
    rel_l2: float
    solve_s: float  # warm: rows + QR + triangular solve, compiled, median of repeats
    first_s: float  # the first call, compilation included
    report: dict[str, Any]
    prediction: np.ndarray
    reference: np.ndarray


def solve_new(model, problem_name: str, params: Mapping[str, Any], *, repeats: int = 5) -> SolveResult:
    """Solve the trained basis's least-squares layer for ``problem_name`` at ``params`` (a new parameter value):
    the enforcement rows are re-targeted for the new problem, c is solved, u is compared with the reference."""
    resolved = resolve_params(problem_name, params)
    problem = make_problem(problem_name, **resolved)
    model = model.with_problem(problem)
    coeffs = model.default_coeffs()
    solve = eqx.filter_jit(lambda m, c: m.solve(c))
    t = time.perf_counter()
    c = solve(model, coeffs).block_until_ready()
    first = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        c = solve(model, coeffs).block_until_ready()
        times.append(time.perf_counter() - t)
    reference = problem.reference_solution()
    pts = jnp.asarray(reference.points(), model.dtype)
    pred = np.asarray(jax.jit(lambda m, c, p: jax.vmap(lambda z: jnp.dot(c, m.basis(z)))(p))(model, c, pts),
                      np.float64).reshape(reference.values.shape)
    rel = float(np.linalg.norm(pred - reference.values) / np.linalg.norm(reference.values))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IllConditionedWarning)
        report = model.report()
    if report["ill_conditioned"]:
        warnings.warn(f"hard-constraint solve at {dict(params)}: ill-conditioned (κ = {report['cond_ridge']:.2e})",
                      IllConditionedWarning, stacklevel=2)
    return SolveResult(dict(resolved), rel, float(np.median(times)), first, report, pred, reference.values)
