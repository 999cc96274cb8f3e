"""The one place JAX's precision is set: ``precision(x64)`` is the context a run computes in.

A float32 run computes in JAX's 32-bit mode even when an earlier float64 run in the same process switched
64-bit mode on, so the same seed gives the same numbers whatever ran before; a float64 run switches 64-bit
mode on (once, process-wide, as JAX requires for float64 arrays).
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp


def precision(x64: bool):
    """Context manager for computing in float64 (``x64``) or float32."""
    if x64:
        if not jax.config.jax_enable_x64:
            jax.config.update("jax_enable_x64", True)
        return contextlib.nullcontext()
    return jax.enable_x64(False)


def dtype_of(x64: bool):
    """The floating dtype of a run (call inside ``precision(x64)``)."""
    if x64 and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)
    return jnp.float64 if x64 else jnp.float32


def float64_scope():
    """A block computed in float64 that leaves the process's mode as it was (diagnostics of a float32 run)."""
    return contextlib.nullcontext() if jax.config.jax_enable_x64 else jax.enable_x64(True)
