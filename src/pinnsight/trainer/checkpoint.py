"""Checkpoints: the whole state of a training run at a chunk boundary, written atomically, and resuming from one.

A resumed run goes on to the same numbers as an uninterrupted one with the same seed on the same machine
(``tests/test_checkpoint.py`` interrupts, resumes and compares the final parameters bit for bit). Saved: the
training state, counters, the phase in progress (its iterate, method state and data, the ``Guard``), the method
states kept for warm starts, the remedies' state, the recorder (history, events, snapshots), the evaluator's
fresh-point counter, and the finished segments. Not saved but rebuilt: every compiled function (the same
config traces the same functions), and a driver's generator, which is replayed: it is sent the saved end states
of the finished segments again and yields the same segments.

Arrays are stored as NumPy (dtype and weak type kept); equinox modules (the parameters, and optimizer states
shaped like them) as their leaves, rebuilt with the structure of the resumed run's own parameters.
"""

from __future__ import annotations

import io
import pickle
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..atomic import write_atomic
from ..errors import PinnsightError, TrainingInterrupted
from .state import PhaseReport

#: bumped when the checkpoint layout changes (an older checkpoint is then refused with a clear line)
FORMAT = 1
MAGIC = "pinnsight-checkpoint"


class PhaseProgress(NamedTuple):
    """The phase in progress at a chunk boundary: its place in the phase list and everything it runs on."""

    index: int
    report: PhaseReport
    x: Any
    state: Any
    data: Any
    guard: dict
    elapsed: float


@dataclass
class Position:
    """Where the loop is: the end states sent to the driver and (steps, rel L2) of each finished segment, and
    the phase in progress (None: the run starts from its first step)."""

    sent: list = field(default_factory=list)
    finished: list = field(default_factory=list)
    progress: PhaseProgress | None = None


# ------------------------------------------------------------------------------------------------ serialising
class _Pickler(pickle.Pickler):
    def __init__(self, file, params_def):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.params_def = params_def

    def persistent_id(self, obj):
        if isinstance(obj, jax.Array):
            return ("array", np.asarray(obj), bool(getattr(obj, "weak_type", False)))
        if isinstance(obj, eqx.Module):
            leaves, treedef = jax.tree_util.tree_flatten(obj)
            if treedef != self.params_def:
                raise PinnsightError(f"cannot checkpoint a {type(obj).__name__} that is not shaped like the "
                                     "parameters")
            return ("params", [self.persistent_id(leaf) or leaf for leaf in leaves])
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, params_def):
        super().__init__(file)
        self.params_def = params_def

    def persistent_load(self, pid):
        kind, *rest = pid
        if kind == "array":
            return _array(*rest)
        if kind == "params":
            leaves = [self.persistent_load(leaf) if isinstance(leaf, tuple) else leaf for leaf in rest[0]]
            return jax.tree_util.tree_unflatten(self.params_def, leaves)
        raise pickle.UnpicklingError(f"unknown stored object {kind!r}")


def _array(value: np.ndarray, weak: bool) -> jax.Array:
    if weak and value.shape == ():  # a Python scalar turned array: weakly typed in the default dtype
        out = jnp.asarray(value.item())
        if out.dtype == value.dtype:
            return out
    return jnp.asarray(value)


def dumps(payload: dict, params_def) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, params_def).dump(payload)
    return buf.getvalue()


def loads(data: bytes, params_def) -> dict:
    return _Unpickler(io.BytesIO(data), params_def).load()


# ------------------------------------------------------------------------------------------- state of a run
def snapshot(run, position: Position, extra: dict | None = None) -> dict:
    """Everything ``restore`` needs to put a freshly set-up run where ``run`` is now; ``extra``: what the caller
    records beside it (the planner's choice)."""
    rec = run.recorder
    return {
        "magic": MAGIC, "format": FORMAT, "config": run.config.to_dict(), "extra": dict(extra or {}),
        "step": run.step, "seg_step": run.seg_step, "state": run.state, "remedy_state": run.remedy_state,
        "reports": [vars(r) for r in run.reports], "position": position,
        "recorder": {"history": rec.history, "events": rec.events, "snapshots": rec.snapshots,
                     "pending": rec.pending, "latest": rec.latest, "wall_s": time.perf_counter() - run.t_start},
        "evaluator_calls": run.evaluator.calls,
        "compiler": {"last_state": run.compiler.last_state, "steps_taken": run.compiler.steps_taken},
    }


def restore(run, payload: dict) -> Position:
    """Put the freshly set-up ``run`` (same config) where the checkpoint left it; returns the loop position."""
    run.step, run.seg_step, run.state = payload["step"], payload["seg_step"], payload["state"]
    run.remedy_state = payload["remedy_state"]
    run.reports = [PhaseReport(**r) for r in payload["reports"]]
    rec, saved = run.recorder, payload["recorder"]
    rec.history, rec.events, rec.snapshots = saved["history"], saved["events"], saved["snapshots"]
    rec.pending, rec.latest = saved["pending"], saved["latest"]
    run.t_start = rec.t_start = time.perf_counter() - saved["wall_s"]
    run.evaluator.calls = payload["evaluator_calls"]
    run.compiler.last_state.update(payload["compiler"]["last_state"])
    run.compiler.steps_taken.update(payload["compiler"]["steps_taken"])
    rec.advance(run.step)
    return payload["position"]


def read(path: Path, params_def) -> dict:
    """The payload of the checkpoint file ``path``; PinnsightError naming it when unreadable or foreign."""
    try:
        payload = loads(Path(path).read_bytes(), params_def)
    except OSError as e:
        raise PinnsightError(f"checkpoint {path}: {e.strerror or e}") from None
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file fails in many ways
        raise PinnsightError(f"checkpoint {path} is unreadable ({e.__class__.__name__}); it cannot be resumed") \
            from None
    if not isinstance(payload, dict) or payload.get("magic") != MAGIC:
        raise PinnsightError(f"checkpoint {path} is not a pinnsight checkpoint")
    if payload.get("format") != FORMAT:
        raise PinnsightError(f"checkpoint {path} has format {payload.get('format')}, this pinnsight reads {FORMAT}")
    return payload


def read_config(path: Path) -> tuple[dict, dict]:
    """(config dict, extra) of a checkpoint, read without building anything (no parameter structure needed:
    the arrays stay unread)."""
    class Lazy(pickle.Unpickler):
        def persistent_load(self, pid):
            return None

    try:
        payload = Lazy(io.BytesIO(Path(path).read_bytes())).load()
    except OSError as e:
        raise PinnsightError(f"checkpoint {path}: {e.strerror or e}") from None
    except Exception as e:  # noqa: BLE001
        raise PinnsightError(f"checkpoint {path} is unreadable ({e.__class__.__name__}); it cannot be resumed") \
            from None
    if not isinstance(payload, dict) or payload.get("magic") != MAGIC or not isinstance(payload.get("config"), dict):
        raise PinnsightError(f"checkpoint {path} is not a pinnsight checkpoint")
    return payload["config"], payload.get("extra") or {}


# ------------------------------------------------------------------------------------------------ the writer
class Checkpointer:
    """Writes ``path`` at the first chunk boundary after every ``every_s`` seconds (0: only on a signal), and
    when SIGTERM or SIGINT arrives: saves at the next boundary, then raises ``TrainingInterrupted``."""

    clock = staticmethod(time.monotonic)

    def __init__(self, path: Path, every_s: float, extra: dict | None = None):
        if not every_s >= 0:
            raise PinnsightError(f"checkpoint interval must be ≥ 0 seconds, got {every_s}")
        self.path, self.every_s, self.extra = Path(path), float(every_s), dict(extra or {})
        self.last = self.clock()
        self.signal: int | None = None
        self.saved_step: int | None = None

    def boundary(self, run, position: Position) -> None:
        due = self.every_s > 0 and self.clock() - self.last >= self.every_s
        if due or self.signal is not None:
            self.save(run, position)
        if self.signal is not None:
            name = signal.Signals(self.signal).name
            raise TrainingInterrupted(f"training interrupted by {name} at step {run.step}; checkpoint saved in "
                                      f"{self.path}", self.signal, self.path)

    def save(self, run, position: Position) -> None:
        params_def = jax.tree_util.tree_structure(run.state.params)
        write_atomic(self.path, dumps(snapshot(run, position, self.extra), params_def))
        self.last, self.saved_step = self.clock(), run.step

    @contextmanager
    def catching_signals(self):
        """Within the block, SIGTERM and SIGINT ask for a checkpoint and a stop at the next boundary (main
        thread only; a second signal acts as usual)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

        def on_signal(signum, frame):
            if self.signal is not None:  # the second one: as the process would have handled it
                signal.signal(signum, previous[signum] if previous[signum] is not None else signal.SIG_DFL)
                signal.raise_signal(signum)
                return
            self.signal = signum

        for s, old in previous.items():
            if old not in (signal.SIG_IGN, None):
                signal.signal(s, on_signal)
        try:
            yield
        finally:
            for s, old in previous.items():
                if signal.getsignal(s) is on_signal:
                    signal.signal(s, old)
