"""Per-point Jacobians and NTK traces of the loss terms: the kernels the NTK weighting remedy and the NTK
diagnostics share (a layer below both)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .losses import point_residual, term_jacobian


def term_rows(problem, batch) -> dict:
    """The rows of each loss term in ``batch`` (keyed by term, or by point set: a system's equations all take the
    collocation points ``res``), in the problem's term order; terms without rows are left out."""
    out = {}
    for term in problem.term_names:
        key = term if term in batch else problem.batch_key(term)
        if key in batch:
            out[term] = batch[key]
    return out


def make_jacobians(problem, static, params) -> Callable:
    """Jitted ``jac(params, batch, coeffs) -> {term: J}`` with J of shape (rows · values per row, P): the
    per-point Jacobians of each term's residual values with respect to the flattened parameters."""
    _, unravel = ravel_pytree(params)

    def jac(params, batch, coeffs):
        theta = ravel_pytree(params)[0]
        return {term: term_jacobian(problem, static, term, unravel, theta, rows, coeffs)
                for term, rows in term_rows(problem, batch).items()}

    return jax.jit(jac)


def make_traces(problem, static, params, chunk: int = 256) -> Callable:
    """Jitted ``traces(params, batch, coeffs) -> {term: tr K_aa}`` = Σ_i ‖∇θ r_i‖² over all rows of the batch,
    from per-point gradients in chunks of ``chunk`` rows (memory O(chunk · P); K is never formed)."""
    _, unravel = ravel_pytree(params)

    def traces(params, batch, coeffs):
        theta = ravel_pytree(params)[0]
        out = {}
        for term, rows in term_rows(problem, batch).items():
            f = point_residual(problem, static, term, unravel)
            sq = jax.lax.map(lambda row, f=f: jnp.sum(jnp.square(jax.jacrev(f)(theta, row, coeffs))), rows,
                             batch_size=min(chunk, rows.shape[0]))
            out[term] = jnp.sum(sq)
        return out

    return jax.jit(traces)
