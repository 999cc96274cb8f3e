"""Operator conditioning of physics-informed training (De Ryck, Bonnet, Mishra, de Bézenac, ICLR 2024).

Their key result (Thm. 2.3, Eq. 2.6): near a minimiser, gradient descent on a PINN loss moves by
θ_{k+1} − θ* = (I − ηA)(θ_k − θ*), where A_ij = ⟨Dφ_i, Dφ_j⟩_Ω + λ⟨Bφ_i, Bφ_j⟩_∂Ω, φ_i = ∂u/∂θ_i, i.e. the
Hermitian square D*D seen through the model's tangent features; the number of steps to a tolerance grows
like κ(A). For a model linear in θ (``models.linear_fourier``) this is exact, A = Hessian of the loss / 2.

What is here:
- ``poisson_matrix`` / ``advection_matrix``: A for −u'' = f (Dirichlet) and u_t + βu_x = 0 (periodic in x,
  initial condition at t = 0) on the exact Fourier bases of ``LinearFourier``, by exact quadrature (so A is the
  paper's continuous matrix) or on a sampled training batch (``batch_matrix``: what the trainer's loss sees).
  κ grows like K⁴ for Poisson (largest eigenvalue (Kω)⁴/2, smallest fixed by the boundary term) and like β² for
  advection (largest symbol |2πM/T + βK|², smallest fixed by the initial condition); with the diagonal
  preconditioner (Jacobi scaling of the exact A, see ``models.linear_fourier``) both stay bounded.
- ``condition_number``: λ_max / λ_min of a symmetric matrix by ``numpy.linalg.eigvalsh`` in float64.
- ``gauss_newton_condition``: for any model (a network), κ of the empirical Gauss–Newton matrix JᵀJ of the
  stacked weighted residuals on (a subsample of) a batch, restricted to its nonzero spectrum — the matrix that
  plays the role of A for a network linearised at its current parameters (their Sec. 2, NTK regime).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..errors import PinnsightError
from ..models.linear_fourier import (
    FourierBasis,
    LinearSetup,
    exact_setup,
    first_harmonic,
    fourier_basis,
    jacobi_scaling,
    operator_matrix,
)

__all__ = [
    "GaussNewtonCondition", "advection_matrix", "batch_matrix", "condition_number", "fitted_exponent",
    "gauss_newton_condition", "gauss_newton_spectrum", "linear_problem_matrix", "operator_matrix",
    "poisson_matrix", "precondition",
]


# --------------------------------------------------------------------------------------------- matrices
def condition_number(A: np.ndarray) -> float:
    """κ(A) = λ_max / λ_min of the symmetric matrix A (float64 ``eigvalsh``); inf when λ_min ≤ 0."""
    ev = np.linalg.eigvalsh(np.asarray(A, np.float64))
    return float(ev[-1] / ev[0]) if ev[0] > 0 else math.inf


def precondition(A: np.ndarray, p: np.ndarray) -> np.ndarray:
    """PᵀAP for P = diag(p): the matrix gradient descent sees after θ = P θ̃ (paper, Sec. 3)."""
    p = np.asarray(p, np.float64)
    return p[:, None] * np.asarray(A, np.float64) * p[None, :]


def linear_problem_matrix(problem, harmonics: Sequence[int], lam: float | Mapping[str, float] = 1.0,
                          preconditioned: bool = False) -> np.ndarray:
    """Exact-quadrature A of a registered linear ``problem`` on the Fourier basis with ``harmonics`` per
    coordinate (``LinearFourier``'s basis), optionally preconditioned by the Jacobi scaling of itself."""
    basis = fourier_basis(problem.bounds, harmonics)
    A = operator_matrix(exact_setup(problem, basis, lam))
    if preconditioned:
        A = precondition(A, jacobi_scaling(A, first_harmonic(basis)))
    return A


def poisson_matrix(K: int, lam: float = 1.0, *, bounds: tuple[float, float] = (0.0, 1.0),
                   preconditioned: bool = False) -> np.ndarray:
    """A for −u'' = f on ``bounds`` with u = g at both ends and Fourier features 1, cos ks, sin ks, k ≤ K
    (s = ω(x − c) ∈ [−π, π], ω = 2π/L; the paper's Poisson example for bounds = (−π, π)), exact quadrature:
    A = diag(0, (kω)⁴/2 …) + λ v vᵀ, v = (1, (−1)^k [cos], 0 [sin]) (mean over the two ends)."""
    from ..problems import make_problem

    problem = dataclasses.replace(make_problem("poisson"), bounds=(tuple(map(float, bounds)),))
    return linear_problem_matrix(problem, [K], lam, preconditioned)


def advection_matrix(beta: float, K: int, M: int, lam: float = 1.0, *,
                     bounds: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 2 * math.pi), (0.0, 1.0)),
                     preconditioned: bool = False) -> np.ndarray:
    """A for u_t + βu_x = 0 (the ``convection`` problem: x periodic, u(x, 0) = u0(x) with weight λ) on the
    travelling-wave basis cos/sin(k ω_x x + l ω_t t), |k| ≤ K, |l| ≤ M, exact quadrature: the interior part is
    diag(σ²/2), σ = l ω_t + β k ω_x, plus λ × the initial-slice Gram matrix (couples all l of one k)."""
    from ..problems import make_problem

    problem = make_problem("convection", beta=float(beta))
    problem = dataclasses.replace(problem, bounds=tuple(tuple(map(float, b)) for b in bounds))
    return linear_problem_matrix(problem, [K, M], lam, preconditioned)


def batch_matrix(problem, basis: FourierBasis, batch: Mapping[str, np.ndarray],
                 weights: Mapping[str, float] | None = None, scale: np.ndarray | None = None) -> np.ndarray:
    """A on a sampled training ``batch`` (``sampling.sample_batch`` rows): A = Φ_Dᵀ Φ_D / N + Σ_k w_k Φ_kᵀ Φ_k / N_k,
    the Hessian / 2 of the trainer's loss Σ_k w_k mean(r_k²) for ``LinearFourier`` with feature scale ``scale``.
    Periodic constraint rows are left out: every mode takes equal values on the two faces, so they add 0."""
    from ..models.linear_fourier import OPERATORS
    from ..problems import Dirichlet, Initial, Periodic

    weights = {k: 1.0 for k in problem.term_names} | dict(weights or {})
    d = problem.dim
    boundary = []
    for con in problem.constraints:
        rows = np.asarray(batch[con.name], np.float64)
        if isinstance(con, Periodic):
            continue
        if isinstance(con, Initial):
            alpha = tuple(con.order if i == problem.time_index else 0 for i in range(d))
        elif isinstance(con, Dirichlet):
            alpha = (0,) * d
        else:
            raise PinnsightError(f"batch_matrix: constraint {con.name!r} ({type(con).__name__}) is not supported")
        boundary.append((con.name, float(weights[con.name]), alpha, rows[:, :d], np.full(len(rows), 1.0 / len(rows))))
    if problem.name not in OPERATORS:
        raise PinnsightError(f"batch_matrix: no linear operator is known for problem {problem.name!r}")
    setup = LinearSetup(basis, OPERATORS[problem.name](problem.coefficients),
                        np.asarray(batch["res"], np.float64)[:, :d], tuple(boundary))
    A = operator_matrix(_weighted_interior(setup, float(weights["res"])))
    return precondition(A, scale) if scale is not None else A


def _weighted_interior(setup: LinearSetup, w: float) -> LinearSetup:
    """The same setup with the interior operator scaled by √w (so its Gram block is scaled by w)."""
    return dataclasses.replace(setup, operator=tuple((math.sqrt(w) * a, alpha) for a, alpha in setup.operator))


def fitted_exponent(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log y against log x (the growth exponent: y ∝ x^slope)."""
    return float(np.polyfit(np.log(np.asarray(x, np.float64)), np.log(np.asarray(y, np.float64)), 1)[0])


# ------------------------------------------------------------------------------------------ Gauss–Newton
class GaussNewtonCondition(NamedTuple):
    """κ of JᵀJ on its nonzero spectrum (eigenvalues > rtol · largest), with the numbers behind it."""

    cond: float
    eig_max: float
    eig_min: float  # smallest eigenvalue counted as nonzero
    rank: int
    n_params: int
    n_rows: int
    rtol: float
    dtype: str  # dtype the Jacobian was computed in (float32: κ beyond ~1e7 is not resolved)


def _subsample(rows: jax.Array, max_points: int | None, key: jax.Array | None) -> jax.Array:
    n = rows.shape[0]
    if max_points is None or n <= max_points:
        return rows
    if key is None:
        idx = np.round(np.linspace(0, n - 1, max_points)).astype(np.int64)  # evenly spread, deterministic
        return rows[idx]
    return rows[jax.random.choice(key, n, (max_points,), replace=False)]


def gauss_newton_spectrum(problem, model, batch: Mapping[str, jax.Array],
                          coeffs: Mapping[str, jax.Array] | None = None, weights: Mapping[str, float] | None = None,
                          *, max_points: int | None = 256, key: jax.Array | None = None) -> tuple[np.ndarray, int, str]:
    """Eigenvalues of JᵀJ (descending; float64), J the Jacobian in the flat parameters of the stacked weighted
    residuals r = [√(w_k/N_k) r_k] (‖r‖² = the loss, so JᵀJ = Gauss–Newton Hessian / 2), at most ``max_points``
    rows per term (evenly spread, or random with ``key``). Computed as squared singular values of J in float64
    numpy (more accurate than eigvalsh of JᵀJ); J itself is float64 when x64 is enabled, else the model's dtype.
    Returns (eigenvalues, number of rows, dtype of J)."""
    from ..optimizers.gauss_newton import residual_jacobian

    params, static = eqx.partition(model, eqx.is_array)
    if jax.config.jax_enable_x64:
        params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a,
                                        params)
    x, unravel = ravel_pytree(params)
    dtype = x.dtype
    keys = jax.random.split(key, len(problem.term_names)) if key is not None else [None] * len(problem.term_names)
    sub = {k: jnp.asarray(_subsample(batch[k], max_points, kk), dtype) for k, kk in zip(problem.term_names, keys)}
    w = {k: jnp.asarray(1.0 if weights is None else weights.get(k, 1.0), dtype) for k in problem.term_names}
    c = {k: jnp.asarray(v, dtype) for k, v in (coeffs if coeffs is not None else problem.coefficients).items()}
    J = np.asarray(jax.jit(residual_jacobian(problem, static, unravel))(x, sub, w, c), np.float64)
    s = np.linalg.svd(J, compute_uv=False)
    return s**2, J.shape[0], str(np.dtype(dtype))


def gauss_newton_condition(problem, model, batch: Mapping[str, jax.Array],
                           coeffs: Mapping[str, jax.Array] | None = None, weights: Mapping[str, float] | None = None,
                           *, max_points: int | None = 256, key: jax.Array | None = None, rtol: float | None = None) -> GaussNewtonCondition:
    """κ(JᵀJ) restricted to the nonzero spectrum (equal to that of JJᵀ): eigenvalues above ``rtol`` × the largest
    count as nonzero; default rtol = max(rows, params) · ε of J's dtype (squared, as eigenvalues are σ²), the
    ``numpy.linalg.matrix_rank`` convention. Parameters that do not move the residuals (e.g. frozen Fourier
    matrices read under stop_gradient) give zero columns and drop out."""
    eig, n_rows, dtype = gauss_newton_spectrum(problem, model, batch, coeffs, weights, max_points=max_points, key=key)
    params, _ = eqx.partition(model, eqx.is_array)
    n_params = int(ravel_pytree(params)[0].size)
    if rtol is None:
        rtol = (max(n_rows, n_params) * float(np.finfo(dtype).eps)) ** 2
    if eig[0] <= 0:
        raise PinnsightError("gauss_newton_condition: the Jacobian is zero (no residual depends on the parameters)")
    nonzero = eig[eig > rtol * eig[0]]
    return GaussNewtonCondition(float(nonzero[0] / nonzero[-1]), float(nonzero[0]), float(nonzero[-1]),
                                int(len(nonzero)), n_params, int(n_rows), float(rtol), dtype)
