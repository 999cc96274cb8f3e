"""The failure-mode family of Krishnapriyan, Gholami, Zhe, Kirby, Mahoney (NeurIPS 2021), Sec. 3-4.

All on x ∈ [0, 2π) periodic, t ∈ [0, 1]; reference grid 256 × 100 (x without its end point), as in the paper:
- convection         u_t + β u_x = 0                       (Eq. 5)
- reaction           u_t − ρ u(1 − u) = 0                   (Eq. 7)
- reaction-diffusion u_t − ν u_xx − ρ u(1 − u) = 0          (Eq. 8)
- diffusion          u_t − ν u_xx = 0
Periodicity of u_x is also imposed where the equation is second order in x, as in the authors' code.
"""

from __future__ import annotations

import math
from functools import partial

import jax.numpy as jnp
import numpy as np

from .. import reference as ref
from ..derivatives import gradient, value_and_gradient, with_second
from ._base import Initial, Param, Periodic, Problem, register_problem

TWO_PI = 2.0 * math.pi
GRID = (256, 100)


def _sin(x, xp=jnp):
    return xp.sin(x)


def _gauss(x, xp=jnp):
    return xp.exp(-((x - math.pi) ** 2) / (2.0 * (math.pi / 4.0) ** 2))


def _one_plus_sin(x, xp=jnp):
    return 1.0 + xp.sin(x)


INITIAL_CONDITIONS = {"sin": _sin, "gauss": _gauss, "1+sin": _one_plus_sin}
U0_CHOICES = tuple(INITIAL_CONDITIONS)


def _u0(name: str, xp=jnp):
    return partial(INITIAL_CONDITIONS[name], xp=xp)


def _grid_key(axes) -> list:
    return [[len(a), float(a[0]), float(a[-1])] for a in axes]


def _periodic_problem(name, residual, coefficients, u0, *, derivatives, exact=None, reference=None) -> Problem:
    return Problem(
        name=name,
        coords=("x", "t"),
        bounds=((0.0, TWO_PI), (0.0, 1.0)),
        residual=residual,
        constraints=(Initial(value=_u0(u0)), Periodic("x", derivatives=derivatives)),
        coefficients=coefficients,
        options={"u0": u0},
        periodic=("x",),
        exact=exact,
        reference=reference,
        reference_shape=GRID,
    )


# ----------------------------------------------------------------------------------------------- convection
def convection_residual(u, x, t, c):
    """u_t + β u_x (Krishnapriyan et al. 2021, Eq. 5)."""
    u_x, u_t = gradient(u, x, t)
    return u_t + c["beta"] * u_x


@register_problem(
    "convection",
    params={
        "beta": Param(30.0, "convection speed β"),
        "u0": Param("sin", "initial condition", choices=U0_CHOICES),
    },
    summary="u_t + β u_x = 0, periodic on [0, 2π) (Krishnapriyan et al. 2021)",
)
def convection(beta: float, u0: str) -> Problem:
    f = _u0(u0)
    return _periodic_problem(
        "convection",
        convection_residual,
        {"beta": beta},
        u0,
        derivatives=0,
        exact=lambda x, t, c: f(jnp.mod(x - c["beta"] * t, TWO_PI)),
        reference=lambda c, axes: ref.convection(_u0(u0, np), c["beta"], *axes),
    )


# ------------------------------------------------------------------------------------------------- reaction
def reaction_residual(u, x, t, c):
    """u_t − ρ u (1 − u) (Krishnapriyan et al. 2021, Eq. 7)."""
    v, (_, u_t) = value_and_gradient(u, x, t)
    return u_t - c["rho"] * v * (1.0 - v)


def _logistic(u0, rho, t, xp):
    growth = u0 * xp.exp(rho * t)
    return growth / (growth + 1.0 - u0)


@register_problem(
    "reaction",
    params={
        "rho": Param(5.0, "reaction rate ρ", min=0.0),
        "u0": Param("gauss", "initial condition", choices=U0_CHOICES),
    },
    summary="u_t − ρ u(1 − u) = 0, periodic on [0, 2π) (Krishnapriyan et al. 2021)",
)
def reaction(rho: float, u0: str) -> Problem:
    f = _u0(u0)
    return _periodic_problem(
        "reaction",
        reaction_residual,
        {"rho": rho},
        u0,
        derivatives=0,
        exact=lambda x, t, c: _logistic(f(x), c["rho"], t, jnp),
        reference=lambda c, axes: ref.reaction(_u0(u0, np), c["rho"], *axes),
    )


# --------------------------------------------------------------------------------------- reaction-diffusion
def reaction_diffusion_residual(u, x, t, c):
    """u_t − ν u_xx − ρ u (1 − u) (Krishnapriyan et al. 2021, Eq. 8)."""
    v, (_, u_t), (u_xx, _) = with_second(u, 0, x, t)
    return u_t - c["nu"] * u_xx - c["rho"] * v * (1.0 - v)


@register_problem(
    "reaction-diffusion",
    params={
        "nu": Param(3.0, "diffusion coefficient ν", min=0.0),
        "rho": Param(5.0, "reaction rate ρ", min=0.0),
        "u0": Param("gauss", "initial condition", choices=U0_CHOICES),
    },
    summary="u_t − ν u_xx − ρ u(1 − u) = 0, periodic on [0, 2π) (Krishnapriyan et al. 2021)",
)
def reaction_diffusion(nu: float, rho: float, u0: str) -> Problem:
    def reference(c, axes):
        key = {"nu": c["nu"], "rho": c["rho"], "u0": u0, "grid": _grid_key(axes)}
        return ref.cached(
            "reaction-diffusion", key, lambda: ref.reaction_diffusion(_u0(u0, np), c["nu"], c["rho"], *axes),
            shape=tuple(len(a) for a in axes),
        )

    return _periodic_problem(
        "reaction-diffusion", reaction_diffusion_residual, {"nu": nu, "rho": rho}, u0, derivatives=1,
        reference=reference,
    )


# ------------------------------------------------------------------------------------------------ diffusion
def diffusion_residual(u, x, t, c):
    """u_t − ν u_xx."""
    _, (_, u_t), (u_xx, _) = with_second(u, 0, x, t)
    return u_t - c["nu"] * u_xx


_DIFFUSION_EXACT = {
    "sin": lambda x, t, c: jnp.exp(-c["nu"] * t) * jnp.sin(x),
    "1+sin": lambda x, t, c: 1.0 + jnp.exp(-c["nu"] * t) * jnp.sin(x),
}


@register_problem(
    "diffusion",
    params={
        "nu": Param(5.0, "diffusion coefficient ν", min=0.0),
        "u0": Param("sin", "initial condition", choices=U0_CHOICES),
    },
    summary="u_t − ν u_xx = 0, periodic on [0, 2π)",
)
def diffusion(nu: float, u0: str) -> Problem:
    def reference(c, axes):
        key = {"nu": c["nu"], "u0": u0, "grid": _grid_key(axes)}
        return ref.cached("diffusion", key, lambda: ref.diffusion(_u0(u0, np), c["nu"], *axes),
                          shape=tuple(len(a) for a in axes))

    return _periodic_problem(
        "diffusion", diffusion_residual, {"nu": nu}, u0, derivatives=1,
        exact=_DIFFUSION_EXACT.get(u0), reference=reference,
    )
