"""Exact Dirichlet conditions by approximate distance functions (Sukumar & Srivastava, CMAME 389 (2022) 114333).

The network N is wrapped as u = g + φ·N, per field: φ the R-equivalence of the distance functions of the boundary
pieces that carry a Dirichlet condition of the field (0 there, > 0 inside, normalised to first order), g the
transfinite interpolation of their data, g = Σᵢ wᵢ gᵢ(Pᵢ x), wᵢ = Πⱼ≠ᵢ φⱼ / Σₖ Πⱼ≠ₖ φⱼ, with gᵢ the condition's
value at the closest point Pᵢ x of piece i — built from boundary values only (the value function is never asked
inside the domain, where for a manufactured problem it is the solution). The conditions then hold to round-off
and their loss terms vanish. A box problem (no ``domain``) uses its box; a time coordinate is carried along
(φ is of space only, g takes the time of the point).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError
from ..geometry import Box, blend_vector, join_vector, piece_distances, piece_projections
from ..problems import Dirichlet, takes_coefficients


class ExactDirichlet(eqx.Module):
    """u(z) = g(z) + φ(z) N(z) (each a vector over the fields for a system)."""

    net: Any
    phi: Callable = eqx.field(static=True)
    lift: Callable = eqx.field(static=True)

    def __call__(self, z):
        return self.lift(z) + self.phi(z) * self.net(z)


def _spatial(problem) -> list[int]:
    return [i for i, c in enumerate(problem.coords) if c != problem.time]


def _shape_of(problem):
    if problem.domain is not None:
        return problem.domain
    lo, hi = zip(*(problem.bounds[i] for i in _spatial(problem)))
    return Box(lo, hi)


def _parts_of(problem, shape, con) -> tuple[str, ...] | None:
    """The boundary parts a Dirichlet condition covers (None: all the boundary)."""
    if problem.domain is not None:
        return None if con.on is None else (con.on,)
    if con.coords is None:
        return None
    axes = [_spatial(problem).index(problem.coords.index(c)) for c in con.coords]
    return tuple(Box._face_name(a, high) for a in axes for high in (False, True))


def _field_conditions(problem, name: str) -> list:
    first = problem.fields[0]
    cons = [c for c in problem.constraints if type(c) is Dirichlet and (c.field or first) == name]
    for c in cons:
        if takes_coefficients(c.value):
            raise PinnsightError(f"--exact-bc: condition {c.name!r} takes the coefficients (value(..., c)); impose "
                                 "it as a penalty term instead")
    return cons


def _field_lift(problem, shape, name: str):
    """(φ(z), g(z)) of one field: point functions of the coordinates z (one point). The pieces' distances and
    projections are computed for all pieces at once (one op per kind), the data once per condition."""
    cons = _field_conditions(problem, name)
    if not cons:
        return (lambda z: jnp.ones((), z.dtype)), (lambda z: jnp.zeros((), z.dtype))
    space_idx = _spatial(problem)
    pieces, owner = _owned_pieces(problem, shape, cons)

    def space(z):
        return z[jnp.asarray(space_idx)][None, :]

    def phi(z):
        return join_vector(piece_distances(pieces, space(z)))[0]

    def lift(z):
        x = space(z)
        weights = blend_vector(piece_distances(pieces, x))[0]  # (k,)
        projected = piece_projections(pieces, x)[0]  # (k, dim)
        values = jnp.zeros(len(pieces), z.dtype)
        for k, con in enumerate(cons):  # each condition's data at the closest points of its pieces
            idx = np.flatnonzero(owner == k)
            coords = _at(problem, z, projected[jnp.asarray(idx)].T, len(idx))
            values = values.at[jnp.asarray(idx)].set(jnp.asarray(con.value(*coords), z.dtype) * jnp.ones(len(idx)))
        return jnp.sum(weights * values)

    return phi, lift


def _owned_pieces(problem, shape, cons) -> tuple[list, np.ndarray]:
    """Every piece the conditions cover, once, and which condition it belongs to: a piece covered twice (a
    condition on the whole boundary and one on a part of it) belongs to the condition on the part (a piece
    counted twice would make φ vanish to second order there and the blend weights 0/0)."""
    pieces, owner = [], []
    order = sorted(range(len(cons)), key=lambda k: _parts_of(problem, shape, cons[k]) is None)  # parts first
    for k in order:
        for piece in shape.distance_pieces(_parts_of(problem, shape, cons[k])):
            if piece not in pieces:
                pieces.append(piece)
                owner.append(k)
    return pieces, np.asarray(owner)


def _at(problem, z, projected, n: int):
    """The coordinates of ``z`` for ``n`` points whose spatial part is ``projected`` (dim, n) (time kept)."""
    out, k = [], 0
    for i, c in enumerate(problem.coords):
        if c == problem.time:
            out.append(jnp.full((n,), z[i]))
        else:
            out.append(projected[k])
            k += 1
    return out


def exact_dirichlet(net, problem) -> ExactDirichlet:
    """``net`` wrapped so that the problem's Dirichlet conditions hold exactly (see the module text)."""
    if problem is None:
        raise PinnsightError("--exact-bc needs the problem (build the model with make_model(..., problem=...))")
    shape = _shape_of(problem)
    lifts = [_field_lift(problem, shape, f) for f in problem.fields]
    if not any(_field_conditions(problem, f) for f in problem.fields):
        raise PinnsightError(f"--exact-bc: problem {problem.name!r} has no Dirichlet condition to impose")
    if problem.n_fields == 1:
        return ExactDirichlet(net, lifts[0][0], lifts[0][1])
    return ExactDirichlet(net, lambda z: jnp.stack([p(z) for p, _ in lifts]),
                          lambda z: jnp.stack([g(z) for _, g in lifts]))
