"""Gauss–Newton with Levenberg–Marquardt damping on the stacked weighted residual vector.

r(θ) = [√(w_k / N_k) r_k(θ)]_k stacks every loss term's pointwise residuals (``losses.pointwise_residuals``;
N_k = number of entries of term k), so ‖r‖² is exactly the weighted loss Σ_k w_k mean(r_k²). Each iteration
solves (JᵀJ + λD) δ = −Jᵀr (Levenberg 1944: D = I, the default; Marquardt 1963: D = diag(JᵀJ)) and accepts δ when the
gain ratio ρ = (‖r‖² − ‖r(θ+δ)‖²) / (‖r‖² − ‖r + Jδ‖²) is positive; the damping follows Nielsen's rule
(Nielsen 1999; Madsen, Nielsen & Tingleff 2004, Eq. 2.21): on acceptance λ ← λ·max(1/3, 1 − (2ρ − 1)³), ν ← 2;
on rejection λ ← λν, ν ← 2ν, and the same Jacobian is tried again. λ₀ = damping · max diag(JᵀJ).

Dense (default): J row by row (a vmapped reverse-mode gradient per residual entry; ``jac_forward=1``: jax.jacfwd),
Cholesky solve (float64 recommended, ``--x64``); a trial that fails to factor counts as rejected.
``matrix_free=1``: D = I and the system is solved by conjugate gradients with Jacobian–vector products (JVP
and VJP), never forming J — for networks too large for an n×n matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_factor, cho_solve

from ..losses import pointwise_residuals, scale_rows, term_jacobian
from . import _flat
from ._flat import Method

DEFAULTS = {
    "damping": 1e-3,  # λ₀ relative to max diag(JᵀJ) (dense) or to ‖Jᵀr‖ (matrix-free)
    # D = I (Levenberg, 0) or diag(JᵀJ) (Marquardt, 1). Measured (benchmarks/optimizers.py, convection β=30 with a
    # 1/5/10/15/20/25 curriculum, 3×20 periodic net, float64, 300 iterations per stage): D = I rel L2 7.9e-4;
    # Marquardt reached a lower loss (1e-7) on the collocation points with rel L2 1.2 — a wrong solution.
    "marquardt": 0,
    "matrix_free": 0,  # 1: CG on (JᵀJ + λI) with Jacobian–vector products
    "cg_iters": 100,
    "cg_tol": 1e-4,  # CG stops at ‖residual‖ ≤ cg_tol·‖Jᵀr‖
    "max_rejections": 30,  # rejected trials in one iteration before stopping with damping-limit
    "jac_forward": 0,  # dense J row by row in reverse mode (0, fast for PINNs) or by jax.jacfwd (1)
    "gtol": 0.0,
    "ftol": 0.0,
    "patience": 20,
}


def residual_vector(problem, static, row_scale: Callable | None = None) -> Callable:
    """``r(params, batch, weights, coeffs)``: the stacked weighted residuals, ‖r‖² = the weighted loss;
    ``row_scale(batch, coeffs) -> {term: (N,) factors}`` multiplies rows (a remedy's, ``Remedy.rows``)."""

    def r(params, batch, weights, coeffs):
        res = pointwise_residuals(problem, eqx.combine(params, static), batch, coeffs)
        if row_scale is not None:
            res = scale_rows(res, row_scale(batch, coeffs))
        return jnp.concatenate([jnp.sqrt(weights[k] / v.size) * v.ravel() for k, v in res.items()])

    return r


def residual_jacobian(problem, static, unravel, row_scale: Callable | None = None) -> Callable:
    """``J(x, batch, weights, coeffs)``: the Jacobian of ``residual_vector`` in the flat parameters, row by row —
    one reverse-mode gradient per residual entry, vmapped over points (cost ≈ M single-point backward passes,
    where ``jax.jacfwd`` costs n full-batch passes and ``jax.jacrev`` of the batched function M full-batch ones);
    ``row_scale`` as in ``residual_vector`` (a point's k rows of J times its factor)."""

    def J(x, batch, weights, coeffs):
        blocks = []
        factors = row_scale(batch, coeffs) if row_scale is not None else {}
        for name in problem.term_names:  # a system's equations, each on the collocation points, then constraints
            jac = term_jacobian(problem, static, name, unravel, x, batch[problem.batch_key(name)], coeffs)
            if name in factors:
                jac = jac * jnp.repeat(factors[name], jac.shape[0] // factors[name].shape[0])[:, None]
            blocks.append(jnp.sqrt(weights[name] / jac.shape[0]) * jac)
        return jnp.concatenate(blocks)

    return J


class LMState(NamedTuple):
    value: jax.Array  # ‖r‖² at x
    damping: jax.Array  # λ
    nu: jax.Array  # Nielsen's growth factor on rejections
    gnorm: jax.Array  # ‖∇ loss‖ = 2‖Jᵀr‖ at x


def nielsen(damping, nu, rho, accepted):
    """Nielsen's damping rule (Madsen, Nielsen & Tingleff 2004, Eq. 2.21): (λ, ν) after a trial with gain ρ."""
    down = damping * jnp.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
    return jnp.where(accepted, down, damping * nu), jnp.where(accepted, 2.0, 2.0 * nu)


def _linearisation(res: Callable, options: Mapping[str, Any], jacobian: Callable | None) -> Callable:
    """``linearise(x, data) -> (r, g = Jᵀr, diag(JᵀJ), solve(λ) -> δ, model(δ) = ‖r + Jδ‖²)``: dense (Cholesky of
    JᵀJ + λD, D = diag(JᵀJ) for Marquardt's scaling) or matrix-free (truncated CG on Jᵀ J products)."""
    matrix_free = bool(options["matrix_free"])
    marquardt = bool(options["marquardt"]) and not matrix_free
    jac = jax.jacfwd if options["jac_forward"] or jacobian is None else None
    cg_iters, cg_tol = options["cg_iters"], options["cg_tol"]

    def linearise(x, data):
        fn = lambda z: res(z, data)  # noqa: E731
        if matrix_free:
            r, vjp = jax.vjp(fn, x)
            g = vjp(r)[0]
            jv = lambda v: jax.jvp(fn, (x,), (v,))[1]  # noqa: E731

            def solve(lam):
                return -_flat.truncated_cg(lambda v: vjp(jv(v))[0] + lam * v, g, cg_iters, cg_tol)[0]

            return r, g, jnp.ones_like(x), solve, lambda d: jnp.sum(jnp.square(r + jv(d)))
        r = fn(x)
        J = jac(fn)(x) if jac is not None else jacobian(x, data)
        A = J.T @ J
        g = J.T @ r
        diag = jnp.diag(A)
        D = jnp.maximum(diag, 1e-12 * jnp.max(diag)) if marquardt else jnp.ones_like(diag)

        def solve(lam):
            return -cho_solve(cho_factor(A + lam * jnp.diag(D)), g)

        return r, g, diag, solve, lambda d: jnp.sum(jnp.square(r + J @ d))

    return linearise


def lm_method(res: Callable, n: int, options: Mapping[str, Any], jacobian: Callable | None = None) -> Method:
    """A flat LM method for the residual function ``res(x, data) -> r`` (``jacobian(x, data) -> J`` if given,
    else ``jax.jacfwd``/``jax.jacrev`` of ``res``)."""
    matrix_free = bool(options["matrix_free"])
    max_rej = options["max_rejections"]
    linearise = _linearisation(res, options, jacobian)

    def init(x, data):
        r, g, diag, _, _ = linearise(x, data)
        scale = jnp.linalg.norm(g) if matrix_free else jnp.max(diag)
        lam = jnp.asarray(options["damping"], x.dtype) * scale
        return LMState(jnp.sum(jnp.square(r)), lam, jnp.asarray(2.0, x.dtype), 2.0 * jnp.linalg.norm(g))

    def step(x, st: LMState, data):
        r, g, _, solve, model = linearise(x, data)
        value = jnp.sum(jnp.square(r))

        def trial(c):
            _, _, lam, nu, k, _ = c
            d = solve(lam)
            new_value = jnp.sum(jnp.square(res(x + d, data)))
            predicted = value - model(d)
            rho = (value - new_value) / predicted
            accepted = jnp.isfinite(new_value) & jnp.all(jnp.isfinite(d)) & (predicted > 0) & (rho > 0)
            rho = jnp.where(accepted, rho, 0.0)
            lam_next, nu_next = nielsen(lam, nu, rho, accepted)
            return d, jnp.where(accepted, new_value, value), lam_next, nu_next, k + 1, accepted

        start = (jnp.zeros_like(x), value, st.damping, st.nu, jnp.zeros((), jnp.int32), jnp.array(False))
        d, new_value, lam, nu, tries, accepted = jax.lax.while_loop(
            lambda c: ~c[5] & (c[4] <= max_rej), trial, start
        )
        x_new = jnp.where(accepted, x + d, x)
        lam = jnp.where(jnp.isfinite(lam), lam, st.damping)
        new = LMState(new_value, lam, nu, 2.0 * jnp.linalg.norm(g))
        reason = jnp.where(accepted, 0, _flat.DAMPING_LIMIT)
        return x_new, new, _flat.info(value, new_value, new.gnorm, 1 + tries,
                                      ~accepted, reason)

    return Method(init, step, persistent=("damping", "nu"))


def build(ctx, options, unravel, n):
    r = residual_vector(ctx.problem, ctx.static, ctx.row_scale)
    res = lambda x, data: r(unravel(x), *data)  # noqa: E731
    J = residual_jacobian(ctx.problem, ctx.static, unravel, ctx.row_scale)
    return lm_method(res, n, options, lambda x, data: J(x, *data))
