"""The trainer: segments × phases × chunks, through one optimizer protocol; no name of any remedy or phase.

``train(config)`` or ``train(problem, config)``: ``config`` a ``TrainConfig``; ``problem`` a ``Problem`` object
(a user's own, unregistered) that replaces the config's named problem. The pieces: ``setup`` (what a run builds),
``loop`` (segments, phases, chunks), ``phases`` (compiled phases, a phase run, the host stop rules),
``recorder`` (history, progress, events), ``evaluate`` (errors while training), ``result`` (assembly).
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import jax

from ..config import TrainConfig
from ..errors import PinnsightError
from ..precision import precision
from ..problems import Problem
from . import checkpoint as checkpoint_file
from .checkpoint import Checkpointer, Position
from .evaluate import Evaluator, make_predict, relative_l2
from .loop import DIVERGENCE_FACTOR, run_segments
from .phases import Guard, PhaseCompiler, PhaseRun
from .recorder import Recorder, progress_enabled
from .result import assemble
from .setup import Run, enable_compilation_cache, initial_state, model_builder, setup_run
from .state import FinishedSegment, PhaseReport, RunResult, TrainingState


def train(config_or_problem, config=None, *, progress: bool | None = None, checkpoint=None,
          checkpoint_every: float = 60.0, resume: bool = False, extra: dict | None = None,
          initial_params=None) -> RunResult:
    """Train a PINN as ``config`` says; returns the model, history and metrics (nothing is written).

    ``checkpoint``: a file the whole training state is written to (atomically) at the first chunk boundary
    after every ``checkpoint_every`` seconds, and when SIGTERM or SIGINT arrives (then ``TrainingInterrupted``
    is raised). With ``resume``, the run goes on from that file (its config must be ``config``'s) to the same
    result as an uninterrupted run; ``extra`` is recorded beside the state (the planner's choice).
    The run computes in ``precision(config.x64)``: float32 runs stay float32 whatever ran before in the process.
    ``initial_params``: start from these network parameters (a warm start: another run's trained model, same
    architecture) instead of the seed's initialisation; the points are still the seed's draw."""
    t_start = time.perf_counter()
    if isinstance(config_or_problem, Problem):
        config = TrainConfig(problem=config_or_problem) if config is None else config.with_problem(config_or_problem)
    else:
        config = config_or_problem
    with precision(config.x64):
        enable_compilation_cache()
        run = setup_run(config, config.build_problem(), progress, t_start, initial_params)
        position = None
        if checkpoint is not None:
            run.checkpointer = Checkpointer(checkpoint, checkpoint_every, extra)
            position = resume_from(run, checkpoint) if resume else None
            if position is None:  # the first checkpoint before the first step: a kill from now on can resume
                run.checkpointer.save(run, Position())
        with run.checkpointer.catching_signals() if run.checkpointer is not None else nullcontext():
            finished, summary, stop = run_segments(run, position)
        return assemble(run, finished, summary, stop)


def resume_from(run: Run, path) -> Position:
    """Restore ``run`` from the checkpoint ``path``, refused when it was saved for another configuration."""
    payload = checkpoint_file.read(path, jax.tree_util.tree_structure(run.state.params))
    if payload["config"] != run.config.to_dict():
        raise PinnsightError(f"checkpoint {path} was saved by a run of another configuration; it cannot resume "
                             "this one")
    return checkpoint_file.restore(run, payload)


__all__ = [
    "Checkpointer", "DIVERGENCE_FACTOR", "Evaluator", "FinishedSegment", "Guard", "PhaseCompiler", "PhaseReport", "PhaseRun",
    "Recorder", "Run", "RunResult", "TrainingState", "enable_compilation_cache", "initial_state", "make_predict",
    "model_builder", "progress_enabled", "relative_l2", "setup_run", "train",
]
