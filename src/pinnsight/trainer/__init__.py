"""The trainer: segments × phases × chunks, through one optimizer protocol; no name of any remedy or phase.

``train(config)`` or ``train(problem, config)``: ``config`` a ``TrainConfig``; ``problem`` a ``Problem`` object
(a user's own, unregistered) that replaces the config's named problem. The pieces: ``setup`` (what a run builds),
``loop`` (segments, phases, chunks), ``phases`` (compiled phases, a phase run, the host stop rules),
``recorder`` (history, progress, events), ``evaluate`` (errors while training), ``result`` (assembly).
"""

from __future__ import annotations

import time

from ..config import TrainConfig
from ..precision import precision
from ..problems import Problem
from .evaluate import Evaluator, make_predict, relative_l2
from .loop import DIVERGENCE_FACTOR, run_segments
from .phases import Guard, PhaseCompiler, PhaseRun
from .recorder import Recorder, progress_enabled
from .result import assemble
from .setup import Run, enable_compilation_cache, initial_state, model_builder, setup_run
from .state import FinishedSegment, PhaseReport, RunResult, TrainingState


def train(config_or_problem, config=None, *, progress: bool | None = None) -> RunResult:
    """Train a PINN as ``config`` says; returns the model, history and metrics (nothing is written).

    The run computes in ``precision(config.x64)``: float32 runs stay float32 whatever ran before in the process."""
    t_start = time.perf_counter()
    if isinstance(config_or_problem, Problem):
        config = TrainConfig(problem=config_or_problem) if config is None else config.with_problem(config_or_problem)
    else:
        config = config_or_problem
    with precision(config.x64):
        enable_compilation_cache()
        run = setup_run(config, config.build_problem(), progress, t_start)
        finished, summary, stop = run_segments(run)
        return assemble(run, finished, summary, stop)


__all__ = [
    "DIVERGENCE_FACTOR", "Evaluator", "FinishedSegment", "Guard", "PhaseCompiler", "PhaseReport", "PhaseRun",
    "Recorder", "Run", "RunResult", "TrainingState", "enable_compilation_cache", "initial_state", "make_predict",
    "model_builder", "progress_enabled", "relative_l2", "setup_run", "train",
]
