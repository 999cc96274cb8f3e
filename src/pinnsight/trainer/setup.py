"""Everything one run builds before its first step: problem, model, batch, objective, remedies, evaluators."""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import keys
from ..errors import PinnsightError
from ..losses import make_objective, mean_squares
from ..models import make_model, smooth_periodic_coords
from ..precision import dtype_of
from ..problems import grid_points
from ..problems.seams import undeclared_seam_jumps
from ..remedies import NO_CHANGE, Changes, RemedySetup, build_remedies, chain, parse_spec, remedy_specs
from ..sampling import sample_batch
from .evaluate import Evaluator
from .phases import PhaseCompiler
from .recorder import Recorder
from .state import PhaseReport, TrainingState


def enable_compilation_cache() -> None:
    """Keep XLA executables on disk (``$PINNSIGHT_JAX_CACHE`` or ~/.cache/pinnsight/jax) so that a rerun of the
    same problem and model skips compilation (halves a short run's wall time); ``PINNSIGHT_JAX_CACHE=off``
    disables it, and a cache directory the user configured in JAX is left alone."""
    where = os.environ.get("PINNSIGHT_JAX_CACHE", str(Path.home() / ".cache" / "pinnsight" / "jax"))
    if where != "off" and jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", where)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def model_builder(config, problem):
    """Jitted ``key -> model`` (one compilation instead of one per eager op)."""
    dtype = dtype_of(config.x64)
    build = lambda key: make_model(  # noqa: E731
        config.model, problem.dim, key=key, dtype=dtype, problem=problem, **config.model_kwargs()
    )
    return eqx.filter_jit(build)


def initial_state(config, problem):
    """Model, its static part and the starting TrainingState from the config's seed."""
    dtype = dtype_of(config.x64)
    key_model, key_data = jax.random.split(jax.random.PRNGKey(config.seed))
    model = model_builder(config, problem)(key_model)
    params, static = eqx.partition(model, eqx.is_array)
    batch = jax.jit(lambda key: sample_batch(problem, key, config.points, dtype))(key_data)
    weights = {k: jnp.asarray(v, dtype) for k, v in config.weights.items()}
    coeffs = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    return static, TrainingState(params, batch, weights, coeffs)


def warn_seams(problem, static) -> None:
    """Warn when the model is periodic with every derivative in a coordinate whose initial data is not (its
    ``Periodic`` constraint declaring fewer derivatives): the error then concentrates at the seam."""
    for name, order, jump in undeclared_seam_jumps(problem, smooth_periodic_coords(static)):
        what = "value" if order == 0 else "slope" if order == 1 else f"derivative of order {order}"
        warnings.warn(
            f"the model is periodic in {name} with every derivative, but {problem.name}'s initial {what} differs "
            f"across the seam by {jump:.1e} of its largest (a kink the problem allows): the error will sit at the "
            f"seam; a network without the periodic embedding (e.g. --model mlp) keeps only the problem's periodic "
            "condition", stacklevel=2)


def warm_params(fresh, given, dtype):
    """``given`` (another run's parameters) in place of ``fresh``: same tree and shapes, cast to ``dtype``."""
    if jax.tree.structure(fresh) != jax.tree.structure(given) or any(
            a.shape != b.shape for a, b in zip(jax.tree.leaves(fresh), jax.tree.leaves(given))):
        raise PinnsightError("initial parameters: another architecture than the configured model's")
    return jax.tree.map(lambda x: jnp.asarray(x, dtype), given)


def remedy_properties(config) -> list:
    """The registered specs of the configured remedies (their declared properties)."""
    return [remedy_specs()[parse_spec(str(r))[0]] for r in config.remedies]


@dataclass
class Run:
    """The context of one training run: what was built, and the counters the loop moves."""

    config: Any
    problem: Any
    dtype: Any
    static: Any
    state: TrainingState
    objective: Any
    members: list
    remedy: Any
    recorder: Recorder
    evaluator: Evaluator
    compiler: PhaseCompiler
    t_start: float
    step: int = 0
    seg_step: int = 0
    segment: Any = None
    remedy_state: Any = None
    reports: list[PhaseReport] = field(default_factory=list)
    checkpointer: Any = None  # a checkpoint.Checkpointer, called at every chunk boundary
    position: Any = None  # where the loop is (checkpoint.Position)

    def apply(self, changes: Changes) -> None:
        """Take a remedy's replacements (typed as the run's dtype, so nothing retraces)."""
        if changes is NO_CHANGE:
            return
        new = {}
        for name in ("batch", "coeffs", "weights"):
            part = getattr(changes, name)
            if part is not None:
                new[name] = {**getattr(self.state, name), **{k: jnp.asarray(v, self.dtype) for k, v in part.items()}}
        self.state = self.state._replace(**new)


def setup_run(config, problem, progress: bool | None, t_start: float | None = None, initial_params=None) -> Run:
    dtype = dtype_of(config.x64)
    reference = problem.reference_solution()
    static, state = initial_state(config, problem)
    warn_seams(problem, static)
    if initial_params is not None:
        state = state._replace(params=warm_params(state.params, initial_params, dtype))
    members, remedy = build_members(config, problem, static, dtype)
    objective = make_objective(problem, static, mean_squares if remedy is None else remedy.reduce(mean_squares))
    not_squares = [p.name for p in remedy_properties(config) if not p.sum_of_squares]  # (TrainConfig refuses
    # a phase that needs a sum of squares beside them)
    sample = lambda key: sample_batch(problem, key, config.points, dtype)  # noqa: E731
    compiler = PhaseCompiler(problem, static, objective, sum_of_squares=not not_squares, sample=sample,
                             seed=config.seed, row_scale=None if remedy is None else remedy.rows)
    evaluator = Evaluator(problem, static, dtype, reference, config.seed, config.points["res"])
    recorder = Recorder(problem.term_names, config.total_steps, problem.name, progress, t_start or time.perf_counter(),
                        [m.name for m in members])
    return Run(config, problem, dtype, static, state, objective, members, remedy, recorder, evaluator, compiler,
               recorder.t_start)


def build_members(config, problem, static, dtype):
    """The configured remedies (built once per run, so their jitted functions trace once) and their chain."""
    if not config.remedies:
        return [], None
    build = model_builder(config, problem)
    setup = RemedySetup(
        config=config, problem=problem, static=static, dtype=dtype, key=keys.derive(config.seed, "remedy"),
        ref_points=grid_points(problem.reference_axes()),
        fresh_params=lambda key: eqx.partition(build(key), eqx.is_array)[0],
    )
    members = build_remedies(config.remedies, setup)
    return members, chain(*members)
