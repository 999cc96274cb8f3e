"""The trainer: one jitted pure step per optimizer, a host loop over phases, stop reasons, history.

Adam runs ``log_every`` steps per jitted call, fused with ``lax.scan`` (no host sync inside); L-BFGS runs up
to ``log_every`` iterations per call in a ``lax.while_loop`` that stops early only for a stated reason.
Weights and coefficients are arguments of the jitted functions, so changing them never retraces.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from .config import PHASE_DEFAULTS, PhaseConfig, TrainConfig
from .losses import make_objective
from .models import make_model
from .problems import Problem, ReferenceSolution
from .remedies import NO_CHANGE, Changes, RemedySetup, Segment, StepInfo, build_remedies, chain
from .sampling import sample_batch

# Stop reasons (strings in metrics.json and history.csv).
BUDGET, TARGET, STALL, NAN = "budget", "target", "stall", "nan"
GTOL, NO_PROGRESS = "gtol", "no-progress"
_LBFGS_REASONS = ("", NAN, GTOL, NO_PROGRESS)  # index = code in the while loop


@dataclass
class PhaseReport:
    """What one optimizer phase did and why it stopped."""

    name: str
    budget: int
    steps: int = 0
    stop_reason: str = BUDGET
    wall_s: float = 0.0
    function_evals: int = 0
    linesearch_failures: int = 0
    start_loss: float = math.nan
    end_loss: float = math.nan


@dataclass
class RunResult:
    """The outcome of ``train``: the trained model and everything the run directory records."""

    config: TrainConfig
    problem: Problem
    model: Any
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    reference: ReferenceSolution
    prediction: np.ndarray
    phases: list[PhaseReport] = field(default_factory=list)
    #: what remedies leave for the run directory: "snapshots" = [(step, label, residual points)]
    artifacts: dict[str, Any] = field(default_factory=dict)


class PhaseContext(NamedTuple):
    """What an optimizer phase may use besides the training state."""

    config: TrainConfig
    problem: Problem
    static: Any  # the non-array part of the model (eqx.partition)
    objective: Callable  # objective(params, batch, weights, coeffs) -> (total, terms)
    cache: dict | None = None  # jitted functions kept across segments (curriculum stages, windows): no retracing
    warm_optimizer: bool = False  # start from the optimizer state this phase had at the end of the last segment


class TrainingState(NamedTuple):
    """Explicit state that the host loop threads between jitted calls (remedies may replace any part)."""

    params: Any
    batch: dict
    weights: dict
    coeffs: dict


class Resume(NamedTuple):
    """Sent into a phase runner (``gen.send``) after a chunk when remedies changed the state: go on with
    ``state``'s batch, weights and coefficients, re-initialising the optimizer state if ``restart``."""

    state: TrainingState
    restart: bool = False


def enable_compilation_cache() -> None:
    """Keep XLA executables on disk (``$PINNSIGHT_JAX_CACHE`` or ~/.cache/pinnsight/jax) so that a rerun of the
    same problem and model skips compilation (halves a short run's wall time); ``PINNSIGHT_JAX_CACHE=off``
    disables it, and a cache directory the user configured in JAX is left alone."""
    where = os.environ.get("PINNSIGHT_JAX_CACHE", str(Path.home() / ".cache" / "pinnsight" / "jax"))
    if where != "off" and jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", where)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def dtype_for(config: TrainConfig):
    if config.x64 and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)
    return jnp.float64 if config.x64 else jnp.float32


def relative_l2(pred: jax.Array, ref: jax.Array) -> jax.Array:
    """‖pred − ref‖₂ / ‖ref‖₂ over the reference grid."""
    return jnp.linalg.norm(pred - ref) / jnp.linalg.norm(ref)


def make_predict(static) -> Callable:
    """Jitted ``predict(params, points) -> values`` for rows of points."""
    return jax.jit(lambda params, pts: jax.vmap(eqx.combine(params, static))(pts))


def strong_types(tree):
    """Drop weak types (optax initialises some scalars weakly typed), so the first jitted call's input types
    match what the call returns and the second call does not retrace."""
    return jax.tree.map(lambda x: jnp.asarray(x, dtype=jnp.result_type(x)), tree)


# ------------------------------------------------------------------------------------------------- Adam
def adam_optimizer(options: Mapping[str, Any]) -> optax.GradientTransformation:
    schedule = optax.exponential_decay(options["lr"], options["decay_steps"], options["decay_rate"])
    return optax.adam(schedule, b1=options["b1"], b2=options["b2"])


def make_adam_chunk(objective: Callable, optimizer: optax.GradientTransformation, length: int,
                    sampler: Callable | None = None) -> Callable:
    """Jitted ``length`` Adam steps fused in ``lax.scan``; returns per-step totals, the last step's terms and the
    batch of the last step. With ``sampler`` (``key -> batch``) every step draws a fresh batch from
    ``fold_in(key, start + i)`` (stochastic mini-batches; ``key`` and ``start`` are arguments: no retracing)."""

    def step(carry, i):
        params, opt_state, batch, weights, coeffs, key = carry
        if sampler is not None:
            batch = sampler(jax.random.fold_in(key, i))
        (loss, terms), grads = jax.value_and_grad(objective, has_aux=True)(params, batch, weights, coeffs)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, batch, weights, coeffs, key), (loss, terms)

    def chunk(params, opt_state, batch, weights, coeffs, key, start):
        (params, opt_state, batch, *_), (losses, terms) = jax.lax.scan(
            step, (params, opt_state, batch, weights, coeffs, key), start + jnp.arange(length)
        )
        return params, opt_state, losses, jax.tree.map(lambda v: v[-1], terms), batch

    return jax.jit(chunk)


# ----------------------------------------------------------------------------------------------- L-BFGS
def lbfgs_optimizer(options: Mapping[str, Any]) -> optax.GradientTransformationExtraArgs:
    # Each search starts from the unit step, natural for a quasi-Newton direction. optax's default ("keep": start
    # from the last accepted step) made the search fail on every iteration once one short step was taken: on the
    # demo (convection β=5, seed 0, after 3000 Adam steps, float32) L-BFGS stalled at 1.44e-4 with 23 failed
    # searches in 24 iterations, where "one" reached 1.37e-5 in 300 iterations with no failure.
    linesearch = optax.scale_by_zoom_linesearch(
        max_linesearch_steps=options["max_linesearch_steps"], initial_guess_strategy="one"
    )
    return optax.lbfgs(memory_size=options["memory"], linesearch=linesearch)


class LbfgsCarry(NamedTuple):
    iteration: jax.Array
    params: Any
    opt_state: Any
    reason: jax.Array  # index into _LBFGS_REASONS; 0 = keep going
    quiet: jax.Array  # consecutive iterations without sufficient decrease
    fevals: jax.Array
    ls_failures: jax.Array


def make_lbfgs_chunk(objective: Callable, optimizer, options: Mapping[str, Any]) -> Callable:
    """Jitted ``chunk(params, opt_state, ..., max_iters)``: up to ``max_iters`` L-BFGS iterations.

    Stops early on a non-finite loss (nan), gradient norm ≤ gtol (gtol), or ``patience`` consecutive
    iterations whose decrease is ≤ ftol·|loss| (no-progress); the reason code comes back with the counts.
    """
    gtol, ftol, patience = options["gtol"], options["ftol"], options["patience"]

    def chunk(params, opt_state, batch, weights, coeffs, max_iters):
        value_fn = lambda p: objective(p, batch, weights, coeffs)[0]  # noqa: E731
        value_and_grad = optax.value_and_grad_from_state(value_fn)

        def body(c: LbfgsCarry) -> LbfgsCarry:
            value, grad = value_and_grad(c.params, state=c.opt_state)
            updates, opt_state = optimizer.update(
                grad, c.opt_state, c.params, value=value, grad=grad, value_fn=value_fn
            )
            params = optax.apply_updates(c.params, updates)
            new_value = optax.tree_utils.tree_get(opt_state, "value")
            new_grad = optax.tree_utils.tree_get(opt_state, "grad")
            info = optax.tree_utils.tree_get(opt_state, "info")
            gnorm = optax.tree.norm(new_grad)
            decreased = value - new_value > ftol * jnp.abs(value)
            quiet = jnp.where(decreased, 0, c.quiet + 1)
            failed = (info.decrease_error > 0) | (info.curvature_error > 0)
            reason = jnp.select(
                [~jnp.isfinite(new_value) | ~jnp.isfinite(gnorm), gnorm <= gtol, quiet >= patience],
                [jnp.int32(1), jnp.int32(2), jnp.int32(3)],
                jnp.int32(0),
            )
            return LbfgsCarry(
                c.iteration + 1, params, opt_state, reason, quiet.astype(jnp.int32),
                c.fevals + info.num_linesearch_steps.astype(jnp.int32), c.ls_failures + failed.astype(jnp.int32),
            )

        zero = jnp.zeros((), jnp.int32)
        start = LbfgsCarry(zero, params, opt_state, zero, zero, zero, zero)
        end = jax.lax.while_loop(lambda c: (c.iteration < max_iters) & (c.reason == 0), body, start)
        return end

    return jax.jit(chunk)


# ------------------------------------------------------------------------------------------------ loop
def model_builder(config: TrainConfig, problem: Problem) -> Callable:
    """Jitted ``key -> model`` (one compilation instead of one per eager op)."""
    dtype = dtype_for(config)
    build = lambda key: make_model(  # noqa: E731
        config.model, problem.dim, key=key, dtype=dtype, problem=problem, **config.model_options
    )
    return eqx.filter_jit(build)


def initial_state(config: TrainConfig, problem: Problem):
    """Model, its static part and the starting TrainingState from the config's seed."""
    dtype = dtype_for(config)
    key_model, key_data = jax.random.split(jax.random.PRNGKey(config.seed))
    model = model_builder(config, problem)(key_model)
    params, static = eqx.partition(model, eqx.is_array)
    batch = jax.jit(lambda key: sample_batch(problem, key, config.points, dtype))(key_data)
    weights = {k: jnp.asarray(v, dtype) for k, v in config.weights.items()}
    coeffs = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    return static, TrainingState(params, batch, weights, coeffs)


def train(config: TrainConfig, *, progress: bool | None = None) -> RunResult:
    """Train a PINN as ``config`` says; returns the model, history and metrics (nothing is written).

    A float32 run computes in JAX's 32-bit mode even when an earlier float64 run in the same process switched
    64-bit mode on (``dtype_for``), so the same seed gives the same numbers whatever ran before. ``--remedy auto``
    is resolved first (its probe in the requested precision), since its choice may change the precision."""
    t_start = time.perf_counter()
    auto = {}
    if any(s.split(":", 1)[0].strip() == "auto" for s in config.remedies):  # resolve --remedy auto by a probe first
        from .diagnostics.auto import resolve_auto

        with precision(config.x64):
            config, auto = resolve_auto(config, progress=False if progress is False else None)
    with precision(config.x64):
        return _train(config, progress, auto, t_start)


def precision(x64: bool):
    """The context a run computes in: as it is for float64, JAX's 32-bit mode for float32 (whatever an earlier
    float64 run in the same process switched on)."""
    return contextlib.nullcontext() if x64 else jax.enable_x64(False)


def _train(config: TrainConfig, progress: bool | None, auto: dict, t_start: float) -> RunResult:
    enable_compilation_cache()
    problem = config.build_problem()
    dtype = dtype_for(config)
    reference = problem.reference_solution()
    ref_points = jnp.asarray(reference.points(), dtype)
    ref_values = jnp.asarray(reference.values.ravel(), dtype)

    static, state = initial_state(config, problem)
    objective = make_objective(problem, static)
    members, remedy = _build_remedies(config, problem, static, dtype, reference) if config.remedies else ([], None)
    if remedy is not None:
        objective = remedy.objective(objective)
    terms_fn = jax.jit(lambda p, b, c: objective(p, b, {k: 1.0 for k in b}, c)[1])
    predict = make_predict(static)
    error_fn = jax.jit(lambda p: relative_l2(jax.vmap(eqx.combine(p, static))(ref_points), ref_values))
    # the error on a segment's part of the grid (time windows); the mask is an argument: no retracing
    masked_error = jax.jit(lambda p, m: relative_l2(m * jax.vmap(eqx.combine(p, static))(ref_points), m * ref_values))

    history: list[dict[str, Any]] = []
    reports: list[PhaseReport] = []
    step = 0
    stop_reason = BUDGET
    cache: dict = {}  # jitted phase functions, shared by all segments
    segments = remedy.driver(state) if remedy is not None and remedy.driver is not None else None
    segment = next(segments) if segments is not None else Segment(bounds=tuple(problem.bounds))
    bar = tqdm(total=config.total_steps * segment.count, disable=progress is False if progress is not None else None,
               desc=problem.name, unit="step", dynamic_ncols=True, leave=False)
    mask = None
    pending: dict[str, Any] = {}  # remedy columns for the next history row
    latest: dict[str, float] = {}  # host values of the last row's losses (what remedies see)
    events: dict[str, list] = {m.name: [] for m in members}
    snapshots: list[tuple[int, str, np.ndarray]] = []
    finished_segments: list[tuple[Segment, Any, int, float]] = []
    driver_summary = None

    def error(params) -> float:
        return float(error_fn(params) if mask is None else masked_error(params, mask))

    def log(phase: str, terms: Mapping[str, Any], evaluate: bool) -> float | None:
        aux = {k: float(v) for k, v in terms.items() if k not in problem.term_names} if remedy is not None else {}
        terms = {k: float(terms[k]) for k in problem.term_names}
        err = error(state.params) if evaluate else None
        row = {"step": step, "phase": phase, "wall_s": round(time.perf_counter() - t_start, 4),
               "loss": sum(float(state.weights[k]) * v for k, v in terms.items())}
        row.update({f"{k}_loss": v for k, v in terms.items()})
        row.update({f"{k}_weight": float(w) for k, w in state.weights.items()})
        row["rel_l2"] = err
        if remedy is not None:
            row.update({**(segment.columns or {}), **aux, **pending})
            pending.clear()
            latest.clear()
            latest.update({**terms, **aux})
        history.append(row)
        bar.set_postfix({**{k: f"{v:.2e}" for k, v in terms.items()}, **({"rel_l2": f"{err:.2e}"} if err else {})})
        return err

    def note(changes: Changes) -> None:
        for e in changes.events:
            events[e["remedy"]].append({k: v for k, v in e.items() if k != "remedy"})
        if changes.batch is not None and "res" in changes.batch:
            snapshots.append((step, segment.label, np.asarray(changes.batch["res"])))

    while True:  # one pass per segment (curriculum stage, time window); a single one without a driver
        state, seg_step = _start_segment(state, segment, dtype), 0
        mask = None if segment.mask is None else jnp.asarray(segment.mask, dtype)
        if remedy is not None:
            changes, remedy_state = remedy.init(segment)
            state = _apply_changes(state, changes, dtype)
            pending.update(changes.log or {})
            note(changes)
            if segment.index == 0 or segment.batch is not None:
                snapshots.append((step, segment.label, np.asarray(state.batch["res"])))
        if not history:
            log("init", terms_fn(state.params, state.batch, state.coeffs), evaluate=True)
        stop_reason = BUDGET
        for phase in config.phases:
            if segment.steps_scale != 1.0:
                phase = dataclasses.replace(phase, steps=max(1, round(phase.steps * segment.steps_scale)))
            if stop_reason in (TARGET, NAN):
                reports.append(PhaseReport(phase.name, phase.steps, stop_reason="skipped"))
                continue
            report = PhaseReport(phase.name, phase.steps)
            t_phase = time.perf_counter()
            ctx = PhaseContext(config, problem, static, objective, cache, warm_optimizer=segment.keep_optimizer)
            runner, resume = PHASE_RUNNERS[phase.name](phase, ctx, state, report), None
            while True:
                try:
                    params, done, terms, finished, *batch = runner.send(resume)
                except StopIteration:
                    break
                resume = None
                state = state._replace(params=params, **({"batch": batch[0]} if batch else {}))
                step += done
                seg_step += done
                bar.update(done)
                evaluate = finished or step % config.eval_every == 0 or report.steps == phase.steps
                err = log(phase.name, terms, evaluate)
                if err is not None and config.target_rel_l2 is not None and err <= config.target_rel_l2 \
                        and segment.final:
                    report.stop_reason = TARGET
                if report.stop_reason != BUDGET or finished:
                    break
                if remedy is not None:
                    info = StepInfo(step, phase.name, report.steps, seg_step, params, state, dict(latest),
                                    history[-1]["loss"], segment)
                    changes, remedy_state = remedy.update(remedy_state, info)
                    history[-1].update(changes.log or {})
                    note(changes)
                    if not changes.empty:
                        state = _apply_changes(state, changes, dtype)
                        resume = Resume(state, changes.restart)
            runner.close()
            report.wall_s = time.perf_counter() - t_phase
            reports.append(report)
            stop_reason = report.stop_reason
        if segments is None:
            break
        finished_segments.append((segment, state.params, seg_step, error(state.params)))
        if stop_reason in (TARGET, NAN):
            break
        try:
            segment = segments.send(state)
        except StopIteration as stop:
            driver_summary = stop.value
            break
    bar.close()

    model = eqx.combine(state.params, static)
    prediction = np.asarray(predict(state.params, ref_points), np.float64).reshape(reference.values.shape)
    if any(seg.mask is not None for seg, *_ in finished_segments):  # stitch: each point from its segment's network
        flat = prediction.ravel().copy()
        for seg, params, *_ in finished_segments:
            if seg.mask is not None:
                flat[seg.mask] = np.asarray(predict(params, ref_points), np.float64)[seg.mask]
        prediction = flat.reshape(reference.values.shape)
    rel_l2 = float(np.linalg.norm(prediction - reference.values) / np.linalg.norm(reference.values))
    final_terms = {k: float(v) for k, v in terms_fn(state.params, state.batch, state.coeffs).items()}
    metrics = {
        "rel_l2": rel_l2,
        "wall_s": time.perf_counter() - t_start,
        "steps": step,
        "stop_reason": stop_reason,
        "final_losses": final_terms,
        "phases": [vars(r) for r in reports],
        "n_params": int(sum(x.size for x in jax.tree.leaves(state.params))),
        "dtype": jnp.dtype(dtype).name,
    }
    if auto:
        metrics["auto"] = auto  # the probe's findings and the remedies chosen from them (also in config.json)
    model_report = getattr(model, "report", None)
    if callable(model_report):  # models that solve in their forward pass (hard constraints): conditioning, warnings
        metrics["model"] = model_report()
    artifacts = {}
    if remedy is not None:
        metrics["remedies"] = _remedy_metrics(config, members, events, history, finished_segments, driver_summary)
        artifacts["snapshots"] = snapshots
        if any(seg.mask is not None for seg, *_ in finished_segments):  # the stitched solution's networks
            artifacts["segment_models"] = [eqx.combine(p, static) for seg, p, *_ in finished_segments]
    return RunResult(config, problem, model, history, metrics, reference, prediction, reports, artifacts)


def _build_remedies(config: TrainConfig, problem: Problem, static, dtype, reference: ReferenceSolution):
    """The configured remedies (built once per run, so their jitted functions are traced once) and their chain."""
    build = model_builder(config, problem)
    setup = RemedySetup(
        config=config, problem=problem, static=static, dtype=dtype,
        key=jax.random.fold_in(jax.random.PRNGKey(config.seed), 0x5EED),
        ref_points=np.asarray(reference.points()),
        fresh_params=lambda key: eqx.partition(build(key), eqx.is_array)[0],
    )
    members = build_remedies(config.remedies, setup)
    return members, chain(*members)


def _start_segment(state: TrainingState, segment: Segment, dtype) -> TrainingState:
    if segment.coeffs:
        state = state._replace(coeffs={**state.coeffs, **{k: jnp.asarray(v, dtype) for k, v in segment.coeffs.items()}})
    if segment.batch is not None:
        state = state._replace(batch=dict(segment.batch))
    if segment.params is not None:
        state = state._replace(params=segment.params)
    return state


def _apply_changes(state: TrainingState, changes: Changes, dtype) -> TrainingState:
    """The state with a remedy's replacements (typed as the run's dtype, so nothing retraces)."""
    if changes is NO_CHANGE:
        return state
    new = {}
    for field_name in ("batch", "coeffs", "weights"):
        part = getattr(changes, field_name)
        if part is not None:
            new[field_name] = {**getattr(state, field_name), **{k: jnp.asarray(v, dtype) for k, v in part.items()}}
    return state._replace(**new)


def _remedy_metrics(config, members, events, history, finished_segments, driver_summary) -> dict:
    """metrics["remedies"]: per remedy its resolved options, events and summary; the segments of a driver."""
    out: dict[str, Any] = {"specs": list(config.remedies)}
    for m in members:
        entry = {"options": dict(m.options or {}), "events": events[m.name]}
        if m.summary is not None:
            entry.update(m.summary(events[m.name], history))
        out[m.name] = entry
    if finished_segments:
        out["segments"] = [
            {"label": seg.label, **(seg.info or {}), "steps": n, "rel_l2_end": err}
            for seg, _, n, err in finished_segments
        ]
    if driver_summary is not None:
        out["driver"] = driver_summary
    return out


# A phase runner is a generator ``runner(phase, ctx, state, report)`` yielding ``(params, steps_done, terms,
# finished)`` after each jitted chunk (and, if it draws its own points, a fifth entry: the batch it ended on, which
# becomes the state's batch for remedies and the final losses); it records its counts and stop reason in ``report``. When remedies change
# the state between chunks the trainer sends a ``Resume`` into it (``resume = yield ...``): the runner must go on
# with ``resume.state``'s batch/weights/coeffs and re-initialise its optimizer state if ``resume.restart``. Jitted
# functions belong in ``ctx.cache`` so that re-running the phase (curriculum stages, time windows) never retraces.
PhaseRunner = Callable[[PhaseConfig, PhaseContext, TrainingState, PhaseReport], Any]


def run_adam(phase: PhaseConfig, ctx: PhaseContext, state: TrainingState, report: PhaseReport):
    """Adam in jitted chunks of ``log_every`` steps; stops on budget, nan (keeping the last finite
    parameters) or, when ``stall_steps`` is set, no relative loss improvement of ``stall_rtol`` for that long."""
    config, objective = ctx.config, ctx.objective
    cache = ctx.cache if ctx.cache is not None else {}
    optimizer, chunks = cache.setdefault(("adam", _options_key(phase)), (adam_optimizer(phase.options), {}))
    slot = ("adam-state", _options_key(phase))  # the last optimizer state, for a warm start in the next segment
    if ctx.warm_optimizer and slot in cache:
        opt_state = cache[slot]
    else:
        opt_state = strong_types(optimizer.init(state.params))
    params, best, best_step = state.params, math.inf, 0
    sampler = None
    if phase.options["fresh"]:  # a fresh uniform batch per step, of the run's point counts and dtype
        dtype = jax.tree.leaves(state.batch)[0].dtype
        sampler = lambda key: sample_batch(ctx.problem, key, config.points, dtype)  # noqa: E731
    # per-step keys fold the phase's global step count into a key of the seed: reproducible, distinct per step
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0x5EED)
    start = cache.get(("adam-fresh-steps", _options_key(phase)), 0)  # steps drawn earlier (previous segments)
    while report.steps < phase.steps:
        n = min(config.log_every, phase.steps - report.steps)
        chunk = chunks.setdefault(n, make_adam_chunk(objective, optimizer, n, sampler))
        new_params, new_opt_state, losses, terms, batch = chunk(
            params, opt_state, state.batch, state.weights, state.coeffs, key,
            jnp.asarray(start + report.steps, jnp.int32),
        )
        last = float(losses[-1])
        if not math.isfinite(last) or not bool(jnp.all(jnp.isfinite(losses))):
            report.stop_reason = NAN  # keep the last finite parameters
            yield params, 0, terms, True
            return
        params, opt_state = new_params, new_opt_state
        cache[slot] = opt_state
        report.steps += n
        if sampler is not None:
            cache[("adam-fresh-steps", _options_key(phase))] = start + report.steps
            state = state._replace(batch=batch)
        if math.isnan(report.start_loss):
            report.start_loss = float(losses[0])
        report.end_loss = last
        if last < best * (1.0 - config.stall_rtol):
            best, best_step = last, report.steps
        elif config.stall_steps and report.steps - best_step >= config.stall_steps:
            report.stop_reason = STALL
        resume = yield (params, n, terms, report.stop_reason != BUDGET) + ((batch,) if sampler is not None else ())
        if resume is not None:  # remedies changed the batch / weights / coefficients
            state, best, best_step = resume.state, math.inf, report.steps
            if resume.restart:
                opt_state = strong_types(optimizer.init(params))


def run_lbfgs(phase: PhaseConfig, ctx: PhaseContext, state: TrainingState, report: PhaseReport):
    """L-BFGS in jitted chunks of up to ``log_every`` iterations (see ``make_lbfgs_chunk`` for stop reasons)."""
    config, objective = ctx.config, ctx.objective
    cache = ctx.cache if ctx.cache is not None else {}
    if ("lbfgs", _options_key(phase)) not in cache:
        optimizer = lbfgs_optimizer(phase.options)
        cache["lbfgs", _options_key(phase)] = (
            optimizer, make_lbfgs_chunk(objective, optimizer, phase.options),
            jax.jit(lambda p, b, w, c: objective(p, b, w, c)[1]), jax.jit(lambda p, b, w, c: objective(p, b, w, c)[0]),
        )
    optimizer, chunk, terms_of, value_of = cache["lbfgs", _options_key(phase)]
    opt_state = strong_types(optimizer.init(state.params))
    params = state.params
    report.start_loss = float(value_of(params, state.batch, state.weights, state.coeffs))
    while report.steps < phase.steps:
        n = min(config.log_every, phase.steps - report.steps)
        out = chunk(params, opt_state, state.batch, state.weights, state.coeffs, jnp.asarray(n, jnp.int32))
        done, reason = int(out.iteration), _LBFGS_REASONS[int(out.reason)]
        report.function_evals += int(out.fevals)
        report.linesearch_failures += int(out.ls_failures)
        if reason == NAN:
            report.stop_reason = NAN  # keep the parameters from before this chunk
            yield params, 0, terms_of(params, state.batch, state.weights, state.coeffs), True
            return
        params, opt_state = out.params, out.opt_state
        report.steps += done
        report.end_loss = float(optax.tree_utils.tree_get(opt_state, "value"))
        if reason:
            report.stop_reason = reason
        resume = yield params, done, terms_of(params, state.batch, state.weights, state.coeffs), bool(reason)
        if resume is not None:  # the objective changed: the stored value, gradient and memory are stale
            state = resume.state
            opt_state = strong_types(optimizer.init(params))


def _options_key(phase: PhaseConfig) -> tuple:
    return tuple(sorted(phase.options.items()))


PHASE_RUNNERS: dict[str, PhaseRunner] = {"adam": run_adam, "lbfgs": run_lbfgs}


def register_phase(name: str, defaults: Mapping[str, Any], runner: PhaseRunner) -> None:
    """Make an optimizer phase available as ``--optimizer name:key=value`` (options typed by their defaults)."""
    PHASE_DEFAULTS[name] = dict(defaults)
    PHASE_RUNNERS[name] = runner
