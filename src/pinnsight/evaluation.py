"""Errors that need no reference solution: the PDE residual and every constraint on fresh points.

``make_residual_errors(problem, static, n_points, dtype)`` builds one jitted ``errors(params, coeffs, key)``
returning ``res_rms`` (root mean square of the PDE residual), ``res_max`` (its largest magnitude) and
``<name>_rms`` for every constraint, on points drawn uniformly with ``key`` (``sampling.sample_batch``, the same
draw as training's). Pass a new key at every call — derived from the run's seed and the call count, e.g.
``keys.derive(seed, "evaluation", "fresh", count)`` — so that a fit to the training points alone shows up. A
problem without a reference (``Problem.has_reference`` False) is judged by these numbers alone; one with a
reference reports them too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .errors import PinnsightError
from .losses import pointwise_residuals
from .problems import Problem
from .sampling import sample_batch


def residual_error_names(problem: Problem) -> tuple[str, ...]:
    """The keys ``errors`` returns (a jitted dict comes back with sorted keys): ``res_rms``, ``res_max``, then
    ``<constraint>_rms`` for each constraint, in the problem's order."""
    return ("res_rms", "res_max") + tuple(f"{c.name}_rms" for c in problem.constraints)


def residual_errors(residuals: Mapping[str, jax.Array], equations: tuple[str, ...] = ("res",)) -> dict[str, jax.Array]:
    """RMS of every constraint's pointwise residual values (all components of a vector constraint); ``res_rms``
    and ``res_max`` over the PDE residual (all ``equations`` of a system: the RMS over them, the largest |value|)."""
    eqs = residuals[equations[0]] if len(equations) == 1 else jnp.stack([residuals[e] for e in equations])
    out = {"res_rms": jnp.sqrt(jnp.mean(jnp.square(eqs))), "res_max": jnp.max(jnp.abs(eqs))}
    for name, r in residuals.items():
        if name not in equations:
            out[f"{name}_rms"] = jnp.sqrt(jnp.mean(jnp.square(r)))
    return out


def point_counts(problem: Problem, n_points: int | Mapping[str, int]) -> dict[str, int]:
    """``n_points`` as a count per point set (``res`` and each constraint): one integer for all, or a mapping."""
    names = problem.batch_names
    if isinstance(n_points, Mapping):
        unknown = sorted(set(n_points) - set(names))
        missing = [t for t in names if t not in n_points]
        if unknown or missing:
            raise PinnsightError(
                f"{problem.name}: evaluation points: "
                + (f"unknown term {unknown[0]!r}" if unknown else f"no count for {missing[0]!r}")
                + f" (terms: {', '.join(names)})"
            )
        counts = dict(n_points)
    else:
        counts = {t: n_points for t in names}
    for term, n in counts.items():
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise PinnsightError(
                f"{problem.name}: evaluation points for {term!r} must be a positive integer, got {n!r}")
    return {t: int(n) for t, n in counts.items()}


def make_residual_errors(problem: Problem, static, n_points: int | Mapping[str, int],
                         dtype=jnp.float32) -> Callable[..., dict[str, jax.Array]]:
    """Jitted ``errors(params, coeffs, key) -> {"res_rms", "res_max", "<constraint>_rms"}`` (scalars of ``dtype``).

    ``params`` and ``static`` are the array and static parts of the model (``eqx.partition``); ``coeffs`` maps the
    problem's coefficient names to values (traced: changing them does not retrace); ``key`` draws ``n_points``
    (per term, or one count for all) fresh points of the problem's box and its constraints."""
    counts = point_counts(problem, n_points)

    def errors(params, coeffs, key):
        batch = sample_batch(problem, key, counts, dtype)
        residuals = pointwise_residuals(problem, eqx.combine(params, static), batch, coeffs)
        return {k: jnp.asarray(v, dtype) for k, v in residual_errors(residuals, problem.equations).items()}

    return jax.jit(errors)
