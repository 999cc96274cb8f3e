"""Checkpoint and resume for every optimizer phase and every remedy: each case is trained whole, then trained
with an interruption (a SIGTERM simulated at a chunk boundary inside the second phase) and resumed; the final
parameters must be equal bit for bit. ``python benchmarks/resume_check.py`` (≈ 3 min on 2 cores); exit 1 on a
difference. The suite's tests/test_checkpoint.py covers a subset of these cases."""

from __future__ import annotations

import signal
import sys
import tempfile
from pathlib import Path

import equinox as eqx
import jax
import numpy as np

from pinnsight import trainer
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.errors import TrainingInterrupted
from pinnsight.optimizers import phase_specs
from pinnsight.remedies import remedy_specs
from pinnsight.trainer.checkpoint import Checkpointer


def config(phase: str, remedies=()) -> TrainConfig:
    return TrainConfig(problem="convection", params={"beta": 5.0}, model_options={"width": 16, "depth": 2},
                       phases=(PhaseConfig("adam", 100), PhaseConfig(phase, 40)), points={"res": 128, "ic": 32, "bc": 32},
                       log_every=10, eval_every=50, remedies=tuple(remedies))


def interrupted_then_resumed(cfg: TrainConfig, path: Path, boundary: int = 12):
    original, calls = Checkpointer.boundary, [0]

    def hook(self, run, position):
        calls[0] += 1
        if calls[0] == boundary:
            self.signal = signal.SIGTERM
        return original(self, run, position)

    Checkpointer.boundary = hook
    try:
        trainer.train(cfg, progress=False, checkpoint=path, checkpoint_every=0)
    except TrainingInterrupted:
        pass
    finally:
        Checkpointer.boundary = original
    return trainer.train(cfg, progress=False, checkpoint=path, resume=True)


def max_difference(a, b) -> float:
    la, lb = (jax.tree_util.tree_leaves(eqx.filter(m, eqx.is_array)) for m in (a, b))
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(la, lb, strict=True))


def main() -> int:
    cases = [(p, ()) for p in phase_specs() if p != "adam"]
    cases += [("lbfgs", (r,)) for r in remedy_specs() if r not in ("auto", "curriculum", "seq2seq")]
    cases += [("lbfgs", ("curriculum:stages=2",)), ("lbfgs", ("seq2seq:windows=2",))]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for phase, remedies in cases:
            cfg = config(phase, remedies)
            diff = max_difference(trainer.train(cfg, progress=False).model,
                                  interrupted_then_resumed(cfg, Path(tmp) / "c.pkl").model)
            bad += diff != 0.0
            print(f"{phase:18s} {' '.join(remedies) or '-':24s} max |Δθ| = {diff:.1e}", flush=True)
    print("all equal" if not bad else f"{bad} case(s) differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
