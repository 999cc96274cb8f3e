"""Reflection symmetries a problem declares: u(R z) = s · u(z) with R the mirror of one coordinate about a centre.

A problem whose equations, domain, constraints and initial data are all unchanged by a mirror (Burgers: x → −x with
u → −u; Allen–Cahn: x → −x with u → u) has a solution with that symmetry. Declaring it lets ``--symmetric`` build
a network that has it exactly (``models.symmetry.Symmetrized``): the shock of Burgers then sits at x = 0 and the
kink of Allen–Cahn's seam at x = ±1 by construction, whatever the training does. The declaration is the problem's
claim; ``check_reflections`` only checks that it is well formed (the coordinate exists, is not time, and the mirror
maps the box, and a non-box domain, onto itself) — the tests check the built-in claims against the references.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reflection:
    """u(…, 2·center − x, …) = sign · u(…, x, …); ``sign`` one number, or one per field for a system."""

    coord: str
    center: float = 0.0
    sign: float | tuple[float, ...] = 1.0

    def signs(self, n_fields: int) -> tuple[float, ...]:
        return tuple(self.sign) if isinstance(self.sign, (tuple, list)) else (float(self.sign),) * n_fields


def check_reflections(problem: Any, err: Callable[[str, str], Exception]) -> tuple[Reflection, ...]:
    """The problem's ``symmetries`` as a tuple of checked ``Reflection`` s (raises ``err(part, message)``)."""
    value = problem.symmetries
    items = tuple(value) if isinstance(value, (tuple, list)) else None
    if items is None or not all(isinstance(r, Reflection) for r in items):
        raise err("symmetries", f"expected a sequence of Reflection(coord, center, sign), got {value!r}")
    seen = set()
    for r in items:
        if r.coord not in problem.coords or r.coord == problem.time:
            raise err("symmetries", f"{r.coord!r} is not a space coordinate (coords: {', '.join(problem.coords)})")
        if r.coord in seen:
            raise err("symmetries", f"two reflections of {r.coord!r}")
        seen.add(r.coord)
        lo, hi = problem.bounds[problem.coords.index(r.coord)]
        if not isinstance(r.center, (int, float)) or not math.isclose(lo + hi, 2 * r.center, abs_tol=1e-12 * (hi - lo)):
            raise err("symmetries", f"the mirror of {r.coord!r} about {r.center!r} does not map [{lo:g}, {hi:g}] onto "
                                    "itself")
        if problem.domain is not None and not _mirrors_onto_itself(problem, r):
            raise err("symmetries", f"the mirror of {r.coord!r} about {r.center:g} does not map the domain "
                                    f"{type(problem.domain).__name__} onto itself")
        signs = r.signs(len(problem.fields))
        if len(signs) != len(problem.fields) or any(s not in (-1.0, 1.0) for s in signs):
            raise err("symmetries", f"sign of the reflection of {r.coord!r} must be ±1 "
                                    f"(one per field for {len(problem.fields)} fields), got {r.sign!r}")
    return items


def _mirrors_onto_itself(problem: Any, r: Reflection, n: int = 512) -> bool:
    """Whether the mirror maps the problem's domain (a geometry shape) into itself, on ``n`` uniform points of it
    and ``n`` of its boundary (a mirror keeps volume, so into is onto)."""
    import jax
    import jax.numpy as jnp

    spatial = [c for c in problem.coords if c != problem.time]
    col = spatial.index(r.coord)
    k_in, k_bd = jax.random.split(jax.random.PRNGKey(0))
    inner = problem.domain.sample_interior(k_in, n, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    edge, _ = problem.domain.sample_boundary(k_bd, n, inner.dtype)
    pts = jnp.concatenate([inner, edge])
    mirrored = pts.at[:, col].set(2 * r.center - pts[:, col])
    size = max(hi - lo for lo, hi in problem.bounds)
    tol = (1e-9 if inner.dtype == jnp.float64 else 1e-5) * size
    return bool(jnp.all(problem.domain.contains(mirrored, tol=tol)))
