"""The modified MLP of Wang, Teng, Perdikaris, SIAM J. Sci. Comput. 43 (2021), Eqs. 43–47.

Two encoders of the input gate every hidden layer (multiplicative interactions and residual-like paths):

    U = φ(X W¹ + b¹),  V = φ(X W² + b²)                       (43)
    H¹ = φ(X W^{z,1} + b^{z,1})                                (44)
    Z^k = φ(H^k W^{z,k} + b^{z,k}),        k = 1, …, L         (45)
    H^{k+1} = (1 − Z^k) ⊙ U + Z^k ⊙ V,     k = 1, …, L         (46)
    f(X) = H^{L+1} W + b                                       (47)

The paper writes W^{z,1} both for the input layer of Eq. 44 (d × width) and the first gate of Eq. 45
(width × width); they are different matrices here: ``hidden_weights[0]`` is Eq. 44's, ``hidden_weights[k]``
is Eq. 45's W^{z,k} for k ≥ 1. ``depth`` counts the hidden layers H¹ … H^{L+1} (so L = depth − 1 gates), the
same count of main-path weight matrices as ``MLP(depth)``: ``mlp:depth=3`` and ``modified-mlp:depth=3``
differ only by the encoders U, V. Weights are stored (out, in) and applied as ``W @ z`` (the transpose of
the paper's row convention).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..errors import PinnsightError
from .mlp import glorot_normal


class ModifiedMLP(eqx.Module):
    """Modified MLP (Wang, Teng, Perdikaris 2021, Eqs. 43–47), tanh, Glorot-normal weights, zero biases."""

    u_weight: jax.Array
    u_bias: jax.Array
    v_weight: jax.Array
    v_bias: jax.Array
    hidden_weights: tuple[jax.Array, ...]
    hidden_biases: tuple[jax.Array, ...]
    out_weight: jax.Array
    out_bias: jax.Array
    out_size: int = eqx.field(static=True, default=1)

    def __init__(self, in_size: int, width: int = 50, depth: int = 4, *, key: jax.Array, dtype=None,
                 out_size: int = 1):
        self.out_size = out_size
        if depth < 2:
            raise PinnsightError(f"model modified-mlp: depth={depth} must be ≥ 2 (depth − 1 gated layers)")
        dtype = dtype or jnp.result_type(float)
        keys = jax.random.split(key, depth + 3)
        self.u_weight = glorot_normal(keys[0], width, in_size, dtype)
        self.v_weight = glorot_normal(keys[1], width, in_size, dtype)
        self.u_bias = jnp.zeros(width, dtype)
        self.v_bias = jnp.zeros(width, dtype)
        sizes = [in_size] + [width] * depth
        self.hidden_weights = tuple(
            glorot_normal(k, o, i, dtype) for k, i, o in zip(keys[2:-1], sizes[:-1], sizes[1:])
        )
        self.hidden_biases = tuple(jnp.zeros(width, dtype) for _ in range(depth))
        self.out_weight = glorot_normal(keys[-1], out_size, width, dtype)
        self.out_bias = jnp.zeros(out_size, dtype)

    def __call__(self, z: jax.Array) -> jax.Array:
        u = jnp.tanh(self.u_weight @ z + self.u_bias)  # Eq. 43
        v = jnp.tanh(self.v_weight @ z + self.v_bias)
        h = jnp.tanh(self.hidden_weights[0] @ z + self.hidden_biases[0])  # Eq. 44
        for w, b in zip(self.hidden_weights[1:], self.hidden_biases[1:]):
            gate = jnp.tanh(w @ h + b)  # Eq. 45
            h = (1.0 - gate) * u + gate * v  # Eq. 46
        out = self.out_weight @ h + self.out_bias  # Eq. 47
        return out[0] if self.out_size == 1 else out
