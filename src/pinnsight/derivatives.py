"""Derivatives of a network u(*coords) at one point, grouped so that each costs one pass.

Writing ``jax.grad(u, 0)(x, t)`` and ``jax.grad(u, 1)(x, t)`` separately costs two reverse passes; one
``jax.grad(u, (0, 1))`` gives both for the price of one (≈1.4× faster training steps on convection, measured by
``benchmarks/speed.py``). Second derivatives along one coordinate come from a forward-over-reverse pass
that also returns the value and the whole gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def value_and_gradient(u: Callable, *z: jax.Array) -> tuple[jax.Array, tuple[jax.Array, ...]]:
    """``u(z)`` and ``(∂u/∂z_0, ∂u/∂z_1, ...)`` in one reverse pass."""
    return jax.value_and_grad(u, argnums=tuple(range(len(z))))(*z)


def gradient(u: Callable, *z: jax.Array) -> tuple[jax.Array, ...]:
    """``(∂u/∂z_0, ∂u/∂z_1, ...)`` in one reverse pass."""
    return jax.grad(u, argnums=tuple(range(len(z))))(*z)


def with_second(u: Callable, axis: int, *z: jax.Array):
    """``(u, gradient, ∂/∂z_axis of the gradient)`` in one forward-over-reverse pass.

    The last item holds ``∂²u/∂z_axis∂z_j`` for every j, so ``[axis]`` is the second derivative along ``axis``.
    """
    def along(s):
        shifted = tuple(s if i == axis else zi for i, zi in enumerate(z))
        return value_and_gradient(u, *shifted)

    (value, grads), (_, d_grads) = jax.jvp(along, (z[axis],), (jnp.ones_like(z[axis]),))
    return value, grads, d_grads
