"""Collocation and constraint points: uniform draws, one array of rows per loss term."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from .problems import Problem
from .problems._base import interior_points


def sample_batch(problem: Problem, key: jax.Array, points: Mapping[str, int], dtype=jnp.float32) -> dict:
    """Uniform residual points in the domain and each constraint's own rows, ``points[name]`` of each."""
    keys = jax.random.split(key, len(problem.constraints) + 1)
    batch = {"res": interior_points(problem, keys[0], points["res"])}
    for k, con in zip(keys[1:], problem.constraints):
        batch[con.name] = con.sample(k, problem, points[con.name])
    return {name: jnp.asarray(rows, dtype) for name, rows in batch.items()}

