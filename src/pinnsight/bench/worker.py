"""What runs on a Dask worker: one training run, its run directory, and a small result for the database.

Every exception inside the run becomes a ``failed`` result with its error (the sweep goes on). XLA's CPU
thread pools are limited to about one thread per worker (``XLA_FLAGS``) when the worker's JAX backend has not
started yet, so N single-threaded workers share N cores instead of oversubscribing them.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import time
import traceback
from pathlib import Path
from typing import Any

#: XLA flags for a one-thread CPU worker (accepted by jaxlib 0.10; an unknown flag would abort XLA)
SINGLE_THREAD_XLA_FLAGS = ("--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1")
THRESHOLDS = (1e-2, 1e-3)


def single_thread_env(current: str | None = None) -> str:
    """``XLA_FLAGS`` with the single-thread flags added to ``current`` (flags already set are kept)."""
    flags = (current or "").split()
    names = {f.split("=")[0] for f in flags}
    return " ".join(flags + [f for f in SINGLE_THREAD_XLA_FLAGS if f.split("=")[0] not in names])


def limit_threads() -> bool:
    """Set the single-thread XLA flags if this process's JAX backend is not initialised yet (else no-op)."""
    try:
        from jax._src import xla_bridge

        if getattr(xla_bridge, "_backends", {"?": None}):
            return False
    except ImportError:  # pragma: no cover - jax internals moved: leave the flags alone
        return False
    os.environ["XLA_FLAGS"] = single_thread_env(os.environ.get("XLA_FLAGS"))
    return True


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Host name, cores, CPU model, GPU (if JAX runs on one) and XLA flags of this process."""
    import jax

    dev = jax.devices()[0]
    gpu = f"{jax.device_count()} × {getattr(dev, 'device_kind', dev)}" if dev.platform != "cpu" else None
    return {"host": socket.gethostname(), "cores": os.cpu_count(), "cpu": cpu_model(), "gpu": gpu,
            "xla_flags": os.environ.get("XLA_FLAGS", "")}


def time_to_thresholds(history: list[dict[str, Any]], thresholds=THRESHOLDS) -> dict[float, float | None]:
    """First ``wall_s`` at which ``rel_l2 <= threshold`` in a run's history (None: never reached)."""
    out: dict[float, float | None] = dict.fromkeys(thresholds)
    for row in history:
        err = row.get("rel_l2")
        if err is None or isinstance(err, str):
            continue
        for thr in thresholds:
            if out[thr] is None and err <= thr:
                out[thr] = float(row["wall_s"])
    return out


def _finished_run(run_dir: Path, config_hash: str) -> bool:
    """Whether ``run_dir`` holds the complete run of ``config_hash`` (written before an interrupted sweep)."""
    try:
        recorded = json.loads((run_dir / "config.json").read_text())
        return recorded.get("bench", {}).get("config_hash") == config_hash and (run_dir / "metrics.json").is_file()
    except (OSError, ValueError, AttributeError):
        return False


def _unfinished_run(run_dir: Path, config_hash: str) -> bool:
    """Whether ``run_dir`` is an unfinished run of ``config_hash`` (its worker was killed while training)."""
    from ..errors import PinnsightError
    from ..runs import is_unfinished
    from ..training import unfinished_extra

    try:
        return is_unfinished(run_dir) and unfinished_extra(run_dir).get("bench", {}).get("config_hash") == config_hash
    except PinnsightError:  # an unreadable checkpoint: trained again in a free directory
        return False


def _abandoned(run_dir: Path) -> bool:
    """An empty directory or one with hidden temporaries only (a worker killed before its first checkpoint was
    in place): removed, and taken for the run."""
    try:
        if run_dir.is_dir() and all(p.name.startswith(".") and p.name.endswith(".tmp") for p in run_dir.iterdir()):
            shutil.rmtree(run_dir)
            return True
    except OSError:
        pass
    return False


def _free_dir(run_dir: Path) -> Path:
    """``run_dir``, or ``run_dir-1``, ``-2``, … if taken; removes temporaries a killed worker left for it."""
    if run_dir.parent.is_dir():
        for stale in run_dir.parent.glob(f".{run_dir.name}.*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
    out, k = run_dir, 1
    while out.exists() and not _abandoned(out):
        out, k = run_dir.with_name(f"{run_dir.name}-{k}"), k + 1
    return out


def run_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Train ``spec['config']`` and write its run directory at ``spec['run_dir']``; never raises (but
    KeyboardInterrupt/SystemExit). A complete run directory of the same config hash is reused, not retrained."""
    limit_threads()
    t0 = time.perf_counter()
    result: dict[str, Any] = {"status": "failed", "error": None, "run_dir": None, "recovered": False}
    try:
        import jax

        from .. import __version__
        from ..config import TrainConfig
        from ..runs import read_history
        from ..training import resume_run, train_into

        result["version"] = __version__
        result["machine"] = machine_info()
        config = TrainConfig.from_dict(spec["config"])
        run_dir = Path(spec["run_dir"])
        if _finished_run(run_dir, spec["config_hash"]):
            result["recovered"] = True
        elif _unfinished_run(run_dir, spec["config_hash"]):  # killed mid-training: go on from its checkpoint
            resume_run(run_dir, progress=False)
            result["resumed"] = True
        else:
            run_dir = _free_dir(run_dir)
            bench = {k: spec[k] for k in ("suite", "case", "config_hash")}
            if spec.get("engine", "pinnsight") == "deepxde":
                from .peers import train_deepxde

                single = "intra_op_parallelism_threads=1" in os.environ.get("XLA_FLAGS", "")
                train_deepxde(config, run_dir, extra={"bench": bench}, threads=1 if single else None)
            else:
                train_into(config, run_dir, progress=False, extra={"bench": bench})
        metrics = json.loads((run_dir / "metrics.json").read_text())
        reached = time_to_thresholds(read_history(run_dir / "history.csv"))
        result.update(
            status="ok", run_dir=str(run_dir), rel_l2=metrics["rel_l2"], wall_s=metrics["wall_s"],
            steps=metrics["steps"], stop_reason=metrics["stop_reason"],
            t_1e2_s=reached[1e-2], t_1e3_s=reached[1e-3],
        )
    except Exception as e:  # noqa: BLE001 - a crashing run is recorded as failed, the sweep goes on
        # first line: the error; then the traceback (the progress line and the report show the first line)
        result["error"] = f"{type(e).__name__}: {e}".strip() + "\n\n" + traceback.format_exc(limit=20)
        result["wall_s"] = time.perf_counter() - t0
    return result
