"""Reference solutions (pure NumPy/SciPy) for the benchmark PDEs, plus a disk cache.

Every solver takes 1-D arrays ``x`` and ``t`` and returns a float64 array of shape
``(len(x), len(t))`` with ``U[i, j] = u(x[i], t[j])`` at exactly ``t[j]``.

- :func:`convection`, :func:`diffusion`, :func:`reaction`, :func:`reaction_diffusion`:
  periodic x in [0, 2*pi) family of Krishnapriyan et al., NeurIPS 2021.
- :func:`allen_cahn`: Fourier pseudo-spectral + ETDRK4 (Kassam & Trefethen 2005).
- :func:`kdv`: Fourier pseudo-spectral (2/3 dealiased) + ETDRK4 with a dispersive (imaginary) linear part.
- :func:`burgers`: Cole-Hopf + Gauss-Hermite quadrature (Basdevant et al. 1986).
- :func:`cached`: content-addressed, atomically written, checksummed ``.npy`` cache.
"""

from .allen_cahn import allen_cahn, allen_cahn_u0, allen_cahn_u0_hat, solve_allen_cahn
from .burgers import burgers, burgers_ux
from .kdv import KDV_ETA, kdv, kdv_resolution, kdv_u0, solve_kdv
from .cache import SOLVER_VERSION, CacheWarning, CorruptCacheWarning, cache_dir, cache_path, cached
from .periodic import convection, diffusion, reaction, reaction_diffusion

__all__ = [
    "KDV_ETA",
    "SOLVER_VERSION",
    "CacheWarning",
    "CorruptCacheWarning",
    "allen_cahn",
    "allen_cahn_u0",
    "allen_cahn_u0_hat",
    "burgers",
    "burgers_ux",
    "cache_dir",
    "cache_path",
    "cached",
    "convection",
    "diffusion",
    "kdv",
    "kdv_resolution",
    "kdv_u0",
    "reaction",
    "reaction_diffusion",
    "solve_allen_cahn",
    "solve_kdv",
]
