"""Korteweg–de Vries, the benchmark of Wang, Li, Chen, Perdikaris, "PirateNets" (JMLR 2024; jaxpi ``examples/kdv``).

- kdv  u_t + u u_x + η u_xxx = 0, η = 0.022² (Zabusky & Kruskal 1965), u(x, 0) = cos(πx), x ∈ [−1, 1]
       periodic (u, u_x, u_xx), t ∈ [0, 1]; the initial cosine steepens and breaks into a train of solitons
       (max |u| = 2.57). Published PirateNet rel L2: 4.27e-4. Reference: Fourier pseudo-spectral (2/3-dealiased
       −(u²)_x / 2) + ETDRK4 (``reference.kdv``; 512 modes, dt = 5e-5 at η = 0.022², measured max error
       6e-11) on 512 × 251 points (x without its end point; the jaxpi grid has 512 × 251 with it).

The reference is cached on disk (``reference.cached``) under η, the resolution and the grid.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .. import reference as ref
from ._base import Initial, Param, Periodic, Problem, register_problem


def _d(u, axis: int, order: int = 1):
    for _ in range(order):
        u = jax.grad(u, argnums=axis)
    return u


def kdv_u0(x):
    """u(x, 0) = cos(πx)."""
    return jnp.cos(math.pi * x)


def kdv_residual(u, x, t, c):
    """u_t + u u_x + η u_xxx (Wang et al. 2024, with η = μ² = 0.022²)."""
    return _d(u, 1)(x, t) + u(x, t) * _d(u, 0)(x, t) + c["eta"] * _d(u, 0, 3)(x, t)


def _reference(c, axes):
    eta = float(c["eta"])
    n, dt = ref.kdv_resolution(eta)
    key = {"eta": eta, "modes": n, "dt": dt, "grid": [[len(a), float(a[0]), float(a[-1])] for a in axes]}
    return ref.cached("kdv", key, lambda: ref.kdv(*axes, eta=eta, n_fourier=n, dt=dt),
                      shape=tuple(len(a) for a in axes))


@register_problem(
    "kdv",
    params={
        "eta": Param(ref.KDV_ETA, "dispersion coefficient η of u_xxx (μ² = 0.022² of the benchmark)", min=0.0,
                     min_exclusive=True),
        "t_end": Param(1.0, "final time", min=0.0, min_exclusive=True),
    },
    summary="u_t + u u_x + 0.022² u_xxx = 0, u0 = cos(πx), periodic on [−1, 1] (KdV; PirateNets, Wang et al. 2024)",
)
def kdv(eta: float, t_end: float) -> Problem:
    return Problem(
        name="kdv",
        coords=("x", "t"),
        bounds=((-1.0, 1.0), (0.0, t_end)),
        residual=kdv_residual,
        constraints=(Initial(value=kdv_u0, name="ic", n_points=512), Periodic("x", derivatives=2)),
        coefficients={"eta": eta},
        periodic=("x",),
        reference=_reference,
        reference_shape=(512, 251),
    )
