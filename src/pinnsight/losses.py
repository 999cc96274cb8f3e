"""Named loss terms: the mean squared residual of the PDE (``res``) and of each constraint."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp

from .models import coefficients
from .problems import Fields, Problem, constraint_view, equation_values

Batch = Mapping[str, jax.Array]


def as_function(model: Callable[[jax.Array], jax.Array]) -> Callable[..., jax.Array]:
    """The network as a function of scalar coordinates, ``u(x, t)``, for residuals written with jax.grad."""
    return lambda *z: model(jnp.stack(z))


def bound(model, problem: Problem, coeffs: Mapping[str, jax.Array]) -> Callable[[jax.Array], jax.Array]:
    """The model as a point function for ``coeffs``: a model whose forward pass solves for the problem (the
    hard-constraint model's ``bind``) solves once here, for the traced coefficients; any other model as it is."""
    bind = getattr(model, "bind", None)
    return model if bind is None else bind(problem, coeffs)


def point_function(model, problem: Problem, coeffs: Mapping[str, jax.Array]):
    """``(u, c)``: the model as a function of scalar coordinates and the coefficients the problem sees — ``coeffs``
    with the model's unknown coefficients (``models.WithUnknowns``) in place of those of the same name."""
    c = coefficients(model, coeffs)
    u = as_function(bound(model, problem, c))
    return (u if problem.n_fields == 1 else Fields(u, problem.fields)), c


def equation_residuals(problem: Problem, u, points: jax.Array, coeffs) -> dict:
    """Each equation's residual values (N,) at ``points`` (one vmapped pass for all the equations)."""
    if len(problem.equations) == 1:
        name = problem.equations[0]
        return {name: jax.vmap(lambda p: equation_values(problem, u, p, coeffs)[name])(points)}
    return jax.vmap(lambda p: equation_values(problem, u, p, coeffs))(points)


def residual_norms(problem: Problem, static, params, coeffs, points: jax.Array) -> jax.Array:
    """The PDE residual at ``points`` (a system: the root sum of squares of its equations)."""
    u, c = point_function(eqx.combine(params, static), problem, coeffs)
    eqs = equation_residuals(problem, u, points, c)
    if len(eqs) == 1:
        return next(iter(eqs.values()))
    return jnp.sqrt(sum(jnp.square(v) for v in eqs.values()))


def pointwise_residuals(problem: Problem, model, batch: Batch, coeffs: Mapping[str, jax.Array]) -> dict:
    """Residual values per term: each equation (``res`` for one) of shape (N,), each constraint (N,) or (N, k)."""
    u, coeffs = point_function(model, problem, coeffs)
    out = equation_residuals(problem, u, batch["res"], coeffs)
    for con in problem.constraints:
        view = constraint_view(problem, u, con)
        out[con.name] = jax.vmap(lambda row, con=con, view=view: con.residual(view, row, coeffs, problem))(
            batch[con.name])
    return out


def point_residual(problem: Problem, static, term: str, unravel: Callable) -> Callable:
    """``f(theta, row, coeffs) -> (k,)``: the residual values of ``term`` (an equation or a constraint) at one point,
    as a function of the flat parameters ``theta`` (the model is ``eqx.combine(unravel(theta), static)``)."""
    con = None if term in problem.equations else next(c for c in problem.constraints if c.name == term)

    def f(theta, row, coeffs):
        u, coeffs = point_function(eqx.combine(unravel(theta), static), problem, coeffs)
        if con is None:
            value = equation_values(problem, u, list(row), coeffs)[term]
        else:
            value = con.residual(constraint_view(problem, u, con), row, coeffs, problem)
        return jnp.reshape(value, (-1,))

    return f


def scale_rows(residuals: Mapping[str, jax.Array], factors: Mapping[str, jax.Array]) -> dict:
    """Each term's residual values times its per-row factor of shape (N,) (a row of k values: all k times it);
    terms without a factor as they are."""
    return {k: v * jnp.reshape(factors[k], (-1,) + (1,) * (v.ndim - 1)) if k in factors else v
            for k, v in residuals.items()}


def term_jacobian(problem: Problem, static, term: str, unravel: Callable, theta: jax.Array, rows: jax.Array,
                  coeffs: Mapping[str, jax.Array]) -> jax.Array:
    """(N·k, P): the Jacobian of ``term``'s residual values at ``rows`` with respect to ``theta``, one reverse-mode
    gradient per value, vmapped over points (≈ N·k single-point backward passes; ``jax.jacfwd`` would cost P
    full-batch passes). Shared by the Gauss–Newton optimizers and the NTK diagnostics."""
    f = point_residual(problem, static, term, unravel)
    jac = jax.vmap(jax.jacrev(f), in_axes=(None, 0, None))(theta, rows, coeffs)
    return jnp.reshape(jac, (-1, theta.shape[0]))


def loss_terms(problem: Problem, model, batch: Batch, coeffs: Mapping[str, jax.Array]) -> dict:
    """Mean squared residual per term (Raissi et al. 2019, Eq. 4 split by term)."""
    return {k: jnp.mean(jnp.square(r)) for k, r in pointwise_residuals(problem, model, batch, coeffs).items()}


def weighted_loss(terms: Mapping[str, jax.Array], weights: Mapping[str, jax.Array]) -> jax.Array:
    """Σ_k w_k L_k over the terms (weights dict with the same keys)."""
    return sum(weights[k] * terms[k] for k in terms)


def mean_squares(residuals: Mapping[str, jax.Array], batch: Batch, coeffs) -> tuple[dict, dict]:
    """The default reduction: every term its mean square, in the sum and in the record."""
    terms = {k: jnp.mean(jnp.square(r)) for k, r in residuals.items()}
    return terms, terms


def make_objective(problem: Problem, static, reduce: Callable = mean_squares) -> Callable:
    """``objective(params, batch, weights, coeffs) -> (total, terms)`` on the array leaves of an eqx model.

    ``reduce(residuals, batch, coeffs) -> (contributions, record)`` turns the pointwise residuals into what enters
    Σ_k w_k · contribution_k and what is recorded (per-term losses and auxiliary values); remedies that change the
    loss (causal weighting) wrap it (``Remedy.reduce``), so transforms compose in ``chain``."""

    def objective(params, batch, weights, coeffs):
        residuals = pointwise_residuals(problem, eqx.combine(params, static), batch, coeffs)
        contributions, record = reduce(residuals, batch, coeffs)
        return weighted_loss(contributions, weights), record

    return objective
