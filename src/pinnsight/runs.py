"""Run directories: written atomically (temp dir + rename), read back with clear errors.

Layout: ``config.json`` (resolved config, seed, versions, device), ``history.csv``, ``metrics.json``,
``params.eqx`` (equinox leaves), ``solution.png`` and ``losses.png``.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np

from .config import TrainConfig
from .errors import PinnsightError
from .jsonio import dumps as dumps_strict
from .jsonio import strict_json  # noqa: F401 - the one JSON rule, re-exported for run-file writers
from .models import make_model
from .precision import dtype_of
from .trainer import RunResult

RUN_FILES = ("config.json", "history.csv", "metrics.json", "params.eqx")
#: what a run directory holds while its training runs (``pinnsight train --resume DIR`` continues it)
CHECKPOINT = "checkpoint.pkl"


def is_unfinished(run_dir: Path) -> bool:
    """Whether ``run_dir`` is a run whose training has not finished: a checkpoint and no run files yet."""
    run_dir = Path(run_dir)
    return (run_dir / CHECKPOINT).is_file() and not (run_dir / "config.json").exists()


def check_destination(path: Path, what: str, *, kind: str = "run") -> Path:
    """Prove ``path`` usable as a destination before any work starts; PinnsightError (naming ``what``, e.g.
    ``--out``) otherwise. Nothing is created: the nearest existing folder on the way to ``path`` is shown to be a
    folder and writable by creating and removing a probe file in it.

    ``kind``: ``"run"`` a new run directory (absent or empty; a file, another run or a non-empty folder is
    refused), ``"dir"`` a folder that may already exist (its contents stay), ``"file"`` a file created or replaced
    (an existing folder is refused)."""
    if kind not in ("run", "dir", "file"):
        raise ValueError(f"check_destination: unknown kind {kind!r}")
    path = Path(path)
    if str(path) == "":
        raise PinnsightError(f"{what} is empty")
    try:
        return _check_destination(path, what, kind)
    except OSError as e:  # a name too long, a loop of links, an I/O error while looking
        raise PinnsightError(f"{what} {path}: {e.strerror or e}") from None


def _check_destination(path: Path, what: str, kind: str) -> Path:
    for part in path.parts:
        if len(os.fsencode(part)) > 255:
            raise PinnsightError(f"{what} {path}: the name {part[:20]}… is longer than 255 bytes")
    if path.exists():
        if kind == "file":
            if path.is_dir():
                raise PinnsightError(f"{what} {path} is a directory, not a file")
            if not os.access(path, os.W_OK):
                raise PinnsightError(f"{what} {path} is not writable")
        elif not path.is_dir():
            raise PinnsightError(f"{what} {path} is a file, not a directory")
        elif kind == "run" and is_unfinished(path):
            raise PinnsightError(f"{what} {path} holds an unfinished run; continue it with `pinnsight train "
                                 f"--resume {path}` or choose a new directory")
        elif kind == "run" and any(path.iterdir()):
            held = "holds another run" if (path / "config.json").exists() else "is not empty"
            raise PinnsightError(f"{what} {path} already exists and {held}; choose a new directory")
    elif os.path.lexists(path):
        raise PinnsightError(f"{what} {path} is a broken symbolic link")
    # where new entries are made: inside an existing folder that is kept, else beside ``path``
    here = path.absolute() if kind == "dir" and path.is_dir() else path.absolute().parent
    missing = [] if path.exists() else [path.name]  # names still to be created, checked for length
    while not here.exists():
        if os.path.lexists(here):
            raise PinnsightError(f"{what} {path}: {here} is a broken symbolic link")
        missing.append(here.name)
        here = here.parent
    if not here.is_dir():
        raise PinnsightError(f"{what} {path}: {here} is a file, not a directory")
    try:
        limit = os.pathconf(here, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    for name in missing:
        if len(os.fsencode(name)) > limit:
            raise PinnsightError(f"{what} {path}: the name {name[:20]}… is longer than {limit} bytes")
    try:
        fd, probe = tempfile.mkstemp(prefix=".pinnsight-probe-", dir=here)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise PinnsightError(f"{what} {path}: cannot write in {here} ({e.strerror or e})") from None
    return path


def check_new_run_dir(out: Path, what: str = "--out") -> None:
    """Refuse an ``--out`` that is a file, holds a run, is a non-empty directory, or cannot be written (before
    training): ``check_destination(out, what, kind="run")``."""
    check_destination(out, what, kind="run")


def default_run_dir(problem: str, seed: int, root: Path = Path("runs")) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = root / f"{problem}-{stamp}-s{seed}"
    k = 1
    while out.exists():
        out, k = root / f"{problem}-{stamp}-s{seed}-{k}", k + 1
    return out


def environment() -> dict[str, Any]:
    """Package versions, device and machine, for reproducibility records."""
    versions = {"python": platform.python_version()}
    for pkg in ("pinnsight", "jax", "jaxlib", "optax", "equinox", "numpy", "scipy", "matplotlib"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    dev = jax.devices()[0]
    return {
        "versions": versions,
        "device": {"platform": dev.platform, "kind": getattr(dev, "device_kind", str(dev)), "count": jax.device_count()},
        "machine": {"system": platform.system(), "processor": platform.machine(), "cpu_count": os.cpu_count()},
        "argv": sys.argv,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


@contextmanager
def new_run_dir(out: Path, finishing: bool = False) -> Iterator[Path]:
    """Atomic creation of the run directory ``out``: yields a temporary directory beside it, renamed to ``out``
    when the block succeeds and removed when it fails, so a run directory is either complete or absent. ``out``
    must be new or an empty directory (``check_new_run_dir``), or with ``finishing`` the unfinished run whose
    training just ended (its checkpoint is replaced by the complete run)."""
    out = Path(out)
    if not (finishing and is_unfinished(out)):
        check_new_run_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(out.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{_owner()}.", suffix=".tmp", dir=out.parent))
    with _remove_on_sigterm():
        try:
            yield tmp
            _replace_dir(out, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _replace_dir(out: Path, tmp: Path) -> None:
    """Rename ``tmp`` to ``out``: an empty ``out`` is removed first, an unfinished run moved aside and then
    removed (a kill in between leaves the complete run, or the checkpoint to resume)."""
    if is_unfinished(out):
        aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.{_owner()}.", suffix=".tmp", dir=out.parent))
        os.rename(out, aside / "checkpoint")
        os.rename(tmp, out)
        shutil.rmtree(aside, ignore_errors=True)
        return
    if out.is_dir():
        out.rmdir()  # empty (checked before the work)
    os.rename(tmp, out)


# A temporary run directory is named ``.NAME.HOST.pPID.XXXXXXXX.tmp``: the host and process that write it, so a
# later run in the same folder can tell a dead writer's leftovers (removed) from a live writer's (kept).
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9_]+)\.p(?P<pid>[0-9]+)\.[A-Za-z0-9_]+\.tmp$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", socket.gethostname())[:40] or "host"


def _owner() -> str:
    return f"{_host()}.p{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or unknown: keep its files
    return True


def clean_stale_temporaries(parent: Path) -> list[Path]:
    """Remove the temporary run directories in ``parent`` whose writer is dead: written on this host by a process
    that no longer runs (a SIGKILL or a lost machine during ``new_run_dir``). A live writer's (another process
    still writing, on this host or another sharing the folder) are kept. Returns the removed paths."""
    removed = []
    host = _host()
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m is None or m["host"] != host or int(m["pid"]) == os.getpid() or _pid_alive(int(m["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


class _Terminated(SystemExit):
    """SIGTERM while a run directory is being written: unwinds the block so its temporary folder is removed."""


@contextmanager
def _remove_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into an exception inside the block (main thread only; Python cannot install handlers
    elsewhere), then hand the signal on as it would have been handled: the previous handler, or the default
    action (the process ends by SIGTERM)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, OSError):
        yield
        return
    if previous == signal.SIG_IGN or previous is None:  # ignored (or set outside Python): leave it alone
        yield
        return

    hit = []

    def on_term(signum, frame):
        if not hit:  # a second SIGTERM during the clean-up must not interrupt it
            hit.append(signum)
            raise _Terminated(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        if callable(previous):
            previous(signal.SIGTERM, None)
            raise
        signal.raise_signal(signal.SIGTERM)  # SIG_DFL: end as the kill asked
        raise
    finally:
        if signal.getsignal(signal.SIGTERM) is on_term:
            signal.signal(signal.SIGTERM, previous)


def read_run_files(run_dir: Path, required: tuple[str, ...] = RUN_FILES) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config.json, metrics.json)`` of a run directory holding ``required``; PinnsightError otherwise."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise PinnsightError(f"{run_dir} is not a run directory (no such directory)")
    missing = [f for f in required if not (run_dir / f).is_file()]
    if missing and is_unfinished(run_dir):
        raise PinnsightError(f"{run_dir} is an unfinished run (its training was stopped); continue it with "
                             f"`pinnsight train --resume {run_dir}`")
    if missing:
        raise PinnsightError(f"{run_dir} is not a complete run directory (missing {', '.join(missing)})")
    recorded, metrics = (_read_json_object(run_dir / name) for name in ("config.json", "metrics.json"))
    return recorded, metrics


def _read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; PinnsightError naming the file when it is unreadable or not an object."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        why = f"{path.name}: {e.__class__.__name__}: {e}"
        raise PinnsightError(f"{path.parent}: unreadable run files ({why})") from None
    if not isinstance(obj, dict):
        raise PinnsightError(f"{path} holds a JSON {_json_kind(obj)}, not an object: not a run file")
    return obj


def _json_kind(obj: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(obj), "number")


def write_run(out: Path, result: RunResult, extra: dict[str, Any] | None = None, finishing: bool = False) -> Path:
    """Write the run directory for ``result`` at ``out`` atomically; never touches an existing run (with
    ``finishing``, ``out`` may be the unfinished run ``result`` finishes)."""
    with new_run_dir(out, finishing) as tmp:
        config = {
            "config": result.config.to_dict(),
            "seed": result.config.seed,
            "problem": {
                "name": result.problem.name,
                "coords": list(result.problem.coords),
                "bounds": [list(b) for b in result.problem.bounds],
                "coefficients": dict(result.problem.coefficients),
                "options": dict(result.problem.options),
                "terms": list(result.problem.term_names),
            },
            **environment(),
            **({"auto": result.metrics["auto"]} if "auto" in result.metrics else {}),  # --remedy auto's choice
            **(extra or {}),
        }
        _write_json(tmp / "config.json", config)
        _write_json(tmp / "metrics.json", result.metrics)
        _write_history(tmp / "history.csv", result.history)
        eqx.tree_serialise_leaves(tmp / "params.eqx", result.model)
        _write_prediction(tmp / "prediction.npz", result)
        from .plots import plot_losses, plot_mesh, plot_prediction_residual, plot_solution, plot_system, plot_unknowns

        if result.problem.n_fields > 1:  # one row (one panel) per field
            plot_system(result.problem, result.axes, result.grid_prediction,
                        None if result.reference is None else result.reference.values, tmp / "solution.png",
                        residual=result.artifacts.get("grid_residual"))
        elif result.reference is not None:
            plot_solution(result, tmp / "solution.png")
        else:  # no reference: the prediction and the PDE residual
            plot_prediction_residual(result.problem, result.axes, result.grid_prediction,
                                     result.artifacts["grid_residual"], tmp / "solution.png")
        if "nodes" in result.artifacts:  # a steady problem on a shape: the evaluation mesh
            plot_mesh(result.problem, result.artifacts["nodes"], tmp / "mesh.png")
        plot_losses(result.history, tmp / "losses.png")
        plot_unknowns(result.history, {u.name: u.truth for u in result.config.unknowns}, tmp / "unknowns.png")
        if result.config.remedies:  # what the remedies did: collocation scatter, remedy columns over steps
            from .remedies.figures import write_remedy_figures

            write_remedy_figures(result, tmp)
    return Path(out)


def _write_prediction(path: Path, result: RunResult) -> None:
    """prediction.npz: the prediction on the evaluation grid, its axes, and the reference when there is one."""
    axes = result.reference.axes if result.reference is not None else result.axes
    extra = {"reference": result.reference.values} if result.reference is not None else {}
    prediction = result.prediction if result.prediction is not None else result.grid_prediction
    inside = result.problem.inside_grid(axes)
    if inside is not None:  # a domain that is not a box: which grid points are in it
        extra["inside"] = inside
    nodes = result.artifacts.get("nodes")
    if nodes is not None:  # the evaluation mesh: its vertices, triangles and the values there
        extra.update(node_points=nodes.nodes.points, node_triangles=nodes.nodes.triangles,
                     node_prediction=nodes.prediction, node_residual=nodes.residual)
        if nodes.nodes.reference is not None:
            extra["node_reference"] = nodes.nodes.reference
    np.savez_compressed(path, prediction=prediction, fields=np.array(result.problem.fields), **extra,
                        **{f"axis_{n}": a for n, a in zip(result.problem.coords, axes)})


def _write_json(path: Path, obj: Any) -> None:
    """Standard JSON (``jsonio.dumps``: NaN and ±inf as ``null``, no bare ``NaN`` token) that any reader accepts."""
    path.write_text(dumps_strict(obj, indent=2, sort_keys=False) + "\n")


def _write_history(path: Path, rows: list[dict[str, Any]]) -> None:
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


#: history columns that hold words, not numbers
TEXT_COLUMNS = frozenset({"phase"})


def read_history(path: Path) -> list[dict[str, Any]]:
    """history.csv as a list of dicts with numbers (empty cells become None). PinnsightError naming the file and
    line for a file that is unreadable, empty, truncated or ragged (a row with more or fewer cells than the
    header), or that has a non-numeric cell in a numeric column (every column but ``TEXT_COLUMNS`` and columns
    holding no number at all). An empty file has no rows."""
    path = Path(path)
    try:
        with path.open(newline="") as f:
            lines = [(n, row) for n, row in _csv_rows(f) if row]
    except (OSError, ValueError, csv.Error) as e:  # UnicodeDecodeError is a ValueError
        raise PinnsightError(f"{path} is unreadable ({e.__class__.__name__}: {e})") from None
    if not lines:
        return []  # an empty file: no rows (readers that need rows say so)
    (_, header), rows = lines[0], lines[1:]
    if any(not h.strip() for h in header) or len(set(header)) != len(header):
        raise PinnsightError(f"{path}: line 1 is not a history header (empty or repeated column names)")
    for n, row in rows:
        if len(row) != len(header):
            raise PinnsightError(f"{path}: line {n} has {len(row)} cells, expected {len(header)} "
                                 "(truncated or malformed file)")
    parsed = [[_number(v) for v in row] for _, row in rows]
    for j, name in enumerate(header):
        if name in TEXT_COLUMNS or not any(isinstance(r[j], (int, float)) for r in parsed):
            continue  # a column of words
        for (n, row), r in zip(rows, parsed):
            if isinstance(r[j], str):
                raise PinnsightError(f"{path}: line {n}, column {name!r}: {row[j]!r} is not a number")
    return [dict(zip(header, r)) for r in parsed]


def _csv_rows(f):
    reader = csv.reader(f)
    for row in reader:
        yield reader.line_num, row


def _number(v: str):
    if v == "":
        return None
    try:
        return float(v) if any(c in v for c in ".eEn") else int(v)
    except ValueError:
        return v


#: config.json ``kind`` of a ``train-family`` run directory (``hard.family.KIND``; runs sits below hard)
FAMILY_KIND = "hard-constraint-family"


def _recorded_kind(run_dir: Path) -> Any:
    try:
        recorded = json.loads((Path(run_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return recorded.get("kind") if isinstance(recorded, dict) else None


def load_run(run_dir: Path) -> tuple[TrainConfig, Any, dict[str, Any]]:
    """``(config, model, metrics)`` of a finished run; PinnsightError if the directory is not a readable run."""
    run_dir = Path(run_dir)
    if (run_dir / "config.json").is_file() and _recorded_kind(run_dir) == FAMILY_KIND:
        raise PinnsightError(f"{run_dir} is a train-family run; use `pinnsight solve {run_dir} -p NAME=VALUE`")
    recorded, metrics = read_run_files(run_dir)
    if "config" not in recorded:
        raise PinnsightError(f"{run_dir}/config.json has no 'config' entry")
    if not isinstance(recorded["config"], dict):
        raise PinnsightError(f"{run_dir}/config.json: its 'config' entry is a {_json_kind(recorded['config'])}, "
                             "not an object")
    try:
        config = TrainConfig.from_dict(recorded["config"])
    except PinnsightError as e:
        raise PinnsightError(f"{run_dir}/config.json: {e}") from None
    except (TypeError, KeyError, ValueError, AttributeError) as e:
        raise PinnsightError(f"{run_dir}/config.json holds a malformed config ({e.__class__.__name__}: {e})") from None
    dtype = dtype_of(config.x64)
    problem = config.build_problem()
    # with the problem, as training built it (options derived from it: periodic embedding, hard-constraint rows)
    skeleton = make_model(config.model, problem.dim, key=jax.random.PRNGKey(0), dtype=dtype, problem=problem,
                          **config.model_kwargs())
    try:
        model = eqx.tree_deserialise_leaves(run_dir / "params.eqx", skeleton)
    except Exception as e:  # noqa: BLE001 - any failure here means a corrupt file
        raise PinnsightError(f"{run_dir}/params.eqx is unreadable ({e.__class__.__name__})") from None
    return config, model, metrics
