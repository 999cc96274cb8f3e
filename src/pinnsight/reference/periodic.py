"""Reference solutions of the 1-D periodic "failure mode" family on x in [0, 2*pi).

Convection, diffusion, reaction and reaction-diffusion problems of Krishnapriyan,
Gholami, Zhe, Kirby & Mahoney, "Characterizing possible failure modes in
physics-informed neural networks", NeurIPS 2021. All solvers return a float64 array
``U`` of shape ``(len(x), len(t))`` with ``U[i, j] = u(x[i], t[j])`` at exactly ``t[j]``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pinnsight.errors import PinnsightError

from ._common import TWO_PI, as_1d, eval_u0, march, n_substeps, nonneg_times, trig_interp

__all__ = ["convection", "diffusion", "reaction", "reaction_diffusion"]


def _wrap(x: np.ndarray) -> np.ndarray:
    """x mod 2*pi in [0, 2*pi) (guarding the rounding of tiny negatives up to 2*pi)."""
    y = np.mod(x, TWO_PI)
    return np.where(y >= TWO_PI, 0.0, y)


def _grid(n: int) -> np.ndarray:
    if int(n) != n or n < 2:
        raise PinnsightError(f"n_fourier must be an integer >= 2, got {n!r}")
    return TWO_PI * np.arange(int(n)) / int(n)


def _logistic(u: np.ndarray, s) -> np.ndarray:
    """Exact flow of u' = rho u (1 - u) over ``s = rho * t``, overflow-free for any sign of s.

    u(s) = u e^s / (u e^s + 1 - u), evaluated as u / (u + (1-u) e^{-s}) for s >= 0.
    Returns ``u`` itself where s == 0; finite-time blow-up (u0 < 0 or u0 > 1) gives inf/nan.
    """
    u, s = np.broadcast_arrays(np.asarray(u, dtype=np.float64), np.asarray(s, dtype=np.float64))
    e = np.exp(-np.abs(s))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pos = u / (u + (1.0 - u) * e)
        neg = u * e / (u * e + 1.0 - u)
    return np.where(s == 0, u, np.where(s > 0, pos, neg))


def convection(u0: Callable, beta: float, x, t) -> np.ndarray:
    """u_t + beta u_x = 0 on [0, 2*pi) periodic (Krishnapriyan et al., NeurIPS 2021).

    Exact: u(x, t) = u0((x - beta t) mod 2*pi), for any u0 (a non-periodic u0 is
    extended periodically from [0, 2*pi)).
    """
    x, t = as_1d(x, "x"), as_1d(t, "t")
    xi = _wrap(x[:, None] - float(beta) * t[None, :])
    return eval_u0(u0, xi.ravel()).reshape(xi.shape)


def diffusion(u0: Callable, nu: float, x, t, n_fourier: int = 2048) -> np.ndarray:
    """u_t = nu u_xx on [0, 2*pi) periodic, exact in Fourier space (Krishnapriyan et al. 2021).

    u0 is sampled on ``n_fourier`` uniform points, û_k(t) = û_k(0) exp(-nu k^2 t), and the
    result is evaluated at arbitrary ``x`` by exact trigonometric interpolation. Exact
    (to rounding) for trigonometric polynomials of degree < n_fourier/2, spectrally
    accurate for smooth periodic u0. Columns with t == 0 are u0(x mod 2*pi) exactly.
    """
    if nu < 0:
        raise PinnsightError(f"nu must be >= 0, got {nu!r}")
    x, t = as_1d(x, "x"), nonneg_times(t)
    grid = _grid(n_fourier)
    n = grid.size
    c0 = np.fft.rfft(eval_u0(u0, grid))
    k = np.arange(c0.size, dtype=np.float64)
    coef = c0[None, :] * np.exp(-float(nu) * np.outer(t, k * k))
    out = trig_interp(coef, n, x)
    return _exact_t0(out, u0, x, t)


def _exact_t0(out: np.ndarray, u0: Callable, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    zero = t == 0
    if np.any(zero):
        out[:, zero] = eval_u0(u0, _wrap(x))[:, None]
    return out


def reaction(u0: Callable, rho: float, x, t) -> np.ndarray:
    """u_t = rho u (1 - u) pointwise (Krishnapriyan et al. 2021), closed form

    u = u0 e^{rho t} / (u0 e^{rho t} + 1 - u0)   (evaluated without overflow).
    """
    x, t = as_1d(x, "x"), as_1d(t, "t")
    return _logistic(eval_u0(u0, x)[:, None], float(rho) * t[None, :])


def reaction_diffusion(
    u0: Callable, nu: float, rho: float, x, t, dt: float = 1e-3, n_fourier: int = 512
) -> np.ndarray:
    """u_t = nu u_xx + rho u (1 - u) on [0, 2*pi) periodic (Krishnapriyan et al. 2021).

    Pseudo-spectral Strang splitting (second order in time): half step of the exact
    logistic reaction, full step of exact Fourier diffusion exp(-nu k^2 h), half step
    of reaction, on ``n_fourier`` uniform points. Each interval [t_{j-1}, t_j] (sorted,
    from t = 0) is covered by ceil((t_j - t_{j-1}) / dt) equal substeps, so every
    output time is hit exactly. Results are evaluated at arbitrary ``x`` by exact
    trigonometric interpolation of the grid solution; t == 0 columns are u0 exactly.
    Global error O(dt^2) (about 5e-7 at dt = 1e-3 for nu=3, rho=5, Gaussian u0).
    """
    if nu < 0:
        raise PinnsightError(f"nu must be >= 0, got {nu!r}")
    if not dt > 0:
        raise PinnsightError(f"dt must be > 0, got {dt!r}")
    x, t = as_1d(x, "x"), nonneg_times(t)
    grid = _grid(n_fourier)
    n = grid.size
    k = np.arange(n // 2 + 1, dtype=np.float64)
    nu, rho = float(nu), float(rho)

    def step_interval(v: np.ndarray, delta: float) -> np.ndarray:
        m = n_substeps(delta, dt)
        h = delta / m
        decay = np.exp(-nu * k * k * h)
        v = _logistic(v, rho * h / 2)
        for i in range(m):
            v = np.fft.irfft(np.fft.rfft(v) * decay, n)
            # two consecutive exact half steps of the reaction merge into one full step
            v = _logistic(v, rho * (h if i < m - 1 else h / 2))
        return v

    coef = np.array(march(t, eval_u0(u0, grid), step_interval, np.fft.rfft))
    out = trig_interp(coef.reshape(len(t), -1), n, x)
    return _exact_t0(out, u0, x, t)
