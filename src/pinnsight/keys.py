"""PRNG keys derived from names: ``derive(seed, "remedy", "rad", "resample", segment)``.

Every random draw of a run takes its key from the seed and a path of names (what draws, for which purpose) and
counters (segment, step), never from shared integer offsets, so two parts of a run cannot draw the same numbers.
A name is folded in by its CRC-32 (stable across processes and Python versions). ``collecting()`` records every
key derived while it is active (for the test that finds no duplicates in a run with every remedy on).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import jax
import numpy as np

_RECORD: list[tuple[tuple, tuple]] | None = None


def _code(part: str | int) -> int:
    if isinstance(part, str):
        return zlib.crc32(part.encode()) & 0x7FFFFFFF
    if isinstance(part, (int, np.integer)) and not isinstance(part, bool) and 0 <= int(part) < 2**31:
        return int(part)
    raise ValueError(f"a key path part is a name or a counter in [0, 2**31), got {part!r}")


def derive(seed_or_key, *path: str | int) -> jax.Array:
    """The key of ``path`` below a seed (int) or below another derived key."""
    key = jax.random.PRNGKey(seed_or_key) if isinstance(seed_or_key, (int, np.integer)) else seed_or_key
    for part in path:
        key = jax.random.fold_in(key, _code(part))
    if _RECORD is not None:
        _RECORD.append((path, tuple(np.asarray(jax.random.key_data(key) if _is_typed(key) else key).ravel())))
    return key


def _is_typed(key) -> bool:
    return jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)


@contextmanager
def collecting() -> Iterator[list[tuple[tuple, tuple]]]:
    """Record ``(path, key bits)`` of every key derived inside the block."""
    global _RECORD
    outer, _RECORD = _RECORD, []
    try:
        yield _RECORD
    finally:
        _RECORD = outer
