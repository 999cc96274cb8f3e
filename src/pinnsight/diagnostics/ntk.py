"""Empirical neural tangent kernel blocks and the conditioning of the Gauss–Newton matrix.

With θ the flattened parameters (``jax.flatten_util.ravel_pytree``) and J_a the Jacobian of the residual rows of
term a (the PDE residual ``res`` or a constraint) with respect to θ, one row per residual value, the empirical NTK
of the PINN is the block matrix K = J Jᵀ with blocks K_ab = J_a J_bᵀ (Wang, Yu & Perdikaris 2022, "When and why
PINNs fail to train: a neural tangent kernel perspective", Eq. 3.4–3.6: K_uu, K_ur, K_rr). Its trace per block is
Σ_i ‖∇θ r_i‖², cheap from per-point gradient norms without forming K (Eq. 6.4 uses these traces for the NTK
weights).

The Gauss–Newton matrix of the loss Σ_a w_a mean_i(r_{a,i}²) is G = 2 Σ_a (w_a/N_a) J_aᵀ J_a = 2 J̃ᵀ J̃ with rows
of J_a scaled by √(w_a/N_a). Its nonzero spectrum is that of J̃ J̃ᵀ: the squared singular values of J̃, so its
condition number is (σ_max/σ_min)² over the numerically nonzero σ (relative cutoff max(m, n)·eps, as
``numpy.linalg.matrix_rank``). ``condition_from_jacobian`` reuses a J computed here for the NTK;
``conditioning.gauss_newton_condition`` computes J itself. G is singular whenever there are fewer rows than
parameters (the usual case on a subsample), so the number is the condition of G on the span of the rows. σ_min is
resolved only down to eps·σ_max: in float32 this caps the condition number near 1/eps² ≈ 7e13 and rounding
corrupts the small singular values long before; compute these in float64 (x64 enabled, float64 parameters;
``pinnsight diagnose`` does, with ``jax.enable_x64``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..kernels import make_jacobians, make_traces  # noqa: F401  (re-exported)
from .conditioning import GaussNewtonCondition


def ntk_blocks(jacobians: Mapping[str, Any]) -> dict[tuple[str, str], np.ndarray]:
    """All blocks K_ab = J_a J_bᵀ (host float arrays; K_ba = K_abᵀ)."""
    js = {k: np.asarray(v) for k, v in jacobians.items()}
    return {(a, b): js[a] @ js[b].T for a in js for b in js}


def full_ntk(jacobians: Mapping[str, Any], order: tuple[str, ...] | None = None) -> np.ndarray:
    """The whole kernel K = J Jᵀ with the terms' rows stacked in ``order`` (default: dict order)."""
    j = np.concatenate([np.asarray(jacobians[k]) for k in (order or tuple(jacobians))], axis=0)
    return j @ j.T


def spectrum(k: np.ndarray) -> np.ndarray:
    """Eigenvalues of a symmetric PSD kernel block, descending (``eigvalsh``; tiny negatives from rounding kept)."""
    return np.linalg.eigvalsh(np.asarray(k))[::-1]


def ntk_spectra(jacobians: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Descending eigenvalues of each diagonal block K_aa and of the whole kernel (key ``"all"``)."""
    out = {a: spectrum(np.asarray(j) @ np.asarray(j).T) for a, j in jacobians.items()}
    out["all"] = spectrum(full_ntk(jacobians))
    return out


def scaled_jacobian(jacobians: Mapping[str, Any], weights: Mapping[str, float] | None = None) -> np.ndarray:
    """J̃: each term's rows scaled by √(w_a / N_a), so that J̃ᵀJ̃ is half the Gauss–Newton matrix of
    Σ_a w_a mean(r_a²) (weights default to 1)."""
    parts = []
    for k, j in jacobians.items():
        j = np.asarray(j)
        w = 1.0 if weights is None else float(weights.get(k, 1.0))
        parts.append(np.sqrt(w / j.shape[0]) * j)
    return np.concatenate(parts, axis=0)


def condition_from_jacobian(j: np.ndarray, rtol: float | None = None) -> GaussNewtonCondition:
    """κ of JᵀJ on its nonzero spectrum from the singular values of an already computed J (never forms JᵀJ):
    eigenvalues σ² above ``rtol`` × the largest count as nonzero, default rtol = (max(m, n)·eps of J's dtype)², the
    convention of ``conditioning.gauss_newton_condition`` (which computes J itself). With full column rank this
    is ``np.linalg.cond(J.T @ J)``."""
    j = np.asarray(j)
    # singular values of the square triangular factor of J (or Jᵀ): Householder QR is backward stable, so they are
    # as accurate as J's own (≈ eps·σ_max) and it is ~4× faster than an SVD of the wide J
    tall = j.astype(np.float64) if j.shape[0] >= j.shape[1] else j.T.astype(np.float64)
    eig = np.linalg.svd(np.linalg.qr(tall, mode="r"), compute_uv=False) ** 2 if tall.size else np.zeros(0)
    if rtol is None:
        rtol = (max(j.shape) * float(np.finfo(j.dtype).eps)) ** 2
    if eig.size == 0 or eig[0] <= 0:
        return GaussNewtonCondition(math.inf, 0.0, 0.0, 0, j.shape[1], j.shape[0], float(rtol), str(j.dtype))
    nz = eig[eig > rtol * eig[0]]
    return GaussNewtonCondition(float(nz[0] / nz[-1]), float(nz[0]), float(nz[-1]), int(nz.size), int(j.shape[1]),
                                int(j.shape[0]), float(rtol), str(j.dtype))


def subsample(batch: Mapping[str, Any], sizes: Mapping[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """At most ``sizes[term]`` rows of each term, drawn without replacement (all rows when there are fewer), in
    their original order (host arrays: no device work)."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, rows in batch.items():
        rows = np.asarray(rows)
        n = min(int(sizes.get(k, rows.shape[0])), rows.shape[0])
        out[k] = rows[np.sort(rng.choice(rows.shape[0], n, replace=False))]
    return out


def plot_spectra(spectra: Mapping[str, Mapping[str, np.ndarray]], path: Path, title: str = "") -> None:
    """Spectral decay: eigenvalues λ_k of each kernel block against k (log scale), one panel per probe
    (``spectra = {label: {block: eigenvalues}}``; Wang, Yu & Perdikaris 2022, Fig. 2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(spectra), figsize=(5.5 * len(spectra), 4), squeeze=False, constrained_layout=True)
    for ax, (label, blocks) in zip(axes[0], spectra.items()):
        for name, ev in blocks.items():
            ev = np.asarray(ev)
            ev = ev[ev > 0]
            if ev.size:
                ax.loglog(np.arange(1, ev.size + 1), ev, label=f"K_{name}" if name != "all" else "K (all)",
                          lw=2.2 if name == "all" else 1.4)
        ax.set_xlabel("index k")
        ax.set_ylabel("eigenvalue λ_k")
        ax.set_title(label)
        ax.legend(fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
