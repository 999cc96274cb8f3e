"""Allen–Cahn and viscous Burgers, the benchmarks of Raissi, Perdikaris, Karniadakis, J. Comput. Phys. 378 (2019).

- allen-cahn  u_t − ε² u_xx + γ(u³ − u) = 0, ε² = 1e-4, γ = 5, u(x, 0) = x² cos(πx), x ∈ [−1, 1] periodic
              (u and u_x), t ∈ [0, 1]. Reference: Fourier spectral + ETDRK4 (``reference.allen_cahn``, 1024
              modes, from the exact Fourier coefficients of u0) on 512 × 201 points (x without its end point).
- burgers     u_t + u u_x − ν u_xx = 0, ν = 0.01/π, u(x, 0) = −sin(πx), u(±1, t) = 0, t ∈ [0, 1].
              Reference: Cole–Hopf with Gauss–Hermite quadrature (``reference.burgers``) on 256 × 100 points.

References are cached on disk (``reference.cached``) under the coefficients and the grid.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .. import reference as ref
from ..errors import PinnsightError
from ._base import Dirichlet, Initial, Param, Periodic, Problem, register_problem
from .symmetry import Reflection

AC_FOURIER_MODES = 1024  # measured max error < 3e-7 for t ≥ 0.02 (see reference.allen_cahn)


def _grid_key(axes) -> list:
    return [[len(a), float(a[0]), float(a[-1])] for a in axes]


def _u_t(u, x, t):
    return jax.grad(u, 1)(x, t)


def _u_x(u, x, t):
    return jax.grad(u, 0)(x, t)


def _u_xx(u, x, t):
    return jax.grad(jax.grad(u, 0), 0)(x, t)


# ----------------------------------------------------------------------------------------------- Allen–Cahn
def allen_cahn_u0(x):
    """u(x, 0) = x² cos(πx)."""
    return x**2 * jnp.cos(math.pi * x)


def allen_cahn_residual(u, x, t, c):
    """u_t − ε² u_xx + γ(u³ − u) (Raissi et al. 2019, with ε² = 1e-4, γ = 5)."""
    v = u(x, t)
    return _u_t(u, x, t) - c["eps2"] * _u_xx(u, x, t) + c["gamma"] * (v**3 - v)


@register_problem(
    "allen-cahn",
    params={
        "eps2": Param(1e-4, "diffusion coefficient ε²", min=0.0),
        "gamma": Param(5.0, "reaction coefficient γ", min=0.0),
    },
    summary="u_t − 1e-4 u_xx + 5u³ − 5u = 0, u0 = x² cos(πx), periodic on [−1, 1] (Raissi et al. 2019)",
)
def allen_cahn(eps2: float, gamma: float) -> Problem:
    def reference(c, axes):
        key = {"eps2": float(c["eps2"]), "gamma": float(c["gamma"]), "modes": AC_FOURIER_MODES,
               "grid": _grid_key(axes)}
        return ref.cached(
            "allen-cahn", key,
            lambda: ref.allen_cahn(*axes, eps2=float(c["eps2"]), gamma=float(c["gamma"]), n_fourier=AC_FOURIER_MODES),
            shape=tuple(len(a) for a in axes),
        )

    return Problem(
        name="allen-cahn",
        coords=("x", "t"),
        bounds=((-1.0, 1.0), (0.0, 1.0)),
        residual=allen_cahn_residual,
        constraints=(Initial(value=allen_cahn_u0, name="ic", n_points=512), Periodic("x", derivatives=1)),
        coefficients={"eps2": eps2, "gamma": gamma},
        periodic=("x",),
        reference=reference,
        reference_shape=(512, 201),
        symmetries=(Reflection("x", 0.0, 1.0),),  # u0 even, the equation unchanged by x → −x
    )


# -------------------------------------------------------------------------------------------------- Burgers
def burgers_u0(x):
    """u(x, 0) = −sin(πx)."""
    return -jnp.sin(math.pi * x)


def burgers_residual(u, x, t, c):
    """u_t + λ₁ u u_x − ν u_xx (Raissi et al. 2019, with λ₁ = 1, ν = 0.01/π; λ₁ is there to be identified)."""
    return _u_t(u, x, t) + c["lambda1"] * u(x, t) * _u_x(u, x, t) - c["nu"] * _u_xx(u, x, t)


@register_problem(
    "burgers",
    params={"nu": Param(0.01 / math.pi, "viscosity ν (λ₂ of Raissi et al.'s identification)", min=0.0,
                        min_exclusive=True),
            "lambda1": Param(1.0, "convective factor λ₁ (the reference is for λ₁ = 1; --unknown lambda1=… "
                                  "identifies it)")},
    summary="u_t + u u_x − (0.01/π) u_xx = 0, u0 = −sin(πx), u(±1, t) = 0 (Raissi et al. 2019)",
)
def burgers(nu: float, lambda1: float = 1.0) -> Problem:
    if lambda1 != 1.0:
        raise PinnsightError(f"burgers: lambda1={lambda1:g}: the Cole–Hopf reference is for lambda1 = 1 (identify "
                             "it with --unknown lambda1=INITIAL instead)")
    def reference(c, axes):
        key = {"nu": float(c["nu"]), "grid": _grid_key(axes)}
        return ref.cached("burgers", key, lambda: ref.burgers(*axes, nu=float(c["nu"])),
                          shape=tuple(len(a) for a in axes))

    return Problem(
        name="burgers",
        coords=("x", "t"),
        bounds=((-1.0, 1.0), (0.0, 1.0)),
        residual=burgers_residual,
        constraints=(Initial(value=burgers_u0, name="ic"), Dirichlet(coords=("x",), name="bc")),
        coefficients={"nu": nu, "lambda1": lambda1},
        reference=reference,
        reference_shape=(256, 100),
        symmetries=(Reflection("x", 0.0, -1.0),),  # u0 odd; x → −x with u → −u leaves u_t + u u_x − ν u_xx
    )
