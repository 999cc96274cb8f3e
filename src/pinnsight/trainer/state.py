"""What the trainer threads between jitted calls and what a run returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..optimizers import BUDGET


class TrainingState(NamedTuple):
    """Explicit state the host loop threads between jitted calls (remedies may replace any part)."""

    params: Any
    batch: dict
    weights: dict
    coeffs: dict


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


class FinishedSegment(NamedTuple):
    """A segment (curriculum stage, time window) after its phases: its network and how far it got."""

    segment: Any
    params: Any
    steps: int
    rel_l2: float | None


@dataclass
class RunResult:
    """The outcome of ``train``: the trained model and everything the run directory records.

    ``reference`` and ``prediction`` are None for a problem without a reference or exact solution; the metrics
    then hold residual and constraint errors on fresh points only (``rel_l2`` is absent)."""

    config: Any
    problem: Any
    model: Any
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    reference: Any
    prediction: np.ndarray | None
    phases: list[PhaseReport] = field(default_factory=list)
    #: what remedies leave for the run directory: "snapshots" = [(step, label, residual points)], "segment_models"
    artifacts: dict[str, Any] = field(default_factory=dict)
    #: the evaluation grid (the reference's, or the problem's axes without one) and the prediction on it
    axes: tuple = ()
    grid_prediction: np.ndarray | None = None
