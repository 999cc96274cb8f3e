"""Residual-driven collocation: adaptive sampling with restarts, RAR, RAD and R3.

- ``adaptive-sampling`` (Subramanian, Kirby, Mahoney, Gholami 2022): the number N of residual points is fixed;
  every ``every`` steps a fraction η of them is redrawn uniformly and the rest from a candidate pool with
  probability ∝ |residual| (or ∝ ‖∇ₓresidual‖), η following a cosine schedule from ``uniform_max`` to
  ``uniform_min`` over ``period`` steps. On a stall (no relative loss decrease of ``rtol`` for ``patience``
  steps) it resamples at once, restarts the schedule and (``restart_optimizer=1``) the optimizer state.
- ``rar`` (Lu, Meng, Mao, Karniadakis 2021, SIAM Review, Sec. 2.8): every ``every`` steps, while the mean
  |residual| on fresh candidates exceeds ``tol``, add the ``add`` candidates of largest |residual| (N grows up to
  N + ``max_add``; each new N compiles the step once).
- ``rad`` (Wu, Zhu, Tan, Kartha, Lu 2023, Eq. 2): every ``every`` steps redraw all N points from candidates with
  p(x) ∝ |r(x)|^k / E[|r|^k] + c. ``method=r3`` is the retain-resample-release variant (Daw, Bu, Wang, Perdikaris,
  Karpatne 2023): keep the points whose |r| exceeds the mean, redraw the others uniformly.
  RAD acts in every phase, the second-order ones too (resampling every few hundred quasi-Newton iterations, as
  Urbán, Stefanou & Pons 2025): ``restart=0`` (default) keeps the phase's persistent state across a resample (the
  quasi-Newton inverse-Hessian estimate, Adam's moments, Levenberg–Marquardt's damping), ``restart=1`` starts it
  afresh on the new points. The shape of the batch never changes: no retracing.
All draws run in one jitted function per remedy whose fractions and bounds are arguments (no retracing).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import keys
from ..losses import point_function
from ..problems import equation_values, interior_points
from ._base import NO_CHANGE, Changes, Remedy, RemedySpec, choice, positive, register_remedy

RES = "res"


def cosine_fraction(s: float, period: float, high: float, low: float) -> float:
    """Uniform fraction after ``s`` steps since the last restart: low + ½(high − low)(1 + cos(π·min(s/period, 1)))."""
    x = min(max(s, 0) / period, 1.0) if period > 0 else 1.0
    return low + 0.5 * (high - low) * (1.0 + math.cos(math.pi * x))


def rad_probabilities(mag: jax.Array, k: float, c: float) -> jax.Array:
    """p ∝ |r|^k / mean(|r|^k) + c, normalised (Wu et al. 2023, Eq. 2)."""
    e = mag**k
    density = e / jnp.maximum(jnp.mean(e), 1e-30) + c
    return density / jnp.sum(density)


def make_magnitude(problem, static, by: str = "residual"):
    """``magnitude(params, points, coeffs)``: |residual| or ‖∇ residual‖ at each row of ``points``."""

    def magnitude(params, pts, coeffs):
        u, c = point_function(eqx.combine(params, static), problem, coeffs)
        if len(problem.equations) == 1:
            r = lambda z: problem.residual(u, *z, c)  # noqa: E731
        else:  # a system: the Euclidean norm of its equations' residuals
            r = lambda z: jnp.sqrt(sum(jnp.square(v) for v in equation_values(problem, u, z, c).values()))  # noqa: E731
        if by == "gradient":
            return jnp.linalg.norm(jax.vmap(jax.grad(r))(pts), axis=1)
        return jnp.abs(jax.vmap(r)(pts))

    return magnitude


def uniform_box(problem, key, n: int, lo: jax.Array, hi: jax.Array) -> jax.Array:
    """``n`` uniform points of the problem's domain within ``lo``..``hi`` (the box, or its shape × the interval)."""
    return interior_points(problem, key, n, lo, hi)


def draw_proportional(key, candidates: jax.Array, weights: jax.Array, n: int) -> jax.Array:
    """``n`` distinct rows of ``candidates`` drawn with probability ∝ ``weights`` (Gumbel top-k, no replacement)."""
    p = weights + 1e-30
    idx = jax.random.choice(key, candidates.shape[0], (n,), replace=False, p=p / jnp.sum(p))
    return candidates[idx]


def mix_uniform(n_uniform: jax.Array, uniform_rows: jax.Array, residual_rows: jax.Array) -> jax.Array:
    """The first ``n_uniform`` rows from ``uniform_rows``, the rest from ``residual_rows`` (static shapes)."""
    take = jnp.arange(uniform_rows.shape[0])[:, None] < n_uniform
    return jnp.where(take, uniform_rows, residual_rows)


def _bounds(segment, dtype):
    lo = jnp.asarray([b[0] for b in segment.bounds], dtype)
    hi = jnp.asarray([b[1] for b in segment.bounds], dtype)
    return lo, hi


# ------------------------------------------------------------------------------------- adaptive sampling
class AdaptiveState(NamedTuple):
    key: Any
    lo: Any
    hi: Any
    last: int  # segment step of the last resample
    restart: int  # segment step the cosine schedule restarted at
    best: float
    best_step: int
    resamples: int
    restarts: int


def build_adaptive(options, setup) -> Remedy:
    n = setup.config.points[RES]
    pool = n * options["candidates"]
    magnitude = make_magnitude(setup.problem, setup.static, options["by"])

    @jax.jit
    def resample(key, params, coeffs, lo, hi, n_uniform):
        k1, k2, k3 = jax.random.split(key, 3)
        cand = uniform_box(setup.problem, k2, pool, lo, hi)
        picked = draw_proportional(k3, cand, magnitude(params, cand, coeffs), n)
        return mix_uniform(n_uniform, uniform_box(setup.problem, k1, n, lo, hi), picked)

    def eta(state, s):
        return cosine_fraction(s - state.restart, options["period"], options["uniform_max"], options["uniform_min"])

    def init(segment):
        lo, hi = _bounds(segment, setup.dtype)
        key = keys.derive(setup.key, "adaptive-sampling", "resample", segment.index)
        return NO_CHANGE, AdaptiveState(key, lo, hi, 0, 0, math.inf, 0, 0, 0)

    def update(state, info):
        s = info.segment_step
        best, best_step = state.best, state.best_step
        if info.loss < best * (1.0 - options["rtol"]):
            best, best_step = info.loss, s
        stalled = options["patience"] > 0 and s - best_step >= options["patience"]
        if not stalled and s - state.last < options["every"]:
            return Changes(log={"uniform_fraction": eta(state, s)}), state._replace(best=best, best_step=best_step)
        restart = state.restart
        if stalled:
            restart, best, best_step = s, math.inf, s
        state = state._replace(restart=restart)
        fraction = eta(state, s)
        key, sub = jax.random.split(state.key)
        n_uniform = jnp.asarray(round(fraction * n), jnp.int32)
        pts = resample(sub, info.params, info.state.coeffs, state.lo, state.hi, n_uniform)
        event = {"step": info.step, "uniform_fraction": fraction, "stall": stalled}
        state = state._replace(key=key, last=s, best=best, best_step=best_step, resamples=state.resamples + 1,
                               restarts=state.restarts + stalled)
        return Changes(batch={RES: pts}, restart=stalled and bool(options["restart_optimizer"]),
                       log={"uniform_fraction": fraction, "resampled": 1, "stall_restart": int(stalled)},
                       events=(event,)), state

    def summary(events, history):
        return {"resamples": len(events), "stall_restarts": sum(bool(e["stall"]) for e in events)}

    return Remedy("adaptive-sampling", init=init, update=update, summary=summary)


def check_adaptive(options, problem):
    positive("adaptive-sampling", options, "every", "candidates", "period")
    positive("adaptive-sampling", options, "patience", "rtol", allow_zero=True)
    choice("adaptive-sampling", options, "by", ("residual", "gradient"))
    for k in ("uniform_max", "uniform_min"):
        if not 0.0 <= options[k] <= 1.0:
            from ..errors import PinnsightError

            raise PinnsightError(f"remedy adaptive-sampling: {k}={options[k]!r} must be in [0, 1]")


# ------------------------------------------------------------------------------------------------ RAR
class RarState(NamedTuple):
    key: Any
    lo: Any
    hi: Any
    last: int
    added: int


def build_rar(options, setup) -> Remedy:
    n0 = setup.config.points[RES]
    pool, add = n0 * options["candidates"], options["add"]
    magnitude = make_magnitude(setup.problem, setup.static, "residual")

    @jax.jit
    def refine(key, params, coeffs, lo, hi):
        cand = uniform_box(setup.problem, key, pool, lo, hi)
        mag = magnitude(params, cand, coeffs)
        _, idx = jax.lax.top_k(mag, add)
        return cand[idx], jnp.mean(mag)

    def init(segment):
        lo, hi = _bounds(segment, setup.dtype)
        return NO_CHANGE, RarState(keys.derive(setup.key, "rar", "refine", segment.index), lo, hi, 0, 0)

    def update(state, info):
        s = info.segment_step
        if s - state.last < options["every"] or state.added + add > options["max_add"]:
            return Changes(log={"n_res": int(info.state.batch[RES].shape[0])}), state
        key, sub = jax.random.split(state.key)
        new, mean_mag = refine(sub, info.params, info.state.coeffs, state.lo, state.hi)
        state = state._replace(key=key, last=s)
        if float(mean_mag) <= options["tol"]:
            return Changes(log={"n_res": int(info.state.batch[RES].shape[0])}), state
        pts = jnp.concatenate([info.state.batch[RES], new.astype(info.state.batch[RES].dtype)])
        state = state._replace(added=state.added + add)
        event = {"step": info.step, "added": add, "n_res": int(pts.shape[0]), "mean_abs_residual": float(mean_mag)}
        return Changes(batch={RES: pts}, log={"n_res": int(pts.shape[0]), "resampled": 1}, events=(event,)), state

    def summary(events, history):
        return {"refinements": len(events), "points_added": sum(e["added"] for e in events)}

    return Remedy("rar", init=init, update=update, summary=summary)


def check_rar(options, problem):
    positive("rar", options, "every", "add", "candidates")
    positive("rar", options, "max_add", "tol", allow_zero=True)


# ------------------------------------------------------------------------------------------- RAD / R3
class RadState(NamedTuple):
    key: Any
    lo: Any
    hi: Any
    last: int
    resamples: int


def build_rad(options, setup) -> Remedy:
    n = setup.config.points[RES]
    pool = n * options["candidates"]
    magnitude = make_magnitude(setup.problem, setup.static, "residual")
    k, c = options["k"], options["c"]

    @jax.jit
    def rad(key, params, coeffs, lo, hi, current):
        del current
        k1, k2 = jax.random.split(key)
        cand = uniform_box(setup.problem, k1, pool, lo, hi)
        return draw_proportional(k2, cand, rad_probabilities(magnitude(params, cand, coeffs), k, c), n)

    @jax.jit
    def r3(key, params, coeffs, lo, hi, current):
        mag = magnitude(params, current, coeffs)
        keep = (mag > jnp.mean(mag))[:, None]
        return jnp.where(keep, current, uniform_box(setup.problem, key, current.shape[0], lo, hi))

    redraw = r3 if options["method"] == "r3" else rad

    def init(segment):
        lo, hi = _bounds(segment, setup.dtype)
        return NO_CHANGE, RadState(keys.derive(setup.key, "rad", "resample", segment.index), lo, hi, 0, 0)

    def update(state, info):
        s = info.segment_step
        if s - state.last < options["every"]:
            return NO_CHANGE, state
        key, sub = jax.random.split(state.key)
        pts = redraw(sub, info.params, info.state.coeffs, state.lo, state.hi, info.state.batch[RES])
        state = state._replace(key=key, last=s, resamples=state.resamples + 1)
        return Changes(batch={RES: pts}, restart=bool(options["restart"]), log={"resampled": 1},
                       events=({"step": info.step, "phase": info.phase},)), state

    def summary(events, history):
        return {"resamples": len(events)}

    return Remedy("rad", init=init, update=update, summary=summary)


def check_rad(options, problem):
    positive("rad", options, "every", "candidates")
    positive("rad", options, "k", "c", allow_zero=True)
    choice("rad", options, "method", ("rad", "r3"))
    choice("rad", options, "restart", (0, 1))


ADAPTIVE = register_remedy(RemedySpec(
    "adaptive-sampling",
    "fixed-size residual-proportional resampling, cosine uniform fraction, restarts on stall (Subramanian et al. 2022)",
    {"every": 500, "candidates": 10, "uniform_max": 1.0, "uniform_min": 0.1, "period": 5000, "by": "residual",
     "patience": 2000, "rtol": 1e-3, "restart_optimizer": 1},
    build_adaptive, check_adaptive, aliases=("adaptive",), owns_points=True,
    timeline=(("uniform fraction (adaptive sampling)", ("uniform_fraction",)),),
))
RAR = register_remedy(RemedySpec(
    "rar", "residual-based adaptive refinement: add the worst candidates (Lu et al. 2021)",
    {"every": 1000, "add": 100, "candidates": 10, "max_add": 1000, "tol": 0.0}, build_rar, check_rar, owns_points=True,
    timeline=(("residual points", ("n_res",)),),
))
RAD = register_remedy(RemedySpec(
    "rad", "residual-based adaptive distribution (Wu et al. 2023); method=r3: retain-resample-release",
    {"every": 1000, "candidates": 10, "k": 1.0, "c": 1.0, "method": "rad", "restart": 0}, build_rad, check_rad,
    owns_points=True,
    timeline=(("residual points", ("n_res",)),),
))
