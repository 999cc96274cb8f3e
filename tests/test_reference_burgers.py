"""Tests of the Burgers reference (Cole-Hopf + Gauss-Hermite, Basdevant et al. 1986).

Measured (numpy 2.4, scipy 1.17), nu = 0.01/pi, 256 x 101 grid on [-1,1] x [0,1]:
|u(+-1,t)| 2e-16, antisymmetry 2e-15, n_quad 100 vs 400 4.3e-15 (50 vs 400: 1.8e-7).
Second-order central finite differences (method of lines, RK45): max error vs Cole-Hopf
1.2e-3 (h = 1e-3) and 4.6e-3 (h = 2e-3), observed order 1.95-2.0; their Richardson
extrapolation agrees to 2.0e-5. min_t u_x(0, t) = -152.0051616 at t = 1.6036880/pi.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import minimize_scalar

try:
    import pinnsight.reference  # noqa: F401
except ModuleNotFoundError:  # package not installed: use the src/ layout directly
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pinnsight.errors import PinnsightError
from pinnsight.reference import burgers, burgers_ux

NU = 0.01 / np.pi
X = np.linspace(-1, 1, 256)
T = np.linspace(0, 1, 101)


@pytest.fixture(scope="module")
def u_default():
    return burgers(X, T)


def test_shape_initial_and_boundary_conditions(u_default):
    U = u_default
    assert U.shape == (256, 101) and U.dtype == np.float64
    np.testing.assert_array_equal(U[:, 0], -np.sin(np.pi * X))
    assert np.abs(U[[0, -1], :]).max() < 1e-14  # measured 2e-16


def test_antisymmetry(u_default):
    assert np.abs(u_default + u_default[::-1]).max() < 1e-14  # measured 2e-15


def test_converged_in_quadrature_nodes(u_default):
    u400 = burgers(X, T, n_quad=400)
    assert np.abs(burgers(X, T, n_quad=100) - u400).max() < 1e-13  # measured 4.3e-15
    assert np.abs(u_default - u400).max() < 1e-13  # measured 2.2e-15
    # the test can fail: too few nodes miss the sharp peaks after t ~ 1/pi
    assert np.abs(burgers(X, T, n_quad=50) - u400).max() > 1e-9  # measured 1.8e-7


def test_no_overflow_small_viscosity():
    """exp(-cos(pi y)/(2 pi nu)) alone would overflow at nu = 1e-3 (exponent up to 159 * 2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise"):
            U = burgers(X, np.array([0.2, 1.0]), nu=1e-3)
    assert np.all(np.isfinite(U)) and np.abs(U).max() <= 1.0


def _fd_burgers(m, t_out):
    """Central conservative flux + central diffusion, m interior points, solve_ivp RK45."""
    x = np.linspace(-1, 1, m + 2)
    h = x[1] - x[0]

    def rhs(_t, u):
        ue = np.concatenate(([0.0], u, [0.0]))
        return -(ue[2:] ** 2 - ue[:-2] ** 2) / (4 * h) + NU * (ue[2:] - 2 * ue[1:-1] + ue[:-2]) / h**2

    sol = solve_ivp(rhs, (0, t_out[-1]), -np.sin(np.pi * x[1:-1]), t_eval=t_out, rtol=1e-8, atol=1e-10)
    assert sol.success
    return x[1:-1], sol.y


def test_matches_finite_differences():
    t = np.array([0.25, 0.5, 0.75, 1.0])
    xc, uc = _fd_burgers(999, t)  # h = 2e-3
    xf, uf = _fd_burgers(1999, t)  # h = 1e-3; xf[1::2] == xc
    np.testing.assert_allclose(xf[1::2], xc, rtol=0, atol=1e-15)
    ec = np.abs(uc - burgers(xc, t)).max(axis=0)
    ef = np.abs(uf - burgers(xf, t)).max(axis=0)
    assert ef.max() < 2e-3  # measured 1.2e-3 (steepest front, t = 0.5)
    orders = np.log2(ec / ef)
    assert np.all((orders > 1.8) & (orders < 2.2)), orders
    richardson = (4 * uf[1::2] - uc) / 3
    assert np.abs(richardson - burgers(xc, t)).max() < 4e-5  # measured 2.0e-5


def test_ux_matches_finite_difference_of_u():
    x = np.array([-0.7, -0.01, 0.0, 0.3, 0.95])
    t = np.array([0.2, 1 / np.pi, 0.9])
    h = 1e-6
    fd = (burgers(x + h, t) - burgers(x - h, t)) / (2 * h)
    ux = burgers_ux(x, t)
    assert np.abs(fd - ux).max() / np.abs(ux).max() < 1e-7  # measured 5e-9 (FD truncation + rounding)


def test_basdevant_max_slope():
    """Basdevant et al. (1986): max |u_x| = 152.00516 at x = 0, t = 1.6037/pi."""
    res = minimize_scalar(
        lambda s: burgers_ux([0.0], [s / np.pi])[0, 0], bracket=(1.5, 1.6, 1.7), tol=1e-10
    )
    assert abs(res.fun + 152.00516) < 5e-6  # measured -152.0051616 (quoted value rounded)
    assert abs(res.x - 1.6037) < 5e-5  # measured 1.6036880
    # the slope is converged in n_quad, also at t = 1/pi where the front is still forming
    for s in (1.0, 1.6037):
        a = burgers_ux([0.0], [s / np.pi], n_quad=100)[0, 0]
        b = burgers_ux([0.0], [s / np.pi], n_quad=400)[0, 0]
        assert abs(a - b) < 1e-10 * abs(b)  # measured 3e-15 relative


def test_rejects_bad_input():
    with pytest.raises(PinnsightError):
        burgers(X, np.array([-0.1]))
    with pytest.raises(PinnsightError):
        burgers(X, T, nu=0.0)
    with pytest.raises(PinnsightError):
        burgers(X, T, n_quad=1)
