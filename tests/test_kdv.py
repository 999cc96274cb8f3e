"""Korteweg–de Vries: the reference (Fourier pseudo-spectral, 2/3 dealiased, + ETDRK4 with an imaginary linear part)
and the problem ``kdv`` (u_t + u u_x + η u_xxx = 0, η = 0.022², u0 = cos(πx), x ∈ [−1, 1] periodic).

Measured (numpy 2.4, 2-core CPU): ETDRK4 errors (n = 128, t = 0.5) at dt = 5e-4, 2.5e-4, 1.25e-4 against
dt = 3.125e-5: 6.7e-8, 4.2e-9, 2.6e-10, orders 4.00, 3.99; n = 512 vs n = 1024 at t ∈ {0.5, 1}: 1e-13
(n = 384: 5e-10, n = 256: 1.7e-6); soliton 3 sech²(22.7 (x − t + 0.5)) after one unit of time: 7.8e-9 at
dt = 1e-4, 4.5e-10 at dt = 5e-5 (the time error; n = 512 and 1024 agree to 1e-15); mass conserved to 4e-16,
momentum ∫u² to 2e-11 (dt = 1e-4); the problem's residual (float64) of the exact soliton 8e-14 (0.6 with a 1 %
wrong η); of the reference, spectral in x and degree-8 Lagrange in t: 8e-10 at t = 0.3, 9e-8 at t = 0.8
(the same for Lagrange steps 5e-4..2e-3, 8e-9 from the reference at dt = 5e-5: the reference's own time error,
differentiated in modes that oscillate at up to η(π 170)³ ≈ 7e4 per unit time), 0.09 and 0.9 with a 1 % wrong η.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _cli import run_cli
from pinnsight import PhaseConfig, PinnsightError, TrainConfig, train
from pinnsight.problems import Initial, Periodic, make_problem
from pinnsight.reference import KDV_ETA, kdv, kdv_resolution, kdv_u0, solve_kdv


def grid(n: int) -> np.ndarray:
    return -1.0 + 2.0 * np.arange(n) / n


def soliton(x, t, c=1.0, x0=-0.5, eta=KDV_ETA, xp=np):
    """u = 3c sech²(√(c/η)/2 · (x − ct − x0)), x − ct − x0 taken into [−1, 1) (tails < 1e-18 at 1)."""
    xi = xp.mod(x - c * t - x0 + 1.0, 2.0) - 1.0
    return 3.0 * c / xp.cosh(0.5 * math.sqrt(c / eta) * xi) ** 2


# ------------------------------------------------------------------------------------------------- ETDRK4
# (the complex coefficients against the phi formulas: tests/test_reference_allen_cahn.py)


def test_etdrk4_is_fourth_order_in_time():
    x, t = grid(128), np.array([0.5])
    fine = kdv(x, t, n_fourier=128, dt=3.125e-5)
    errs = np.array([np.abs(kdv(x, t, n_fourier=128, dt=dt) - fine).max() for dt in (5e-4, 2.5e-4, 1.25e-4)])
    orders = np.log2(errs[:-1] / errs[1:])
    assert np.all(np.abs(orders - 4.0) < 0.3), (errs, orders)  # measured 4.00, 3.99


# ----------------------------------------------------------------------------------------- the reference
def test_spectral_accuracy_in_space():
    t = np.array([0.5, 1.0])
    x = np.concatenate([grid(512), np.random.default_rng(0).uniform(-1, 1, 50)])
    u = {n: kdv(x, t, n_fourier=n, dt=1e-4) for n in (256, 512, 1024)}
    assert np.abs(u[512] - u[1024]).max() < 1e-11  # measured 1e-13
    assert np.abs(u[256] - u[1024]).max() > 1e-7  # measured 1.7e-6: 256 modes do not resolve the solitons


def test_reproduces_the_exact_soliton():
    x, t = np.concatenate([grid(512), np.random.default_rng(1).uniform(-1, 1, 50)]), np.array([0.0, 0.5, 1.0])
    u = solve_kdv(lambda z: soliton(z, 0.0), x, t, n_fourier=512, dt=1e-4)
    err = np.abs(u - soliton(x[:, None], t[None, :])).max()
    assert err < 3e-8, err  # measured 7.8e-9 (the time error: 4.5e-10 at dt = 5e-5), amplitude 3
    moved = np.abs(u[:, -1] - soliton(x, 0.98)).max()
    assert moved > 0.1  # the check sees a 2 % wrong speed (measured 1.0)


def test_conserves_mass_and_momentum():
    t = np.linspace(0.0, 1.0, 11)
    u = kdv(grid(512), t, n_fourier=512, dt=1e-4)
    mass, momentum = u.mean(axis=0) * 2.0, (u * u).mean(axis=0) * 2.0  # exact quadrature: degree < 512
    assert np.abs(mass).max() < 1e-13  # ∫cos(πx) = 0; measured 3e-16
    assert np.abs(momentum - 1.0).max() < 1e-9  # ∫cos² = 1; measured 2e-11
    assert np.abs(u).max() > 2.5  # and the dynamics happened: solitons up to 2.57


def test_times_initial_column_and_input_checks():
    x, t = grid(64), np.array([0.3, 0.0, 0.1, 0.3])
    u = kdv(x, t, n_fourier=256, dt=1e-3)
    np.testing.assert_array_equal(u[:, 1], kdv_u0(x))
    assert np.abs(u[:, 0] - u[:, 3]).max() == 0.0
    assert np.abs(u[:, 2] - kdv(x, np.array([0.1]), n_fourier=256, dt=1e-3)[:, 0]).max() < 1e-13
    for bad in ({"n_fourier": 511}, {"dt": 0.0}, {"eta": float("nan")}):
        with pytest.raises(PinnsightError):
            kdv(x, np.array([0.1]), **bad)
    with pytest.raises(PinnsightError):
        kdv(x, np.array([-0.1]))
    assert kdv_resolution(KDV_ETA) == (512, 5e-5) and kdv_resolution(0.0025) == (512, 5e-5)
    assert kdv_resolution(KDV_ETA / 4) == (1024, 2.5e-5)


# ------------------------------------------------------------------------------------------- the problem
def test_problem_layout_and_parameters():
    p = make_problem("kdv")
    assert p.coords == ("x", "t") and p.bounds == ((-1.0, 1.0), (0.0, 1.0)) and p.periodic == ("x",)
    assert p.coefficients == {"eta": KDV_ETA} and p.reference_shape == (512, 251)
    assert [type(c) for c in p.constraints] == [Initial, Periodic] and p.constraints[1].derivatives == 2
    assert make_problem("kdv", eta=0.0025, t_end=0.5).bounds[1] == (0.0, 0.5)
    for bad in ({"eta": 0.0}, {"t_end": -1.0}):
        with pytest.raises(PinnsightError, match="out of range"):
            make_problem("kdv", **bad)


def test_residual_vanishes_on_the_exact_soliton():
    """The problem's residual (float64, the training autodiff path: three nested jax.grad) on the soliton."""
    with jax.enable_x64(True):
        p = make_problem("kdv")
        pts = jax.random.uniform(jax.random.PRNGKey(0), (200, 2), jnp.float64) * jnp.asarray([[2.0, 1.0]])
        pts = pts - jnp.asarray([[1.0, 0.0]])
        u = lambda x, t: soliton(x, t, xp=jnp)  # noqa: E731
        residual = jax.jit(jax.vmap(lambda z, eta: p.residual(u, z[0], z[1], {"eta": eta}), (0, None)))
        assert np.abs(np.asarray(residual(pts, KDV_ETA))).max() < 1e-10  # measured 8e-14 (terms up to ~200)
        assert np.abs(np.asarray(residual(pts, 1.01 * KDV_ETA))).max() > 0.1


def _reference_function(t0: float, h: float, n: int = 512):
    """u(x, t) near t0 as a JAX function: the reference's Fourier modes at t0 + jh (j = −4..4), trigonometric in x,
    the degree-8 Lagrange interpolant in t."""
    nodes = t0 + h * np.arange(-4, 5)
    coef = np.fft.rfft(kdv(grid(n), nodes, n_fourier=n, dt=1e-4), axis=0) / n  # (modes, times)
    w = np.where(np.arange(coef.shape[0]) == 0, 1.0, 2.0)[:, None]
    a, b = jnp.asarray(w * coef.real), jnp.asarray(w * coef.imag)
    k = jnp.pi * jnp.arange(coef.shape[0], dtype=jnp.float64)
    same = np.eye(9, dtype=bool)
    gaps = jnp.asarray(np.where(same, 1.0, nodes[:, None] - nodes[None, :]))  # t_j − t_i (1 where i = j)
    tn, same = jnp.asarray(nodes), jnp.asarray(same)

    def u(x, t):
        phase = k * (x + 1.0)
        values = jnp.cos(phase) @ a - jnp.sin(phase) @ b  # (times,)
        ell = jnp.prod(jnp.where(same, 1.0, (t - tn)[None, :] / gaps), axis=1)  # Lagrange basis at t
        return jnp.sum(ell * values)

    return u


def test_residual_vanishes_on_the_reference():
    """The problem's own residual of the reference, interpolated spectrally in x and polynomially in t."""
    with jax.enable_x64(True):
        p = make_problem("kdv")
        x = jnp.asarray(np.random.default_rng(2).uniform(-1, 1, 64))
        for t0 in (0.3, 0.8):
            u = _reference_function(t0, 1e-3)
            residual = jax.jit(jax.vmap(lambda x, eta: p.residual(u, x, t0, {"eta": eta}), (0, None)))
            got, wrong = (np.abs(np.asarray(residual(x, e))).max() for e in (KDV_ETA, 1.01 * KDV_ETA))
            assert got < 1e-6 and wrong > 3e-2, (t0, got, wrong)  # measured ≤ 9e-8; ≥ 0.09


# ------------------------------------------------------------------------------------------ CLI, training
def test_listed_by_the_cli(capsys):
    code, out, _ = run_cli(capsys, "problems")
    assert code == 0 and "kdv: " in out and "eta = 0.000484" in out and "t_end = 1" in out


def test_a_short_training_run_finishes():
    config = TrainConfig(problem="kdv", model="periodic", model_options={"width": 16, "depth": 2},
                         phases=(PhaseConfig("adam", 20, {"lr": 1e-3}),), points={"res": 128, "ic": 64, "bc": 32},
                         log_every=20, eval_every=20)
    result = train(config, progress=False)
    assert result.metrics["steps"] == 20 and np.isfinite(result.metrics["rel_l2"])
