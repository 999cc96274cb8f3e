"""Incompressible Navier–Stokes in velocity–pressure form: systems of three equations in the fields u, v, p.

- kovasznay     steady flow behind a grid (Kovasznay 1948), exact: with λ = Re/2 − √(Re²/4 + 4π²),
                u = 1 − e^{λx} cos 2πy, v = λ/(2π) e^{λx} sin 2πy, p = (1 − e^{2λx})/2 on [−0.5, 1] × [−0.5, 1.5]
                (the box of DeepXDE's example); velocity on every face, pressure on the faces x = −0.5, 1.
- taylor-green  the decaying Taylor–Green vortex, exact: u = −cos x sin y e^{−2νt}, v = sin x cos y e^{−2νt},
                p = −(cos 2x + cos 2y) e^{−4νt}/4 on [0, 2π]² × [0, 1]; initial velocity, velocity and pressure on
                the faces. The face data take the coefficients (``value(x, y, t, c)``), so ν identified from data
                gets its gradient through them too.
- cavity        the lid-driven cavity on [0, 1]² (steady, Re = 100 by default): u = 1 on the lid y = 1, no slip on
                the other walls, the pressure pinned to 0 at (0.5, 0) (term ``gauge``). Reference: Taylor–Hood
                finite elements with Newton (``reference.navier_stokes``, scikit-fem), checked against the table of
                Ghia, Ghia & Shin (1982) and for its convergence order; 101 × 101 evaluation points.

- cylinder      steady flow in a channel past a cylinder (the DFG benchmark 2D-1 of Schäfer & Turek 1996, Re = 20):
                [0, 2.2] × [0, 0.41] minus the disk of radius 0.05 at (0.2, 0.2), the parabolic inflow of peak 0.3 at
                the inlet and, 20 diameters downstream, the same fully developed (Poiseuille) profile at the outlet
                (instead of the benchmark's do-nothing outlet, so that the network and the reference impose the
                same velocity on the whole boundary), no slip on the walls and the cylinder (its own terms
                ``cyl_u``, ``cyl_v``), the pressure 0 at the outlet's centre (``gauge``). ν = 0.02 / Re. Reference:
                Taylor–Hood on a Triangle mesh (h = 0.02, 0.002 on the cylinder), whose pressure drop across the
                cylinder is the benchmark's 0.1175 (tested).

Equations (each its own loss term): ``mom_x`` u u_x + v u_y (+ u_t) + p_x − ν Δu, ``mom_y`` the same for v,
``div`` u_x + v_y.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from .. import reference as ref
import numpy as np

from ..geometry import Box, Disk
from ._base import Dirichlet, Initial, Param, Pinned, Problem, register_problem

FIELDS, EQUATIONS = ("u", "v", "p"), ("mom_x", "mom_y", "div")


def momentum(f, z, nu, time_index=None) -> dict:
    """The three equations at point ``z`` (coordinates x, y[, t]) for the fields ``f`` (a ``Fields``)."""
    d = len(z)
    grad = lambda g: jax.grad(g, argnums=tuple(range(d)))(*z)  # noqa: E731
    lap = lambda g: jax.grad(lambda *w: jax.grad(g, 0)(*w), 0)(*z) + jax.grad(lambda *w: jax.grad(g, 1)(*w), 1)(*z)  # noqa: E731
    u, v = f.u(*z), f.v(*z)
    gu, gv, gp = grad(f.u), grad(f.v), grad(f.p)
    ut = gu[time_index] if time_index is not None else 0.0
    vt = gv[time_index] if time_index is not None else 0.0
    return {"mom_x": ut + u * gu[0] + v * gu[1] + gp[0] - nu * lap(f.u),
            "mom_y": vt + u * gv[0] + v * gv[1] + gp[1] - nu * lap(f.v),
            "div": gu[0] + gv[1]}


# ------------------------------------------------------------------------------------------------ Kovasznay
def kovasznay_lambda(re: float) -> float:
    return re / 2.0 - math.sqrt(re * re / 4.0 + 4.0 * math.pi**2)


def kovasznay_exact(x, y, lam):
    e = jnp.exp(lam * x)
    return {"u": 1.0 - e * jnp.cos(2 * jnp.pi * y), "v": lam / (2 * jnp.pi) * e * jnp.sin(2 * jnp.pi * y),
            "p": 0.5 * (1.0 - jnp.exp(2 * lam * x))}


def _kovasznay_face(lam: float, name: str):
    return lambda x, y: kovasznay_exact(x, y, lam)[name]


@register_problem(
    "kovasznay",
    params={"re": Param(20.0, "Reynolds number (ν = 1/Re)", min=0.0, min_exclusive=True)},
    summary="steady Navier–Stokes, Kovasznay flow (exact), fields u, v, p; equations mom_x, mom_y, div",
)
def kovasznay(re: float) -> Problem:
    lam = kovasznay_lambda(re)

    def residual(f, x, y, c):
        return momentum(f, (x, y), 1.0 / c["re"])

    faces = tuple(Dirichlet(value=_kovasznay_face(lam, name), field=name, name=f"bc_{name}", n_points=200)
                  for name in ("u", "v"))
    outlet = Dirichlet(value=_kovasznay_face(lam, "p"), coords=("x",), field="p", name="bc_p", n_points=100)
    return Problem(
        name="kovasznay", coords=("x", "y"), bounds=((-0.5, 1.0), (-0.5, 1.5)), time=None,
        residual=residual, constraints=(*faces, outlet), coefficients={"re": re},
        exact=lambda x, y, c: kovasznay_exact(x, y, lam), fields=FIELDS, equations=EQUATIONS,
        reference_shape=(100, 100),
    )


# ----------------------------------------------------------------------------------------------- Taylor–Green
def taylor_green_exact(x, y, t, nu):
    decay = jnp.exp(-2.0 * nu * t)
    return {"u": -jnp.cos(x) * jnp.sin(y) * decay, "v": jnp.sin(x) * jnp.cos(y) * decay,
            "p": -0.25 * (jnp.cos(2 * x) + jnp.cos(2 * y)) * decay**2}


def _tg_initial(name: str):
    return lambda x, y: taylor_green_exact(x, y, 0.0, 0.0)[name]


def _tg_face(name: str):
    return lambda x, y, t, c: taylor_green_exact(x, y, t, c["nu"])[name]  # ν from the (traced or unknown) c


@register_problem(
    "taylor-green",
    params={"nu": Param(0.1, "kinematic viscosity ν", min=0.0, min_exclusive=True)},
    summary="unsteady Navier–Stokes, decaying Taylor–Green vortex (exact) on [0, 2π]² × [0, 1], fields u, v, p",
)
def taylor_green(nu: float) -> Problem:
    def residual(f, x, y, t, c):
        return momentum(f, (x, y, t), c["nu"], time_index=2)

    initial = tuple(Initial(value=_tg_initial(name), field=name, name=f"ic_{name}", n_points=200)
                    for name in ("u", "v"))
    faces = tuple(Dirichlet(value=_tg_face(name), field=name, name=f"bc_{name}", n_points=200) for name in FIELDS)
    return Problem(
        name="taylor-green", coords=("x", "y", "t"), bounds=((0.0, 2 * math.pi), (0.0, 2 * math.pi), (0.0, 1.0)),
        residual=residual, constraints=(*initial, *faces), coefficients={"nu": nu},
        exact=lambda x, y, t, c: taylor_green_exact(x, y, t, c["nu"]), fields=FIELDS, equations=EQUATIONS,
        reference_shape=(41, 41, 11),
    )


# ---------------------------------------------------------------------------------------------------- cavity
def _lid(x, y):
    return jnp.where(y >= 1.0, 1.0, 0.0) * jnp.ones_like(x)


def _cavity_reference(c, axes):
    from ..reference import navier_stokes as ns_ref

    re, cells = float(c["re"]), ns_ref.CAVITY_CELLS
    key = {"re": re, "cells": cells, "x": axes[0], "y": axes[1]}
    return ref.cached("cavity", key, lambda: ns_ref.cavity(axes[0], axes[1], re, cells),
                      shape=(len(axes[0]), len(axes[1]), 3))


@register_problem(
    "cavity",
    params={"re": Param(100.0, "Reynolds number (ν = 1/Re, lid speed 1, side 1)", min=0.0, min_exclusive=True,
                        max=1000.0)},
    summary="steady Navier–Stokes, lid-driven cavity (finite-element reference, Ghia et al. 1982), fields u, v, p",
)
def cavity(re: float) -> Problem:
    def residual(f, x, y, c):
        return momentum(f, (x, y), 1.0 / c["re"])

    walls = (Dirichlet(value=_lid, field="u", name="bc_u", n_points=400),
             Dirichlet(field="v", name="bc_v", n_points=400))
    gauge = Pinned(point=(0.5, 0.0), value=0.0, field="p", name="gauge")
    return Problem(
        name="cavity", coords=("x", "y"), bounds=((0.0, 1.0), (0.0, 1.0)), time=None,
        residual=residual, constraints=(*walls, gauge), coefficients={"re": re},
        reference=_cavity_reference, fields=FIELDS, equations=EQUATIONS, reference_shape=(101, 101),
    )


# ------------------------------------------------------------------------------------------------- cylinder
CHANNEL = (2.2, 0.41)  # length, height
CYLINDER = ((0.2, 0.2), 0.05)  # centre, radius
U_PEAK = 0.3
CYLINDER_MESH = {"h": 0.02, "cylinder": 0.002}


def channel_shape():
    (length, height), (center, radius) = CHANNEL, CYLINDER
    near = lambda x, y: (x - center[0]) ** 2 + (y - center[1]) ** 2 < (1.5 * radius) ** 2  # noqa: E731
    return (Box((0.0, 0.0), (length, height)) - Disk(center, radius)).with_parts(cylinder=near)


def channel_velocity(x, y, xp=jnp):
    """The boundary velocity: the Poiseuille profile of peak U_PEAK at the inlet x = 0 and the outlet x = 2.2,
    no slip elsewhere (the profile vanishes on the walls)."""
    length, height = CHANNEL
    ends = (x <= 1e-9) | (x >= length - 1e-9)
    u = xp.where(ends, 4.0 * U_PEAK * y * (height - y) / height**2, 0.0 * x)
    return u, 0.0 * u


@functools.lru_cache(maxsize=4)
def cylinder_flow(re: float, h: float, h_cylinder: float):
    """The Taylor–Hood solution (``reference.navier_stokes.SteadyFlow``) on a mesh of size ``h``."""
    from ..geometry.mesh import mesh_shape
    from ..reference import navier_stokes as ns_ref

    mesh = mesh_shape(channel_shape(), h, refine={"circle": h_cylinder})
    velocity = lambda x, y: np.stack(channel_velocity(x, y, np))  # noqa: E731
    return ns_ref.solve_steady_mesh(mesh, 0.02 / re, velocity, gauge=(CHANNEL[0], CHANNEL[1] / 2))


def _cylinder_reference(c, axes):
    key = {"re": float(c["re"]), **CYLINDER_MESH, "x": axes[0], "y": axes[1]}

    def compute():
        X, Y = np.meshgrid(axes[0], axes[1], indexing="ij")
        flow = cylinder_flow(float(c["re"]), CYLINDER_MESH["h"], CYLINDER_MESH["cylinder"])
        return flow.at(np.stack([X.ravel(), Y.ravel()], axis=1)).reshape(X.shape + (3,))
    return ref.cached("cylinder", key, compute, shape=(len(axes[0]), len(axes[1]), 3))


def _cylinder_at(c, points):
    """The Taylor–Hood solution (u, v, p) at scattered ``points`` (n, 2) (the evaluation nodes), cached."""
    pts = np.asarray(points, np.float64)
    key = {"re": float(c["re"]), **CYLINDER_MESH, "points": pts}
    compute = lambda: cylinder_flow(float(c["re"]), CYLINDER_MESH["h"], CYLINDER_MESH["cylinder"]).at(pts)  # noqa: E731
    return ref.cached("cylinder-points", key, compute, shape=(len(pts), 3))


@register_problem(
    "cylinder",
    params={"re": Param(20.0, "Reynolds number (mean inflow 0.2, diameter 0.1: ν = 0.02/Re)", min=0.0,
                        min_exclusive=True, max=100.0)},
    summary="steady Navier–Stokes, channel past a cylinder (DFG 2D-1, finite-element reference), fields u, v, p",
)
def cylinder(re: float) -> Problem:
    def residual(f, x, y, c):
        return momentum(f, (x, y), 0.02 / c["re"])

    walls = (Dirichlet(value=lambda x, y: channel_velocity(x, y)[0], field="u", name="bc_u", n_points=600),
             Dirichlet(field="v", name="bc_v", n_points=600),
             Dirichlet(field="u", on="cylinder", name="cyl_u", n_points=200),
             Dirichlet(field="v", on="cylinder", name="cyl_v", n_points=200))
    gauge = Pinned(point=(CHANNEL[0], CHANNEL[1] / 2), value=0.0, field="p", name="gauge")
    return Problem(
        name="cylinder", coords=("x", "y"), bounds=((0.0, CHANNEL[0]), (0.0, CHANNEL[1])), time=None,
        residual=residual, constraints=(*walls, gauge), coefficients={"re": re}, reference=_cylinder_reference,
        fields=FIELDS, equations=EQUATIONS, domain=channel_shape(), reference_shape=(441, 83),
        reference_at=_cylinder_at,
    )
