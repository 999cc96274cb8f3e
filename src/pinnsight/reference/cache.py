"""Content-addressed disk cache for reference solutions.

``cached(name, key, compute)`` returns ``compute()``, stored once as
``{cache_dir}/{name}-{digest}.npy`` where ``digest`` is the first 16 hex digits of
sha256(canonical JSON of ``key`` + ``SOLVER_VERSION``). Writes are atomic (temporary
file in the same directory, then ``os.replace``), so concurrent processes never see
a half-written file. Each entry carries its checksum, shape, dtype and key after the
array; a read that fails verification (or finds a NaN, or the wrong shape) is
recomputed with a ``CorruptCacheWarning`` and overwritten.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import struct
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ..atomic import write_atomic

from pinnsight.errors import PinnsightError

__all__ = ["SOLVER_VERSION", "CacheWarning", "CorruptCacheWarning", "cache_dir", "cache_path", "canonical_json",
           "cached"]

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


class CacheWarning(UserWarning):
    """Something about the reference cache the user should know (an entry that could not be written)."""


class CorruptCacheWarning(CacheWarning):
    """A cached reference failed verification (checksum, shape, entry name or finiteness) and was recomputed."""


# An entry is the ``.npy`` bytes of the array followed by a trailer: JSON metadata (sha256 of the .npy bytes,
# shape, dtype, entry name, key), its length (4 bytes, little endian) and END. ``np.load`` still reads the file
# (it reads the header's count of items and ignores what follows); ``cached`` verifies everything on each read.
END = b"\n#pinnsight-cache-1\n"
_LEN = struct.Struct("<I")


def _encode(path: Path, arr: np.ndarray, key_json: str | None = None) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    payload = buf.getvalue()
    meta = {"sha256": hashlib.sha256(payload).hexdigest(), "shape": list(arr.shape), "dtype": arr.dtype.str,
            "entry": path.name, "solver_version": SOLVER_VERSION}
    if key_json is not None:
        meta["key"] = key_json
    meta_bytes = json.dumps(meta, sort_keys=True, allow_nan=False).encode()
    return payload + meta_bytes + _LEN.pack(len(meta_bytes)) + END


def _verify(path: Path, data: bytes, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The array in the entry bytes ``data``; ValueError saying what is wrong with them."""
    if not data.endswith(END) or len(data) < len(END) + _LEN.size:
        raise ValueError("it has no checksum (not written by this version of pinnsight, or truncated)")
    n = _LEN.unpack(data[-len(END) - _LEN.size:-len(END)])[0]
    cut = len(data) - len(END) - _LEN.size - n
    if cut <= 0:
        raise ValueError("its metadata is truncated")
    try:
        meta = json.loads(data[cut:cut + n])
    except ValueError:
        raise ValueError("its metadata is unreadable") from None
    if not isinstance(meta, dict):
        raise ValueError("its metadata is unreadable")
    payload = data[:cut]
    if hashlib.sha256(payload).hexdigest() != meta.get("sha256"):
        raise ValueError("its checksum does not match its contents")
    if meta.get("entry") != path.name:
        raise ValueError(f"it was written as {meta.get('entry')!r}, another entry")
    try:
        arr = np.load(io.BytesIO(payload), allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any failure: a bad file
        raise ValueError(f"it is not a readable array ({e.__class__.__name__})") from None
    if not isinstance(arr, np.ndarray):
        raise ValueError("it is not a single array")
    if list(arr.shape) != meta.get("shape") or arr.dtype.str != meta.get("dtype"):
        raise ValueError(f"its array ({arr.dtype.str}, shape {arr.shape}) does not match its metadata")
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise ValueError(f"it has shape {tuple(arr.shape)}, expected {tuple(shape)} (the reference grid)")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError("it holds non-finite values")
    return np.array(arr)  # a writable copy (the bytes buffer is read-only)


def _load(path: Path, shape: tuple[int, ...] | None = None) -> tuple[np.ndarray | None, str | None]:
    """``(array, None)`` for a good entry, ``(None, None)`` when there is none, ``(None, why)`` for a bad one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as e:  # permission, a folder, I/O error...: recompute
        return None, f"it is unreadable ({e.strerror or e})"
    try:
        return _verify(path, data, shape), None
    except ValueError as e:
        return None, str(e)


def _atomic_save(path: Path, arr: np.ndarray, key_json: str | None = None) -> None:
    write_atomic(path, _encode(path, np.asarray(arr), key_json))


def cached(name: str, key: dict, compute: Callable[[], np.ndarray], *,
           shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return the array cached under ``(name, key)``, computing and storing it on a miss.

    Every read is verified: the sha256 of the stored bytes, the recorded shape, dtype and entry name, the
    expected ``shape`` (the reference grid) when given, and finiteness. A bad entry (scaled or flipped bytes, a
    NaN, the wrong shape, truncated, not written by pinnsight) is recomputed with a ``CorruptCacheWarning`` and
    rewritten atomically; a missing one is computed silently. If the cache directory cannot be written, a
    ``CacheWarning`` is issued and the freshly computed array is returned anyway; a non-finite result is returned
    but never stored.
    """
    path = cache_path(name, key)
    arr, bad = _load(path, shape)
    if arr is not None:
        return arr
    if bad is not None:
        warnings.warn(f"pinnsight cache: {path} failed verification ({bad}); recomputing it",
                      CorruptCacheWarning, stacklevel=2)
    arr = np.asarray(compute())
    if arr.dtype == object:
        raise PinnsightError(f"cache {name!r}: compute() returned an object array")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        warnings.warn(f"pinnsight cache: {name} reference has non-finite values; not cached", CacheWarning,
                      stacklevel=2)
        return arr
    try:
        _atomic_save(path, arr, canonical_json(key))
    except OSError as exc:
        warnings.warn(f"pinnsight cache: could not write {path}: {exc}", CacheWarning, stacklevel=2)
    return arr
