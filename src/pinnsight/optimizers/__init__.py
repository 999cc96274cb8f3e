"""Optimizer phases, each usable as ``--optimizer NAME:steps=N,key=value`` and run by the trainer through the one
protocol of ``base`` (``Method``: init, step, persistent state; fused chunks; one set of stop reasons):

- ``adam`` (first-order; ``fresh=1`` for a new batch per step) and ``lbfgs`` (optax, zoom line search);
- ``bfgs``, ``ssbfgs``, ``ssbroyden``: dense (self-scaled) BFGS / Broyden with a strong-Wolfe line search
  (``quasi_newton``; Urbán, Stefanou & Pons 2025; Kiyani et al. 2025);
- ``gauss-newton``: Levenberg–Marquardt on the stacked weighted residuals, dense Cholesky or
  matrix-free CG (``gauss_newton``);
- ``natural-gradient``: energy natural gradient (``natural_gradient``; Müller & Zeinhofer 2023);
- ``newton-cg``: Hessian-free Newton–CG with damping and a line search (``newton_cg``).
A new phase is one module with ``DEFAULTS`` and ``build`` plus one ``register_phase`` line here.
"""

from __future__ import annotations

from . import adam, gauss_newton, lbfgs, natural_gradient, newton_cg, quasi_newton
from .base import (
    BUDGET, DIVERGED, NAN, REASONS, SKIPPED, STALL, STOP_REASONS, TARGET, TERMINAL, Method, PhaseContext, PhaseSpec,
    StepInfo, make_chunk, phase_spec, phase_specs, register_phase, strong,
)

_NONNEG = {k: (lambda v: v >= 0) for k in ("gtol", "ftol", "patience")}

register_phase(PhaseSpec("adam", adam.DEFAULTS, adam.build, "Adam with exponential learning-rate decay",
                         first_order=True, checks=adam.CHECKS))
register_phase(PhaseSpec("lbfgs", lbfgs.DEFAULTS, lbfgs.build, "L-BFGS with a strong-Wolfe zoom line search",
                         checks={**_NONNEG, **lbfgs.CHECKS}))
for _variant in quasi_newton.VARIANTS:
    register_phase(PhaseSpec(_variant, quasi_newton.DEFAULTS, quasi_newton.build(_variant),
                             f"dense {_variant} with a strong-Wolfe line search", checks=_NONNEG))
register_phase(PhaseSpec("gauss-newton", gauss_newton.DEFAULTS, gauss_newton.build,
                         "Levenberg–Marquardt on the stacked weighted residuals", needs_sum_of_squares=True,
                         checks=_NONNEG))
register_phase(PhaseSpec("natural-gradient", natural_gradient.DEFAULTS, natural_gradient.build,
                         "energy natural gradient (Gram matrix of the residual Jacobian)", needs_sum_of_squares=True,
                         checks=_NONNEG))
register_phase(PhaseSpec("newton-cg", newton_cg.DEFAULTS, newton_cg.build, "Hessian-free Newton–CG",
                         checks=_NONNEG))

__all__ = [
    "BUDGET", "DIVERGED", "NAN", "REASONS", "SKIPPED", "STALL", "STOP_REASONS", "TARGET", "TERMINAL", "Method",
    "PhaseContext", "PhaseSpec", "StepInfo", "adam", "gauss_newton", "lbfgs", "make_chunk", "natural_gradient",
    "newton_cg", "phase_spec", "phase_specs", "quasi_newton", "register_phase", "strong",
]
