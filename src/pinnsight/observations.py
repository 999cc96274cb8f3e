"""Observations for inverse problems: points and measured values of one or more fields.

Given in Python as arrays (``make_observations``) or read from a file (``read_observations``): an ``.npz`` with one
1-D array per coordinate and observed field, or a ``.csv`` with a header row of the same column names. Every bad
input raises one ``PinnsightError`` whose one-line message names the file (or ``observations`` for arrays).
NumPy only: the losses layer turns these into a data term.
"""

from __future__ import annotations

import csv
import math
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pinnsight.errors import PinnsightError

SUFFIXES = (".npz", ".csv")
BOX_TOLERANCE = 1e-9  # relative to the box size along each coordinate
_ARRAYS = "arrays"


@dataclass(frozen=True, eq=False)
class Observations:
    """Validated observations: ``points`` (n, dim) in the order of ``coords``, ``values`` field -> (n,).

    The arrays are read-only; ``split`` and ``with_noise`` return new objects."""

    points: np.ndarray
    values: dict[str, np.ndarray]
    coords: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.values)

    def split(self, held_out: float, seed: int) -> tuple[Observations, Observations | None]:
        """(training, held-out) by a ``default_rng(seed)`` permutation; ``held_out`` is the fraction in [0, 1).

        Rows keep their original order inside each part; 0 gives ``(self, None)``."""
        if isinstance(held_out, bool) or not isinstance(held_out, (int, float)) or not 0 <= held_out < 1:
            raise PinnsightError(f"{_label(self.source)}: held_out must be a fraction in [0, 1), got {held_out!r}")
        _check_seed(self.source, seed)
        if held_out == 0:
            return self, None
        n = len(self)
        n_held = max(1, round(held_out * n))
        if n_held >= n:
            raise PinnsightError(f"{_label(self.source)}: held_out={held_out} of {n} observation(s) leaves no "
                                 "training point")
        order = np.random.default_rng(seed).permutation(n)
        return self._take(np.sort(order[n_held:])), self._take(np.sort(order[:n_held]))

    def with_noise(self, level: float, seed: int) -> Observations:
        """Relative Gaussian noise (Raissi et al. 2019): ``v + level * std(v) * N(0, 1)`` per field.

        Each field draws from its own stream, derived from ``seed`` and the field's name."""
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not (math.isfinite(level)
                                                                                  and level >= 0):
            raise PinnsightError(f"{_label(self.source)}: noise level must be a finite number >= 0, got {level!r}")
        _check_seed(self.source, seed)
        noisy = {}
        for name, v in self.values.items():
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            noisy[name] = _frozen(v + level * np.std(v) * rng.standard_normal(v.shape[0]))
        return Observations(self.points, noisy, self.coords, self.source)

    def save(self, path) -> None:
        """Write ``.npz`` or ``.csv`` (by suffix), columns coords then fields; ``read_observations`` reads it back."""
        p = Path(path)
        columns = {c: self.points[:, j] for j, c in enumerate(self.coords)} | dict(self.values)
        writer = {".npz": _write_npz, ".csv": _write_csv}.get(p.suffix.lower())
        if writer is None:
            raise PinnsightError(f"{path}: unsupported suffix {p.suffix!r}; supported: {', '.join(SUFFIXES)}")
        try:
            writer(p, columns)
        except OSError as e:
            raise PinnsightError(f"{path}: cannot write observations ({e.strerror or e})") from None

    def _take(self, rows: np.ndarray) -> Observations:
        values = {k: _frozen(v[rows]) for k, v in self.values.items()}
        return Observations(_frozen(self.points[rows]), values, self.coords, self.source)


def make_observations(points, values, *, coords, fields, bounds, source: str = _ARRAYS) -> Observations:
    """Observations from arrays: ``points`` (n, dim) or a mapping coord -> (n,); ``values`` a mapping field -> (n,),
    or one array when the problem has one field. ``bounds``: (lo, hi) per coordinate, the domain box."""
    label = _label(source)
    coords, fields, bounds = _check_problem(label, coords, fields, bounds)
    point_cols = _point_columns(label, points, coords)
    value_cols = _value_columns(label, values, fields)
    return _build(label, source, point_cols, value_cols, coords, bounds)


def read_observations(path, *, coords, fields, bounds) -> Observations:
    """Observations from an ``.npz`` (one 1-D array per column) or a ``.csv`` (header row of column names).

    Every coordinate column is required, plus at least one field column; no other column is allowed."""
    label = str(path)
    coords, fields, bounds = _check_problem(label, coords, fields, bounds)
    columns = _load_columns(Path(path), label)
    _check_names(label, list(columns), coords, fields)
    point_cols = {c: columns[c] for c in coords}
    value_cols = {f: columns[f] for f in fields if f in columns}
    return _build(label, str(path), point_cols, value_cols, coords, bounds)


# --- the problem's description ---------------------------------------------------------------------------------

def _check_problem(label: str, coords, fields, bounds):
    coords, fields = _names(label, "coords", coords), _names(label, "fields", fields)
    if set(coords) & set(fields):
        raise PinnsightError(f"{label}: {', '.join(sorted(set(coords) & set(fields)))} is both a coordinate and "
                             "a field")
    try:
        box = tuple((float(lo), float(hi)) for lo, hi in bounds)
    except (TypeError, ValueError):
        raise PinnsightError(f"{label}: bounds must be (lo, hi) pairs, one per coordinate") from None
    if len(box) != len(coords):
        raise PinnsightError(f"{label}: bounds give {len(box)} (lo, hi) pair(s) for {len(coords)} coordinate(s) "
                             f"({', '.join(coords)})")
    for c, (lo, hi) in zip(coords, box):
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise PinnsightError(f"{label}: bounds of {c!r} must be finite with lo < hi, got ({lo}, {hi})")
    return coords, fields, box


def _names(label: str, what: str, names) -> tuple[str, ...]:
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise PinnsightError(f"{label}: {what} must be a sequence of non-empty names, got {names!r}")
    names = tuple(names)
    if not names or len(set(names)) != len(names):
        raise PinnsightError(f"{label}: {what} must be distinct names, at least one, got {names!r}")
    return names


def _check_names(label: str, names: list[str], coords, fields) -> None:
    missing = [c for c in coords if c not in names]
    if missing:
        raise PinnsightError(f"{label}: missing coordinate column(s) {', '.join(map(repr, missing))}")
    extra = [n for n in names if n not in coords and n not in fields]
    if extra:
        raise PinnsightError(f"{label}: unexpected column(s) {', '.join(map(repr, extra))}; allowed columns: "
                             f"{', '.join(coords + fields)}")
    if not any(f in names for f in fields):
        raise PinnsightError(f"{label}: no field column; expected at least one of {', '.join(fields)}")


# --- arrays given in Python ------------------------------------------------------------------------------------

def _point_columns(label: str, points, coords) -> dict:
    if isinstance(points, Mapping):
        missing = [c for c in coords if c not in points]
        extra = [str(k) for k in points if k not in coords]
        if missing or extra:
            raise PinnsightError(f"{label}: points must map exactly the coordinates {', '.join(coords)}; missing "
                                 f"{', '.join(missing) or 'none'}, unexpected {', '.join(extra) or 'none'}")
        return {c: points[c] for c in coords}
    pts = _numeric(label, "points", points)
    if pts.ndim != 2 or pts.shape[1] != len(coords):
        raise PinnsightError(f"{label}: points must have shape (n, {len(coords)}) for coordinates "
                             f"({', '.join(coords)}), got shape {pts.shape}")
    return {c: pts[:, j] for j, c in enumerate(coords)}


def _value_columns(label: str, values, fields) -> dict:
    if not isinstance(values, Mapping):
        if len(fields) != 1:
            raise PinnsightError(f"{label}: values must be a mapping field -> array when the problem has several "
                                 f"fields ({', '.join(fields)})")
        return {fields[0]: values}
    unknown = [str(k) for k in values if k not in fields]
    if unknown:
        raise PinnsightError(f"{label}: unknown field(s) {', '.join(map(repr, unknown))}; the problem's fields "
                             f"are {', '.join(fields)}")
    if not values:
        raise PinnsightError(f"{label}: no field values given; expected at least one of {', '.join(fields)}")
    return {f: values[f] for f in fields if f in values}


def _numeric(label: str, name: str, data) -> np.ndarray:
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError):
        raise PinnsightError(f"{label}: {name} is not a numeric array") from None
    if arr.dtype.kind not in "iuf":
        raise PinnsightError(f"{label}: {name} is not numeric (dtype {arr.dtype})")
    return arr.astype(np.float64)


# --- shared checks, then the object ----------------------------------------------------------------------------

def _build(label: str, source: str, point_cols: dict, value_cols: dict, coords, bounds) -> Observations:
    cols = {name: _column(label, name, data) for name, data in (point_cols | value_cols).items()}
    first, n = coords[0], cols[coords[0]].shape[0]
    for name, col in cols.items():
        if col.shape[0] != n:
            raise PinnsightError(f"{label}: column {name!r} has {col.shape[0]} entries but column {first!r} has "
                                 f"{n}")
    if n == 0:
        raise PinnsightError(f"{label}: no observations (zero rows)")
    for name, col in cols.items():
        bad = int(np.count_nonzero(~np.isfinite(col)))
        if bad:
            raise PinnsightError(f"{label}: column {name!r} has {bad} NaN or infinite value(s)")
    points = np.stack([cols[c] for c in coords], axis=1)
    check_inside(label, points, coords, bounds)
    values = {f: _frozen(cols[f]) for f in value_cols}
    return Observations(_frozen(points), values, tuple(coords), source)


def _column(label: str, name: str, data) -> np.ndarray:
    col = _numeric(label, f"column {name!r}", data)
    if col.ndim != 1:
        raise PinnsightError(f"{label}: column {name!r} must be 1-D, got shape {col.shape}")
    return col


def check_inside(label: str, points: np.ndarray, coords, bounds) -> None:
    """PinnsightError (naming ``label``, the count and the first point) when a point lies outside the box."""
    lo, hi = np.array(bounds).T
    tol = BOX_TOLERANCE * (hi - lo)
    outside = np.any((points < lo - tol) | (points > hi + tol), axis=1)
    count = int(np.count_nonzero(outside))
    if count:
        row = int(np.argmax(outside))
        point = ", ".join(f"{c}={x:.12g}" for c, x in zip(coords, points[row]))
        box = ", ".join(f"{c} in [{a:g}, {b:g}]" for c, (a, b) in zip(coords, bounds))
        raise PinnsightError(f"{label}: {count} point(s) outside the domain box ({box}); the first is row "
                             f"{row + 1}: ({point})")


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64)
    arr.setflags(write=False)
    return arr


def _label(source: str) -> str:
    return "observations" if source == _ARRAYS else source


def _check_seed(source: str, seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise PinnsightError(f"{_label(source)}: seed must be an integer >= 0, got {seed!r}")


# --- files -----------------------------------------------------------------------------------------------------

def _load_columns(p: Path, label: str) -> dict:
    reader = {".npz": _read_npz, ".csv": _read_csv}.get(p.suffix.lower())
    if reader is None:
        raise PinnsightError(f"{label}: unsupported suffix {p.suffix!r}; supported: {', '.join(SUFFIXES)}")
    if not p.exists():
        raise PinnsightError(f"{label}: file not found")
    if not p.is_file():
        raise PinnsightError(f"{label}: not a file")
    try:
        return reader(p, label)
    except OSError as e:
        raise PinnsightError(f"{label}: cannot read ({e.strerror or e})") from None


def _read_npz(p: Path, label: str) -> dict:
    if not zipfile.is_zipfile(p):
        raise PinnsightError(f"{label}: not a valid .npz (not a zip archive of named arrays)")
    try:
        with np.load(p, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise PinnsightError(f"{label}: not a valid .npz ({reason})") from None


def _read_csv(p: Path, label: str) -> dict:
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            return _parse_csv(csv.reader(fh), label)
    except UnicodeDecodeError:
        raise PinnsightError(f"{label}: not a valid .csv (not UTF-8 text)") from None
    except csv.Error as e:
        raise PinnsightError(f"{label}: not a valid .csv ({e})") from None


def _parse_csv(reader, label: str) -> dict:
    header = next(reader, None)
    if not header:
        raise PinnsightError(f"{label}: empty file; expected a header row of column names")
    names = [h.strip() for h in header]
    if not all(names) or len(set(names)) != len(names):
        raise PinnsightError(f"{label}: the header must hold distinct, non-empty column names, got {header!r}")
    rows, row = [], 0
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue  # a blank line
        row += 1
        if len(cells) != len(names):
            raise PinnsightError(f"{label}: row {row} (line {reader.line_num}) has {len(cells)} cell(s), the "
                                 f"header has {len(names)}")
        rows.append([_cell(label, row, reader.line_num, name, c) for name, c in zip(names, cells)])
    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
    return {name: table[:, j] for j, name in enumerate(names)}


def _cell(label: str, row: int, line: int, name: str, cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        raise PinnsightError(f"{label}: row {row} (line {line}), column {name!r}: {cell.strip()!r} is not a "
                             "number") from None


def _write_npz(p: Path, columns: dict) -> None:
    # Written member by member (as np.savez does) so that a column may be named like a savez argument ("file").
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in columns.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arr), allow_pickle=False)


def _write_csv(p: Path, columns: dict) -> None:
    with open(p, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(columns))
        writer.writerows(zip(*(map(repr, map(float, col)) for col in columns.values())))


def read_points(path, *, coords, bounds) -> np.ndarray:
    """Points (n, dim) float64, in the order of ``coords``, from an ``.npz`` (one 1-D array per coordinate) or a
    ``.csv`` (header row of the coordinate names): where to evaluate a trained run.

    Every coordinate column is required and no other column is allowed; the checks and one-line messages are
    those of ``read_observations`` (cells, NaN/inf, lengths, zero rows, the domain box)."""
    label = str(path)
    coords = _names(label, "coords", coords)
    # a field name no coordinate can have (longer than each of them), only to reuse the bounds checks
    _, _, box = _check_problem(label, coords, ("\0".join(coords) + "\0",), bounds)
    columns = _load_columns(Path(path), label)
    missing = [c for c in coords if c not in columns]
    if missing:
        raise PinnsightError(f"{label}: missing coordinate column(s) {', '.join(map(repr, missing))}")
    extra = [n for n in columns if n not in coords]
    if extra:
        raise PinnsightError(f"{label}: unexpected column(s) {', '.join(map(repr, extra))}; a points file holds "
                             f"only the coordinate columns {', '.join(coords)}")
    if all(np.ndim(columns[c]) == 1 and len(columns[c]) == 0 for c in coords):
        raise PinnsightError(f"{label}: no points (zero rows)")
    return np.array(_build(label, label, {c: columns[c] for c in coords}, {}, coords, box).points)
