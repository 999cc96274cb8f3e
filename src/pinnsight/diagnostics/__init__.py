"""Diagnostics: pure functions of (problem, model, params, batch) — conditioning, gradients, NTK spectra."""

from .conditioning import (
    GaussNewtonCondition,
    advection_matrix,
    batch_matrix,
    condition_number,
    fitted_exponent,
    gauss_newton_condition,
    gauss_newton_spectrum,
    linear_problem_matrix,
    poisson_matrix,
    precondition,
)

__all__ = [
    "GaussNewtonCondition", "advection_matrix", "batch_matrix", "condition_number", "fitted_exponent",
    "gauss_newton_condition", "gauss_newton_spectrum", "linear_problem_matrix", "poisson_matrix", "precondition",
]
