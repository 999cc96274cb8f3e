"""Finite-element references on general 2-D domains (scikit-fem on a Triangle mesh of the shape).

``solve_scalar`` solves −Δu + s·u = f (Helmholtz Δu + k²u = f is s = −k², f → −f) with P2 elements, Dirichlet
values on some boundary parts (nodal interpolation at the boundary degrees of freedom) and normal fluxes
∂u/∂n = g on others (a boundary integral; parts given neither are natural, ∂u/∂n = 0). ``probe`` evaluates a
finite-element function at any points: in the triangle that contains the point, or — for the thin slivers between
a circle and its inscribed polygon, which the mesh does not cover — by the polynomial of the nearest triangle,
extended (the slivers are h²/(8r) wide).

Measured (``tests/test_reference_fem.py``): on a manufactured solution the error falls at order 3 in L² on a
polygon (the L-shape), and at order ≥ 2 on a disk with a hole (there the polygonal boundary limits it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from pinnsight.errors import PinnsightError

Field = Callable[[np.ndarray, np.ndarray], np.ndarray]  # f(x, y) on NumPy arrays


def _cells(basis, pts: np.ndarray) -> np.ndarray:
    """The triangle of each point (2, n): the one containing it, else the least-outside of the 5 nearest."""
    mesh, mapping = basis.mesh, basis.mapping
    mesh.element_finder(mapping=mapping)  # builds the centroid tree
    near = mesh._cached_tree.query(pts.T, min(5, mesh.t.shape[1]))[1].reshape(pts.shape[1], -1)
    worst = np.empty(near.shape)
    for j in range(near.shape[1]):
        ref = mapping.invF(pts[:, :, None], tind=near[:, j])[:, :, 0]  # local coordinates (2, n)
        worst[:, j] = np.minimum(np.minimum(ref[0], ref[1]), 1.0 - ref[0] - ref[1])
    return near[np.arange(pts.shape[1]), np.argmax(worst, axis=1)]


def probe(basis, values: np.ndarray, points) -> np.ndarray:
    """The finite-element function ``values`` of the scalar ``basis`` at ``points`` (n, 2)."""
    pts = np.asarray(points, np.float64).T
    cells = _cells(basis, pts)
    local = basis.mapping.invF(pts[:, :, None], tind=cells)
    phis = np.stack([np.asarray(basis.elem.gbasis(basis.mapping, local, k, tind=cells)[0])[:, 0]
                     for k in range(basis.Nbfun)])
    return np.sum(phis * values[basis.element_dofs[:, cells]], axis=0)


@dataclass(frozen=True)
class ScalarSolution:
    """A P2 finite-element solution on a mesh; ``at(points)`` its values at points (n, 2)."""

    basis: object
    values: np.ndarray

    def at(self, points) -> np.ndarray:
        return probe(self.basis, self.values, points)


def _forms(source: Field | None):
    from skfem import BilinearForm, LinearForm
    from skfem.helpers import dot, grad

    @BilinearForm
    def stiffness(u, v, w):
        return dot(grad(u), grad(v)) + w["shift"] * u * v

    @LinearForm
    def load(v, w):
        return (source(w.x[0], w.x[1]) if source is not None else 0.0 * w.x[0]) * v

    return stiffness, load


def _flux_load(mesh, element, facets, flux: Field) -> np.ndarray:
    from skfem import FacetBasis, LinearForm

    @LinearForm
    def boundary(v, w):
        return flux(w.x[0], w.x[1]) * v

    return boundary.assemble(FacetBasis(mesh, element, facets=facets, intorder=6))


def _check_parts(parts: Mapping[str, np.ndarray], names) -> None:
    unknown = [n for n in names if n not in parts]
    if unknown:
        raise PinnsightError(f"finite elements: no boundary part {unknown[0]!r} (parts: {', '.join(parts)})")


def solve_scalar(mesh, parts: Mapping[str, np.ndarray], *, source: Field | None = None, shift: float = 0.0,
                 dirichlet: Mapping[str, Field] | None = None,
                 flux: Mapping[str, Field] | None = None) -> ScalarSolution:
    """−Δu + shift·u = source on ``mesh`` (P2), u = dirichlet[part] and ∂u/∂n = flux[part] on the facets
    ``parts[part]`` (``geometry.mesh.boundary_parts``); other boundary parts have ∂u/∂n = 0."""
    from skfem import Basis, ElementTriP2, condense, solve

    dirichlet, flux = dict(dirichlet or {}), dict(flux or {})
    _check_parts(parts, [*dirichlet, *flux])
    element = ElementTriP2()
    basis = Basis(mesh, element, intorder=6)
    stiffness, load = _forms(source)
    a, b = stiffness.assemble(basis, shift=float(shift)), load.assemble(basis)
    for name, g in flux.items():
        b = b + _flux_load(mesh, element, parts[name], g)
    x = np.zeros(basis.N)
    fixed = [np.zeros(0, dtype=np.int64)]
    for name, g in dirichlet.items():
        dofs = basis.get_dofs(facets=parts[name]).all()
        x[dofs] = g(*basis.doflocs[:, dofs])
        fixed.append(dofs)
    fixed_dofs = np.unique(np.concatenate(fixed))
    u = solve(*condense(a, b, x=x, D=fixed_dofs)) if len(fixed_dofs) else solve(a, b)
    return ScalarSolution(basis, np.asarray(u, np.float64))
