"""Diagnostics that explain a failing PINN: pure functions of (problem, model params/static, batch).

- ``conditioning``: operator conditioning (De Ryck et al. 2024): the matrix A of linear Fourier models, its
  preconditioner, and the Gauss–Newton condition number of a network.
- ``gradients``: per-term gradient statistics (norm, max, mean, std, log-spaced histogram), one jitted call.
- ``ntk``: empirical NTK blocks K_ab = J_a J_bᵀ, traces, spectra, the condition of JᵀJ from a computed J.
- ``signatures``: failure signatures as ``Finding`` s with suggested remedies and command lines.
- ``report``: ``diagnose`` a run and write ``RUN_DIR/diagnosis/`` (report.md, findings.json, figures).
"""

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
from .gradients import HIST_EDGES, GradStats, gradient_statistics, imbalance, make_gradient_statistics
from .ntk import (
    condition_from_jacobian,
    full_ntk,
    make_jacobians,
    make_traces,
    ntk_blocks,
    ntk_spectra,
    plot_spectra,
    scaled_jacobian,
    spectrum,
    subsample,
)
from .report import Diagnosis, RunData, diagnose, from_result, write_diagnosis
from .signatures import (
    Context,
    Finding,
    Suggestion,
    conditioning_growth,
    error_grows_in_time,
    high_frequency_error,
    late_time_residual,
    loss_low_error_high,
    make_context,
    ntk_spread,
    spectral_split,
    stall,
    still_improving,
    suggest,
    unbalanced_terms,
)

__all__ = [
    "GaussNewtonCondition", "advection_matrix", "batch_matrix", "condition_number", "fitted_exponent",
    "gauss_newton_condition", "gauss_newton_spectrum", "linear_problem_matrix", "poisson_matrix", "precondition",
    "HIST_EDGES", "Context", "Diagnosis", "Finding", "GradStats", "RunData", "Suggestion", "condition_from_jacobian",
    "conditioning_growth", "diagnose", "error_grows_in_time", "from_result", "full_ntk",
    "gradient_statistics", "high_frequency_error", "imbalance", "late_time_residual", 
    "loss_low_error_high", "make_context", "make_gradient_statistics", "make_jacobians", "make_traces", "ntk_blocks",
    "ntk_spectra", "ntk_spread", "plot_spectra", "scaled_jacobian", "spectral_split", "spectrum", "stall",
    "still_improving", "subsample", "suggest", "unbalanced_terms", "write_diagnosis",
]
