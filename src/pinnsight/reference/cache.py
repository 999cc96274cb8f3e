"""Content-addressed disk cache for reference solutions.

``cached(name, key, compute)`` returns ``compute()``, stored once as
``{cache_dir}/{name}-{digest}.npy`` where ``digest`` is the first 16 hex digits of
sha256(canonical JSON of ``key`` + ``SOLVER_VERSION``). Writes are atomic (temporary
file in the same directory, then ``os.replace``), so concurrent processes never see
a half-written file; an unreadable or corrupted file is recomputed and overwritten.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from pinnsight.errors import PinnsightError

__all__ = ["SOLVER_VERSION", "cache_dir", "cache_path", "canonical_json", "cached"]

#: Bump when any reference solver changes its numbers: old cache files are then ignored.
SOLVER_VERSION = "pinnsight-reference-1"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]*$")


def cache_dir() -> Path:
    """``$PINNSIGHT_CACHE`` if set (and non-empty), else ``~/.cache/pinnsight/reference``."""
    env = os.environ.get("PINNSIGHT_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "pinnsight" / "reference"


def _plain(obj):
    """Convert ``obj`` to JSON-able builtins; floats stay floats (repr'd exactly by json)."""
    if isinstance(obj, bool | None | str):
        return obj
    if isinstance(obj, int | np.integer) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        if math.isfinite(v):
            return v
        return {"__float__": repr(v)}  # nan/inf: not valid JSON, keep them distinct
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        if arr.dtype == object:
            raise PinnsightError("cache key: object arrays are not supported")
        return {
            "__ndarray__": hashlib.sha256(arr.tobytes()).hexdigest(),
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
        }
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise PinnsightError(f"cache key: dict keys must be str, got {k!r}")
            out[k] = _plain(v)
        return out
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    raise PinnsightError(f"cache key: unsupported value of type {type(obj).__name__}: {obj!r}")


def canonical_json(key: Mapping) -> str:
    """Canonical JSON of ``key``: sorted keys, no whitespace, floats by exact ``repr``.

    NumPy scalars become Python scalars, arrays are represented by dtype, shape and
    the sha256 of their bytes.
    """
    if not isinstance(key, Mapping):
        raise PinnsightError(f"cache key must be a dict, got {type(key).__name__}")
    return json.dumps(_plain(key), sort_keys=True, separators=(",", ":"), allow_nan=False)


def cache_path(name: str, key: Mapping) -> Path:
    """Path of the cache file for ``(name, key)`` under :func:`cache_dir`."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise PinnsightError(
            f"cache name must match {_NAME_RE.pattern!r} (safe in a file name), got {name!r}"
        )
    digest = hashlib.sha256((canonical_json(key) + SOLVER_VERSION).encode()).hexdigest()
    return cache_dir() / f"{name}-{digest[:16]}.npy"


def _load(path: Path) -> np.ndarray | None:
    """The stored array, or None when missing/unreadable/corrupted."""
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except Exception:  # truncated, garbage, wrong format, permission...: recompute
        return None
    if not isinstance(arr, np.ndarray):  # an .npz archive under an .npy name
        return None
    return arr


def _atomic_save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, arr, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def cached(name: str, key: dict, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Return the array cached under ``(name, key)``, computing and storing it on a miss.

    A missing, unreadable or corrupted file is a miss: ``compute()`` is called and the
    file (re)written atomically. If the cache directory cannot be written, a warning
    is issued and the freshly computed array is returned anyway.
    """
    path = cache_path(name, key)
    arr = _load(path)
    if arr is not None:
        return arr
    arr = np.asarray(compute())
    if arr.dtype == object:
        raise PinnsightError(f"cache {name!r}: compute() returned an object array")
    try:
        _atomic_save(path, arr)
    except OSError as exc:
        warnings.warn(f"pinnsight cache: could not write {path}: {exc}", stacklevel=2)
    return arr
