"""Tests of the periodic reference solvers (Krishnapriyan et al. 2021 family).

Measured (numpy 2.4, scipy 1.17): diffusion of sin x off-grid 2e-16; reaction_diffusion
nu=0 vs reaction 4e-14, rho=0 vs diffusion 2e-15; Strang errors vs dt=2.5e-5 at
nu=3, rho=5: 4.9e-5, 1.2e-5, 3.1e-6 for dt = 0.01, 0.005, 0.0025 (orders 1.999, 2.000);
vs an independent Radau method-of-lines solve: 6.0e-7 (dt=1e-3), 6.0e-9 (dt=1e-4).
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

try:
    import pinnsight.reference  # noqa: F401
except ModuleNotFoundError:  # package not installed: use the src/ layout directly
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pinnsight.errors import PinnsightError
from pinnsight.reference import convection, diffusion, reaction, reaction_diffusion

TWO_PI = 2 * np.pi
RNG = np.random.default_rng(1234)
X_OFF = np.sort(RNG.uniform(0, TWO_PI, 97))  # off any uniform grid


def gaussian(x):
    return np.exp(-((x - np.pi) ** 2) / (2 * (np.pi / 4) ** 2))


def smooth(x):
    return 0.5 + 0.3 * np.sin(x) + 0.1 * np.cos(2 * x)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, t: convection(np.sin, 2.0, x, t),
        lambda x, t: diffusion(np.sin, 0.5, x, t),
        lambda x, t: reaction(smooth, 3.0, x, t),
        lambda x, t: reaction_diffusion(smooth, 0.5, 3.0, x, t, dt=1e-2),
    ],
)
def test_shape_dtype_and_t0_column(fn):
    x, t = X_OFF, np.array([0.0, 0.3, 0.05])
    U = fn(x, t)
    assert U.shape == (x.size, t.size) and U.dtype == np.float64
    u0 = fn(x, np.array([0.0]))[:, 0]
    np.testing.assert_array_equal(U[:, 0], u0)
    assert np.all(np.isfinite(U))


def test_convection_exact_including_nonperiodic_u0():
    t = np.linspace(0, 1, 11)
    for beta in (30.0, -7.5):
        U = convection(np.sin, beta, X_OFF, t)
        exact = np.sin(X_OFF[:, None] - beta * t[None, :])
        assert np.abs(U - exact).max() < 1e-13  # measured 1.2e-15 (argument reduction)
    # non-periodic u0(x) = x: the periodic extension, i.e. (x - beta t) mod 2 pi
    U = convection(lambda x: x, 3.0, X_OFF, t)
    np.testing.assert_array_equal(U, np.mod(X_OFF[:, None] - 3.0 * t[None, :], TWO_PI))
    assert U.min() >= 0 and U.max() < TWO_PI


def test_diffusion_sin_exact_off_grid():
    t = np.linspace(0, 2, 21)
    nu = 0.7
    U = diffusion(np.sin, nu, X_OFF, t)
    exact = np.exp(-nu * t)[None, :] * np.sin(X_OFF)[:, None]
    assert np.abs(U - exact).max() < 1e-13  # measured 2e-16


def test_diffusion_trig_polynomial_each_mode_decays():
    def u0(x):
        return 1.0 + np.cos(3 * x) - 0.5 * np.sin(17 * x)

    t = np.array([0.01, 0.1, 0.5])
    nu = 0.2
    U = diffusion(u0, nu, X_OFF, t, n_fourier=64)
    x, tt = X_OFF[:, None], t[None, :]
    exact = 1 + np.exp(-9 * nu * tt) * np.cos(3 * x) - 0.5 * np.exp(-289 * nu * tt) * np.sin(17 * x)
    assert np.abs(U - exact).max() < 1e-13  # measured 3.3e-15


def test_diffusion_spectral_convergence_smooth_u0():
    def u0(x):
        return np.exp(np.sin(x))

    t = np.array([0.05, 1.0])
    coarse = diffusion(u0, 0.1, X_OFF, t, n_fourier=64)
    fine = diffusion(u0, 0.1, X_OFF, t)
    assert np.abs(coarse - fine).max() < 1e-13  # measured 4.4e-16


def test_reaction_matches_ode_integration():
    x = np.linspace(0, TWO_PI, 7, endpoint=False)
    t = np.array([0.0, 0.2, 0.5, 1.0])
    rho = 5.0
    U = reaction(gaussian, rho, x, t)
    for i, xi in enumerate(x):
        sol = solve_ivp(
            lambda _t, u: rho * u * (1 - u),
            (0, 1),
            [gaussian(xi)],
            t_eval=t,
            rtol=1e-12,
            atol=1e-14,
            method="DOP853",
        )
        assert np.abs(sol.y[0] - U[i]).max() < 1e-10  # measured 1e-12


def test_reaction_no_overflow_large_rho_t_and_negative_t():
    t = np.array([-5.0, 0.0, 1.0, 10.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow RuntimeWarning would fail
        U = reaction(smooth, 1000.0, X_OFF, t)
    assert np.all(np.isfinite(U))
    np.testing.assert_array_equal(U[:, 2:], 1.0)  # u0 in (0, 1): saturated at 1
    assert np.all(U[:, 0] < 1e-300)  # far in the past: tends to 0
    # closed form of the brief, where it does not overflow
    t2 = np.array([0.1, 0.3])
    e = np.exp(2.0 * t2)[None, :]
    u0 = smooth(X_OFF)[:, None]
    np.testing.assert_allclose(
        reaction(smooth, 2.0, X_OFF, t2), u0 * e / (u0 * e + 1 - u0), rtol=1e-14, atol=0
    )


def test_reaction_diffusion_reduces_to_reaction_when_nu_zero():
    t = np.linspace(0, 1, 6)
    U = reaction_diffusion(smooth, 0.0, 5.0, X_OFF, t)
    assert np.abs(U - reaction(smooth, 5.0, X_OFF, t)).max() < 1e-12  # measured 4e-14


def test_reaction_diffusion_reduces_to_diffusion_when_rho_zero():
    t = np.linspace(0, 1, 6)
    for u0 in (smooth, gaussian):
        U = reaction_diffusion(u0, 3.0, 0.0, X_OFF, t, n_fourier=512)
        V = diffusion(u0, 3.0, X_OFF, t, n_fourier=512)
        assert np.abs(U - V).max() < 1e-12  # measured 1.7e-15


def test_reaction_diffusion_strang_second_order_in_dt():
    x = np.linspace(0, TWO_PI, 256, endpoint=False)
    t = np.array([0.25, 0.5, 1.0])
    args = (gaussian, 3.0, 5.0, x, t)
    ref = reaction_diffusion(*args, dt=2.5e-5)
    errs = np.array([np.abs(reaction_diffusion(*args, dt=dt) - ref).max() for dt in (1e-2, 5e-3, 2.5e-3)])
    orders = np.log2(errs[:-1] / errs[1:])
    assert np.all((orders > 1.8) & (orders < 2.2)), (errs, orders)
    assert errs[0] < 1e-4  # measured 4.9e-5 at dt = 0.01 (Lie splitting: ~1e-2)


def test_reaction_diffusion_times_are_exact_labels():
    """Any order/spacing of t gives the solution at exactly t[j] (no 'one step per column')."""
    t = np.array([0.7, 0.13, 0.0, 0.7, 0.4])
    U = reaction_diffusion(gaussian, 3.0, 5.0, X_OFF, t)
    for j, tj in enumerate(t):
        single = reaction_diffusion(gaussian, 3.0, 5.0, X_OFF, np.array([tj]))[:, 0]
        assert np.abs(U[:, j] - single).max() < 1e-12  # measured 1.3e-15
    # a coarse time grid with dt much smaller than its spacing: t = 1 column is u(., 1)
    t_coarse = np.linspace(0, 1, 3)
    fine = reaction_diffusion(gaussian, 3.0, 5.0, X_OFF, np.array([1.0]), dt=1e-4)
    coarse = reaction_diffusion(gaussian, 3.0, 5.0, X_OFF, t_coarse)
    assert np.abs(coarse[:, -1] - fine[:, 0]).max() < 1e-6  # measured 4.3e-8


def test_reaction_diffusion_matches_method_of_lines():
    """Independent check: same Fourier semi-discretisation integrated by Radau (rtol 1e-12)."""
    n, nu, rho = 64, 3.0, 5.0
    xg = TWO_PI * np.arange(n) / n
    k = np.fft.rfftfreq(n, 1.0 / n)
    d2 = np.fft.irfft(-(k**2)[:, None] * np.fft.rfft(np.eye(n), axis=0), n, axis=0)

    def rhs(_t, u):
        return nu * (d2 @ u) + rho * u * (1 - u)

    def jac(_t, u):
        return nu * d2 + np.diag(rho * (1 - 2 * u))

    t = np.array([0.1, 0.5, 1.0])
    sol = solve_ivp(rhs, (0, 1), gaussian(xg), "Radau", t_eval=t, jac=jac, rtol=1e-12, atol=1e-14)
    errs = [
        np.abs(reaction_diffusion(gaussian, nu, rho, xg, t, dt=dt, n_fourier=n) - sol.y).max()
        for dt in (1e-3, 1e-4)
    ]
    assert errs[1] < 1e-8  # measured 6.0e-9 (and 6.0e-7 at dt = 1e-3)
    assert 1.8 < np.log10(errs[0] / errs[1]) < 2.2  # second order against an independent solver


def test_periodic_solvers_reject_bad_input():
    with pytest.raises(PinnsightError):
        diffusion(np.sin, 1.0, X_OFF, np.array([-0.1]))
    with pytest.raises(PinnsightError):
        reaction_diffusion(np.sin, -1.0, 1.0, X_OFF, np.array([0.1]))
    with pytest.raises(PinnsightError):
        convection(np.sin, 1.0, np.ones((2, 2)), np.array([0.1]))
