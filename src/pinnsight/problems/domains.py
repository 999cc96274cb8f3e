"""Problems on domains that are not boxes (a ``geometry`` shape as ``Problem.domain``), each with an exact solution.

- laplace-lshape   Δu = 0 on the L-shaped domain (−1, 1)² ∖ [0, 1] × [−1, 0], u = r^{2/3} sin(2θ/3) (θ ∈ [0, 3π/2]
                   from the positive x axis): the corner singularity of the re-entrant corner at the origin, where
                   ∇u ~ r^{−1/3} is unbounded. Dirichlet data from the exact solution on the whole boundary.
- poisson-annulus  −Δu = 2π² sin(πx) sin(πy) on the annulus 0.5 < r < 1, u = sin(πx) sin(πy); Dirichlet data on the
                   two circles (boundary parts ``inner`` and ``outer``, each its own term).
- heat-disk        u_t = κ Δu on the unit disk, u = 0 on the circle, t ∈ [0, 1]: the two Bessel modes
                   u = J₀(α₀₁ r) e^{−κ α₀₁² t} + ½ J₁(α₁₁ r) cos θ e^{−κ α₁₁² t} (α the first zeros of J₀ and J₁).
- helmholtz-plate  Δu + k²u = q on the plate (−1, 1)² with two circular holes, u = 0 on the edges and the holes
                   (term ``bc`` on the whole boundary, ``bc_holes`` more points on the holes, part ``circle``), q the forcing of the box Helmholtz problem (a₁, a₂) = (1, 4), whose
                   solution the holes disturb: no closed form. Reference: P2 finite elements on a Triangle mesh of
                   the plate (``reference.fem``, h = 0.01, 0.002 on the holes; 8.9e-6 relative L2 from the h = 0.005 mesh), on
                   the 101 × 101 evaluation grid.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

import numpy as np

from .. import reference as ref
from ..precision import float64_scope
from ..geometry import Annulus, Box, Disk, Polygon
from ._base import Dirichlet, Initial, Param, Problem, register_problem
from .wang import helmholtz_forcing, helmholtz_residual

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


# ------------------------------------------------------------------------------------- Helmholtz, plate
PLATE_HOLES = (((-0.4, -0.3), 0.25), ((0.45, 0.4), 0.2))
PLATE_MESH = {"h": 0.01, "holes": 0.002}  # the reference mesh (see tests/test_reference_fem.py for its accuracy)


def plate_shape():
    plate = Box((-1.0, -1.0), (1.0, 1.0))
    for center, radius in PLATE_HOLES:
        plate = plate - Disk(center, radius)
    return plate


def plate_solution(c, h: float, h_holes: float):
    """The finite-element solution (``reference.fem.ScalarSolution``) of the plate on a mesh of size ``h``; kept
    in memory for the last few coefficient sets (the grid and the evaluation nodes probe the same solve)."""
    return _plate_solution(tuple(sorted((k, float(v)) for k, v in c.items())), float(h), float(h_holes))


@functools.lru_cache(maxsize=4)
def _plate_solution(c_items, h: float, h_holes: float):
    from ..geometry.mesh import boundary_parts, mesh_shape
    from ..reference.fem import solve_scalar

    shape = plate_shape()
    mesh = mesh_shape(shape, h, refine={"circle": h_holes})
    parts = boundary_parts(shape, mesh)
    cj = dict(c_items)

    def source(x, y):
        with float64_scope():
            return -np.asarray(helmholtz_forcing(jnp.asarray(x), jnp.asarray(y), cj))
    zero = lambda x, y: 0.0 * x  # noqa: E731
    return solve_scalar(mesh, parts, source=source, shift=-cj["k"] ** 2, dirichlet={part: zero for part in parts})


def _plate_reference(c, axes):
    key = {**{k: float(v) for k, v in c.items()}, **PLATE_MESH, "holes_at": PLATE_HOLES, "x": axes[0], "y": axes[1]}

    def compute():
        X, Y = np.meshgrid(axes[0], axes[1], indexing="ij")
        values = plate_solution(c, PLATE_MESH["h"], PLATE_MESH["holes"]).at(np.stack([X.ravel(), Y.ravel()], 1))
        return values.reshape(X.shape)
    return ref.cached("helmholtz-plate", key, compute, shape=(len(axes[0]), len(axes[1])))


def _plate_at(c, points):
    """The finite-element solution at scattered ``points`` (n, 2) (the evaluation nodes), cached."""
    pts = np.asarray(points, np.float64)
    key = {**{k: float(v) for k, v in c.items()}, **PLATE_MESH, "holes_at": PLATE_HOLES,
           "points": pts}
    compute = lambda: plate_solution(c, PLATE_MESH["h"], PLATE_MESH["holes"]).at(pts)  # noqa: E731
    return ref.cached("helmholtz-plate-points", key, compute, shape=(len(pts),))


@register_problem("helmholtz-plate", params={
    "a1": Param(1.0, "frequency a₁ of the forcing in x", min=0.0, min_exclusive=True),
    "a2": Param(4.0, "frequency a₂ of the forcing in y", min=0.0, min_exclusive=True),
    "k": Param(1.0, "wave number k", min=0.0)},
    summary="Δu + k²u = q on a plate with two holes, u = 0 on edges and holes (finite-element reference)")
def helmholtz_plate(a1: float, a2: float, k: float) -> Problem:
    parts = (Dirichlet(name="bc", n_points=600), Dirichlet(on="circle", name="bc_holes", n_points=200))
    return Problem(
        name="helmholtz-plate", coords=("x", "y"), bounds=((-1.0, 1.0), (-1.0, 1.0)), time=None,
        residual=helmholtz_residual, constraints=parts, coefficients={"a1": a1, "a2": a2, "k": k},
        reference=_plate_reference, domain=plate_shape(), reference_shape=(101, 101), reference_at=_plate_at,
    )
