"""Hard constraints for linear PDEs (Négiar, Mahoney, Krishnapriyan, ICLR 2023): the least-squares layer
(``linear``) and training a basis over a family of PDE parameters (``family``)."""

from .linear import (
    IllConditionedWarning,
    affine_defects,
    affine_rows,
    check_affine,
    conditioning,
    ridge_lstsq,
    term_rows,
    weighted_system,
)

__all__ = [
    "IllConditionedWarning", "affine_defects", "affine_rows", "check_affine", "conditioning", "ridge_lstsq", "term_rows",
    "weighted_system",
]
