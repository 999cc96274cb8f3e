"""Energy natural gradient descent (Müller & Zeinhofer, ICML 2023, "Achieving high accuracy with PINNs via
energy natural gradient descent", Alg. 1).

For the physics-informed loss L(θ) = ½‖r(θ)‖² of a linear PDE (r the stacked weighted residuals, as in
``gauss_newton.residual_vector``; pinnsight's loss is ‖r‖², a factor 2 that the step size absorbs), the energy Gram
matrix G_ij = ⟨∂_i u, ∂_j u⟩_energy discretised on the collocation points is JᵀJ, J = ∂r/∂θ. ENGD steps

    θ ← θ − η* G⁺ ∇L(θ),   G⁺∇L = G⁺ Jᵀ r = the minimum-norm least-squares solution δ of J δ ≈ r,

with η* the best step of a line search on a logarithmic grid in (0, 1] (the paper's grid search; here
η_j = 2^(−j), j = 0 … ``grid`` − 1, all evaluated in one vmapped pass). For nonlinear PDEs G = JᵀJ is the
Gauss–Newton matrix and the step is a (globalised) Gauss–Newton step. The pseudo-inverse is taken by an
Tikhonov-regularised Cholesky solve (G + damping·max diag(G)·I), damping = 1e-8 by default (at least 100 machine
epsilons, so float32 factorises); ``damping=0`` takes
the exact pseudo-inverse by an eigendecomposition of G with eigenvalues below ``rcond``·λ_max dropped. Float64 is
recommended (G squares J's condition number). Measured on convection β=5 (3×20 net, float64, Adam 200 then 30
iterations): pseudo-inverse rel L2 0.78 (rcond 1e-10) / 0.15 (rcond 1e-6); damping 1e-8 7.2e-4, 1e-6 9.4e-3 — the
exact pseudo-inverse amplifies the near-null directions of G and the line search then takes tiny steps.

With fewer residual rows N than parameters P the step is solved in sample space by the push-through (Woodbury)
identity (G + μI)⁻¹Jᵀr = Jᵀ(JJᵀ + μI)⁻¹r (Guzmán-Cordero, Dangel, Goldshlager & Zeinhofer 2025, "Improving energy
natural gradient descent through Woodbury, momentum, and randomization", arXiv:2505.12149): an N × N Cholesky
instead of a P × P one, the same μ = damping·max diag(G) and the same step in exact arithmetic (for ``damping=0``
likewise G⁺Jᵀr = Jᵀ(JJᵀ)⁺r, the nonzero eigenvalues of JJᵀ and JᵀJ being equal). ``woodbury=0`` forces the P × P
solve. Measured (float64, 2 cores at load 2, docs/benchmarks.md): wave 3 × 40 (3441 parameters, 1300 rows) 1.05 →
0.23 s per iteration; Helmholtz 3 × 30 (1981 parameters, 1400 rows) 0.28 → 0.18 s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_factor, cho_solve

from . import _flat
from ._flat import Method
from .gauss_newton import residual_jacobian, residual_vector

DEFAULTS = {
    "damping": 1e-8,  # Tikhonov term relative to max diag(G); 0: the pseudo-inverse below
    "rcond": 1e-10,  # with damping=0: eigenvalues of G below rcond·λ_max are treated as zero
    "grid": 20,  # line-search grid η = 1, 1/2, …, 2^(1−grid)
    "woodbury": 1,  # 1: solve in sample space (N × N) when there are fewer residual rows N than parameters
    "gtol": 0.0,
    "ftol": 0.0,
    "patience": 20,
}


class NGState(NamedTuple):
    value: jax.Array  # ‖r‖² at x
    gnorm: jax.Array  # ‖∇ loss‖ = 2‖Jᵀr‖ at x
    step_size: jax.Array  # η* of the last iteration (0 when no grid point lowered the loss)


def natural_direction(J: jax.Array, r: jax.Array, rcond: float, damping: float,
                      woodbury: bool = True) -> jax.Array:
    """δ = (G + damping·max diag(G)·I)⁻¹ Jᵀ r (Cholesky) with G = JᵀJ, or for ``damping=0`` δ = G⁺ Jᵀ r
    (eigenvalues ≤ rcond·λ_max dropped); in sample space, δ = Jᵀ(JJᵀ + μI)⁻¹r, when ``woodbury`` and J has fewer
    rows than columns."""
    rows, cols = J.shape
    diag_g = jnp.sum(J * J, axis=0)  # diag(JᵀJ), the damping's scale in either space
    if woodbury and rows < cols:
        return J.T @ _solve(J @ J.T, diag_g, r, rcond, damping)
    return _solve(J.T @ J, diag_g, J.T @ r, rcond, damping)


def _solve(A: jax.Array, diag_g: jax.Array, b: jax.Array, rcond: float, damping: float) -> jax.Array:
    """(A + μI)⁻¹b with μ = damping·max diag(G), ``diag_g`` = diag(G = JᵀJ), or A⁺b with eigenvalues
    ≤ rcond·λ_max dropped for ``damping=0``."""
    if damping > 0:
        shift = max(damping, 100 * float(jnp.finfo(A.dtype).eps)) * jnp.max(diag_g)  # float32: ≥ 1.2e-5
        return cho_solve(cho_factor(A + shift * jnp.eye(A.shape[0], dtype=A.dtype)), b)
    lam, V = jnp.linalg.eigh(A)
    keep = lam > rcond * jnp.max(lam)
    inv = jnp.where(keep, 1.0 / jnp.where(keep, lam, 1.0), 0.0)
    return V @ (inv * (V.T @ b))


def ng_method(res: Callable, n: int, options: Mapping[str, Any], jacobian: Callable | None = None) -> Method:
    """A flat ENGD method for ``res(x, data) -> r`` (``jacobian(x, data) -> J`` if given, else ``jax.jacfwd``)."""
    rcond, damping, grid = float(options["rcond"]), float(options["damping"]), int(options["grid"])
    woodbury = bool(options["woodbury"])

    def jac(x, data):
        return jacobian(x, data) if jacobian is not None else jax.jacfwd(lambda z: res(z, data))(x)

    def value_of(x, data):
        return jnp.sum(jnp.square(res(x, data)))

    def init(x, data):
        r = res(x, data)
        g = jac(x, data).T @ r
        return NGState(jnp.sum(jnp.square(r)), 2.0 * jnp.linalg.norm(g), jnp.zeros((), x.dtype))

    def step(x, st: NGState, data):
        r = res(x, data)
        J = jac(x, data)
        value = jnp.sum(jnp.square(r))
        d = natural_direction(J, r, rcond, damping, woodbury)
        etas = 0.5 ** jnp.arange(grid, dtype=x.dtype)
        trial = jax.vmap(lambda eta: value_of(x - eta * d, data))(etas)
        trial = jnp.where(jnp.isfinite(trial), trial, jnp.inf)
        best = jnp.argmin(trial)
        improved = trial[best] < value
        eta = jnp.where(improved, etas[best], 0.0)
        x_new = jnp.where(improved, x - eta * d, x)  # never 0·NaN when the solve failed
        new_value = jnp.where(improved, trial[best], value)
        new = NGState(new_value, 2.0 * jnp.linalg.norm(J.T @ r), eta)
        reason = jnp.where(improved, 0, _flat.LINESEARCH)
        return x_new, new, _flat.info(value, new_value, new.gnorm, 1 + grid, ~improved, reason)

    return Method(init, step)


def build(ctx, options, unravel, n):
    r = residual_vector(ctx.problem, ctx.static, ctx.row_scale)
    res = lambda x, data: r(unravel(x), *data)  # noqa: E731
    J = residual_jacobian(ctx.problem, ctx.static, unravel, ctx.row_scale)
    return ng_method(res, n, options, lambda x, data: J(x, *data))
