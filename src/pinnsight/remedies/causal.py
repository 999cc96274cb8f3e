"""Causal weighting of the residual over time slices (Wang, Sankaran, Perdikaris 2022, Eq. 2.11–2.12, Alg. 1).

L_r = (1/M) Σ_i w_i L_r(t_i),  w_i = exp(−ε Σ_{k<i} L_r(t_k)) (weights under stop-gradient), where L_r(t_i) is the
mean squared residual of the points in time slice i (M equal slices over the batch's time range). ε lives in
``coeffs["causal_eps"]`` (a traced scalar: annealing never retraces) and follows the paper's schedule: ε runs through
``eps · factor^j`` (j = 0 .. levels−1) and moves on when min_i w_i > δ.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._base import Changes, Remedy, RemedySpec, needs_time, positive, register_remedy

EPS_KEY = "causal_eps"
MIN_WEIGHT = "causal_min_weight"
CAUSAL_LOSS = "causal_res_loss"


def causal_weights(slice_losses: jax.Array, eps: jax.Array) -> jax.Array:
    """w_i = exp(−ε Σ_{k<i} L(t_k)) (Eq. 2.12), without gradient."""
    before = jnp.cumsum(slice_losses) - slice_losses
    return jax.lax.stop_gradient(jnp.exp(-eps * before))


def slice_losses(sq: jax.Array, t: jax.Array, slices: int) -> jax.Array:
    """Mean of ``sq`` over ``slices`` equal time slices of [min t, max t] (empty slices give 0)."""
    t = jax.lax.stop_gradient(t)
    lo, hi = jnp.min(t), jnp.max(t)
    idx = jnp.clip(jnp.floor((t - lo) / jnp.maximum(hi - lo, 1e-30) * slices), 0, slices - 1).astype(jnp.int32)
    onehot = (idx[:, None] == jnp.arange(slices)[None, :]).astype(sq.dtype)  # (N, M): a matmul, not a scatter
    return (sq @ onehot) / jnp.maximum(jnp.sum(onehot, axis=0), 1.0)


def causal_residual_loss(sq: jax.Array, t: jax.Array, eps: jax.Array, slices: int) -> tuple[jax.Array, jax.Array]:
    """(L_r = (1/M) Σ_i w_i L_r(t_i), w) for squared residuals ``sq`` at times ``t`` (Eq. 2.11)."""
    losses = slice_losses(sq, t, slices)
    w = causal_weights(losses, eps)
    return jnp.mean(w * losses), w


def eps_schedule(eps: float, factor: float, levels: int) -> tuple[float, ...]:
    """ε values of the annealing schedule: eps · factor^j, j = 0 .. levels − 1 (paper: 1e-2 … 1e2)."""
    return tuple(eps * factor**j for j in range(levels))


class CausalState(NamedTuple):
    level: int  # index into the ε schedule
    eps: float


def build(options, setup) -> Remedy:
    problem = setup.problem
    it, slices, delta = problem.time_index, options["slices"], options["delta"]
    schedule = eps_schedule(options["eps"], options["factor"], options["levels"])

    equations = problem.equations

    def reduce(base):  # the equations enter the loss causally weighted; the other terms as ``base`` reduces them
        def reduction(residuals, batch, coeffs):
            contributions, record = base(residuals, batch, coeffs)
            t = batch["res"][:, it]
            if len(equations) == 1:
                res, w = causal_residual_loss(jnp.square(residuals[equations[0]]), t, coeffs[EPS_KEY], slices)
                return {**contributions, equations[0]: res}, {**record, CAUSAL_LOSS: res, MIN_WEIGHT: jnp.min(w)}
            # a system: one set of weights from the sum of its equations' slice losses, applied to each
            per = {e: slice_losses(jnp.square(residuals[e]), t, slices) for e in equations}
            w = causal_weights(sum(per.values()), coeffs[EPS_KEY])
            weighted = {e: jnp.mean(w * v) for e, v in per.items()}
            return {**contributions, **weighted}, {**record, CAUSAL_LOSS: sum(weighted.values()),
                                                   MIN_WEIGHT: jnp.min(w)}

        return reduction

    def init(segment):
        state = CausalState(0, schedule[0])
        return Changes(coeffs={EPS_KEY: state.eps}, log={EPS_KEY: state.eps}), state

    def update(state, info):
        if info.losses.get(MIN_WEIGHT, 0.0) > delta and state.level + 1 < len(schedule):
            new = CausalState(state.level + 1, schedule[state.level + 1])
            event = {"step": info.step, "eps": new.eps, "min_weight": info.losses[MIN_WEIGHT]}
            return Changes(coeffs={EPS_KEY: new.eps}, log={EPS_KEY: new.eps}, events=(event,)), new
        return Changes(log={EPS_KEY: state.eps}), state

    def summary(events, history):
        w = [r[MIN_WEIGHT] for r in history if r.get(MIN_WEIGHT) is not None]
        eps = [r[EPS_KEY] for r in history if r.get(EPS_KEY) is not None]
        return {"min_weight_over_training": min(w, default=None), "final_min_weight": w[-1] if w else None,
                "final_eps": eps[-1] if eps else None, "eps_schedule": list(schedule)}

    return Remedy("causal", init=init, update=update, reduce=reduce, summary=summary)


def check(options, problem):
    positive("causal", options, "eps", "factor", "levels", "slices")
    if not 0 < options["delta"] < 1:
        raise_range("delta", options["delta"])
    needs_time("causal", problem)


def raise_range(key, value):
    from ..errors import PinnsightError

    raise PinnsightError(f"remedy causal: {key}={value!r} must be in (0, 1)")


SPEC = register_remedy(RemedySpec(
    "causal", "causal weighting over time slices with an annealed ε (Wang, Sankaran, Perdikaris 2022)",
    {"eps": 0.01, "factor": 10.0, "levels": 5, "delta": 0.99, "slices": 32}, build, check,
    aliases=("causal-weighting",), sum_of_squares=False,
    timeline=(("causal weights", (MIN_WEIGHT, EPS_KEY)),),
))
