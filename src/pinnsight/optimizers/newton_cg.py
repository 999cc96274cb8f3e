"""Hessian-free Newton–CG with regularisation and a strong-Wolfe line search.

Each iteration solves (∇²f + λ_k I) p = −∇f by truncated conjugate gradients (Steihaug 1983; Nocedal & Wright
Alg. 7.1: inexact Newton with forcing term η_k = min(cg_tol, √‖∇f‖), stopping on negative curvature), with
Hessian–vector products by forward-over-reverse differentiation (Pearlmutter 1994) — the Hessian is never formed
— and takes the step along p that the zoom line search accepts. The damping λ_k = damping·‖∇f_k‖ vanishes as
the gradient does (regularised Newton: Li, Fukushima, Qi & Yamashita 2004; Ueda & Yamashita 2010), keeping
Newton's fast local convergence while bounding steps far from a minimiser. This is the plain Hessian-free
Newton–CG of Rathore et al. (ICML 2024, "NNCG") without their Nyström preconditioner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from . import _flat
from ._flat import Method, flat_objective

DEFAULTS = {"damping": 1e-3, "cg_iters": 50, "cg_tol": 0.5, "max_linesearch_steps": 25, "gtol": 0.0, "ftol": 0.0,
            "patience": 20}


class NCGState(NamedTuple):
    value: jax.Array
    grad: jax.Array
    ls_state: Any


def newton_cg_method(f, n: int, options: Mapping[str, Any]) -> Method:
    ls = _flat.zoom(options)
    damping, cg_iters, cg_tol = options["damping"], options["cg_iters"], options["cg_tol"]

    def init(x, data):
        value, grad = jax.value_and_grad(f)(x, data)
        return NCGState(value, grad, ls.init(x))

    def step(x, st: NCGState, data):
        fn = lambda z: f(z, data)  # noqa: E731
        grad_fn = jax.grad(fn)
        gnorm = jnp.linalg.norm(st.grad)
        lam = damping * gnorm

        def hvp(v):
            return jax.jvp(grad_fn, (x,), (v,))[1] + lam * v

        eta = jnp.minimum(cg_tol, jnp.sqrt(gnorm))
        p, products = _flat.truncated_cg(hvp, -st.grad, cg_iters, eta)
        descent = (p @ st.grad < 0) & jnp.all(jnp.isfinite(p))
        p = jnp.where(descent, p, -st.grad / jnp.maximum(gnorm, 1.0))
        s, value, grad, ls_state, failed, evals = _flat.line_search(ls, st.ls_state, x, st.value, st.grad, p, fn)
        moved = value < st.value
        new = NCGState(jnp.where(moved, value, st.value), jnp.where(moved, grad, st.grad), ls_state)
        return (jnp.where(moved, x + s, x), new,
                _flat.info(st.value, new.value, jnp.linalg.norm(new.grad), evals + 2 * products, failed | ~moved))

    return Method(init, step)


def build(ctx, options, unravel, n):
    return newton_cg_method(flat_objective(ctx.objective, unravel), n, options)
