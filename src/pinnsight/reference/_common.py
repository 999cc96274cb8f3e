"""Small shared helpers of the reference solvers (input checks, time marching, trig interpolation)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from pinnsight.errors import PinnsightError

TWO_PI = 2.0 * np.pi


def as_1d(a, what: str) -> np.ndarray:
    """``a`` as a 1-D float64 array of finite values (scalars become length-1 arrays)."""
    arr = np.atleast_1d(np.asarray(a, dtype=np.float64))
    if arr.ndim != 1:
        raise PinnsightError(f"{what} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise PinnsightError(f"{what} must be finite")
    return arr


def nonneg_times(t) -> np.ndarray:
    t = as_1d(t, "t")
    if np.any(t < 0):
        raise PinnsightError("t must be >= 0 (backward diffusion is ill-posed)")
    return t


def eval_u0(u0: Callable, x: np.ndarray) -> np.ndarray:
    """``u0(x)`` as float64 with the shape of ``x`` (a constant return value is broadcast)."""
    vals = np.asarray(u0(x), dtype=np.float64)
    return np.array(np.broadcast_to(vals, x.shape), dtype=np.float64)


def n_substeps(delta: float, dt: float) -> int:
    """Number of equal substeps of size <= dt (up to 1e-9 relative slack) covering ``delta``."""
    return max(1, math.ceil(delta / dt - 1e-9))


def march(t: np.ndarray, state0, step_interval: Callable, record: Callable) -> list:
    """March ``state0`` from time 0 to every ``t[j]`` exactly (any order, repeats allowed).

    ``step_interval(state, delta)`` advances by ``delta > 0``; ``record(state)`` is stored
    for each output time. Returns the records in the order of ``t``.
    """
    out = [None] * len(t)
    state, t_cur = state0, 0.0
    for j in np.argsort(t, kind="stable"):
        delta = float(t[j]) - t_cur
        if delta > 0:
            state = step_interval(state, delta)
            t_cur = float(t[j])
        out[j] = record(state)
    return out


def trig_interp(coef: np.ndarray, n: int, theta: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Evaluate real trigonometric interpolants at arbitrary angles.

    ``coef`` has shape ``(m, n//2 + 1)``: ``np.fft.rfft`` of ``m`` real sequences of length
    ``n`` sampled at ``2*pi*j/n``. Returns ``V[i, l] = (1/n) sum_k w_k Re(coef[l, k] e^{i k theta_i})``
    with ``w_k = 2`` except ``w_0 = 1`` and (``n`` even) ``w_{n/2} = 1``: the unique
    interpolant of degree <= n/2 (Nyquist mode as a pure cosine), shape ``(len(theta), m)``.
    """
    coef = np.atleast_2d(coef)
    kmax = coef.shape[1] - 1
    w = np.full(kmax + 1, 2.0 / n)
    w[0] = 1.0 / n
    if n % 2 == 0:
        w[-1] = 1.0 / n
    a = (coef.real * w).T  # (K, m)
    b = (coef.imag * w).T
    k = np.arange(kmax + 1, dtype=np.float64)
    th = np.mod(np.asarray(theta, dtype=np.float64), TWO_PI)
    out = np.empty((th.size, coef.shape[0]))
    rows = max(1, chunk // (kmax + 1))
    for s in range(0, th.size, rows):
        phase = np.outer(th[s : s + rows], k)
        out[s : s + rows] = np.cos(phase) @ a - np.sin(phase) @ b
    return out
