"""Problems with exact solutions from the loss-balancing papers of Wang, Teng, Perdikaris and Wang, Yu, Perdikaris.

- helmholtz     Δu + k²u = q on (−1, 1)², u = sin(a₁πx) sin(a₂πy), Dirichlet
                (Wang, Teng, Perdikaris, SIAM J. Sci. Comput. 43 (2021), the motivating example)
- klein-gordon  u_tt + α u_xx + β u + γ u³ = f, α = −1, β = 0, γ = 1, u = x cos(5πt) + (xt)³ on [0, 1]²
                (same paper, Klein–Gordon example)
- wave          u_tt = c² u_xx, u = sin(πx) cos(cπt) + ½ sin(4πx) cos(4cπt) on [0, 1]², c = 2
                (Wang, Yu, Perdikaris, J. Comput. Phys. 449 (2022), wave example)
- poisson       −u'' = f on [0, 1], u = sin(kπx), or u = sin(πx) + amp·sin(kπx) (multiscale)
                (the spectral-bias example of the same paper)

Forcing terms are the analytic derivatives of the exact solutions (tested: the residual of the exact solution,
through the same autodiff path as training, vanishes to float64 rounding). Coefficients are traced (``c``), so a
curriculum may change them; the boundary and initial *targets* use the values the problem was built with.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ._base import Dirichlet, Initial, Param, Problem, register_problem

PI = math.pi


def _d(u, axis: int, order: int = 1):
    for _ in range(order):
        u = jax.grad(u, argnums=axis)
    return u


# ------------------------------------------------------------------------------------------------ Helmholtz
def helmholtz_exact(x, y, c):
    """u = sin(a₁πx) sin(a₂πy)."""
    return jnp.sin(c["a1"] * PI * x) * jnp.sin(c["a2"] * PI * y)


def helmholtz_forcing(x, y, c):
    """q = Δu + k²u = (k² − π²(a₁² + a₂²)) u for the exact u (Wang, Teng, Perdikaris 2021)."""
    return (c["k"] ** 2 - PI**2 * (c["a1"] ** 2 + c["a2"] ** 2)) * helmholtz_exact(x, y, c)


def helmholtz_residual(u, x, y, c):
    """u_xx + u_yy + k²u − q (Wang, Teng, Perdikaris 2021, Helmholtz example)."""
    return _d(u, 0, 2)(x, y) + _d(u, 1, 2)(x, y) + c["k"] ** 2 * u(x, y) - helmholtz_forcing(x, y, c)


@register_problem(
    "helmholtz",
    params={
        "a1": Param(1.0, "frequency a₁ of the exact solution in x", min=0.0, min_exclusive=True),
        "a2": Param(4.0, "frequency a₂ of the exact solution in y", min=0.0, min_exclusive=True),
        "k": Param(1.0, "wave number k", min=0.0),
    },
    summary="Δu + k²u = q on (−1, 1)², u = sin(a₁πx) sin(a₂πy) (Wang, Teng, Perdikaris 2021)",
)
def helmholtz(a1: float, a2: float, k: float) -> Problem:
    coefficients = {"a1": a1, "a2": a2, "k": k}
    return Problem(
        name="helmholtz",
        coords=("x", "y"),
        bounds=((-1.0, 1.0), (-1.0, 1.0)),
        residual=helmholtz_residual,
        constraints=(Dirichlet(value=lambda x, y: helmholtz_exact(x, y, coefficients), name="bc", n_points=400),),
        coefficients=coefficients,
        time=None,
        exact=helmholtz_exact,
        reference_shape=(201, 201),
    )


# --------------------------------------------------------------------------------------------- Klein–Gordon
def klein_gordon_exact(x, t, c=None):
    """u = x cos(5πt) + (xt)³."""
    return x * jnp.cos(5.0 * PI * t) + (x * t) ** 3


def klein_gordon_forcing(x, t, c):
    """f = u_tt + α u_xx + β u + γ u³ with u_tt = −25π² x cos(5πt) + 6x³t and u_xx = 6xt³."""
    u = klein_gordon_exact(x, t)
    u_tt = -25.0 * PI**2 * x * jnp.cos(5.0 * PI * t) + 6.0 * x**3 * t
    u_xx = 6.0 * x * t**3
    return u_tt + c["alpha"] * u_xx + c["beta"] * u + c["gamma"] * u**3


def klein_gordon_residual(u, x, t, c):
    """u_tt + α u_xx + β u + γ u³ − f (Wang, Teng, Perdikaris 2021, Klein–Gordon example, k = 3)."""
    v = u(x, t)
    return (
        _d(u, 1, 2)(x, t) + c["alpha"] * _d(u, 0, 2)(x, t) + c["beta"] * v + c["gamma"] * v**3
        - klein_gordon_forcing(x, t, c)
    )


@register_problem(
    "klein-gordon",
    params={
        "alpha": Param(-1.0, "coefficient α of u_xx (< 0: hyperbolic)", max=0.0),
        "beta": Param(0.0, "coefficient β of u"),
        "gamma": Param(1.0, "coefficient γ of u³"),
    },
    summary="u_tt − u_xx + u³ = f on [0, 1]², u = x cos(5πt) + (xt)³ (Wang, Teng, Perdikaris 2021)",
)
def klein_gordon(alpha: float, beta: float, gamma: float) -> Problem:
    return Problem(
        name="klein-gordon",
        coords=("x", "t"),
        bounds=((0.0, 1.0), (0.0, 1.0)),
        residual=klein_gordon_residual,
        constraints=(
            Initial(value=lambda x: klein_gordon_exact(x, 0.0 * x), order=0, name="ic"),
            Initial(value=lambda x: 0.0 * x, order=1, name="ic_t"),  # u_t(x, 0) = 0 for the exact u
            Dirichlet(value=klein_gordon_exact, coords=("x",), name="bc"),
        ),
        coefficients={"alpha": alpha, "beta": beta, "gamma": gamma},
        exact=klein_gordon_exact,
        reference_shape=(201, 201),
    )


# ----------------------------------------------------------------------------------------------------- wave
def wave_exact(x, t, c):
    """u = sin(πx) cos(cπt) + ½ sin(4πx) cos(4cπt) (c = 2: Wang, Yu, Perdikaris 2022)."""
    return jnp.sin(PI * x) * jnp.cos(c["c"] * PI * t) + 0.5 * jnp.sin(4.0 * PI * x) * jnp.cos(4.0 * c["c"] * PI * t)


def wave_residual(u, x, t, c):
    """u_tt − c² u_xx."""
    return _d(u, 1, 2)(x, t) - c["c"] ** 2 * _d(u, 0, 2)(x, t)


@register_problem(
    "wave",
    params={"c": Param(2.0, "wave speed c", min=0.0, min_exclusive=True)},
    summary="u_tt = c² u_xx on [0, 1]², u = sin(πx) cos(cπt) + ½ sin(4πx) cos(4cπt) (Wang, Yu, Perdikaris 2022)",
)
def wave(c: float) -> Problem:
    return Problem(
        name="wave",
        coords=("x", "t"),
        bounds=((0.0, 1.0), (0.0, 1.0)),
        residual=wave_residual,
        constraints=(
            Initial(value=lambda x: jnp.sin(PI * x) + 0.5 * jnp.sin(4.0 * PI * x), order=0, name="ic"),
            Initial(value=lambda x: 0.0 * x, order=1, name="ic_t"),
            Dirichlet(coords=("x",), name="bc"),  # u(0, t) = u(1, t) = 0
        ),
        coefficients={"c": c},
        exact=wave_exact,
        reference_shape=(201, 201),
    )


# -------------------------------------------------------------------------------------------------- Poisson
POISSON_VARIANTS = ("single", "multiscale")


def _poisson_low(variant: str) -> float:
    return 1.0 if variant == "multiscale" else 0.0


def poisson_exact_fn(variant: str):
    """u = sin(kπx) (single) or sin(πx) + amp·sin(kπx) (multiscale)."""
    low = _poisson_low(variant)

    def exact(x, c):
        amp = c["amp"] if variant == "multiscale" else 1.0
        return low * jnp.sin(PI * x) + amp * jnp.sin(c["k"] * PI * x)

    return exact


def poisson_residual_fn(variant: str):
    """−u'' − f with f = π² sin(πx) [multiscale] + amp (kπ)² sin(kπx)."""
    low = _poisson_low(variant)

    def residual(u, x, c):
        amp = c["amp"] if variant == "multiscale" else 1.0
        f = low * PI**2 * jnp.sin(PI * x) + amp * (c["k"] * PI) ** 2 * jnp.sin(c["k"] * PI * x)
        return -_d(u, 0, 2)(x) - f

    return residual


@register_problem(
    "poisson",
    params={
        "k": Param(4.0, "frequency k of sin(kπx)", min=0.0, min_exclusive=True),
        "variant": Param("single", "single: u = sin(kπx); multiscale: u = sin(πx) + amp·sin(kπx)",
                         choices=POISSON_VARIANTS),
        "amp": Param(0.1, "amplitude of the high-frequency part (multiscale)", min=0.0),
    },
    summary="−u'' = f on [0, 1], u = sin(kπx) or sin(πx) + amp·sin(kπx) (spectral bias; Wang, Yu, Perdikaris 2022)",
)
def poisson(k: float, variant: str, amp: float) -> Problem:
    coefficients = {"k": k, **({"amp": amp} if variant == "multiscale" else {})}
    exact = poisson_exact_fn(variant)
    return Problem(
        name="poisson",
        coords=("x",),
        bounds=((0.0, 1.0),),
        residual=poisson_residual_fn(variant),
        constraints=(Dirichlet(value=lambda x: exact(x, coefficients), name="bc"),),
        coefficients=coefficients,
        options={"variant": variant},
        time=None,
        exact=exact,
        reference_shape=(max(1001, int(math.ceil(20 * k)) + 1),),
    )
