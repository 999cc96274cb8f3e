"""Sequence-to-sequence time marching (Krishnapriyan et al. 2021, Sec. 4.2; Wight & Zhao 2021).

[t0, T] is split into windows [t_k, t_{k+1}]; window k is a sub-problem whose residual and boundary rows have
their time mapped into the window and whose ``Initial`` rows sit at t_k with targets taken from window k−1's
prediction (rows carry their targets, so the loss code is untouched). Every window runs the phase sequence, from
the previous window's network (``warm=1``) or a fresh one; the solution is stitched over the reference grid,
each point predicted by the network of its window. Batches are built by one jitted function whose window
bounds are arguments (no retracing).
"""

from __future__ import annotations

import math
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import keys
from ..errors import PinnsightError
from ..losses import as_function
from ..problems._base import (Dirichlet, Fields, Initial, Neumann, Periodic, _derivative, constraint_view,
                              takes_coefficients)
from ..sampling import sample_batch
from ._base import Remedy, RemedySpec, Segment, needs_time, positive, register_remedy

KNOWN = (Initial, Dirichlet, Neumann, Periodic)


def window_edges(t0: float, t1: float, windows: int, dt: float = 0.0, inner: str = "") -> np.ndarray:
    """Window boundaries: the interior ones given (``inner="0.05/0.25"``), windows of length ``dt`` (the last one
    shorter), or ``windows`` equal windows, in that order of precedence."""
    if inner:
        return np.array([t0, *parse_edges(inner, t0, t1), t1], dtype=float)
    if dt > 0:
        n = max(1, math.ceil((t1 - t0) / dt - 1e-9))
        return np.minimum(t0 + dt * np.arange(n + 1), t1)
    return np.linspace(t0, t1, windows + 1)


def parse_edges(text: str, t0: float, t1: float) -> list[float]:
    """``"0.05/0.25/0.5"`` -> interior window boundaries, increasing and strictly inside (t0, t1)."""
    try:
        vals = [float(v) for v in text.split("/") if v.strip()]
    except ValueError:
        raise PinnsightError(f"remedy seq2seq: edges={text!r} is not a '/'-separated list of times") from None
    if not vals or any(b <= a for a, b in zip([t0, *vals], [*vals, t1])):
        raise PinnsightError(f"remedy seq2seq: edges={text!r} must increase strictly inside the time interval "
                             f"({t0:g}, {t1:g})")
    return vals


def window_mask(t: np.ndarray, lo: float, hi: float, last: bool) -> np.ndarray:
    """Points a window predicts in the stitched solution: t ∈ [lo, hi) ([lo, hi] for the last window)."""
    return (t >= lo) & ((t <= hi) if last else (t < hi))


def _in_window(points: np.ndarray, *, it: int, lo: float, hi: float, last: bool) -> np.ndarray:
    return window_mask(np.asarray(points)[:, it], lo, hi, last)


def make_window_batch(problem, static, points, dtype):
    """Jitted ``batch(key, t_lo, t_hi, prev_params, use_prev)``: rows of the sub-problem on [t_lo, t_hi]."""
    it, dim = problem.time_index, problem.dim
    t0, t1 = problem.bounds[it]

    def batch(key, t_lo, t_hi, prev_params, use_prev):
        b = sample_batch(problem, key, points, dtype)
        to_window = lambda t: t_lo + (t - t0) * ((t_hi - t_lo) / (t1 - t0))  # noqa: E731
        out = {"res": b["res"].at[:, it].set(to_window(b["res"][:, it]))}
        u_prev = as_function(eqx.combine(prev_params, static))
        u_prev = u_prev if problem.n_fields == 1 else Fields(u_prev, problem.fields)
        for con in problem.constraints:
            rows = b[con.name]
            rows = rows.at[:, it].set(to_window(rows[:, it]))
            if isinstance(con, Periodic):
                rows = rows.at[:, dim + it].set(to_window(rows[:, dim + it]))
            elif isinstance(con, Initial):
                view = constraint_view(problem, u_prev, con)
                prev = jax.vmap(lambda z, view=view, con=con: _derivative(view, it, con.order)(*z))(rows[:, :dim])
                rows = rows.at[:, dim].set(jnp.where(use_prev, prev.astype(dtype), rows[:, dim]))
            elif not takes_coefficients(con.value):  # Dirichlet / Neumann targets may depend on time: recompute
                col = rows.shape[1] - 1  # the target is a row's last column (Dirichlet, Neumann, Robin)
                target = jnp.asarray(con.value(*rows[:, :dim].T), dtype) * jnp.ones(rows.shape[0], dtype)
                rows = rows.at[:, col].set(target)
            out[con.name] = rows
        return out

    return jax.jit(batch)


def build(options, setup) -> Remedy:
    problem, dtype = setup.problem, setup.dtype
    it = problem.time_index
    t0, t1 = problem.bounds[it]
    edges = window_edges(t0, t1, options["windows"], options["dt"], options["edges"])
    batch_fn = make_window_batch(problem, setup.static, setup.config.points, dtype)
    predict = jax.jit(lambda p, pts: jax.vmap(eqx.combine(p, setup.static))(pts))
    t_ref = np.asarray(setup.ref_points)[:, it]
    n = len(edges) - 1

    def driver(state):
        prev, jumps = state.params, []
        for k in range(n):
            lo, hi = float(edges[k]), float(edges[k + 1])
            key = keys.derive(setup.key, "seq2seq", "window-batch", k)
            batch = batch_fn(key, jnp.asarray(lo, dtype), jnp.asarray(hi, dtype), prev, jnp.asarray(k > 0))
            fresh = None if options["warm"] or k == 0 else setup.fresh_params(keys.derive(setup.key, "seq2seq", "window-network", k))
            bounds = tuple((lo, hi) if i == it else b for i, b in enumerate(problem.bounds))
            final = yield Segment(
                index=k, label=f"t in [{lo:.4g}, {hi:.4g}]", bounds=bounds, batch=batch, params=fresh,
                region=partial(_in_window, it=it, lo=lo, hi=hi, last=k == n - 1), final=k == n - 1,
                columns={"window": k, "t_start": lo, "t_end": hi}, info={"window": k, "t_start": lo, "t_end": hi},
                count=n,
            )
            if k > 0:  # continuity at t_k: |u_k(x, t_k) − u_{k−1}(x, t_k)| on the reference x points
                pts = np.asarray(setup.ref_points)[t_ref == t_ref[np.argmin(np.abs(t_ref - lo))]].copy()
                pts[:, it] = lo
                pts = jnp.asarray(pts, dtype)
                jumps.append(float(jnp.max(jnp.abs(predict(final.params, pts) - predict(prev, pts)))))
            prev = final.params
        return {"edges": [float(e) for e in edges], "max_jump_at_boundaries": jumps}

    return Remedy("seq2seq", driver=driver)


def check(options, problem):
    positive("seq2seq", options, "windows")
    positive("seq2seq", options, "dt", allow_zero=True)
    needs_time("seq2seq", problem)
    if problem is None:
        return
    if options["edges"]:
        parse_edges(options["edges"], *problem.bounds[problem.time_index])
    odd = [c.name for c in problem.constraints if not isinstance(c, KNOWN)]
    if odd:
        raise PinnsightError(f"remedy seq2seq: cannot window constraint(s) {', '.join(odd)} of {problem.name}")
    moving = [c.name for c in problem.constraints if isinstance(c, Initial) and takes_coefficients(c.value)]
    if moving:
        raise PinnsightError(f"remedy seq2seq: the initial data of {', '.join(moving)} depend on the coefficients; "
                             "time marching replaces them by the last window's prediction")
    if not any(isinstance(c, Initial) for c in problem.constraints):
        raise PinnsightError(f"remedy seq2seq: problem {problem.name} has no initial condition to march from")


SPEC = register_remedy(RemedySpec(
    "seq2seq", "sequence-to-sequence time marching over windows (Krishnapriyan et al. 2021; Wight & Zhao 2021)",
    {"windows": 5, "dt": 0.0, "warm": 1, "edges": ""}, build, check, aliases=("time-marching",), driver=True, owns_points=True,
    timeline=(("time window", ("t_start", "t_end")),),
))
