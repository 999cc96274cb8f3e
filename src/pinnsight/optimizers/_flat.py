"""Shared machinery of the second-order phases: methods act on the flat parameter vector
(``jax.flatten_util.ravel_pytree``), run up to ``log_every`` iterations per jitted ``lax.while_loop`` chunk,
and report their stop reason, iteration and function-evaluation counts like ``run_lbfgs``.

A *flat method* is three pure functions on a flat vector ``x`` and ``data = (batch, weights, coeffs)``:
``init(x, data) -> state`` (a NamedTuple with a ``value`` field: the loss at ``x``),
``step(x, state, data) -> (x, state, StepInfo)`` (one iteration), and the names of state fields that
survive a change of the objective (``persistent``: the inverse-Hessian approximation, the damping).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from ..config import PhaseConfig

# stop reasons: index = code in the while loop ("" = keep going)
REASONS = ("", "nan", "gtol", "no-progress", "damping-limit", "linesearch")
GO, NAN, GTOL, NO_PROGRESS, DAMPING_LIMIT, LINESEARCH = range(len(REASONS))


class StepInfo(NamedTuple):
    """What one iteration reports: loss before and after, gradient norm after, work done, own stop code."""

    before: jax.Array
    after: jax.Array
    gnorm: jax.Array
    fevals: jax.Array  # objective (or residual) evaluations in this iteration
    ls_failure: jax.Array  # 1 when the line search / damping loop gave up on this iteration
    reason: jax.Array  # 0, or a method's own stop code (DAMPING_LIMIT, LINESEARCH)


class FlatMethod(NamedTuple):
    init: Callable  # (x, data) -> state
    step: Callable  # (x, state, data) -> (x, state, StepInfo)
    persistent: tuple[str, ...] = ()
    check: Callable | None = None  # host check of the initial state (raises PinnsightError)


class Carry(NamedTuple):
    iteration: jax.Array
    x: jax.Array
    state: Any
    reason: jax.Array
    quiet: jax.Array
    fevals: jax.Array
    ls_failures: jax.Array


def info(before, after, gnorm, fevals, ls_failure=0, reason=0) -> StepInfo:
    i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
    return StepInfo(before, after, gnorm, i32(fevals), i32(ls_failure), i32(reason))


def make_chunk(step: Callable, options: Mapping[str, Any]) -> Callable:
    """Jitted ``chunk(x, state, data, max_iters) -> Carry``: up to ``max_iters`` iterations of ``step``.

    Stops early on a non-finite loss or iterate (``nan``; the carry keeps the last finite iterate), a method's
    own reason, gradient norm ≤ ``gtol``, or ``patience`` consecutive iterations that lowered the loss by no
    more than ``ftol``·|loss| (``no-progress``).
    """
    gtol, ftol, patience = options["gtol"], options["ftol"], options["patience"]

    def chunk(x, state, data, max_iters):
        def body(c: Carry) -> Carry:
            x, st, inf = step(c.x, c.state, data)
            finite = jnp.isfinite(inf.after) & jnp.all(jnp.isfinite(x))
            quiet = jnp.where(inf.before - inf.after > ftol * jnp.abs(inf.before), 0, c.quiet + 1).astype(jnp.int32)
            reason = jnp.select(
                [~finite, inf.gnorm <= gtol, inf.reason > 0, quiet >= patience],
                [jnp.int32(NAN), jnp.int32(GTOL), inf.reason, jnp.int32(NO_PROGRESS)],
                jnp.int32(GO),
            )
            x = jnp.where(finite, x, c.x)
            st = jax.tree.map(lambda new, old: jnp.where(finite, new, old), st, c.state)
            return Carry(c.iteration + 1, x, st, reason, quiet, c.fevals + inf.fevals, c.ls_failures + inf.ls_failure)

        zero = jnp.zeros((), jnp.int32)
        return jax.lax.while_loop(
            lambda c: (c.iteration < max_iters) & (c.reason == GO), body, Carry(zero, x, state, zero, zero, zero, zero)
        )

    return jax.jit(chunk)


def strong(tree):
    """Drop weak types so the state a jitted init returns has the types a chunk returns (no retracing)."""
    return jax.tree.map(lambda v: jnp.asarray(v, dtype=jnp.result_type(v)), tree)


def flat_objective(objective: Callable, unravel: Callable) -> Callable:
    """``f(x, data) -> loss`` on the flat parameter vector."""
    return lambda x, data: objective(unravel(x), *data)[0]


def zoom(options: Mapping[str, Any]) -> optax.GradientTransformationExtraArgs:
    """optax's zoom line search (strong Wolfe: c1 = 1e-4, c2 = 0.9; Nocedal & Wright, Alg. 3.5–3.6), first trial
    step 1 (the natural step of (quasi-)Newton directions)."""
    return optax.scale_by_zoom_linesearch(
        max_linesearch_steps=options["max_linesearch_steps"], initial_guess_strategy="one"
    )


def line_search(ls, ls_state, x, value, grad, direction, fn):
    """One zoom line search along ``direction`` from ``x``; returns (step, value, grad, ls_state, failed)."""
    step, ls_state = ls.update(direction, ls_state, x, value=value, grad=grad, value_fn=fn)
    new_value = ls_state.value
    failed = (ls_state.info.decrease_error > 0) | (ls_state.info.curvature_error > 0)
    return step, new_value, ls_state.grad, ls_state, failed, ls_state.info.num_linesearch_steps


def truncated_cg(matvec: Callable, b: jax.Array, maxiter: int, rtol) -> tuple[jax.Array, jax.Array]:
    """Solve ``A p = b`` by conjugate gradients from p = 0, stopping at ‖r‖ ≤ rtol·‖b‖, after ``maxiter``
    products, or on non-positive curvature dᵀAd ≤ 0 (Steihaug 1983; Nocedal & Wright Alg. 7.1): then the
    iterate so far is returned (``b`` itself when it happens on the first direction). Returns (p, products)."""
    bnorm = jnp.linalg.norm(b)

    def cond(c):
        p, r, d, k, stop = c
        return (k < maxiter) & ~stop & (jnp.linalg.norm(r) > rtol * bnorm)

    def body(c):
        p, r, d, k, stop = c
        ad = matvec(d)
        curv = d @ ad
        negative = ~(curv > 0)
        alpha = (r @ r) / jnp.where(negative, 1.0, curv)
        p_new = p + alpha * d
        r_new = r - alpha * ad
        beta = (r_new @ r_new) / (r @ r)
        fallback = jnp.where(k == 0, b, p)
        return (
            jnp.where(negative, fallback, p_new), jnp.where(negative, r, r_new),
            jnp.where(negative, d, r_new + beta * d), k + 1, negative,
        )

    p, _, _, k, _ = jax.lax.while_loop(cond, body, (jnp.zeros_like(b), b, b, jnp.zeros((), jnp.int32), jnp.array(False)))
    return p, k


def _options_key(phase: PhaseConfig) -> tuple:
    return tuple(sorted(phase.options.items()))


def flat_runner(name: str, build: Callable) -> Callable:
    """A phase runner (see ``pinnsight.train.PhaseRunner``) for a flat method ``build(ctx, options, unravel, n)``.

    Jitted functions are cached in ``ctx.cache`` per (name, options), so curriculum stages and time windows
    reuse them; with ``ctx.warm_optimizer`` (curriculum ``keep_optimizer=1``) the persistent state (inverse
    Hessian, damping) carries over from the previous segment. On a non-finite loss the last finite parameters are kept and the stop reason is ``nan``.
    """
    def runner(phase, ctx, state, report):
        cache = ctx.cache if ctx.cache is not None else {}
        key = (name, _options_key(phase))
        x, unravel = ravel_pytree(state.params)
        if key not in cache:
            method = build(ctx, phase.options, unravel, x.size)
            objective = ctx.objective
            cache[key] = (
                method, jax.jit(method.init), make_chunk(method.step, phase.options),
                jax.jit(lambda p, b, w, c: objective(p, b, w, c)[1]),
            )
        method, init, chunk, terms_of = cache[key]
        data = (state.batch, state.weights, state.coeffs)
        opt_state = strong(init(x, data))
        if method.check is not None:
            method.check(opt_state)
        slot = (name + "-state", key[1])  # persistent state at the end of the last segment (curriculum stage)
        if getattr(ctx, "warm_optimizer", False) and slot in cache:
            opt_state = opt_state._replace(**{k: getattr(cache[slot], k) for k in method.persistent})
        report.start_loss = float(opt_state.value)
        report.end_loss = report.start_loss
        while report.steps < phase.steps:
            n = min(ctx.config.log_every, phase.steps - report.steps)
            out = chunk(x, opt_state, data, jnp.asarray(n, jnp.int32))
            reason = REASONS[int(out.reason)]
            report.function_evals += int(out.fevals)
            report.linesearch_failures += int(out.ls_failures)
            done = int(out.iteration) - (reason == "nan")  # the failed iteration did not move
            x, opt_state = out.x, out.state
            cache[slot] = opt_state
            report.steps += done
            if math.isfinite(float(opt_state.value)):
                report.end_loss = float(opt_state.value)
            if reason:
                report.stop_reason = reason
            params = unravel(x)
            resume = yield params, done, terms_of(params, *data), bool(reason)
            if resume is not None:  # new batch / weights / coefficients: refresh value and gradient
                state = resume.state
                data = (state.batch, state.weights, state.coeffs)
                fresh = strong(init(x, data))
                if not resume.restart:
                    fresh = fresh._replace(**{k: getattr(opt_state, k) for k in method.persistent})
                opt_state = fresh

    runner.__name__ = f"run_{name.replace('-', '_')}"
    return runner
