"""Run directories: written atomically (temp dir + rename), read back with clear errors.

Layout: ``config.json`` (resolved config, seed, versions, device), ``history.csv``, ``metrics.json``,
``params.eqx`` (equinox leaves), ``solution.png`` and ``losses.png``.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import shutil
import sys
import tempfile
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
from .models import make_model
from .train import RunResult, dtype_for

RUN_FILES = ("config.json", "history.csv", "metrics.json", "params.eqx")


def check_new_run_dir(out: Path) -> None:
    """Refuse an ``--out`` that is a file, holds a run, or is a non-empty directory (before training)."""
    out = Path(out)
    if out.is_file():
        raise PinnsightError(f"--out {out} is a file, not a directory")
    if out.is_dir() and any(out.iterdir()):
        what = "holds another run" if (out / "config.json").exists() else "is not empty"
        raise PinnsightError(f"--out {out} already exists and {what}; choose a new directory")


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
def new_run_dir(out: Path) -> Iterator[Path]:
    """Atomic creation of the run directory ``out``: yields a temporary directory beside it, renamed to ``out``
    when the block succeeds and removed when it fails, so a run directory is either complete or absent. ``out``
    must be new or an empty directory (``check_new_run_dir``)."""
    out = Path(out)
    check_new_run_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
        if out.is_dir():
            out.rmdir()  # empty (checked above)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_run_files(run_dir: Path, required: tuple[str, ...] = RUN_FILES) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config.json, metrics.json)`` of a run directory holding ``required``; PinnsightError otherwise."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise PinnsightError(f"{run_dir} is not a run directory (no such directory)")
    missing = [f for f in required if not (run_dir / f).is_file()]
    if missing:
        raise PinnsightError(f"{run_dir} is not a complete run directory (missing {', '.join(missing)})")
    try:
        recorded = json.loads((run_dir / "config.json").read_text())
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError) as e:
        raise PinnsightError(f"{run_dir}: unreadable run files ({e.__class__.__name__}: {e})") from None
    return recorded, metrics


def write_run(out: Path, result: RunResult, extra: dict[str, Any] | None = None) -> Path:
    """Write the run directory for ``result`` at ``out`` atomically; never touches an existing run."""
    with new_run_dir(out) as tmp:
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
        np.savez_compressed(tmp / "prediction.npz", prediction=result.prediction, reference=result.reference.values,
                            **{f"axis_{n}": a for n, a in zip(result.problem.coords, result.reference.axes)})
        from .plots import plot_losses, plot_solution

        plot_solution(result, tmp / "solution.png")
        plot_losses(result.history, tmp / "losses.png")
        if result.config.remedies:  # what the remedies did: collocation scatter, remedy columns over steps
            from .remedies.figures import write_remedy_figures

            write_remedy_figures(result, tmp)
    return Path(out)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _write_history(path: Path, rows: list[dict[str, Any]]) -> None:
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def read_history(path: Path) -> list[dict[str, Any]]:
    """history.csv as a list of dicts with floats (empty cells become None)."""
    with Path(path).open() as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(v: str):
    if v == "":
        return None
    try:
        return float(v) if any(c in v for c in ".eEn") else int(v)
    except ValueError:
        return v


def load_run(run_dir: Path) -> tuple[TrainConfig, Any, dict[str, Any]]:
    """``(config, model, metrics)`` of a finished run; PinnsightError if the directory is not a readable run."""
    run_dir = Path(run_dir)
    recorded, metrics = read_run_files(run_dir)
    if not isinstance(recorded, dict) or "config" not in recorded:
        raise PinnsightError(f"{run_dir}/config.json has no 'config' entry")
    config = TrainConfig.from_dict(recorded["config"])
    dtype = dtype_for(config)
    problem = config.build_problem()
    # with the problem, as training built it (options derived from it: periodic embedding, hard-constraint rows)
    skeleton = make_model(config.model, problem.dim, key=jax.random.PRNGKey(0), dtype=dtype, problem=problem,
                          **config.model_options)
    try:
        model = eqx.tree_deserialise_leaves(run_dir / "params.eqx", skeleton)
    except Exception as e:  # noqa: BLE001 - any failure here means a corrupt file
        raise PinnsightError(f"{run_dir}/params.eqx is unreadable ({e.__class__.__name__})") from None
    return config, model, metrics
