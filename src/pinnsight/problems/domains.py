"""Problems on domains that are not boxes (a ``geometry`` shape as ``Problem.domain``), each with an exact solution.

- laplace-lshape   Δu = 0 on the L-shaped domain (−1, 1)² ∖ [0, 1] × [−1, 0], u = r^{2/3} sin(2θ/3) (θ ∈ [0, 3π/2]
                   from the positive x axis): the corner singularity of the re-entrant corner at the origin, where
                   ∇u ~ r^{−1/3} is unbounded. Dirichlet data from the exact solution on the whole boundary.
- poisson-annulus  −Δu = 2π² sin(πx) sin(πy) on the annulus 0.5 < r < 1, u = sin(πx) sin(πy); Dirichlet data on the
                   two circles (boundary parts ``inner`` and ``outer``, each its own term).
- heat-disk        u_t = κ Δu on the unit disk, u = 0 on the circle, t ∈ [0, 1]: the two Bessel modes
                   u = J₀(α₀₁ r) e^{−κ α₀₁² t} + ½ J₁(α₁₁ r) cos θ e^{−κ α₁₁² t} (α the first zeros of J₀ and J₁).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ..geometry import Annulus, Disk, Polygon
from ._base import Dirichlet, Initial, Param, Problem, register_problem

#: the L-shape, counter-clockwise from (−1, −1); the re-entrant corner is the origin
L_VERTICES = ((-1.0, -1.0), (0.0, -1.0), (0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (-1.0, 1.0))
ALPHA_01, ALPHA_11 = 2.404825557695773, 3.8317059702075123  # first zeros of J₀ and J₁


def laplacian(u, x, y):
    return jax.grad(jax.grad(u, 0), 0)(x, y) + jax.grad(jax.grad(u, 1), 1)(x, y)


# ---------------------------------------------------------------------------------------------- L-shape
def lshape_exact(x, y):
    """r^{2/3} sin(2θ/3) with θ = atan2(y, x) taken in [0, 2π) (the domain covers θ ∈ [0, 3π/2]); 0 at the
    corner, with finite (zero) derivatives there, so that autodiff through it never makes a NaN."""
    r2 = x * x + y * y
    corner = r2 == 0
    xs, ys, r2s = jnp.where(corner, 1.0, x), jnp.where(corner, 0.0, y), jnp.where(corner, 1.0, r2)
    theta = jnp.mod(jnp.arctan2(ys, xs), 2 * jnp.pi)
    return jnp.where(corner, 0.0, jnp.power(r2s, 1.0 / 3.0) * jnp.sin(2.0 * theta / 3.0))


@register_problem("laplace-lshape", params={},
                  summary="Δu = 0 on the L-shape, corner-singular exact u = r^(2/3) sin(2θ/3)")
def laplace_lshape() -> Problem:
    def residual(u, x, y, c):
        return laplacian(u, x, y)

    return Problem(
        name="laplace-lshape", coords=("x", "y"), bounds=((-1.0, 1.0), (-1.0, 1.0)), time=None,
        residual=residual, constraints=(Dirichlet(value=lshape_exact, name="bc", n_points=400),),
        exact=lambda x, y, c: lshape_exact(x, y), domain=Polygon(L_VERTICES), reference_shape=(101, 101),
    )


# ---------------------------------------------------------------------------------------------- annulus
def annulus_exact(x, y):
    return jnp.sin(jnp.pi * x) * jnp.sin(jnp.pi * y)


@register_problem("poisson-annulus", params={},
                  summary="−Δu = 2π² sin(πx) sin(πy) on the annulus 0.5 < r < 1 (exact), parts inner / outer")
def poisson_annulus() -> Problem:
    def residual(u, x, y, c):
        return -laplacian(u, x, y) - 2 * jnp.pi**2 * annulus_exact(x, y)

    parts = tuple(Dirichlet(value=annulus_exact, on=part, name=f"bc_{part}", n_points=n)
                  for part, n in (("inner", 100), ("outer", 200)))
    return Problem(
        name="poisson-annulus", coords=("x", "y"), bounds=((-1.0, 1.0), (-1.0, 1.0)), time=None,
        residual=residual, constraints=parts, exact=lambda x, y, c: annulus_exact(x, y),
        domain=Annulus((0.0, 0.0), 0.5, 1.0), reference_shape=(101, 101),
    )


# -------------------------------------------------------------------------------------------- heat, disk
def bessel_series(n: int, x2, terms: int = 24):
    """J_n(x) / x^n as a function of x² by the power series Σ_k (−1)^k (x²/4)^k / (2^n k! (k + n)!): smooth at 0
    and differentiable (no square root); for x ≤ 5 its terms are below 10 and the 24th below 1e-28, so it is
    accurate to a few units of round-off."""
    q = -x2 / 4.0
    total, term = jnp.zeros_like(x2), jnp.ones_like(x2) / (2.0**n * math.factorial(n))
    for k in range(terms):
        total = total + term
        term = term * q / ((k + 1) * (k + 1 + n))
    return total


def heat_disk_exact(x, y, t, kappa):
    r2 = x * x + y * y
    mode0 = bessel_series(0, ALPHA_01**2 * r2) * jnp.exp(-kappa * ALPHA_01**2 * t)
    mode1 = 0.5 * ALPHA_11 * x * bessel_series(1, ALPHA_11**2 * r2) * jnp.exp(-kappa * ALPHA_11**2 * t)  # J₁ cos θ
    return mode0 + mode1


@register_problem("heat-disk", params={"kappa": Param(0.1, "diffusivity κ", min=0.0, min_exclusive=True)},
                  summary="u_t = κΔu on the unit disk, u = 0 on the circle, two Bessel modes (exact)")
def heat_disk(kappa: float) -> Problem:
    def residual(u, x, y, t, c):
        lap = jax.grad(jax.grad(u, 0), 0)(x, y, t) + jax.grad(jax.grad(u, 1), 1)(x, y, t)
        return jax.grad(u, 2)(x, y, t) - c["kappa"] * lap

    return Problem(
        name="heat-disk", coords=("x", "y", "t"), bounds=((-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0)),
        residual=residual,
        constraints=(Initial(value=lambda x, y: heat_disk_exact(x, y, 0.0, 0.0), name="ic", n_points=400),
                     Dirichlet(name="bc", n_points=400)),
        coefficients={"kappa": kappa}, exact=lambda x, y, t, c: heat_disk_exact(x, y, t, c["kappa"]),
        domain=Disk((0.0, 0.0), 1.0), reference_shape=(61, 61, 11),
    )
