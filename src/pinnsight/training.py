"""Training into a run directory: checkpointed while it trains, resumable after a kill, written whole at the end.

While the training runs, the run directory holds only ``checkpoint.pkl`` (an *unfinished* run: ``pinnsight
report`` and friends say so and point to ``--resume``); it is written at the start, at the first chunk
boundary after every ``checkpoint_every`` seconds, and on SIGTERM/SIGINT (then the training stops). When the
training ends, the complete run replaces it atomically. ``resume_run`` continues an unfinished run from its
checkpoint to the same numbers an uninterrupted run would have reached.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .errors import PinnsightError
from . import planner
from .runs import CHECKPOINT, check_new_run_dir, is_unfinished, write_run
from .trainer import RunResult
from .trainer import train as train_planned
from .trainer.checkpoint import read_config

#: seconds between checkpoints of a run directory's training (the CLI's ``--checkpoint-every`` default)
CHECKPOINT_EVERY = 60.0


def train_into(config: TrainConfig, out: Path, *, progress: bool | None = None,
               checkpoint_every: float = CHECKPOINT_EVERY, extra: dict[str, Any] | None = None) -> RunResult:
    """Train ``config`` and write the run directory ``out`` (proven writable first); ``checkpoint_every=0``:
    no checkpoints (``out`` appears only when the training ends). ``extra``: more entries for config.json."""
    out = Path(out)
    check_new_run_dir(out)
    if checkpoint_every == 0:
        result = planner.train(config, progress=progress)
        write_run(out, result, extra=extra)
        return result
    created = not out.exists()  # the directory appears with the first checkpoint (written before step 1)
    try:
        result = planner.train(config, progress=progress, checkpoint=out / CHECKPOINT, checkpoint_every=checkpoint_every,
                               extra={"run_extra": dict(extra or {})})
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):  # failed before its first checkpoint
            shutil.rmtree(out, ignore_errors=True)
        raise
    write_run(out, result, extra=extra, finishing=True)
    return result


def unfinished_extra(run_dir: Path) -> dict[str, Any]:
    """What the caller recorded for config.json of the unfinished run ``run_dir`` (e.g. a benchmark's hash)."""
    return read_config(Path(run_dir) / CHECKPOINT)[1].get("run_extra") or {}


def resume_run(run_dir: Path, *, progress: bool | None = None,
               checkpoint_every: float = CHECKPOINT_EVERY) -> RunResult:
    """Continue the unfinished run ``run_dir`` from its checkpoint and write it complete; PinnsightError when
    it is no unfinished run."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise PinnsightError(f"--resume {run_dir}: no such directory")
    if not is_unfinished(run_dir):
        done = (run_dir / "config.json").exists()
        raise PinnsightError(f"--resume {run_dir}: " + ("its training has finished; nothing to resume" if done else
                                                        f"no {CHECKPOINT}: not a run that was interrupted"))
    path = run_dir / CHECKPOINT
    recorded, extra = read_config(path)
    try:
        config = TrainConfig.from_dict(recorded)
    except PinnsightError as e:
        raise PinnsightError(f"checkpoint {path}: {e}") from None
    except (TypeError, KeyError, ValueError, AttributeError) as e:
        raise PinnsightError(f"checkpoint {path} holds a malformed config ({e.__class__.__name__}: {e})") from None
    result = train_planned(config, progress=progress, checkpoint=path, checkpoint_every=checkpoint_every or 0.0,
                           resume=True, extra=extra)
    if "auto" in extra:
        result.metrics["auto"] = extra["auto"]
    write_run(run_dir, result, extra=extra.get("run_extra"), finishing=True)
    return result
