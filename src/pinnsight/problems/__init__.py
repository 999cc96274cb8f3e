"""Problem definitions and the registry of named problems."""

from ._base import (
    Constraint,
    constraint_view,
    equation_values,
    exact_values,
    Dirichlet,
    Fields,
    Initial,
    Neumann,
    Observed,
    Param,
    Periodic,
    Pinned,
    Problem,
    Robin,
    boundary_points,
    interior_points,
    ProblemSpec,
    ReferenceSolution,
    grid_points,
    make_problem,
    problem_specs,
    register_problem,
    resolve_params,
    takes_coefficients,
)
from .symmetry import Reflection
from . import failure_modes  # noqa: F401  (registers the built-in problems)
from . import raissi, wang  # noqa: F401  (allen-cahn, burgers; helmholtz, klein-gordon, wave, poisson)
from . import navier_stokes  # noqa: F401  (kovasznay, taylor-green, cavity, cylinder)
from . import domains  # noqa: F401  (laplace-lshape, poisson-annulus, heat-disk, helmholtz-plate)
from . import kdv  # noqa: F401  (kdv)

__all__ = [
    "Constraint", "Dirichlet", "Fields", "constraint_view", "equation_values", "exact_values", "Initial", "Neumann", "Observed", "Param", "Periodic", "Pinned", "Problem", "Reflection", "Robin", "boundary_points", "interior_points", "ProblemSpec",
    "ReferenceSolution", "grid_points", "make_problem", "problem_specs", "register_problem", "resolve_params",
    "takes_coefficients",
]
