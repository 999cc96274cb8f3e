"""Numerical helpers shared by the second-order phases: the flat objective, the zoom line search and
truncated conjugate gradients. The protocol, the chunk loop and the stop codes are in ``base``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax

from .base import DAMPING_LIMIT, LINESEARCH, Method, info  # noqa: F401  (the methods' vocabulary)


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
