"""Run a suite's grid on Dask: one task per (case, seed), recorded in the results database as each finishes.

A local cluster of ``workers`` single-threaded processes by default; with ``scheduler`` an existing Dask
cluster (``tcp://host:8786``) runs the same tasks unchanged (run directories are written on the workers, so
give them a shared ``--runs-dir``; results travel back to this process, which alone writes the database).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import PinnsightError
from .db import FAILED, OK, ResultsDB
from .suites import Suite, Task, config_record
from .worker import run_task, single_thread_env

DEFAULT_DB = Path("runs") / "bench.sqlite"
DEFAULT_RUNS_DIR = Path("runs") / "bench"


@dataclass
class SweepSummary:
    """What ``run_suite`` did: counts by outcome and the wall time of the whole sweep."""

    total: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    wall_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (task label, error)


def task_label(task: Task) -> str:
    return f"{task.case.name} seed={task.seed}"


def run_dir_for(runs_dir: Path, suite: str, task: Task) -> Path:
    slug = re.sub(r"[^A-Za-z0-9.=+-]+", "_", task.case.name).strip("_")
    return Path(runs_dir) / suite / f"{slug}-s{task.seed}-{task.config_hash[:10]}"


def task_spec(suite: Suite, task: Task, runs_dir: Path) -> dict[str, Any]:
    """The plain-data payload sent to a worker."""
    return {"config": task.config.to_dict(), "config_hash": task.config_hash, "suite": suite.name,
            "engine": task.case.engine,
            "case": task.case.name, "run_dir": str(Path(run_dir_for(runs_dir, suite.name, task)).absolute())}


def make_row(suite: Suite, task: Task, result: dict[str, Any], command: str) -> dict[str, Any]:
    """The database row of a task from the worker's result (or from a failure of the task itself)."""
    row = {
        "config_hash": task.config_hash, "suite": suite.name, "case_name": task.case.name,
        "problem": task.case.problem, "coefficients": dict(task.config.params),
        "remedies": list(task.case.remedies), "seed": task.seed,
        "config": config_record(task.config, task.case.engine),
        "status": result.get("status", FAILED), "error": result.get("error"),
        "version": result.get("version") or _local_version(), "machine": result.get("machine") or {},
        "command": command, "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    for key in ("rel_l2", "wall_s", "steps", "stop_reason", "t_1e2_s", "t_1e3_s", "run_dir"):
        row[key] = result.get(key)
    if row["status"] == FAILED and not row["error"]:
        row["error"] = "unknown error"
    return row


def _local_version() -> str:
    from .. import __version__

    return __version__


SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def check_scheduler_address(address: str) -> str:
    """``address`` if it reads as a Dask scheduler address (``[tcp://]HOST:PORT``; tls, ws, wss, ucx too), before
    any connection is tried; PinnsightError otherwise."""
    expected = "expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
    try:
        from distributed.comm.addressing import parse_address, parse_host_port

        scheme, location = parse_address(address)
        if scheme == "inproc" and location:  # a cluster in this very process (tests, notebooks)
            return address
        host, port = parse_host_port(location)
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise PinnsightError("pinnsight bench needs dask[distributed]: pip install 'dask[distributed]'") from None
    except (ValueError, TypeError) as e:
        raise PinnsightError(f"--scheduler {address!r} is not a Dask scheduler address ({e}; {expected})") from None
    if scheme not in SCHEDULER_SCHEMES:
        raise PinnsightError(f"--scheduler {address!r}: unknown protocol {scheme!r} (one of "
                             f"{', '.join(SCHEDULER_SCHEMES)}; {expected})")
    if not host:
        raise PinnsightError(f"--scheduler {address!r} has no host ({expected})")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise PinnsightError(f"--scheduler {address!r}: port {port} is not in 1..65535")
    return address


@contextlib.contextmanager
def dask_client(workers: int = 2, scheduler: str | None = None, processes: bool = True) -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` if given, else on a local cluster of ``workers`` single-threaded
    workers (processes, with the single-thread XLA flags in their environment; threads if ``processes=False``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise PinnsightError("pinnsight bench needs dask[distributed]: pip install 'dask[distributed]'") from None
    if scheduler:
        check_scheduler_address(scheduler)
        try:
            client = Client(scheduler, timeout="20s")
        except Exception as e:  # noqa: BLE001 - OSError, TimeoutError, and distributed's own (AssertionError...)
            raise PinnsightError(f"cannot reach the Dask scheduler at {scheduler} "
                                 f"({e.__class__.__name__}{': ' + str(e) if str(e) else ''})") from None
        with client:
            yield client
        return
    if workers < 1:
        raise PinnsightError(f"--workers={workers} must be at least 1")
    kwargs: dict[str, Any] = {}
    if processes:
        kwargs["env"] = {"XLA_FLAGS": single_thread_env(os.environ.get("XLA_FLAGS"))}
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=":0",
                      silence_logs=logging.ERROR, **kwargs) as cluster, Client(cluster) as client:
        yield client


def pending_tasks(suite: Suite, db: ResultsDB, retry_failed: bool = False) -> tuple[list[Task], int]:
    """The suite's tasks not yet recorded (failed ones too with ``retry_failed``), and how many were skipped."""
    tasks = suite.tasks()
    statuses = db.statuses(t.config_hash for t in tasks)
    todo = [t for t in tasks if t.config_hash not in statuses or (retry_failed and statuses[t.config_hash] == FAILED)]
    return todo, len(tasks) - len(todo)


def _tally(summary: SweepSummary, task, result: Mapping) -> str:
    """Count one finished run into ``summary``; its line for the log."""
    if result.get("status") == OK:
        summary.ok += 1
        how = "".join(f", {k}" for k in ("recovered", "resumed") if result.get(k))
        return f"rel_l2 = {_num(result.get('rel_l2'))}  ({result['wall_s']:.1f} s, stop: {result['stop_reason']}{how})"
    summary.failed += 1
    first_line = (result.get("error") or "unknown error").splitlines()[0]
    summary.failures.append((task_label(task), first_line))
    return f"FAILED: {first_line}"


def run_suite(
    suite: Suite,
    db_path: Path = DEFAULT_DB,
    runs_dir: Path = DEFAULT_RUNS_DIR,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    retry_failed: bool = False,
    processes: bool = True,
    command: str | None = None,
    echo: Callable[[str], None] = print,
) -> SweepSummary:
    """Run every unrecorded (case, seed) of ``suite``; each finished run is recorded at once, in its own
    transaction, by this process; a crash (in the run or of its worker) is recorded as failed."""
    from distributed import as_completed

    if not scheduler and workers < 1:
        raise PinnsightError(f"--workers={workers} must be at least 1")
    t0 = time.perf_counter()
    command = command or shlex.join(["pinnsight", *sys.argv[1:]])
    with ResultsDB(db_path) as db:
        todo, skipped = pending_tasks(suite, db, retry_failed)
        summary = SweepSummary(total=len(todo) + skipped, skipped=skipped)
        if skipped:
            echo(f"{skipped} run(s) already recorded in {db_path}: skipped")
        if not todo:
            echo(f"suite {suite.name}: nothing to run")
            summary.wall_s = time.perf_counter() - t0
            return summary
        echo(f"suite {suite.name}: {len(todo)} run(s) on "
             f"{scheduler or f'a local Dask cluster of {workers} single-threaded worker(s)'}")
        with dask_client(workers, scheduler, processes) as client:
            futures = {client.submit(run_task, task_spec(suite, t, runs_dir), pure=False): t for t in todo}
            for n, future in enumerate(as_completed(futures), 1):
                task = futures[future]
                try:
                    result = future.result()
                except Exception as e:  # noqa: BLE001 - e.g. the worker died (KilledWorker)
                    result = {"status": FAILED, "error": f"{type(e).__name__}: {e}"}
                db.record(make_row(suite, task, result, command))
                echo(f"[{n}/{len(todo)}] {task_label(task)}: {_tally(summary, task, result)}")
    summary.wall_s = time.perf_counter() - t0
    return summary


def _num(v) -> str:
    return "nan" if v is None or v != v else f"{v:.3e}"


__all__ = ["DEFAULT_DB", "DEFAULT_RUNS_DIR", "SweepSummary", "dask_client", "make_row",
           "pending_tasks", "run_dir_for", "run_suite", "task_spec"]
