"""Steady incompressible Navier–Stokes on a rectangle by finite elements (scikit-fem), and the cavity reference.

Taylor–Hood elements (P2 velocity, P1 pressure) on a triangulated tensor mesh, Newton's method on
ν(∇u, ∇v) + ((u·∇)u, v) − (p, ∇·v) = 0, (q, ∇·u) = 0 with Dirichlet velocity on the whole boundary, started from
the Stokes solution. Each Newton step solves for the new iterate directly, linearising (u·∇)u about the last one
a: (a·∇)u + (u·∇)a − (a·∇)a. The pressure is fixed up to a constant by one pinned degree of freedom and then
shifted so that it vanishes at ``gauge``.

Measured (``tests/test_reference_navier_stokes.py``): on Kovasznay flow (exact, Re = 20) the velocity converges at
order 3 and the pressure at order 2 in the mesh size; the lid-driven cavity at Re = 100 on a cosine-graded 24 × 24
mesh is within 0.005 (u on the vertical centreline) and 0.01 (v on the horizontal one) of the table of Ghia, Ghia
& Shin (1982) — the same deviation as on 96 × 96 (the table's own accuracy); on the 101 × 101 evaluation grid the
64 × 64 and 96 × 96 graded meshes differ by 1.3e-4 (relative L2 of the velocity).

scikit-fem is a well-kept pure-Python finite-element assembler (the issue's choice for references on general
domains); it is imported here only, when a reference is computed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np

from pinnsight.errors import PinnsightError

#: the cavity reference's mesh: cosine-graded cells per side (see the module text for its measured accuracy)
CAVITY_CELLS = 64
GHIA_FILE = "ghia1982_re100.csv"


def graded_nodes(lo: float, hi: float, n: int) -> np.ndarray:
    """``n + 1`` nodes on [lo, hi], clustered at both ends (Chebyshev–Gauss–Lobatto spacing)."""
    s = 0.5 - 0.5 * np.cos(np.pi * np.arange(n + 1) / n)
    return lo + (hi - lo) * s


@dataclass(frozen=True)
class SteadyFlow:
    """A finite-element velocity–pressure solution; ``at(points)`` gives rows (u, v, p) at points (n, 2)."""

    velocity_basis: object
    pressure_basis: object
    velocity: np.ndarray
    pressure: np.ndarray
    newton_steps: int

    def at(self, points) -> np.ndarray:
        from .fem import probe

        (u1, b1), (u2, b2) = self.velocity_basis.split(self.velocity)
        cols = (probe(b1, u1, points), probe(b2, u2, points), probe(self.pressure_basis, self.pressure, points))
        return np.stack(cols, axis=1)


def _forms():
    from skfem import BilinearForm, LinearForm
    from skfem.helpers import ddot, div, dot, grad

    mat_vec = lambda a, b: np.einsum("ij...,j...->i...", a, b)  # noqa: E731

    @BilinearForm
    def viscous(u, v, w):
        return w["nu"] * ddot(grad(u), grad(v))

    @BilinearForm
    def convection(u, v, w):
        a = w["a"]
        return dot(mat_vec(grad(u), a) + mat_vec(a.grad, u), v)

    @LinearForm
    def convection_rhs(v, w):
        a = w["a"]
        return dot(mat_vec(a.grad, a), v)

    @BilinearForm
    def divergence(u, q, w):
        return -q * div(u)

    return viscous, convection, convection_rhs, divergence


def _boundary_values(basis, velocity: Callable) -> tuple[np.ndarray, np.ndarray]:
    """The velocity's boundary degrees of freedom and the full vector with their values set."""
    dofs = basis.get_dofs()
    xy = basis.doflocs
    values = np.asarray(velocity(xy[0], xy[1]), dtype=np.float64)
    full = np.zeros(basis.N)
    for k, comp in enumerate(("u^1", "u^2")):
        idx = dofs.all(comp)
        full[idx] = values[k][idx]
    return dofs.all(), full


def solve_steady(x_nodes, y_nodes, nu: float, velocity: Callable, gauge=(0.5, 0.0), tol: float = 1e-10,
                 max_steps: int = 30) -> SteadyFlow:
    """Steady Navier–Stokes with viscosity ``nu`` on the tensor mesh of ``x_nodes × y_nodes`` (each square cut in
    two triangles), velocity ``velocity(x, y) -> (u, v)`` on the boundary; Newton until the largest velocity
    update is below ``tol``. The pressure vanishes at ``gauge``."""
    from skfem import MeshTri

    mesh = MeshTri.init_tensor(np.asarray(x_nodes, float), np.asarray(y_nodes, float))
    return solve_steady_mesh(mesh, nu, velocity, gauge, tol, max_steps)


def solve_steady_mesh(mesh, nu: float, velocity: Callable, gauge=(0.5, 0.0), tol: float = 1e-10,
                      max_steps: int = 30) -> SteadyFlow:
    """``solve_steady`` on any triangle mesh (``geometry.mesh.mesh_shape`` of a shape): the velocity is given on
    the whole boundary, the pressure vanishes at ``gauge``."""
    from scipy.sparse import bmat
    from skfem import Basis, ElementTriP1, ElementTriP2, ElementVector, asm, condense, solve

    bu = Basis(mesh, ElementVector(ElementTriP2()), intorder=4)
    bp = Basis(mesh, ElementTriP1(), intorder=4)
    viscous, convection, convection_rhs, divergence = _forms()
    lap, div_ = asm(viscous, bu, nu=float(nu)), asm(divergence, bu, bp)
    fixed, u = _boundary_values(bu, velocity)
    fixed = np.concatenate([fixed, [bu.N]])  # the first pressure degree of freedom pinned
    known = np.concatenate([u, np.zeros(bp.N)])
    for step in range(max_steps + 1):
        if step == 0:  # Stokes
            conv, rhs = 0 * lap, np.zeros(bu.N)
        else:
            a = bu.interpolate(u)
            conv, rhs = asm(convection, bu, a=a), asm(convection_rhs, bu, a=a)
        system = bmat([[lap + conv, div_.T], [div_, None]], "csr")
        new = solve(*condense(system, np.concatenate([rhs, np.zeros(bp.N)]), x=known, D=fixed))
        change, u, p = np.abs(new[:bu.N] - u).max(), new[:bu.N], new[bu.N:]
        if step > 0 and change < tol:
            break
    else:
        raise PinnsightError(f"steady Navier–Stokes: Newton did not converge in {max_steps} steps (ν = {nu:g})")
    from .fem import probe

    p = p - probe(bp, p, np.asarray(gauge, float).reshape(1, 2))[0]
    return SteadyFlow(bu, bp, u, p, step)


def lid_velocity(x, y):
    """The driven cavity's wall velocity: u = 1 on the lid y = 1 (its two corners excepted), 0 elsewhere."""
    x, y = np.asarray(x), np.asarray(y)
    u = np.where(np.isclose(y, 1.0) & (x > 1e-12) & (x < 1.0 - 1e-12), 1.0, 0.0)
    return np.stack([u, np.zeros_like(u)])


def cavity_flow(re: float, cells: int = CAVITY_CELLS) -> SteadyFlow:
    """The lid-driven cavity on [0, 1]² at Reynolds number ``re`` (ν = 1/re) on a graded ``cells × cells`` mesh."""
    nodes = graded_nodes(0.0, 1.0, cells)
    return solve_steady(nodes, nodes, 1.0 / re, lid_velocity)


def cavity(x, y, re: float, cells: int = CAVITY_CELLS) -> np.ndarray:
    """(u, v, p) of the cavity on the grid ``x × y``: shape (len(x), len(y), 3), p = 0 at (0.5, 0)."""
    X, Y = np.meshgrid(np.asarray(x, float), np.asarray(y, float), indexing="ij")
    rows = cavity_flow(re, cells).at(np.stack([X.ravel(), Y.ravel()], axis=1))
    return rows.reshape(X.shape + (3,))


def ghia_re100() -> dict[str, np.ndarray]:
    """Ghia, Ghia & Shin (1982), Re = 100: ``y``, ``u`` on the vertical centreline x = 0.5 and ``x``, ``v`` on
    the horizontal one y = 0.5 (Tables I and II, shipped in ``reference/data``)."""
    text = resources.files("pinnsight.reference").joinpath("data", GHIA_FILE).read_text()
    rows = [r for r in csv.reader(line for line in text.splitlines() if not line.startswith("#"))]
    header, body = rows[0], np.asarray(rows[1:], dtype=np.float64)
    return {name: body[:, i] for i, name in enumerate(header)}
