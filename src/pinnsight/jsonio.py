"""Standard JSON for files other tools read (metrics.json, config.json, the results database, findings.json).

Python's ``json`` writes bare ``NaN``/``Infinity`` tokens that strict readers (JavaScript, jq, most JSON
libraries) reject. ``strict_json`` turns an object into plain JSON values with every non-finite float as
``null``; ``dumps`` writes it with ``allow_nan=False``, so no such token can slip through.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["dumps", "strict_json"]


def strict_json(obj: Any) -> Any:
    """``obj`` as plain JSON values: dicts, lists, str, int, float, bool, None; NaN and ±inf become ``None``;
    NumPy (and JAX) scalars and arrays become Python numbers and lists. TypeError for anything else."""
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, Mapping):
        return {_key(k): strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, np.ndarray) or hasattr(obj, "__array__"):
        arr = np.asarray(obj)
        if arr.dtype == object:
            raise TypeError("not JSON serialisable: object array")
        return strict_json(arr.tolist()) if arr.ndim else strict_json(arr.item())
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, (bool, np.bool_)):
        return "true" if k else "false"  # as json.dumps writes a bool key
    if k is None:
        return "null"
    if isinstance(k, (int, np.integer)):
        return str(int(k))
    if isinstance(k, (float, np.floating)):
        return json.dumps(float(k))  # nan/inf keys: 'NaN'/'Infinity' strings, valid as keys
    raise TypeError(f"not JSON serialisable: a dict key of type {type(k).__name__}")


def dumps(obj: Any, **kwargs) -> str:
    """``json.dumps`` of ``strict_json(obj)`` with ``allow_nan=False``: standard JSON only."""
    return json.dumps(strict_json(obj), allow_nan=False, **kwargs)
