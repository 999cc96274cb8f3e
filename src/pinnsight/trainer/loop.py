"""The run loop: segments (curriculum stages, time windows; one without a driver) × phases × chunks."""

from __future__ import annotations

import dataclasses
import time

import jax.numpy as jnp

from ..models import unknown_values
from ..optimizers import BUDGET, DIVERGED, NAN, SKIPPED, TARGET, TERMINAL
from ..remedies import Segment, StepInfo
from .checkpoint import PhaseProgress, Position
from .phases import Guard, PhaseRun
from .setup import Run
from .state import FinishedSegment, PhaseReport

#: a finite loss above this multiple of the phase's best (and above its start) stops the phase as diverged
DIVERGENCE_FACTOR = 1e4


def run_segments(run: Run, position: Position | None = None):
    """Every segment the driver yields (or the one whole problem); returns (finished, summary, stop).

    ``position`` (a checkpoint's): the driver is replayed past the finished segments and the loop goes on in
    the phase that was in progress."""
    run.position = position = position or Position()
    driver = run.remedy.driver(run.state) if run.remedy is not None and run.remedy.driver is not None else None
    segment = next(driver) if driver is not None else Segment(bounds=tuple(run.problem.bounds))
    finished = []
    for sent, (steps, err) in zip(position.sent, position.finished):  # replay: the same segments again
        finished.append(FinishedSegment(segment, sent.params, steps, err))
        segment = driver.send(sent)
    run.recorder.bar.total = run.config.total_steps * segment.count
    summary = None
    while True:
        stop = run_segment(run, segment, position.progress)
        position.progress = None
        if driver is None:
            break
        err = run.evaluator.errors(run.state.params, run.state.coeffs, segment).get("rel_l2")
        finished.append(FinishedSegment(segment, run.state.params, run.seg_step, err))
        position.sent.append(run.state)
        position.finished.append((run.seg_step, err))
        if stop in TERMINAL:
            break
        try:
            segment = driver.send(run.state)
        except StopIteration as end:
            summary = end.value
            break
    return finished, summary, stop


def start_segment(run: Run, segment: Segment) -> None:
    state = run.state
    if segment.coeffs:
        state = state._replace(coeffs={**state.coeffs,
                                       **{k: jnp.asarray(v, run.dtype) for k, v in segment.coeffs.items()}})
    if segment.batch is not None:
        state = state._replace(batch=dict(segment.batch))
    if segment.params is not None:
        state = state._replace(params=segment.params)
    run.state, run.seg_step, run.segment = state, 0, segment
    if run.remedy is not None:
        changes, run.remedy_state = run.remedy.init(segment)
        run.apply(changes)
        run.recorder.note(changes, run.step, segment.label, pending=True)
        if segment.index == 0 or segment.batch is not None:
            run.recorder.snapshot(run.step, segment.label, run.state.batch["res"])


def run_segment(run: Run, segment: Segment, progress: PhaseProgress | None = None) -> str:
    """The phase sequence on one segment (from the phase in ``progress`` on, when resuming); returns the last
    phase's stop reason."""
    if progress is None:
        start_segment(run, segment)
        if not run.recorder.history:
            terms = run.compiler.terms_of(run.state.params, (run.state.batch, run.state.weights, run.state.coeffs))
            log(run, "init", terms, evaluate=True)
    else:
        run.segment = segment
    stop = BUDGET
    for index, phase in enumerate(run.config.phases):
        if progress is not None and index < progress.index:
            continue  # done before the checkpoint (its report is restored)
        if segment.steps_scale != 1.0:
            phase = dataclasses.replace(phase, steps=max(1, round(phase.steps * segment.steps_scale)))
        if stop in TERMINAL:
            run.reports.append(PhaseReport(phase.name, phase.steps, stop_reason=SKIPPED))
            continue
        resumed = progress if progress is not None and index == progress.index else None
        stop = run_phase(run, phase, index, resumed)
    return stop


def log(run: Run, phase: str, terms, evaluate: bool) -> float | None:
    """One history row; the errors only when ``evaluate`` (else empty cells). Returns rel L2 or None."""
    errors = run.evaluator.errors(run.state.params, run.state.coeffs, run.segment) if evaluate \
        else dict.fromkeys(run.evaluator.columns)
    unknowns = {f"unknown_{k}": v for k, v in unknown_values(run.state.params).items()}
    run.recorder.row(run.step, phase, terms, run.state.weights, errors, {**(run.segment.columns or {}), **unknowns})
    return errors.get("rel_l2")


def run_phase(run: Run, phase, index: int, progress: PhaseProgress | None = None) -> str:
    """One phase in chunks of ``log_every``: account, log, guard, let remedies change the state, checkpoint."""
    report, pr, guard, t0 = begin_phase(run, phase, progress)
    while report.steps < phase.steps:
        done, reason = chunk(run, pr, report, min(run.config.log_every, phase.steps - report.steps))
        held = guard.observe(report.steps, pr.value, pr.params)
        if reason == NAN or held == DIVERGED:
            if guard.best_params is not None:
                pr.restore(guard.best_params)
                run.state = run.state._replace(params=pr.params)
        report.stop_reason = reason or held or BUDGET
        evaluate = report.stop_reason != BUDGET or run.step % run.config.eval_every == 0 \
            or report.steps == phase.steps
        err = log(run, phase.name, pr.terms(), evaluate)
        target = run.config.target_rel_l2
        if err is not None and target is not None and err <= target and run.segment.final:
            report.stop_reason = TARGET
        if report.stop_reason != BUDGET:
            break
        if run.remedy is not None:
            remedy_update(run, phase, report, pr, guard)
        if run.checkpointer is not None:
            run.position.progress = PhaseProgress(index, report, pr.x, pr.state, pr.data, vars(guard),
                                                  time.perf_counter() - t0)
            run.checkpointer.boundary(run, run.position)
    report.wall_s = time.perf_counter() - t0
    run.reports.append(report)
    return report.stop_reason


def begin_phase(run: Run, phase, progress: PhaseProgress | None):
    """(report, phase run, guard, start time) of a new phase, or of the one a checkpoint saved."""
    if progress is not None:
        pr = PhaseRun.restored(run.compiler, phase, run.state.params, progress.x, progress.state, progress.data)
        return progress.report, pr, Guard.restored(progress.guard), time.perf_counter() - progress.elapsed
    report, t0 = PhaseReport(phase.name, phase.steps), time.perf_counter()
    pr = PhaseRun(run.compiler, phase, run.state, warm=run.segment.keep_optimizer)
    report.start_loss = report.end_loss = pr.value
    guard = Guard(stall_steps=run.config.stall_steps, stall_rtol=run.config.stall_rtol,
                  first_order=pr.compiled.first_order, factor=DIVERGENCE_FACTOR, start=pr.value, params=pr.params)
    return report, pr, guard, t0


def chunk(run: Run, pr: PhaseRun, report: PhaseReport, n: int) -> tuple[int, str]:
    done, reason, fevals, failures = pr.chunk(n)
    report.steps += done
    report.function_evals += fevals
    report.linesearch_failures += failures
    if pr.value == pr.value and abs(pr.value) != float("inf"):
        report.end_loss = pr.value
    run.state = run.state._replace(params=pr.params, **({"batch": pr.batch} if pr.batch is not None else {}))
    run.step += done
    run.seg_step += done
    run.recorder.advance(done)
    return done, reason


def remedy_update(run: Run, phase, report: PhaseReport, pr: PhaseRun, guard: Guard) -> None:
    rec = run.recorder
    info = StepInfo(run.step, phase.name, report.steps, run.seg_step, run.state.params, run.state, dict(rec.latest),
                    rec.history[-1]["loss"], run.segment, pr.compiled.first_order)
    changes, run.remedy_state = run.remedy.update(run.remedy_state, info)
    rec.note(changes, run.step, run.segment.label)
    if not changes.empty:
        run.apply(changes)
        pr.resume(run.state, changes.restart)
        guard.reset(report.steps, pr.value, pr.params)
