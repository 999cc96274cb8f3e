"""Evaluation on scattered points: the nodes of a triangle mesh of a 2-D domain that is not a box (issue 19).

A steady problem on a ``geometry`` shape is also evaluated at the vertices of a Triangle mesh of that shape (edge
length ``NODE_SPACING`` × the shape's size, finer on circles): points that follow the boundary exactly, where the
grid's points only approach it. The reference there is the exact solution, or the problem's ``reference_at``
(the finite-element solution probed at the points, cached); the run reports the relative L2 error over the nodes
beside the grid's, and draws prediction, reference and error (or prediction and residual) on the triangulation.
Time-dependent problems keep their space–time grid (a mesh would have to be repeated per time).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .errors import PinnsightError
from .losses import residual_norms
from .precision import float64_scope
from .problems import Problem
from .problems._base import exact_values

#: the evaluation mesh's edge length, relative to the shape's size (its bounding box's longest side)
NODE_SPACING = 1.0 / 60.0
#: edges on circles (holes, a cylinder) are this much finer
CIRCLE_REFINEMENT = 4.0


@dataclass(frozen=True)
class NodeSet:
    """The vertices (n, 2) and triangles (m, 3) of the evaluation mesh, the reference at the vertices (n,) or
    (n, fields), None without one."""

    points: np.ndarray
    triangles: np.ndarray
    reference: np.ndarray | None


def has_nodes(problem: Problem) -> bool:
    """Whether ``problem`` is evaluated on mesh nodes: steady, 2-D, on a shape that is not its box."""
    return problem.domain is not None and problem.time is None and problem.dim == 2


def node_mesh(problem: Problem):
    """The evaluation mesh of the problem's domain (``geometry.mesh.mesh_shape``)."""
    from .geometry.mesh import mesh_shape

    h = problem.domain.size * NODE_SPACING
    return mesh_shape(problem.domain, h, refine={"circle": h / CIRCLE_REFINEMENT})


def reference_at(problem: Problem, points: np.ndarray) -> np.ndarray | None:
    """The reference at scattered ``points`` (n, 2): the problem's ``reference_at``, else its exact solution."""
    c = dict(problem.coefficients)
    if problem.reference_at is not None:
        values = np.asarray(problem.reference_at(c, points), np.float64)
        want = (len(points),) if problem.n_fields == 1 else (len(points), problem.n_fields)
        if values.shape not in (want, (len(points), problem.n_fields)):
            raise PinnsightError(f"problem {problem.name!r}: reference_at(c, points) returned shape {values.shape} "
                                 f"for {len(points)} points; expected {want}")
        return values
    if problem.exact is None:
        return None
    cj = {k: jnp.asarray(v) for k, v in c.items()}
    with float64_scope(), jax.default_device(jax.devices("cpu")[0]):
        vals = jax.vmap(lambda z: exact_values(problem, z, cj))(jnp.asarray(points, jnp.float64))
    return np.asarray(vals, np.float64)


def evaluation_nodes(problem: Problem) -> NodeSet | None:
    """The node set of ``problem`` (None when it is evaluated on its grid only: see ``has_nodes``)."""
    if not has_nodes(problem):
        return None
    try:  # a shape the mesher cannot trace, a reference_at of the wrong shape: the grid's errors stand alone
        mesh = node_mesh(problem)
        points, triangles = np.ascontiguousarray(mesh.p.T), np.ascontiguousarray(mesh.t.T)
        return NodeSet(points, triangles, reference_at(problem, points))
    except PinnsightError as exc:
        warnings.warn(f"pinnsight: no evaluation on mesh nodes for {problem.name!r} ({exc}); errors on the grid "
                      "only", stacklevel=2)
        return None


def node_errors(problem: Problem, prediction: np.ndarray, reference: np.ndarray) -> dict:
    """``rel_l2`` over a point set — mesh nodes or the grid, values shaped points + (fields,) — every field
    together and, for a system, ``rel_l2_fields``."""
    k = problem.n_fields
    pred, ref = np.reshape(prediction, (-1, k)), np.reshape(reference, (-1, k))
    out = {"rel_l2": float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))}
    if problem.n_fields > 1:
        out["rel_l2_fields"] = {f: float(np.linalg.norm(pred[:, i] - ref[:, i]) / np.linalg.norm(ref[:, i]))
                                for i, f in enumerate(problem.fields)}
    return out


@dataclass(frozen=True)
class NodeEvaluation:
    """What a run's end computes on the nodes: the prediction (n,) / (n, fields), the PDE residual (n,), errors."""

    nodes: NodeSet
    prediction: np.ndarray
    residual: np.ndarray
    errors: dict

    def metrics(self) -> dict:
        """metrics["nodes"]: how many, the mesh's spacing, the errors (with a reference)."""
        return {"n": int(len(self.nodes.points)), "spacing": NODE_SPACING, **self.errors}


def evaluate_on_nodes(problem: Problem, nodes: NodeSet, static, params, coeffs, predict, dtype) -> NodeEvaluation:
    """The trained network (``predict(params, points)``) and its PDE residual at the nodes."""
    pts = jnp.asarray(nodes.points, dtype)
    prediction = np.asarray(predict(params, pts), np.float64)
    residual = np.asarray(jax.jit(lambda p, c: residual_norms(problem, static, p, c, pts))(params, coeffs),
                          np.float64)
    errors = node_errors(problem, prediction, nodes.reference) if nodes.reference is not None else {}
    return NodeEvaluation(nodes, prediction, residual, errors)
