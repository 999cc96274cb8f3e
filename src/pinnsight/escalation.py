"""Verify and escalate: what ``--remedy auto`` does after its chosen recipe has trained.

The planner's table of recipes was tuned on the built-in cases; on a case its rules were not written for it can
pick a recipe that ends far from solved. So the trained run is verified without its reference
(``diagnostics.verify``: validation loss on fresh points, fresh-over-training residual, convergence of the last
phase, breakdown) and, while an issue is found and the time budget allows, one escalation step is taken:

=====================  ==========================================================================================
issue                  actions, in order (each at most ``LIMITS`` times)
=====================  ==========================================================================================
fresh-residual-high    ``more-points`` (twice the residual points), then ``resample`` (RAD every tenth of the
                       last phase, when no remedy owns the points yet)
unconverged            ``longer`` (the last phase again from where it ended; with an outer driver —
                       curriculum, time windows — the whole run again with every phase's budget doubled)
stalled                ``wider`` (twice the width, from scratch), then ``resample``
broke-down             ``longer`` from the best parameters the run kept
=====================  ==========================================================================================

A step without an outer driver warm-starts from the best attempt's network (same architecture) and runs its last
phase only; ``wider`` and driven runs start from scratch. The attempt with the lowest validation loss is kept
(never the reference error: a user's problem has none); every verdict, decision, reason, cost and — where the
problem has a reference — the error it reached is recorded in ``config.json`` under ``auto.verification``.
``next_step`` (verdict → step) is a pure function; ``escalate`` runs the loop.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import equinox as eqx

from .config import PhaseConfig, TrainConfig
from .diagnostics.verify import Verdict, verify
from .trainer import RunResult
from .trainer import train as train_only
from .trainer.setup import remedy_properties

#: issue -> actions tried in order
ACTIONS = {"fresh-residual-high": ("more-points", "resample"), "unconverged": ("longer",),
           "stalled": ("wider", "resample"), "broke-down": ("longer",)}
#: how often each action may be taken in one escalation
LIMITS = {"longer": 3, "more-points": 2, "resample": 1, "wider": 1}
#: the default time budget of the escalation, in units of the main run's wall time
BUDGET_FACTOR = 2.0


@dataclass(frozen=True)
class Step:
    action: str
    issue: str
    config: TrainConfig  # what the attempt trains
    full: TrainConfig  # the whole run with the step's changes: what later steps build on
    warm: bool  # start from the kept attempt's network (else from the seed's initialisation)
    cost: float  # expected cost, in units of the wall time of the attempt it follows
    why: str


def _has(config: TrainConfig, prop: str) -> bool:
    """Whether a configured remedy declares ``prop`` (a RemedySpec property)."""
    return any(getattr(spec, prop) for spec in remedy_properties(config))


def _last_phase_only(config: TrainConfig) -> TrainConfig:
    return dataclasses.replace(config, phases=(config.phases[-1],))


def _step(action: str, issue: str, full: TrainConfig, cost: float, why: str, *, scratch: bool = False) -> Step:
    """A step on the changed whole run ``full``: warm (its last phase from the kept network) unless ``scratch``
    or an outer driver makes that impossible."""
    warm = not scratch and not _has(full, "driver")
    return Step(action, issue, _last_phase_only(full) if warm else full, full, warm, cost, why)


def _longer(config: TrainConfig, issue: str) -> Step:
    if _has(config, "driver"):
        phases = tuple(dataclasses.replace(p, steps=2 * p.steps) for p in config.phases)
        return _step("longer", issue, dataclasses.replace(config, phases=phases), 2.0,
                     "an outer driver (stages, windows) cannot be resumed: the whole run with every budget doubled")
    last = config.phases[-1]
    return _step("longer", issue, config, 1.0,
                 f"the last phase ({last.name}, {last.steps} steps) again, from where the kept attempt ended")


def _more_points(config: TrainConfig, issue: str) -> Step:
    points = {**config.points, "res": 2 * config.points["res"]}
    return _step("more-points", issue, dataclasses.replace(config, points=points), 2.0,
                 f"twice the residual points ({points['res']}), a fresh draw")


def _resample(config: TrainConfig, issue: str) -> Step | None:
    if _has(config, "owns_points"):
        return None
    every = max(50, config.phases[-1].steps // 10)
    return _step("resample", issue, dataclasses.replace(config, remedies=(*config.remedies, f"rad:every={every}")),
                 1.2, f"residual-adaptive resampling (RAD) every {every} iterations")


def _wider(config: TrainConfig, issue: str) -> Step | None:
    width = config.model_options.get("width")
    if not isinstance(width, int):
        return None
    options = {**config.model_options, "width": 2 * width}
    return _step("wider", issue, dataclasses.replace(config, model_options=options), 3.0,
                 f"a network twice as wide ({2 * width}), from scratch", scratch=True)


BUILD = {"longer": _longer, "more-points": _more_points, "resample": _resample, "wider": _wider}


def next_step(config: TrainConfig, verdict: Verdict, taken: dict[str, int]) -> Step | None:
    """The next attempt for ``verdict``'s issues (first issue first) on the whole run ``config``, skipping actions
    used ``LIMITS`` times (``taken``: action -> times) or that do not apply; None when none is left or the run
    is verified."""
    for issue in verdict.issues:
        for action in ACTIONS.get(issue.name, ()):
            if taken.get(action, 0) >= LIMITS[action]:
                continue
            step = BUILD[action](config, issue.name)
            if step is not None:
                return step
    return None


@dataclass
class _Attempt:
    result: RunResult
    verdict: Verdict
    wall_s: float


def _attempt_row(i: int, a: _Attempt, step: Step | None, kept: int) -> dict[str, Any]:
    row = {"attempt": i, "wall_s": a.wall_s, **a.verdict.to_dict(), "kept_so_far": kept}
    if a.result.metrics.get("rel_l2") is not None:
        row["rel_l2"] = a.result.metrics["rel_l2"]  # reported only; never used to decide
    if step is not None:
        row["action"] = {"name": step.action, "for": step.issue, "why": step.why, "warm_start": step.warm,
                         "config_changes": _changes(a.result.config, step.config)}
    return row


def _changes(old: TrainConfig, new: TrainConfig) -> dict[str, Any]:
    a, b = old.to_dict(), new.to_dict()
    return {k: b[k] for k in b if a.get(k) != b[k]}


def escalate(result: RunResult, *, budget_s: float = 0.0, rounds: int = 4,
             progress: bool | None = False) -> tuple[RunResult, dict[str, Any]]:
    """Verify ``result`` and escalate within ``budget_s`` seconds (0: ``BUDGET_FACTOR`` × its wall time) and at
    most ``rounds`` further attempts; returns (the kept attempt's result, the record for config.json)."""
    wall = float(result.metrics.get("wall_s") or 0.0)
    budget = budget_s or BUDGET_FACTOR * wall
    attempts, full = [_Attempt(result, verify(result), wall)], result.config
    best, taken, rows, stopped, spent, t0 = 0, {}, [], "verified", 0.0, time.perf_counter()
    while True:
        kept, last = attempts[best], attempts[-1]
        step = next_step(full, kept.verdict, taken) if not kept.verdict.verified else None
        if step is None:
            stopped = "verified" if kept.verdict.verified else "no action left"
        elif len(attempts) > rounds:
            stopped, step = "rounds", None
        elif spent + step.cost * kept.wall_s > budget:
            stopped, step = f"budget ({budget:.0f} s)", None
        rows.append(_attempt_row(len(attempts) - 1, last, step, best))
        if step is None:
            break
        taken[step.action] = taken.get(step.action, 0) + 1
        init = eqx.partition(kept.result.model, eqx.is_array)[0] if step.warm else None
        t = time.perf_counter()
        new = train_only(step.config, progress=progress, initial_params=init)
        attempts.append(_Attempt(new, verify(new), time.perf_counter() - t))
        spent = time.perf_counter() - t0
        if attempts[-1].verdict.validation_loss < kept.verdict.validation_loss:
            best, full = len(attempts) - 1, step.full
    record = {"budget_s": budget, "spent_s": time.perf_counter() - t0, "stopped": stopped, "kept": best,
              "attempts": rows}
    return attempts[best].result, record
