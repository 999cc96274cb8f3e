"""A network with the problem's reflection symmetries built in: the group average of any network.

For mirrors R₁ … R_k (``problems.symmetry.Reflection``: coordinate i about c with output signs s) the model is
u(z) = 2⁻ᵏ Σ_{S ⊆ {1…k}} (Π_{j∈S} s_j) · N(Π_{j∈S} R_j z), which satisfies u(R_j z) = s_j u(z) exactly for every j
(the mirrors of distinct coordinates commute, so the sum runs over their whole group) and equals N wherever N
already has the symmetry. Every derivative the residual takes inherits it: the residual of an odd problem is odd,
so points on one side of a mirror teach the network the other side too.
"""

from __future__ import annotations

import itertools
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError


class Symmetrized(eqx.Module):
    """``mean over the mirror group of sign · net(mirror(z))``; ``mirrors``: (index, centre) per reflection,
    ``signs``: (reflections, fields) output signs; ``scalar``: the network gives one value per point."""

    net: Any
    mirrors: tuple[tuple[int, float], ...] = eqx.field(static=True)
    signs: tuple[tuple[float, ...], ...] = eqx.field(static=True)
    scalar: bool = eqx.field(static=True)

    def __call__(self, z):
        total = 0.0
        for subset in itertools.product((False, True), repeat=len(self.mirrors)):
            zz, sign = z, np.ones(len(self.signs[0]))
            for on, (i, c), s in zip(subset, self.mirrors, self.signs):
                if on:
                    zz = zz.at[i].set(2 * c - zz[i])
                    sign = sign * np.asarray(s)
            out = self.net(zz)
            total = total + (out * (sign[0] if self.scalar else jnp.asarray(sign, out.dtype)))
        return total / 2 ** len(self.mirrors)


def require_symmetries(problem) -> tuple:
    """The reflections ``problem`` declares; PinnsightError (one line) when it declares none."""
    if not problem.symmetries:
        raise PinnsightError(f"symmetric: problem {problem.name!r} declares no symmetry (Problem.symmetries)")
    return tuple(problem.symmetries)


def symmetrized(net, problem) -> Symmetrized:
    """``net`` with every reflection ``problem`` declares (raises PinnsightError when it declares none)."""
    reflections = require_symmetries(problem)
    n = problem.n_fields
    return Symmetrized(net, tuple((problem.coords.index(r.coord), float(r.center)) for r in reflections),
                       tuple(r.signs(n) for r in reflections), n == 1)
