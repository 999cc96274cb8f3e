"""Adam with an exponential learning-rate decay, lr · decay_rate^(step / decay_steps) (Kingma & Ba 2015; optax).

``fresh=1`` draws a new uniform batch of the configured point counts at every step (stochastic mini-batches, as
in Wang, Teng & Perdikaris 2021 and Wang, Yu & Perdikaris 2022), from ``fold_in(key, step)``: the step counter
lives in the state, so a later segment of the run never repeats an earlier segment's batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import spec
from .base import Method, PhaseContext, info, strong

DEFAULTS = {"lr": 1e-3, "decay_rate": 0.9, "decay_steps": 1000, "b1": 0.9, "b2": 0.999, "fresh": 0}
CHECKS = {"lr": spec.positive, "decay_rate": spec.between(0, 1, low_open=True), "decay_steps": spec.positive,
          "b1": spec.between(0, 1, high_open=True), "b2": spec.between(0, 1, high_open=True)}


class AdamState(NamedTuple):
    opt: Any  # optax's Adam state (moments, count)
    value: jax.Array  # the loss at the parameters of the last step
    step: jax.Array  # steps this phase took in the run (indexes the fresh batches)
    batch: Any  # the batch of the last step (fresh batches), else the empty tuple


def adam_optimizer(options: Mapping[str, Any]) -> optax.GradientTransformation:
    schedule = optax.exponential_decay(options["lr"], options["decay_steps"], options["decay_rate"])
    return optax.adam(schedule, b1=options["b1"], b2=options["b2"])


def build(ctx: PhaseContext, options: Mapping[str, Any], unravel, n) -> Method:
    optimizer = adam_optimizer(options)
    fresh = bool(options["fresh"])
    grad_fn = jax.value_and_grad(ctx.objective, has_aux=True)

    def init(params, data):
        value = ctx.objective(params, *data)[0]
        batch = data[0] if fresh else ()
        return strong(AdamState(optimizer.init(params), value, jnp.zeros((), jnp.int32), batch))

    def step(params, st: AdamState, data):
        batch, weights, coeffs = data
        if fresh:
            batch = ctx.sample(jax.random.fold_in(ctx.key, st.step))
        (loss, _), grads = grad_fn(params, batch, weights, coeffs)
        updates, opt = optimizer.update(grads, st.opt, params)
        new = AdamState(opt, loss, st.step + 1, batch if fresh else ())
        return optax.apply_updates(params, updates), new, info(loss, loss, optax.tree.norm(grads), 1)

    def resume_at(st: AdamState, steps_before: int) -> AdamState:
        return st._replace(step=jnp.asarray(steps_before, jnp.int32))

    return Method(init, step, persistent=("opt",), flat=False, resume_at=resume_at)
