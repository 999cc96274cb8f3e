"""Grouped derivatives equal the one-at-a-time jax.grad results."""

import jax
import jax.numpy as jnp
import numpy as np

from pinnsight.derivatives import gradient, value_and_gradient, with_second


def u(x, t):
    return jnp.sin(3.0 * x) * jnp.exp(-2.0 * t) + x**3 * t**2


def test_grouped_derivatives_match_separate_ones():
    with jax.enable_x64(True):
        x, t = jnp.float64(0.7), jnp.float64(0.3)
        ux, ut = jax.grad(u, 0)(x, t), jax.grad(u, 1)(x, t)
        uxx = jax.grad(jax.grad(u, 0), 0)(x, t)
        uxt = jax.grad(jax.grad(u, 0), 1)(x, t)
        utt = jax.grad(jax.grad(u, 1), 1)(x, t)
        np.testing.assert_allclose(gradient(u, x, t), (ux, ut), rtol=1e-14)
        value, grads = value_and_gradient(u, x, t)
        np.testing.assert_allclose([value, *grads], [u(x, t), ux, ut], rtol=1e-14)
        value, grads, d_x = with_second(u, 0, x, t)
        np.testing.assert_allclose([value, *grads, *d_x], [u(x, t), ux, ut, uxx, uxt], rtol=1e-13)
        _, _, d_t = with_second(u, 1, x, t)
        np.testing.assert_allclose(d_t, (uxt, utt), rtol=1e-13)
        # analytic check of one entry: u_xx = −9 sin(3x) e^{−2t} + 6 x t²
        np.testing.assert_allclose(d_x[0], -9 * np.sin(2.1) * np.exp(-0.6) + 6 * 0.7 * 0.09, rtol=1e-13)
