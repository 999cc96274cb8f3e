"""Second-order optimizer phases (issue 5), each usable as ``--optimizer NAME:steps=N,key=value``:

- ``bfgs``, ``ssbfgs``, ``ssbroyden``: dense (self-scaled) BFGS / Broyden with a strong-Wolfe line search
  (``quasi_newton``; Urbán, Stefanou & Pons 2025; Kiyani et al. 2025);
- ``gauss-newton``: Levenberg–Marquardt on the stacked weighted residuals, dense Cholesky or
  matrix-free CG (``gauss_newton``);
- ``natural-gradient``: energy natural gradient (pseudo-inverse of the Gram matrix JᵀJ, grid line search;
  ``natural_gradient``; Müller & Zeinhofer 2023);
- ``newton-cg``: Hessian-free Newton–CG with damping and a line search (``newton_cg``).
``lbfgs`` (optax) stays in ``pinnsight.train``. Every phase reports iterations, function evaluations, line-search
failures and its stop reason (``budget``, ``nan``, ``gtol``, ``no-progress``, ``damping-limit``).
"""

from __future__ import annotations

from ..train import register_phase
from . import gauss_newton, natural_gradient, newton_cg, quasi_newton
from ._flat import REASONS, flat_runner

for _variant in quasi_newton.VARIANTS:
    register_phase(_variant, quasi_newton.DEFAULTS, flat_runner(_variant, quasi_newton.build(_variant)))
register_phase("gauss-newton", gauss_newton.DEFAULTS, flat_runner("gauss-newton", gauss_newton.build))
register_phase("natural-gradient", natural_gradient.DEFAULTS,
               flat_runner("natural-gradient", natural_gradient.build))
register_phase("newton-cg", newton_cg.DEFAULTS, flat_runner("newton-cg", newton_cg.build))

__all__ = ["REASONS", "flat_runner", "gauss_newton", "natural_gradient", "newton_cg", "quasi_newton"]
