"""Triangle meshes of 2-D shapes, for finite-element references on general domains.

The boundary of a shape — a primitive or a union / intersection / difference of them — is traced on its
primitives' pieces (segments and circles, each a parametric curve): each piece is cut into edges of length about
``h`` with their vertices on the curve, a vertex is kept when the shape's signed distance vanishes there (it lies
on the final boundary), and where a piece enters or leaves the boundary the crossing is found by bisection on the
curve. The kept edges form a planar straight-line graph that Shewchuk's Triangle (the ``triangle`` package: a
well-kept binding of the standard constrained-Delaunay mesher) meshes with a minimum angle and a maximum area;
the triangles outside the shape (holes) are dropped. Circles are approximated by their inscribed polygons, so the
mesh's boundary is within h²/(8r) of the true one.

``boundary_parts(shape, mesh)`` names each boundary facet by the shape's parts (predicates given by
``with_parts`` first, then the nearest piece) — the facets where a finite-element solve puts each condition.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError
from ..precision import float64_scope
from .pieces import Segment, Sphere, piece_projections

_BISECTIONS = 60


def _curve(piece):
    """The piece as a curve s ∈ [0, 1] → points (m, 2) (a circle counter-clockwise from angle 0)."""
    if isinstance(piece, Segment):
        p, q = np.asarray(piece.p, float), np.asarray(piece.q, float)
        return lambda s: p[None, :] + np.asarray(s, float)[:, None] * (q - p)[None, :], False
    if isinstance(piece, Sphere) and len(piece.center) == 2:
        c, r = np.asarray(piece.center, float), piece.radius
        return lambda s: c[None, :] + r * np.stack([np.cos(2 * np.pi * np.asarray(s, float)),
                                                    np.sin(2 * np.pi * np.asarray(s, float))], axis=1), True
    raise PinnsightError(f"meshing: a boundary piece {type(piece).__name__} is not a 2-D segment or circle")


def _on_boundary(shape, points: np.ndarray) -> np.ndarray:
    tol = 1e-9 * shape.size
    return np.abs(np.asarray(shape.sdf(jnp.asarray(points, jnp.float64)), float)) <= tol


def _crossing(shape, curve, s_in: float, s_out: float) -> float:
    """The curve parameter between ``s_in`` (on the boundary) and ``s_out`` (not) where the piece leaves it."""
    for _ in range(_BISECTIONS):
        mid = 0.5 * (s_in + s_out)
        if _on_boundary(shape, curve(np.array([mid])))[0]:
            s_in = mid
        else:
            s_out = mid
    return s_in


def _piece_edges(shape, piece, h: float) -> list[np.ndarray]:
    """The kept polylines (each (k, 2), k ≥ 2) of one piece of a primitive."""
    curve, closed = _curve(piece)
    n = max(3 if closed else 1, math.ceil(piece.length / h))
    s = np.linspace(0.0, 1.0, n + 1)
    keep = _on_boundary(shape, curve(s))
    params: list[list[float]] = []
    for i in range(n + 1):
        if keep[i] and (i == 0 or not keep[i - 1]):  # a run starts: at a crossing unless at the piece's start
            params.append([s[i]] if i == 0 else [_crossing(shape, curve, s[i], s[i - 1])])
        if keep[i]:
            params[-1].append(s[i])
            if i < n and not keep[i + 1]:
                params[-1].append(_crossing(shape, curve, s[i], s[i + 1]))
    lines = [curve(np.unique(np.asarray(run))) for run in params]
    return [line for line in lines if len(line) >= 2]


def _graph(shape, h: float, refine: dict | None):
    """Vertices (m, 2) and segments (k, 2) of the boundary; vertices closer than 1e-9·size are merged."""
    lines = []
    for piece in shape.all_pieces():
        lines += _piece_edges(shape, piece, (refine or {}).get(piece.name, h))
    if not lines:
        raise PinnsightError(f"meshing {shape!r}: no boundary found")
    pts = np.concatenate(lines)
    key = np.round(pts / (1e-9 * shape.size)).astype(np.int64)
    _, first, index = np.unique(key, axis=0, return_index=True, return_inverse=True)
    index = index.ravel()
    segs, start = [], 0
    for line in lines:
        ids = index[start:start + len(line)]
        segs += [(a, b) for a, b in zip(ids[:-1], ids[1:]) if a != b]
        start += len(line)
    return pts[first], np.unique(np.sort(np.asarray(segs), axis=1), axis=0)


def mesh_shape(shape, h: float, refine: dict | None = None, min_angle: float = 30.0):
    """A scikit-fem ``MeshTri`` of the 2-D ``shape`` with edges of about ``h`` (``refine``: a finer spacing on
    named pieces, e.g. ``{"circle": h / 4}``; Triangle grades the mesh away from them), angles ≥ ``min_angle``."""
    import triangle
    from skfem import MeshTri

    if shape.dim != 2:
        raise PinnsightError(f"meshing: only 2-D shapes are meshed, got a {shape.dim}-D {shape!r}")
    if not h > 0:
        raise PinnsightError(f"meshing: the edge length h must be > 0, got {h!r}")
    with float64_scope():  # the boundary's crossings to round-off, whatever the run's precision
        vertices, segments = _graph(shape, float(h), refine)
        area = math.sqrt(3) / 4 * h * h
        out = triangle.triangulate({"vertices": vertices, "segments": segments}, f"pq{min_angle:g}a{area:.15f}Q")
        p, t = out["vertices"], out["triangles"]
        t = t[np.asarray(shape.sdf(jnp.asarray(p[t].mean(axis=1), jnp.float64))) < 0]  # the holes' triangles go
    used = np.unique(t)
    renumber = np.full(len(p), -1)
    renumber[used] = np.arange(len(used))
    return MeshTri(np.ascontiguousarray(p[used].T), np.ascontiguousarray(renumber[t].T))


def boundary_parts(shape, mesh) -> dict[str, np.ndarray]:
    """The boundary facets of ``mesh`` (a mesh of ``shape``) by part name: a facet belongs to the first part
    given by a predicate (``with_parts``) that holds at its midpoint, else to the piece its two end points are
    nearest to (the larger of their two distances: a facet lies on one piece's curve, or on its chord)."""
    facets = mesh.boundary_facets()
    ends = mesh.p[:, mesh.facets[:, facets]]  # (2, 2 ends, k)
    pieces = shape.all_pieces()
    with float64_scope():
        gap = [np.linalg.norm(np.asarray(piece_projections(pieces, jnp.asarray(ends[:, e].T, jnp.float64)))
                              - ends[:, e].T[:, None, :], axis=2) for e in (0, 1)]
        names = np.array([pieces[i].name for i in np.argmin(np.maximum(*gap), axis=1)], dtype=object)
        mid = jnp.asarray(ends.mean(axis=1), jnp.float64)
        for name, pred in reversed(shape.extra_parts):
            names[np.asarray(pred(*mid), bool)] = name
    return {name: facets[names == name] for name in dict.fromkeys(names)}


def triangle_areas(mesh) -> np.ndarray:
    """The area of each triangle of ``mesh``."""
    a, b, c = (mesh.p[:, mesh.t[i]] for i in range(3))
    return 0.5 * np.abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
