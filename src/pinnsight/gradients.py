"""Per-term gradient statistics of the unweighted loss terms.

For each term L_i (the mean squared residual of the PDE or of one constraint, no weight) the gradient
g_i = ∇θ L_i over all network parameters (flattened), summarised by ‖g_i‖₂, max|g_i|, mean|g_i|, std(g_i) and a
histogram of |g_i| over fixed log-spaced bins. These are the quantities of Wang, Teng & Perdikaris (2021,
"Understanding and mitigating gradient pathologies in PINNs", Sec. 2.3, Fig. 2: per-term gradient histograms;
Eq. 2.12: max|∇L_r| / mean|∇L_i| drives learning-rate annealing). All terms come from one jitted function
(``jax.jacrev`` over the dict of terms: one batched reverse pass).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .losses import loss_terms

#: Bin edges of the |g| histograms: 4 bins per decade over [1e-12, 1e4]. ``hist[0]`` counts |g| < edges[0]
#: (exact zeros included), ``hist[i]`` (1 ≤ i < len(edges)) counts edges[i-1] ≤ |g| < edges[i], ``hist[-1]``
#: counts |g| ≥ edges[-1]: ``len(edges) + 1`` counts that always sum to the number of parameters.
HIST_EDGES = np.logspace(-12, 4, 65)


class GradStats(NamedTuple):
    """Statistics of one term's gradient (host numbers)."""

    norm: float  # ‖g‖₂
    max: float  # max |g_j|
    mean: float  # mean |g_j|
    std: float  # standard deviation of the entries g_j (signed)
    hist: np.ndarray  # counts over HIST_EDGES (see there), int
    edges: np.ndarray


def _stats(flat: jax.Array, edges: jax.Array) -> dict[str, jax.Array]:
    a = jnp.abs(flat)
    idx = jnp.searchsorted(edges.astype(a.dtype), a, side="right")
    return {
        "norm": jnp.linalg.norm(flat), "max": jnp.max(a), "mean": jnp.mean(a), "std": jnp.std(flat),
        "hist": jnp.bincount(idx, length=edges.shape[0] + 1),
    }


def term_gradients(problem, static, params, batch, coeffs) -> dict[str, Any]:
    """∇θ L_k of every unweighted term, one batched reverse pass (each a pytree shaped like ``params``)."""
    return jax.jacrev(lambda p: loss_terms(problem, eqx.combine(p, static), batch, coeffs))(params)


def make_gradient_statistics(problem, static, edges: np.ndarray = HIST_EDGES) -> Callable:
    """Jitted ``stats(params, batch, coeffs) -> {term: {norm, max, mean, std, hist}}`` (device arrays).

    ``batch`` and ``coeffs`` as in training (rows per term; traced coefficient scalars), so calls with new
    points or coefficients of the same shapes never retrace.
    """
    edges_j = jnp.asarray(edges)

    def stats(params, batch, coeffs):
        grads = term_gradients(problem, static, params, batch, coeffs)
        return {k: _stats(ravel_pytree(g)[0], edges_j) for k, g in grads.items()}

    return jax.jit(stats)


def to_host(raw: Mapping[str, Mapping[str, Any]], edges: np.ndarray = HIST_EDGES) -> dict[str, GradStats]:
    """Device output of ``make_gradient_statistics`` as host ``GradStats`` per term."""
    return {
        k: GradStats(float(v["norm"]), float(v["max"]), float(v["mean"]), float(v["std"]),
                     np.asarray(v["hist"], dtype=np.int64), np.asarray(edges))
        for k, v in raw.items()
    }


def gradient_statistics(problem, static, params, batch, coeffs=None, edges: np.ndarray = HIST_EDGES
                        ) -> dict[str, GradStats]:
    """Per-term gradient statistics at ``params`` on ``batch`` (coefficients default to the problem's)."""
    if coeffs is None:
        dtype = jax.tree.leaves(params)[0].dtype
        coeffs = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    return to_host(make_gradient_statistics(problem, static, edges)(params, batch, coeffs), edges)


def imbalance(stats: Mapping[str, GradStats]) -> dict[str, Any]:
    """How far apart the terms' gradients are: ratio of the largest to the smallest gradient norm (with the
    terms), and the learning-rate-annealing statistic max|∇L_res| / mean|∇L_i| per constraint term
    (Wang, Teng & Perdikaris 2021, Eq. 2.12)."""
    norms = {k: s.norm for k, s in stats.items()}
    hi, lo = max(norms, key=norms.get), min(norms, key=norms.get)
    ratio = norms[hi] / norms[lo] if norms[lo] > 0 else float("inf")
    lra = {}
    if "res" in stats:
        lra = {k: (stats["res"].max / s.mean if s.mean > 0 else float("inf")) for k, s in stats.items() if k != "res"}
    return {"norms": norms, "largest": hi, "smallest": lo, "ratio": ratio, "lra": lra}
