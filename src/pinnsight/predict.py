"""Use of a trained run: every field of its model at given points, in Python or from ``pinnsight predict``.

``load(run_dir)`` reads a run directory (``runs.load_run``) into a ``LoadedRun``; ``predict(run, points)`` (or
``run.predict(points)``) evaluates every field at points (n, dim), jitted and vmapped, in the run's precision;
``write_predictions`` writes points and values as ``.csv`` or ``.npz`` (columns: coordinates, then fields),
atomically. Points outside the run's domain box, of the wrong shape or not finite raise one ``PinnsightError``.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .config import TrainConfig
from .errors import PinnsightError
from .observations import check_inside
from .precision import dtype_of, precision
from .runs import load_run

#: the formats ``write_predictions`` writes (and ``pinnsight predict --points`` reads)
SUFFIXES = (".csv", ".npz")
#: rows evaluated per call; longer inputs run in chunks of this many (the last one padded: one compilation)
CHUNK = 16384


class LoadedRun:
    """A finished run read back: its ``config``, ``model``, ``metrics`` and ``problem``; ``predict(points)``."""

    def __init__(self, run_dir, config: TrainConfig, model: Any, metrics: dict[str, Any]):
        self.run_dir = Path(run_dir)
        self.config, self.model, self.metrics = config, model, metrics
        self.problem = config.build_problem()
        self._params, static = eqx.partition(model, eqx.is_array)
        self._evaluate = jax.jit(lambda params, pts: jax.vmap(eqx.combine(params, static))(pts))

    @classmethod
    def from_dir(cls, run_dir) -> LoadedRun:
        config, model, metrics = load_run(run_dir)
        return cls(run_dir, config, model, metrics)

    @property
    def coords(self) -> tuple[str, ...]:
        return tuple(self.problem.coords)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(getattr(self.problem, "fields", ("u",)))

    @property
    def bounds(self) -> tuple[tuple[float, float], ...]:
        return tuple((float(lo), float(hi)) for lo, hi in self.problem.bounds)

    def predict(self, points) -> dict[str, np.ndarray]:
        """Every field at ``points`` (n, dim) inside the domain box: field -> (n,) float64."""
        pts = check_points(points, self.coords, self.bounds)
        n, fields = pts.shape[0], self.fields
        with precision(self.config.x64):
            dtype = dtype_of(self.config.x64)
            if n <= CHUNK:
                out = np.asarray(self._evaluate(self._params, jnp.asarray(pts, dtype)), np.float64)
            else:
                parts = []
                for start in range(0, n, CHUNK):
                    block = pts[start:start + CHUNK]
                    padded = np.concatenate([block, np.repeat(block[-1:], CHUNK - len(block), axis=0)])
                    values = self._evaluate(self._params, jnp.asarray(padded, dtype))
                    parts.append(np.asarray(values, np.float64)[: len(block)])
                out = np.concatenate(parts)
        out = out.reshape(n, -1)
        if out.shape[1] != len(fields):
            raise PinnsightError(f"{self.run_dir}: the model gives {out.shape[1]} value(s) per point for "
                                 f"{len(fields)} field(s) ({', '.join(fields)})")
        return {f: out[:, i].copy() for i, f in enumerate(fields)}

    def __repr__(self) -> str:
        return f"LoadedRun({str(self.run_dir)!r}, problem={self.problem.name!r}, fields={self.fields})"


def load(run_dir) -> LoadedRun:
    """The finished run in ``run_dir``; PinnsightError when it is not a readable run directory."""
    return LoadedRun.from_dir(run_dir)


def predict(run: LoadedRun, points) -> dict[str, np.ndarray]:
    """Every field of ``run`` at ``points`` (n, dim): field -> (n,) float64 (``LoadedRun.predict``)."""
    return run.predict(points)


def check_points(points, coords: Sequence[str], bounds, what: str = "points") -> np.ndarray:
    """``points`` as a float64 (n, dim) array, n ≥ 1, finite and inside the box ``bounds`` (with the tolerance of
    ``observations``); PinnsightError naming ``what`` otherwise."""
    try:
        arr = np.asarray(points)
    except (TypeError, ValueError):
        raise PinnsightError(f"{what}: not a numeric array") from None
    if arr.dtype.kind not in "iuf":
        raise PinnsightError(f"{what}: not numeric (dtype {arr.dtype})")
    dim = len(coords)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise PinnsightError(f"{what}: must have shape (n, {dim}) for coordinates ({', '.join(coords)}), got "
                             f"shape {arr.shape}")
    if arr.shape[0] == 0:
        raise PinnsightError(f"{what}: no points (zero rows)")
    arr = arr.astype(np.float64)
    bad = int(np.count_nonzero(~np.all(np.isfinite(arr), axis=1)))
    if bad:
        raise PinnsightError(f"{what}: {bad} point(s) with a NaN or infinite coordinate")
    check_inside(what, arr, coords, bounds)
    return arr


def check_suffix(path, what: str = "--out") -> Path:
    """``path`` when its suffix is one ``write_predictions`` writes; PinnsightError naming ``what`` otherwise."""
    p = Path(path)
    if p.suffix.lower() not in SUFFIXES:
        raise PinnsightError(f"{what} {path}: unsupported suffix {p.suffix!r}; supported: {', '.join(SUFFIXES)}")
    return p


def columns_of(points, values: Mapping[str, Any], coords: Sequence[str]) -> dict[str, np.ndarray]:
    """The output columns: one per coordinate (from ``points`` (n, dim)), then one per field of ``values``."""
    pts = np.asarray(points, dtype=np.float64)
    coords = tuple(coords)
    if pts.ndim != 2 or pts.shape[1] != len(coords):
        raise PinnsightError(f"points must have shape (n, {len(coords)}) for coordinates ({', '.join(coords)}), "
                             f"got shape {pts.shape}")
    clash = [f for f in values if f in coords]
    if clash:
        raise PinnsightError(f"{', '.join(map(repr, clash))} is both a coordinate and a field")
    columns = {c: pts[:, j] for j, c in enumerate(coords)}
    for f, v in values.items():
        col = np.asarray(v, dtype=np.float64).reshape(-1)
        if col.shape[0] != pts.shape[0]:
            raise PinnsightError(f"field {f!r} has {col.shape[0]} value(s) for {pts.shape[0]} point(s)")
        columns[str(f)] = col
    return columns


def csv_text(points, values: Mapping[str, Any], coords: Sequence[str]) -> str:
    """The ``.csv`` form of ``write_predictions``: a header line, then one row per point (exact float reprs)."""
    columns = columns_of(points, values, coords)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(zip(*(map(repr, map(float, col)) for col in columns.values())))
    return buf.getvalue()


def write_predictions(path, points, values: Mapping[str, Any], coords: Sequence[str]) -> Path:
    """Write ``points`` and ``values`` (field -> (n,)) to ``path``, ``.csv`` or ``.npz`` by its suffix, columns
    coordinates then fields; atomically (a temporary file beside it, then ``os.replace``): ``path`` is either the
    complete new file or as it was. An unsupported suffix or a directory at ``path`` is refused."""
    p = check_suffix(path, "predictions file")
    if p.is_dir():
        raise PinnsightError(f"predictions file {path} is a directory, not a file")
    columns = columns_of(points, values, coords)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.parent / f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            with open(tmp, "xb") as fh:  # created with the umask's permissions, as a plain open would
                if p.suffix.lower() == ".npz":
                    _write_npz(fh, columns)
                else:
                    fh.write(csv_text(points, values, coords).encode("utf-8"))
            os.replace(tmp, p)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as e:
        raise PinnsightError(f"predictions file {path}: cannot write ({e.strerror or e})") from None
    return p


def _write_npz(fh, columns: dict[str, np.ndarray]) -> None:
    # member by member (as np.savez does), so that a column may have any name, "file" included
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in columns.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
