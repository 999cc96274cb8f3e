"""Tests of the Allen-Cahn reference (Fourier pseudo-spectral + ETDRK4, Kassam & Trefethen 2005).

Measured (numpy 2.4, scipy 1.17): exact u0 coefficients vs 2^20-point FFT 6e-13;
ETDRK4 errors vs dt=1e-3 at dt = 0.05, 0.025, 0.0125: smooth u0 (n=64) orders 4.14,
4.00, benchmark u0 (n=128) orders 3.87, 3.93; default solve vs DOP853 (rtol 1e-12)
on the same 512-mode semi-discretisation 6e-12; n=512 vs n=2048 for t in {0.1, 0.5}
6.6e-8; n=1024 vs n=2048 at t=1 6e-12; sampling u0 instead of exact coefficients:
1.8e-4 at t=0.1.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

try:
    import pinnsight.reference  # noqa: F401
except ModuleNotFoundError:  # package not installed: use the src/ layout directly
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pinnsight.errors import PinnsightError
from pinnsight.reference import allen_cahn, allen_cahn_u0, allen_cahn_u0_hat, solve_allen_cahn
from pinnsight.reference.allen_cahn import etdrk4_coefficients

X512 = -1 + 2 * np.arange(512) / 512


def smooth_u0(x):
    return 0.6 * np.sin(np.pi * x) + 0.3 * np.cos(2 * np.pi * x)


def fine_fft_coefficients(n, nf=2**20):
    """rfft-scaled initial modes of u0 for an n-point grid from an nf-point FFT (independent)."""
    xf = -1 + 2 * np.arange(nf) / nf
    v = np.fft.rfft(allen_cahn_u0(xf))[: n // 2 + 1] / (nf // n)
    v[-1] = 2 * v[-1].real
    return v


def test_exact_u0_coefficients_match_fine_fft():
    c = allen_cahn_u0_hat(256)
    xf = -1 + 2 * np.arange(2**20) / 2**20
    cf = np.fft.rfft(allen_cahn_u0(xf))[:257] / 2**20 * (-1.0) ** np.arange(257)
    assert np.abs(c - cf).max() < 1e-11  # measured 6e-13 (FFT aliasing ~ nf^-2)


@pytest.mark.parametrize("h, z, small", [
    (0.1, np.array([-0.5, -1.0, -5.0, -20.0, -300.0]), np.array([0.0, -1e-9])),  # real L (Allen–Cahn)
    (1e-4, np.array([0.5j, 5j, 200j, -3 + 4j, 2j - 0.1]), np.array([0.0j, 1e-9j])),  # complex L (KdV)
])
def test_etdrk4_contour_coefficients(h, z, small):
    """Contour means equal the explicit phi formulas where those are accurate, and tend to
    the classical RK4 weights (h/2; h/6, h/6, h/6) as h L -> 0 where those cancel; a complex L
    gives complex coefficients, a real one real coefficients."""
    e, e2, q, f1, f2, f3 = etdrk4_coefficients(z / h, h)
    ez = np.exp(z)
    np.testing.assert_allclose(e, ez, rtol=1e-15)
    np.testing.assert_allclose(e2, np.exp(z / 2), rtol=1e-15)
    np.testing.assert_allclose(q, h * (np.exp(z / 2) - 1) / z, rtol=1e-12)
    np.testing.assert_allclose(f1, h * (-4 - z + ez * (4 - 3 * z + z * z)) / z**3, rtol=1e-12)
    np.testing.assert_allclose(f2, h * (2 + z + ez * (z - 2)) / z**3, rtol=1e-12)
    np.testing.assert_allclose(f3, h * (-4 - 3 * z - z * z + ez * (4 - z)) / z**3, rtol=1e-12)
    _, _, q, f1, f2, f3 = etdrk4_coefficients(small, h)
    np.testing.assert_allclose(q, h / 2, rtol=1e-9)
    np.testing.assert_allclose(np.r_[f1, f2, f3], h / 6, rtol=1e-9)
    assert np.iscomplexobj(q) == np.iscomplexobj(z)


def test_shape_t0_and_parity():
    x = np.linspace(-1, 1, 201)
    t = np.array([0.0, 0.3, 1.0])
    U = allen_cahn(x, t)
    assert U.shape == (201, 3) and U.dtype == np.float64
    np.testing.assert_array_equal(U[:, 0], allen_cahn_u0(x))
    # u0 even and the equation preserves parity
    assert np.abs(U - U[::-1]).max() < 1e-13  # measured 9e-15
    assert np.all(np.abs(U) <= 1 + 1e-6)  # maximum principle: |u| <= max(1, |u0|) = 1


@pytest.mark.parametrize("u0,n", [(smooth_u0, 64), (allen_cahn_u0, 128)])
def test_etdrk4_fourth_order_in_time(u0, n):
    x = -1 + 2 * np.arange(n) / n
    t = np.array([0.5, 1.0])
    ref = solve_allen_cahn(u0, x, t, n_fourier=n, dt=1e-3)
    errs = np.array(
        [np.abs(solve_allen_cahn(u0, x, t, n_fourier=n, dt=dt) - ref).max() for dt in (0.05, 0.025, 0.0125)]
    )
    orders = np.log2(errs[:-1] / errs[1:])
    assert np.all((orders > 3.5) & (orders < 4.5)), (errs, orders)


def test_default_solve_matches_scipy_dop853():
    """Same 512-mode semi-discretisation, independent time integrator and initial modes."""
    n = 512
    u_init = np.fft.irfft(fine_fft_coefficients(n), n)
    k = np.pi * np.fft.rfftfreq(n, 1.0 / n)

    def rhs(_t, u):
        return 1e-4 * np.fft.irfft(-(k**2) * np.fft.rfft(u), n) + 5.0 * (u - u**3)

    t = np.array([0.25, 0.5, 1.0])
    sol = solve_ivp(rhs, (0, 1), u_init, "DOP853", t_eval=t, rtol=1e-12, atol=1e-13)
    assert sol.success
    assert np.abs(allen_cahn(X512, t) - sol.y).max() < 1e-10  # measured 6e-12


def test_spatial_accuracy_as_documented():
    t = np.array([0.1, 0.5])
    x = np.concatenate([X512, np.random.default_rng(0).uniform(-1, 1, 100)])
    fine = allen_cahn(x, t, n_fourier=2048)
    assert np.abs(allen_cahn(x, t) - fine).max() < 2e-7  # measured 6.6e-8
    # kink handling matters: plain sampling of u0 on the 512 grid is far worse
    sampled = solve_allen_cahn(allen_cahn_u0, x, t)
    assert np.abs(sampled - fine).max() > 1e-4  # measured 1.8e-4
    # oversampled FFT approaches the exact coefficients
    over = solve_allen_cahn(allen_cahn_u0, x, t, oversample=64)
    assert np.abs(over - allen_cahn(x, t)).max() < 1e-7  # measured 4e-8
    # at t = 1 the fronts need n >= 1024 for 1e-9
    t1 = np.array([1.0])
    d1 = np.abs(allen_cahn(X512, t1, n_fourier=1024) - allen_cahn(X512, t1, n_fourier=2048)).max()
    assert d1 < 1e-9  # measured 6e-12


def test_times_are_exact_labels():
    t = np.array([0.6, 0.05, 0.6, 0.0, 0.33])
    U = allen_cahn(X512[::8], t, n_fourier=128)
    for j, tj in enumerate(t):
        single = allen_cahn(X512[::8], np.array([tj]), n_fourier=128)[:, 0]
        assert np.abs(U[:, j] - single).max() < 1e-12  # measured 1.2e-15


def test_rejects_bad_input():
    with pytest.raises(PinnsightError):
        allen_cahn(X512, np.array([-0.1]))
    with pytest.raises(PinnsightError):
        allen_cahn(X512, np.array([0.1]), n_fourier=511)
    with pytest.raises(PinnsightError):
        allen_cahn(X512, np.array([0.1]), dt=0.0)
