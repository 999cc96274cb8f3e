"""Unknown coefficients trained alongside the network (inverse problems).

A model with unknowns is ``WithUnknowns(net, Unknowns)``: the unknowns' raw values are array leaves of the model,
so every optimizer phase trains them with the network's weights (Adam, L-BFGS, the second-order phases: they all
act on the model's array leaves), every weighting remedy sees their gradients, and a checkpoint or run directory
stores them with the parameters. The loss reads their values through ``coefficients`` (``losses``): an unknown
replaces the problem's coefficient of that name wherever the problem uses it, residual and constraints alike.

Parametrisations (the value as a function of the raw leaf r): both bounds ``lo + (hi − lo)·sigmoid(r)``; a lower
bound (a positive coefficient has lo = 0) ``lo + exp(r)``; an upper bound ``hi − exp(r)``; none ``r``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import equinox as eqx
import jax
import jax.numpy as jnp


def _raw_of(value: float, lo: float | None, hi: float | None) -> float:
    if lo is not None and hi is not None:
        s = (value - lo) / (hi - lo)
        return math.log(s / (1.0 - s))
    if lo is not None:
        return math.log(value - lo)
    if hi is not None:
        return math.log(hi - value)
    return value


def _value_of(raw: jax.Array, lo: float | None, hi: float | None) -> jax.Array:
    if lo is not None and hi is not None:
        return lo + (hi - lo) * jax.nn.sigmoid(raw)
    if lo is not None:
        return lo + jnp.exp(raw)
    if hi is not None:
        return hi - jnp.exp(raw)
    return raw


class Unknowns(eqx.Module):
    """Trainable coefficients: name -> raw leaf, with the bounds of each (static)."""

    raw: dict
    bounds: tuple = eqx.field(static=True)  # ((name, lo, hi), ...)

    @classmethod
    def create(cls, initial: Mapping[str, float], bounds: Mapping[str, tuple], dtype=None) -> "Unknowns":
        """From initial values (strictly inside their bounds) and ``name -> (lo, hi)`` (None: unbounded)."""
        raw = {k: jnp.asarray(_raw_of(float(v), *bounds.get(k, (None, None))), dtype) for k, v in initial.items()}
        return cls(raw, tuple((k, *bounds.get(k, (None, None))) for k in initial))

    def values(self) -> dict[str, jax.Array]:
        return {k: _value_of(self.raw[k], lo, hi) for k, lo, hi in self.bounds}


class WithUnknowns(eqx.Module):
    """A network and the unknown coefficients trained with it; calls the network."""

    net: eqx.Module
    unknowns: Unknowns

    def __call__(self, x):
        return self.net(x)

    def bind(self, problem, coeffs):
        """The network as a point function for ``coeffs`` (a hard-constraint network solves for them)."""
        bind = getattr(self.net, "bind", None)
        return self.net if bind is None else bind(problem, coeffs)


def coefficients(model, coeffs: Mapping[str, jax.Array]) -> Mapping[str, jax.Array]:
    """``coeffs`` with the model's unknowns (if any) in place of the coefficients of the same name."""
    unknowns = getattr(model, "unknowns", None)
    return coeffs if unknowns is None else {**coeffs, **unknowns.values()}


def unknown_values(params) -> dict[str, float]:
    """Host values of the unknowns in a parameter pytree (an eqx-partitioned ``WithUnknowns``); {} without."""
    unknowns = getattr(params, "unknowns", None)
    return {} if unknowns is None else {k: float(v) for k, v in unknowns.values().items()}
