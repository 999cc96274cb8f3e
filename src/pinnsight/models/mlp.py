"""Fully connected networks for PINNs (Raissi et al. 2019): tanh activations, Glorot-normal weights."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


def glorot_normal(key: jax.Array, out_size: int, in_size: int, dtype) -> jax.Array:
    """Glorot & Bengio (2010) normal initialisation: N(0, 2 / (fan_in + fan_out))."""
    std = jnp.sqrt(2.0 / (in_size + out_size)).astype(dtype)
    return std * jax.random.normal(key, (out_size, in_size), dtype)


class MLP(eqx.Module):
    """``depth`` hidden tanh layers of ``width`` units mapping a point ``(d,)`` to a scalar (``out_size`` 1) or a
    vector of ``out_size`` fields."""

    weights: tuple[jax.Array, ...]
    biases: tuple[jax.Array, ...]
    out_size: int = eqx.field(static=True, default=1)

    def __init__(self, in_size: int, width: int = 50, depth: int = 4, *, key: jax.Array, dtype=None,
                 out_size: int = 1):
        dtype = dtype or jnp.result_type(float)
        self.out_size = out_size
        sizes = [in_size] + [width] * depth + [out_size]
        keys = jax.random.split(key, len(sizes) - 1)
        self.weights = tuple(glorot_normal(k, o, i, dtype) for k, i, o in zip(keys, sizes[:-1], sizes[1:]))
        self.biases = tuple(jnp.zeros(o, dtype) for o in sizes[1:])

    def __call__(self, z: jax.Array) -> jax.Array:
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            z = jnp.tanh(w @ z + b)
        out = self.weights[-1] @ z + self.biases[-1]
        return out[0] if self.out_size == 1 else out
