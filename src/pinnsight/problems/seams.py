"""How periodic a problem's initial data is across the seam of a periodic coordinate.

A model that is exactly periodic in a coordinate (the periodic embedding) makes the value and every derivative
equal on the two faces; a problem's ``Periodic`` constraint may declare less (``derivatives = 0``: values only), and
initial data can be periodic in value but not in slope — the Gaussian u0 of the reaction benchmark jumps by 3.4e-3
in slope across x = 0 / 2π, a kink the embedding cannot represent: the error then sits at the seam (measured:
1.3e-4 there against 1e-7 in the middle, docs/benchmarks.md). ``seam_jump`` measures that jump;
``undeclared_seam_jumps`` the jumps in the orders a problem's ``Periodic`` constraint leaves free (Allen–Cahn's
u0 = x² cos πx jumps in slope too, but its constraint declares the slope periodic: a kink of the problem itself).
``diffusivity`` reads the coefficient κ of u_zz in a scalar evolution equation u_t = κ u_zz + … from the residual
itself, the width √(2κt) to which diffusion rounds such a kink (the ``seam`` input of the periodic model).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Initial, Periodic, takes_coefficients

__all__ = ["KINK", "diffusivity", "kinked_seams", "seam_jump", "undeclared_seam_jumps"]

#: the relative slope jump across a periodic seam above which the initial data counts as kinked (Allen–Cahn: 1.57;
#: reaction's Gaussian 4.4e-3, undeclared, takes a plain network instead)
KINK = 0.01


def _initial_values(problem):
    return [c for c in problem.constraints if isinstance(c, Initial) and c.order == 0]


def _space_points(problem, coord: int, n: int) -> tuple[np.ndarray, int]:
    """``n`` points of the spatial box (time removed) on its diagonal, at the midpoints of ``n`` equal steps, and the
    column of ``coord`` among the spatial coordinates."""
    it = problem.time_index
    space = [i for i in range(problem.dim) if i != it]
    mids = [(np.arange(n) + 0.5) / n for _ in space]
    pts = np.stack([lo + (hi - lo) * m for m, (lo, hi) in zip(mids, (problem.bounds[i] for i in space))], axis=1)
    return pts, space.index(coord)


def _derivative(f, j: int, order: int):
    """z ↦ ∂^order f / ∂z_j^order (nested JAX gradients)."""
    for _ in range(order):
        f = (lambda g: lambda z: jax.grad(g)(z)[j])(f)
    return f


def _relative_jump(f, pts: np.ndarray, j: int, lo: float, hi: float, order: int) -> float:
    """max |∂ᵏf(hi) − ∂ᵏf(lo)| along spatial direction ``j``, relative to max |∂ᵏf| inside (k = ``order``)."""
    g = jax.vmap(_derivative(f, j, order))

    @jax.jit  # one compiled evaluation of the three point sets (eager nested gradients took 1–3 s)
    def scale_and_jump(inside):
        return (jnp.max(jnp.abs(g(inside))),
                jnp.max(jnp.abs(g(inside.at[:, j].set(hi)) - g(inside.at[:, j].set(lo)))))

    scale, jump = (float(v) for v in scale_and_jump(jnp.asarray(pts)))
    return jump / max(scale, 1e-300)


def seam_jump(problem, coord: int, order: int, n: int = 64) -> float | None:
    """The largest relative jump of the ``order``-th derivative along coordinate ``coord`` of the problem's
    value initial data between the two faces of ``coord``; 0 without initial data, None when it cannot be
    differentiated by JAX (a host callback) or ``coord`` is the time."""
    if problem.time is None or coord == problem.time_index:
        return None
    pts, j = _space_points(problem, coord, n)
    lo, hi = problem.bounds[coord]
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    c = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    worst = 0.0
    for con in _initial_values(problem):
        f = (lambda z, v=con.value: v(*z, c)) if takes_coefficients(con.value) else (lambda z, v=con.value: v(*z))
        try:
            worst = max(worst, _relative_jump(lambda z, f=f: jnp.sum(jnp.asarray(f(z))), pts, j, lo, hi, order))
        except (TypeError, ValueError):  # a value JAX cannot differentiate (a callback); the check is advisory
            return None
    return worst


def undeclared_seam_jumps(problem, coords, threshold: float = 1e-4) -> list[tuple[str, int, float]]:
    """``(name, order, jump)`` for each coordinate index in ``coords`` (made smoothly periodic by a model) whose
    initial data jumps across the seam in the first derivative order its ``Periodic`` constraint does not declare
    (a constraint declaring values only: the slope; none: the value) by more than ``threshold``, relative."""
    declared = {problem.coords.index(c.coord): c.derivatives for c in problem.constraints if isinstance(c, Periodic)}
    out = []
    for i in coords:
        order = declared.get(i, -1) + 1
        jump = seam_jump(problem, i, order)
        if jump is not None and jump > threshold:
            out.append((problem.coords[i], order, jump))
    return out


def _probe(problem, u, z: jnp.ndarray, c) -> float:
    return float(jnp.asarray(problem.residual(u, *z, c)).reshape(()))


def diffusivity(problem, coord: int) -> float | None:
    """κ in a scalar time-dependent residual r = u_t − κ u_zz + … along coordinate ``coord`` (any overall sign):
    −(response to u_zz) / (response to u_t), probed at the centre z0 of the box with u = a(z − z0)²/2 and
    u = b(t − t0), which vanish there with their first derivatives but one, so reaction and transport terms
    drop out. None for a system, a residual nonlinear in u_zz or u_t, no time, or κ ≤ 0."""
    if problem.time is None or coord == problem.time_index or getattr(problem, "n_fields", 1) != 1:
        return None
    it = problem.time_index
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    z0 = jnp.asarray([(lo + hi) / 2 for lo, hi in problem.bounds], dtype)
    c = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    base = _probe(problem, lambda *z: 0.0 * z[0], z0, c)

    def response(axis: int, amp: float, power: int) -> float:
        u = lambda *z: amp * (z[axis] - z0[axis]) ** power / power
        return (_probe(problem, u, z0, c) - base) / amp

    try:
        curv = [response(coord, a, 2) for a in (1.0, 2.0)]
        rate = [response(it, b, 1) for b in (1.0, 2.0)]
    except (TypeError, ValueError, KeyError):  # a residual these probes cannot call (a system, a callback)
        return None
    if not all(abs(x - y) <= 1e-6 * max(abs(x), abs(y), 1e-30) for x, y in (curv, rate)) or rate[0] == 0.0:
        return None
    kappa = -curv[0] / rate[0]
    return kappa if kappa > 0 else None


def kinked_seams(problem, smooth: bool | None = None) -> list[int]:
    """The periodic coordinates of a time-dependent problem whose ``Periodic`` constraint its initial data meets in
    every declared order (``undeclared_seam_jumps`` finds none; ``smooth``: that answer, if the caller has it)
    but whose slope jumps across the seam by more than ``KINK``, relative: a kink of the problem itself (Allen–Cahn's
    u0 = x² cos πx at x = ±1)."""
    periodic = [problem.coords.index(c) for c in problem.periodic]
    if smooth is None:
        smooth = bool(periodic) and not undeclared_seam_jumps(problem, periodic)
    if not smooth or problem.time is None:
        return []
    return [i for i in periodic if (seam_jump(problem, i, 1) or 0.0) > KINK]
