"""Dense full-batch BFGS and the self-scaled Broyden family (SSBFGS, SSBroyden) with a strong-Wolfe line search.

The inverse-Hessian approximation H is a dense n×n matrix (networks up to a few thousand parameters). The update
is the self-scaled Broyden family in inverse form (Urbán, Stefanou & Pons, JCP 2025, Eq. 10; Kiyani et al. 2025,
Sec. 2; Al-Baali & Khalfan 2005):

    H⁺ = (1/τ) [H − H y yᵀ H / (yᵀHy) + φ v vᵀ] + s sᵀ / (yᵀs),   v = √(yᵀHy) [s/(yᵀs) − Hy/(yᵀHy)],

with s = x⁺ − x, y = ∇f⁺ − ∇f. τ = φ = 1 is BFGS. With b = sᵀBs/(yᵀs) (= −α sᵀ∇f/(yᵀs), B = H⁻¹),
h = yᵀHy/(yᵀs) and a = hb − 1 ≥ 0:
- SSBFGS (Urbán et al. Eqs. 11–12; Al-Baali 1998): φ = 1, τ = min(1, 1/b).
- SSBroyden (Urbán et al. Eqs. 13–23; Al-Baali & Khalfan 2005): c = √(a/(1+a)), ρ⁻ = min(1, h(1−c)),
  θ⁻ = (ρ⁻−1)/a, θ⁺ = 1/ρ⁻, θ = max(θ⁻, min(θ⁺, (1−b)/b)), σ = 1 + aθ, τ⁽¹⁾ = min(1, 1/b),
  τ = τ⁽¹⁾ min(σ^(−1/(n−1)), 1/θ) if θ > 0 else min(τ⁽¹⁾ σ^(−1/(n−1)), σ).
  θ is the Broyden parameter of the direct (B) form (θ = 0: BFGS); the inverse form's parameter is its dual
  φ = (1 − θ)/(1 + aθ) (Nocedal & Wright §6.3; checked in the tests: H⁺ is the inverse of the scaled B⁺).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from . import _flat
from ._flat import Method, flat_objective

#: the updates of the family, by phase name
VARIANTS = ("bfgs", "ssbfgs", "ssbroyden")

DEFAULTS = {"max_linesearch_steps": 25, "gtol": 0.0, "ftol": 0.0, "patience": 20}


def scaling(variant: str, s, y, g, alpha, Hy, n: int):
    """(τ, φ) of ``variant`` for the step s = αd taken from gradient g (Urbán et al. 2025, Eqs. 11–23)."""
    one = jnp.ones((), s.dtype)
    if variant == "bfgs":
        return one, one
    ys = y @ s
    b = -alpha * (s @ g) / ys  # sᵀBs/yᵀs, since Bs = −αg
    tau1 = jnp.minimum(1.0, 1.0 / b)
    if variant == "ssbfgs":
        return tau1, one
    h = (y @ Hy) / ys
    a = h * b - 1.0
    tiny = a <= 1e-12 * jnp.maximum(1.0, h * b)  # H already satisfies the secant condition along s: BFGS
    a_safe = jnp.where(tiny, 1.0, a)
    c = jnp.sqrt(a_safe / (1.0 + a_safe))
    rho_minus = jnp.minimum(1.0, h * (1.0 - c))
    theta_minus = (rho_minus - 1.0) / a_safe
    theta_plus = 1.0 / rho_minus
    theta = jnp.maximum(theta_minus, jnp.minimum(theta_plus, (1.0 - b) / b))
    sigma = 1.0 + a_safe * theta
    power = sigma ** (-1.0 / max(n - 1, 1))
    tau = jnp.where(theta > 0, tau1 * jnp.minimum(power, 1.0 / theta), jnp.minimum(tau1 * power, sigma))
    phi = (1.0 - theta) / (1.0 + a_safe * theta)
    ok = ~tiny & jnp.isfinite(tau) & jnp.isfinite(phi) & (tau > 0)
    return jnp.where(ok, tau, tau1), jnp.where(ok, phi, one)


def inverse_update(H, s, y, tau, phi):
    """The self-scaled Broyden-family update of the inverse Hessian (Urbán et al. 2025, Eq. 10)."""
    Hy = H @ y
    yHy = y @ Hy
    ys = y @ s
    v = jnp.sqrt(yHy) * (s / ys - Hy / yHy)
    new = (H - jnp.outer(Hy, Hy) / yHy + phi * jnp.outer(v, v)) / tau + jnp.outer(s, s) / ys
    return 0.5 * (new + new.T)


def direct_update(B, s, y, tau, theta):
    """The same family in direct form, B⁺ = τ[B − BssᵀB/(sᵀBs) + θ (sᵀBs) w wᵀ] + yyᵀ/(yᵀs) (for tests)."""
    Bs = B @ s
    sBs = s @ Bs
    ys = y @ s
    w = y / ys - Bs / sBs
    return tau * (B - jnp.outer(Bs, Bs) / sBs + theta * sBs * jnp.outer(w, w)) + jnp.outer(y, y) / ys


class QNState(NamedTuple):
    value: jax.Array
    grad: jax.Array
    H: jax.Array
    count: jax.Array  # updates done so far (0: H is the initial scaled identity)
    ls_state: Any


def qn_method(f, n: int, variant: str, options: Mapping[str, Any]) -> Method:
    """A flat method for ``f(x, data) -> loss`` with the ``variant`` update."""
    ls = _flat.zoom(options)

    def init(x, data):
        value, grad = jax.value_and_grad(f)(x, data)
        gamma = jnp.minimum(1.0, 1.0 / jnp.linalg.norm(grad)).astype(x.dtype)  # first step ≤ 1 in norm (as optax)
        return QNState(value, grad, gamma * jnp.eye(n, dtype=x.dtype), jnp.zeros((), jnp.int32), ls.init(x))

    def step(x, st: QNState, data):
        fn = lambda z: f(z, data)  # noqa: E731
        d = -(st.H @ st.grad)
        descent = (d @ st.grad < 0) & jnp.all(jnp.isfinite(d))
        scale = jnp.minimum(1.0, 1.0 / jnp.linalg.norm(st.grad))
        H = jnp.where(descent, st.H, scale * jnp.eye(n, dtype=x.dtype))  # reset on a non-descent direction
        d = jnp.where(descent, d, -scale * st.grad)
        s, value, grad, ls_state, failed, evals = _flat.line_search(ls, st.ls_state, x, st.value, st.grad, d, fn)
        moved = value < st.value
        y = grad - st.grad
        ys = y @ s
        curvature = ys > 1e-10 * jnp.linalg.norm(s) * jnp.linalg.norm(y)
        alpha = (s @ d) / (d @ d)
        # before the first update, H₀ = (yᵀs / yᵀy) I (Nocedal & Wright Eq. 6.20)
        H0 = jnp.where(st.count == 0, (ys / (y @ y)) * jnp.eye(n, dtype=x.dtype), H)
        tau, phi = scaling(variant, s, y, st.grad, alpha, H0 @ y, n)
        H_new = jnp.where(moved & curvature, inverse_update(H0, s, y, tau, phi), H)
        # a step that did not lower the loss is not taken; H restarts from the scaled identity
        H_new = jnp.where(moved, H_new, scale * jnp.eye(n, dtype=x.dtype))
        new = QNState(
            jnp.where(moved, value, st.value), jnp.where(moved, grad, st.grad), H_new,
            st.count + (moved & curvature).astype(jnp.int32), ls_state,
        )
        x_new = jnp.where(moved, x + s, x)
        return x_new, new, _flat.info(st.value, new.value, jnp.linalg.norm(new.grad), evals, failed | ~moved)

    return Method(init, step, persistent=("H", "count"))


def build(variant: str):
    def make(ctx, options, unravel, n):
        return qn_method(flat_objective(ctx.objective, unravel), n, variant, options)

    return make
