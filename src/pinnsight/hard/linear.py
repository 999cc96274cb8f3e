"""The least-squares layer of Négiar, Mahoney, Krishnapriyan (ICLR 2023), "Learning differentiable solvers for
systems with hard constraints", for linear PDEs.

A network gives N basis functions φ_1..φ_N; the solution is u = Σ_j c_j φ_j with c the minimiser of

    ‖A c − b‖² + γ‖c‖²,                                                     (paper Sec. 3, Eq. 3-4; γ: ridge)

whose rows are the PDE residual at enforcement points and the initial/boundary constraint rows, each loss term
scaled by √(w_k / n_k) so that ‖A c − b‖² is exactly the PINN loss Σ_k w_k mean(r_k²) of u at those points.

Rows come from the problem's own pointwise residuals. For an affine residual r(u) = L u − f, the map
c ↦ r(Σ c_j φ_j) is affine in c, so one reverse pass over c at c = 0 gives both the row (L φ_j)_j (the gradient)
and the forcing (−r(0) = f): no per-basis-function derivative passes, and the cost does not grow with N beyond
the last layer. ``check_affine`` verifies affinity (r(c) = r(0) + J c for random c), which rejects nonlinear PDEs.

The solve (``ridge_lstsq``): Householder QR of the stacked matrix [A; √γ I] (condition number κ(A_γ), not κ(A)²
as with the normal equations — this matters in float32), and a custom reverse rule from implicit
differentiation of the optimality condition (AᵀA + γI) c = Aᵀb:

    w = (AᵀA + γI)⁻¹ c̄ = R⁻¹R⁻ᵀ c̄,   Ā = r wᵀ − (A w) cᵀ,   b̄ = A w,   r = b − A c,

two triangular solves with the forward pass's R instead of differentiating through the QR factorisation.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError

#: κ(A_γ)·eps above which the solve is reported ill-conditioned (leading digits of c are lost)
ILL_CONDITIONED_DIGITS = 1e-4


class IllConditionedWarning(UserWarning):
    """The least-squares system of the hard-constraint layer is ill-conditioned for its dtype."""


# --------------------------------------------------------------------------------------------------- solve
def _qr_solve(A, b, gamma):
    n = A.shape[1]
    aug = jnp.concatenate([A, jnp.sqrt(gamma) * jnp.eye(n, dtype=A.dtype)], axis=0)
    q, r = jnp.linalg.qr(aug, mode="reduced")
    rhs = q[: A.shape[0]].T @ b
    c = jax.scipy.linalg.solve_triangular(r, rhs, lower=False)
    return c, r


@jax.custom_vjp
def ridge_lstsq(A: jax.Array, b: jax.Array, gamma: jax.Array) -> jax.Array:
    """argmin_c ‖A c − b‖² + γ‖c‖² (γ > 0) by QR of [A; √γ I]; reverse-mode derivative by implicit
    differentiation (module docstring). ``gamma`` is a traced scalar (no retracing when it changes)."""
    return _qr_solve(A, b, gamma)[0]


def _fwd(A, b, gamma):
    c, r = _qr_solve(A, b, gamma)
    return c, (A, b, c, r)


def _bwd(res, c_bar):
    A, b, c, r = res
    # w = (RᵀR)⁻¹ c̄ with RᵀR = AᵀA + γI
    y = jax.scipy.linalg.solve_triangular(r, c_bar, trans="T", lower=False)
    w = jax.scipy.linalg.solve_triangular(r, y, lower=False)
    resid = b - A @ c
    aw = A @ w
    a_bar = jnp.outer(resid, w) - jnp.outer(aw, c)
    gamma_bar = -jnp.dot(w, c)  # d c / d γ = −(AᵀA + γI)⁻¹ c
    return a_bar, aw, gamma_bar


ridge_lstsq.defvjp(_fwd, _bwd)


# ---------------------------------------------------------------------------------------------------- rows
def affine_rows(fn: Callable[[jax.Array], jax.Array], n: int, dtype) -> tuple[jax.Array, jax.Array]:
    """``(J, b)`` with ``fn(c) = J c − b`` for an affine ``fn: R^n -> R^m`` (or scalar): one linearisation at 0."""
    zero = jnp.zeros(n, dtype)
    value, pullback = jax.vjp(lambda c: jnp.atleast_1d(fn(c)), zero)
    (jac,) = jax.vmap(pullback)(jnp.eye(value.shape[0], dtype=value.dtype))
    return jac, -value


def combination(basis: Callable[[jax.Array], jax.Array], c: jax.Array) -> Callable[..., jax.Array]:
    """u(*z) = Σ_j c_j φ_j(z) as a function of scalar coordinates (what residuals take)."""
    return lambda *z: jnp.dot(c, basis(jnp.stack(z)))


def term_rows(problem, basis, n: int, batch: Mapping[str, jax.Array], coeffs, dtype) -> dict[str, tuple]:
    """Per loss term ``(A_k, b_k)``: the term's residual of Σ c_j φ_j is ``A_k c − b_k`` (rows flattened:
    a constraint returning k values per row gives k rows)."""

    def res_row(p):
        return affine_rows(lambda c: problem.residual(combination(basis, c), *p, coeffs), n, dtype)

    out = {}
    A, b = jax.vmap(res_row)(batch["res"])
    out["res"] = (A.reshape(-1, n), b.reshape(-1))
    for con in problem.constraints:
        def con_row(row, con=con):
            return affine_rows(lambda c: con.residual(combination(basis, c), row, coeffs, problem), n, dtype)

        A, b = jax.vmap(con_row)(batch[con.name])
        out[con.name] = (A.reshape(-1, n), b.reshape(-1))
    return out


def weighted_system(rows: Mapping[str, tuple], weights: Mapping[str, float]) -> tuple[jax.Array, jax.Array]:
    """Stack the terms' rows, term k scaled by √(w_k / n_k) (n_k its row count), so that ‖A c − b‖² equals
    Σ_k w_k mean(r_k²), the PINN loss (``losses.loss_terms`` + ``weighted_loss``)."""
    As, bs = [], []
    for name, (A, b) in rows.items():
        s = jnp.sqrt(jnp.asarray(weights.get(name, 1.0), A.dtype) / A.shape[0])
        As.append(s * A)
        bs.append(s * b)
    return jnp.concatenate(As, axis=0), jnp.concatenate(bs)


# ------------------------------------------------------------------------------------------ conditioning
def conditioning(A, gamma: float) -> dict[str, float]:
    """Singular-value summary of the (weighted) system on the host: κ(A), and κ(A_γ) of the stacked matrix that
    the QR solve factorises, κ(A_γ) = √((σ_max² + γ) / (σ_min² + γ))."""
    s = np.linalg.svd(np.asarray(A, np.float64), compute_uv=False)
    smax, smin = float(s[0]), float(s[-1]) if A.shape[0] >= A.shape[1] else 0.0
    return {
        "sigma_max": smax,
        "sigma_min": smin,
        "cond": smax / smin if smin > 0 else math.inf,
        "cond_ridge": math.sqrt((smax**2 + gamma) / (smin**2 + gamma)),
        "rank_1e-10": int(np.sum(s > 1e-10 * smax)),
    }


def warn_if_ill_conditioned(cond: Mapping[str, float], dtype, where: str = "") -> bool:
    """Issue ``IllConditionedWarning`` when κ(A_γ)·eps(dtype) > 1e-4 (fewer than 4 reliable digits in c)."""
    eps = float(jnp.finfo(dtype).eps)
    bad = cond["cond_ridge"] * eps > ILL_CONDITIONED_DIGITS
    if bad:
        hint = " (train with float64)" if jnp.dtype(dtype) == jnp.float32 else " (raise ridge= or use fewer basis functions)"
        warnings.warn(
            f"hard-constraint least squares{' ' + where if where else ''} is ill-conditioned: κ = {cond['cond_ridge']:.2e}"
            f" with eps = {eps:.1e}{hint}", IllConditionedWarning, stacklevel=2,
        )
    return bad


def affine_defects(problem, u: Callable, v: Callable, batch: Mapping[str, jax.Array], coeffs) -> dict:
    """Per term ``(max |r(u + v) − r(u) − r(v) + r(0)|, scale)`` for two functions u, v of scalar coordinates:
    zero (to rounding) for an affine residual r(u) = L u − f; a polynomial nonlinearity leaves cross terms
    (u² gives 2uv). Residual evaluations only, so cheap to compile."""
    zero = lambda *z: 0.0 * z[0]  # noqa: E731
    both = lambda *z: u(*z) + v(*z)  # noqa: E731

    def defect(r):
        vals = [r(f) for f in (both, u, v, zero)]
        d = vals[0] - vals[1] - vals[2] + vals[3]
        return jnp.max(jnp.abs(d)), sum(jnp.max(jnp.abs(x)) for x in vals)

    out = {"res": defect(lambda f: jax.vmap(lambda p: problem.residual(f, *p, coeffs))(batch["res"]))}
    for con in problem.constraints:
        out[con.name] = defect(
            lambda f, con=con: jax.vmap(lambda row: con.residual(f, row, coeffs, problem))(batch[con.name])
        )
    return out


def check_affine(problem, defects: Mapping[str, tuple], rtol: float) -> None:
    """Raise PinnsightError unless every term's ``affine_defects`` is within ``rtol`` of its scale (e.g. the
    reaction term ρu(1 − u) fails)."""
    for name, (err, scale) in defects.items():
        err, scale = float(err), float(scale) + 1e-30
        if not err <= rtol * scale:
            what = "PDE residual" if name == "res" else f"constraint {name!r}"
            raise PinnsightError(
                f"hard constraints need a linear PDE: the {what} of problem {problem.name!r} is not affine in u "
                f"(relative defect {err / scale:.1e})"
            )
