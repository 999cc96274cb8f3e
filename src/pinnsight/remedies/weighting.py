"""Loss-weighting remedies: learning-rate annealing (``lra``), NTK weights (``ntk``), inverse-Dirichlet weights.

All three rebalance the weights λ_k of the loss Σ_k λ_k L_k from statistics of the per-term losses
L_k = mean of the squared residuals of term k (``res`` and each constraint; always the plain, unweighted mean
squares of ``losses.pointwise_residuals``, also when an in-loss transform such as ``causal`` reshapes ``res``):

- ``lra`` (Wang, Teng, Perdikaris, SIAM J. Sci. Comput. 43 (2021), Alg. 1): for each constraint term i
  λ̂_i = max_θ |∇θ L_res| / mean_θ |∇θ L_i| (max and mean over all parameter entries), then
  λ_i ← (1 − α) λ_i + α λ̂_i with the paper's α = 0.9, k = 10. This is the paper's formula as printed: α weighs the
  *new* estimate and the gradients are those of the unweighted terms. The authors' code and later codes (jaxpi)
  differ — gradient-norm ratios, λ̂ from the weighted loss, or the moving average the other way round. The res
  weight is never changed; if it is not 1 the numerator uses the weighted residual, w_res · max|∇θ L_res|, which
  is the paper's formula for w_res = 1. ``weighted=1`` follows the authors' code (GradientPathologiesPINNs)
  instead: λ̂_i = max|∇θ L_res| / mean|∇θ (λ_i L_i)| with the current λ_i, to be used with ``alpha=0.1`` (their
  λ ← 0.9 λ + 0.1 λ̂); its fixed point is λ_i² = the paper's ratio. A configured weight w0_i (``--weight``) is then
  a fixed factor of its term that λ_i multiplies (w_i = w0_i λ_i), as the code's λ multiplies a *sum* of per-edge
  mean squares: pooling 4 edges into one mean with w0 = 4 reproduces it (this form is not scale-invariant; the
  paper's is, and there w0 cancels). ``pool=layers`` takes the max and mean as that
  code does: over the weight matrices only (no biases), max of the per-matrix maxima and *mean of the per-matrix
  means* (so a small first or last layer counts as much as a large hidden one); the default ``pool=all`` is the
  paper's max/mean over all parameter entries. Measured on Helmholtz with fixed collocation
  points (tests/test_weighting.py, docs/benchmarks.md): as the boundary term is fitted, mean|∇θ L_bc| shrinks, so
  the paper's λ̂ grows without bound (λ_bc > 1e7 within a few hundred steps) and training stalls at rel L2 ≈ 1;
  the code's form settles at λ_bc ≈ 20–1000 and trains.
- ``ntk`` (Wang, Yu, Perdikaris, J. Comput. Phys. 449 (2022), Alg. 1): λ_j = Tr(K) / Tr(K_jj) for every
  term j including ``res``, with K_jj = J_j J_jᵀ the empirical NTK block of term j (J_j the Jacobian of its
  residual entries in θ) and Tr(K) = Σ_j Tr(K_jj). K is never formed: Tr(J_j J_jᵀ) = Σ_p ‖∂r_p/∂θ‖², from per-row
  Jacobians in batches of ``chunk`` rows (``diagnostics.ntk.make_traces``). Normalisation: each trace is
  divided by the number of residual entries of its term (the *mean* of ‖∂r_p/∂θ‖²). The paper builds all blocks
  on batches of the same size, where this changes nothing; with different counts per term, the mean is what the
  mean-squared loss L_j = (1/N_j) Σ_p r_p² feeds into the gradient flow (its kernel is J_j J_jᵀ / N_j). ``points``
  > 0 estimates each mean on a random subset of that many rows per term (fresh each update). ``alpha`` < 1 adds
  a moving average λ ← (1 − α) λ + α λ̂ (the paper sets λ directly: α = 1).
- ``inverse-dirichlet`` (Maddu, Sturm, Müller, Sbalzarini, Mach. Learn.: Sci. Technol. 3 (2022), the
  inverse-Dirichlet weighting rule):
  λ̂_k = max_t std(∇θ L_t) / std(∇θ L_k) (std over all parameter-gradient entries, max over all terms t, so the
  term of largest gradient spread gets 1; ``ref=res`` takes std(∇θ L_res) as numerator instead, which is the
  same whenever the residual's spread is the largest), then λ_k ← (1 − α) λ_k + α λ̂_k for every term.

Every ``every`` steps of a segment, the host calls one jitted statistics function per remedy (built once from the
RemedySetup; its arguments are the parameters, batch, coefficients and a key, so it is never retraced) and reads
a few floats; the gradient statistics are ``diagnostics.gradients.make_gradient_statistics`` (one batched reverse
pass over the dict of unweighted terms). Updates happen at chunk boundaries only (``log_every`` Adam steps per
jitted call): with ``every`` below ``log_every`` the weights change once per chunk; use ``--log-every`` to update
more often (the paper's k = 10 needs ``--log-every 10``).
Weights live in the training state as arrays, so new weights never retrace the training step.
By default (``during=adam``) the weights change only during Adam and are held fixed in L-BFGS and the other
quasi-Newton / Gauss–Newton phases, whose curvature memory a new objective would invalidate (``during=all``
updates there too and so restarts their memory each time). Each segment (curriculum stage, time window) starts
from the configured weights. A non-finite or non-positive estimate (e.g. a term whose gradient vanishes) leaves
that term's weight as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..gradients import make_gradient_statistics, term_gradients
from ..kernels import make_traces
from .. import keys
from ..errors import PinnsightError
from ..losses import pointwise_residuals
from ._base import NO_CHANGE, Changes, Remedy, RemedySpec, choice, positive, register_remedy

RES = "res"


# ------------------------------------------------------------------------------------------ pure formulas
def ema(old: float, new: float, alpha: float) -> float:
    """λ ← (1 − α) λ + α λ̂ (Wang, Teng, Perdikaris 2021, Alg. 1; Maddu et al. 2022)."""
    return (1.0 - alpha) * old + alpha * new


def lra_estimates(max_abs_res: float, mean_abs: Mapping[str, float], res_weight: float = 1.0,
                  weights: Mapping[str, float] | None = None, equations: tuple[str, ...] = (RES,)) -> dict[str, float]:
    """λ̂_i = w_res · max_θ |∇θ L_res| / mean_θ |∇θ L_i| for each constraint term i (Wang, Teng, Perdikaris 2021,
    Alg. 1). With ``weights`` (the authors' code): the gradient of the weighted term, mean_θ |∇θ (λ_i L_i)|. A
    system's ``equations`` keep their weights (``max_abs_res``: the largest over them)."""
    scale = weights or {}
    return {k: res_weight * max_abs_res / (m * scale.get(k, 1.0)) if m * scale.get(k, 1.0) > 0 else float("nan")
            for k, m in mean_abs.items() if k not in equations}


def ntk_weights(traces: Mapping[str, float]) -> dict[str, float]:
    """λ_j = Tr(K) / Tr(K_jj), Tr(K) = Σ_j Tr(K_jj) (Wang, Yu, Perdikaris 2022, Alg. 1)."""
    total = sum(traces.values())
    return {k: total / t if t > 0 else float("nan") for k, t in traces.items()}


def inverse_dirichlet_estimates(stds: Mapping[str, float], ref: str = "max",
                                equations: tuple[str, ...] = (RES,)) -> dict[str, float]:
    """λ̂_k = max_t std(∇θ L_t) / std(∇θ L_k) (Maddu et al. 2022); ``ref="res"``: std(∇θ L_res) on top (a
    system: the largest over its equations)."""
    top = max(stds.values()) if ref == "max" else max(stds[e] for e in equations)
    return {k: top / s if s > 0 else float("nan") for k, s in stds.items()}


# ------------------------------------------------------------------------------------ jitted statistics
def subsample_rows(key, rows: jax.Array, n: int) -> jax.Array:
    """``n`` distinct rows drawn uniformly (all rows, in order, when ``n`` ≥ their number)."""
    if n >= rows.shape[0]:
        return rows
    return rows[jax.random.choice(key, rows.shape[0], (n,), replace=False)]


def residual_entries(problem, static, params, batch, coeffs) -> dict[str, int]:
    """How many residual values each term's rows give (rows × values per row; shapes only, nothing is run)."""
    shapes = jax.eval_shape(lambda p, b, c: pointwise_residuals(problem, eqx.combine(p, static), b, c),
                            params, batch, coeffs)
    return {k: int(np.prod(v.shape)) for k, v in shapes.items()}


def make_ntk_traces(problem, static, params, points: int = 0, chunk: int = 256) -> Callable:
    """Jitted ``traces(params, batch, coeffs, key) -> {term: Tr(J Jᵀ) / number of residual values}``: the mean of
    ‖∂r_p/∂θ‖² over the term's residual values, from ``diagnostics.ntk.make_traces`` (per-row Jacobians in
    batches of ``chunk`` rows; K is never formed). ``points`` > 0: on a random subset of at most that many rows
    per term (without replacement, from ``key``). ``params`` only fixes the parameter structure."""
    sums = make_traces(problem, static, params, chunk)

    @jax.jit
    def traces(params, batch, coeffs, key):
        rows = {k: subsample_rows(jax.random.fold_in(key, i), batch[k], points) if points > 0 else batch[k]
                for i, k in enumerate(problem.batch_names)}
        by_term = {t: rows[problem.batch_key(t)] for t in problem.term_names}  # a system's equations share res
        total, count = sums(params, by_term, coeffs), residual_entries(problem, static, params, rows, coeffs)
        return {k: total[k] / count[k] for k in problem.term_names}

    return traces


def make_layer_gradient_stats(problem, static) -> Callable:
    """Jitted ``stats(params, batch, coeffs) -> {term: {max, mean}}`` of ∇θ L_term pooled as the lra authors' code
    (GradientPathologiesPINNs) does: over the weight matrices only (parameter leaves with ≥ 2 dimensions), max of
    the per-matrix max |g| and mean of the per-matrix mean |g|; unweighted terms."""

    def pooled(g):
        mats = [jnp.abs(leaf) for leaf in jax.tree.leaves(g) if leaf.ndim >= 2]
        return {"max": jnp.max(jnp.stack([m.max() for m in mats])),
                "mean": jnp.mean(jnp.stack([m.mean() for m in mats]))}

    def stats(params, batch, coeffs):
        return {k: pooled(g) for k, g in term_gradients(problem, static, params, batch, coeffs).items()}

    return jax.jit(stats)


def make_gradient_stats(problem, static) -> Callable:
    """Jitted ``stats(params, batch, coeffs) -> {term: {max, mean, std, ...}}`` of ∇θ L_term over all parameter
    entries, unweighted terms (``diagnostics.gradients.make_gradient_statistics``)."""
    return make_gradient_statistics(problem, static)


# --------------------------------------------------------------------------------------------- remedies
class WeightingState(NamedTuple):
    key: Any  # for subsampled NTK traces
    last: int  # segment step of the last update
    updates: int


def _weighting_remedy(name: str, prefix: str, options, setup, estimate: Callable) -> Remedy:
    """A remedy that every ``every`` steps sets λ_k ← (1 − α) λ_k + α λ̂_k for the terms ``estimate`` returns.

    ``estimate(info, key) -> (λ̂ by term, extra log columns)`` (host floats).
    """
    alpha, every = options["alpha"], options["every"]
    configured = {k: float(v) for k, v in setup.config.weights.items()}
    first_order_only = options["during"] != "all"

    def init(segment):
        key = keys.derive(setup.key, name, "subsample", segment.index)
        return Changes(weights=dict(configured)), WeightingState(key, 0, 0)

    def update(state, info):
        s = info.segment_step
        if (first_order_only and not info.first_order) or s - state.last < every:
            return NO_CHANGE, state
        key, sub = jax.random.split(state.key)
        hats, extra = estimate(info, sub)
        old = {k: float(info.state.weights[k]) for k in hats}
        ok = {k: v for k, v in hats.items() if np.isfinite(v) and v > 0}
        new = {k: ema(old[k], v, alpha) for k, v in ok.items()}
        log = {**{f"{prefix}_hat_{k}": v for k, v in hats.items()}, **extra}
        event = {"step": info.step, "weights": {**old, **new}}
        if len(ok) < len(hats):
            event["skipped"] = sorted(set(hats) - set(ok))
        state = WeightingState(key, s, state.updates + 1)
        return Changes(weights=new or None, log=log, events=(event,)), state

    def summary(events, history):
        if not events:
            return {"updates": 0}
        terms = list(events[-1]["weights"])
        steps = [e["step"] for e in events]
        return {
            "updates": len(events),
            "update_steps": [steps[0], steps[-1]],
            "interval": float(np.median(np.diff(steps))) if len(steps) > 1 else None,
            "final_weights": events[-1]["weights"],
            "weight_range": {k: [min(e["weights"][k] for e in events), max(e["weights"][k] for e in events)]
                             for k in terms},
            "skipped": sum(1 for e in events if "skipped" in e),
        }

    return Remedy(name, init=init, update=update, summary=summary)


def build_lra(options, setup) -> Remedy:
    make = make_layer_gradient_stats if options["pool"] == "layers" else make_gradient_stats
    stats = make(setup.problem, setup.static)
    fixed = {k: float(v) for k, v in setup.config.weights.items()}
    equations = setup.problem.equations

    def estimate(info, key):
        st = stats(info.params, info.state.batch, info.state.coeffs)
        mean_abs = {k: float(v["mean"]) for k, v in st.items()}
        current = {k: float(w) for k, w in info.state.weights.items()} if options["weighted"] else None
        if len(equations) == 1:
            top, weight = float(st[equations[0]]["max"]), float(info.state.weights[equations[0]])
        else:  # a system: the largest weighted max-gradient of its equations
            top, weight = max(float(info.state.weights[e]) * float(st[e]["max"]) for e in equations), 1.0
        hats = lra_estimates(top, mean_abs, weight, current, equations)
        if options["weighted"]:  # λ multiplies the configured weight w0 (the code's λ · Σ_edges MSE): target w0·λ̂
            hats = {k: fixed.get(k, 1.0) * h for k, h in hats.items()}
        return hats, {"lra_max_grad_res": top}

    return _weighting_remedy("lra", "lra", options, setup, estimate)


def build_ntk(options, setup) -> Remedy:
    shapes = jax.eval_shape(setup.fresh_params, setup.key)  # the parameters' structure, nothing is run
    template = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)
    traces = make_ntk_traces(setup.problem, setup.static, template, options["points"], options["chunk"])

    def estimate(info, key):
        t = {k: float(v) for k, v in traces(info.params, info.state.batch, info.state.coeffs, key).items()}
        return ntk_weights(t), {f"ntk_trace_{k}": v for k, v in t.items()}

    return _weighting_remedy("ntk", "ntk", options, setup, estimate)


def build_inverse_dirichlet(options, setup) -> Remedy:
    stats = make_gradient_stats(setup.problem, setup.static)

    def estimate(info, key):
        stds = {k: float(v["std"]) for k, v in stats(info.params, info.state.batch, info.state.coeffs).items()}
        hats = inverse_dirichlet_estimates(stds, options["ref"], setup.problem.equations)
        return hats, {f"idw_grad_std_{k}": v for k, v in stds.items()}

    return _weighting_remedy("inverse-dirichlet", "idw", options, setup, estimate)


def _check_common(name, options):
    positive(name, options, "every")
    if not 0.0 < options["alpha"] <= 1.0:
        raise PinnsightError(f"remedy {name}: alpha={options['alpha']!r} must be in (0, 1]")
    choice(name, options, "during", ("adam", "all"))


def check_lra(options, problem):
    _check_common("lra", options)
    if options["weighted"] not in (0, 1):
        raise PinnsightError(f"remedy lra: weighted={options['weighted']!r} must be 0 (paper) or 1 (authors' code)")
    choice("lra", options, "pool", ("all", "layers"))


def check_ntk(options, problem):
    _check_common("ntk", options)
    positive("ntk", options, "points", allow_zero=True)
    positive("ntk", options, "chunk")


def check_inverse_dirichlet(options, problem):
    _check_common("inverse-dirichlet", options)
    choice("inverse-dirichlet", options, "ref", ("max", "res"))


LRA = register_remedy(RemedySpec(
    "lra", "learning-rate annealing: λ_i from max|∇L_res| / mean|∇L_i|, moving average (Wang, Teng, Perdikaris 2021)",
    {"alpha": 0.9, "every": 10, "weighted": 0, "pool": "all", "during": "adam"}, build_lra, check_lra, first_order_only=True, adapts_weights=True,
    aliases=("learning-rate-annealing",),
))
NTK = register_remedy(RemedySpec(
    "ntk", "NTK weights λ_j = Tr(K) / Tr(K_jj) from per-point Jacobians (Wang, Yu, Perdikaris 2022)",
    {"every": 1000, "points": 0, "alpha": 1.0, "chunk": 256, "during": "adam"}, build_ntk, check_ntk, first_order_only=True, adapts_weights=True,
    aliases=("ntk-weights",),
))
INVERSE_DIRICHLET = register_remedy(RemedySpec(
    "inverse-dirichlet", "inverse-Dirichlet weights: λ_k from max_t std(∇L_t) / std(∇L_k) (Maddu et al. 2022)",
    {"alpha": 0.5, "every": 10, "ref": "max", "during": "adam"}, build_inverse_dirichlet, check_inverse_dirichlet, first_order_only=True, adapts_weights=True,
    aliases=("idw",),
))
