"""Input embeddings in front of a network: random Fourier features and an exact periodic embedding.

- Random Fourier features (Tancik et al., NeurIPS 2020; for PINNs Wang, Wang, Perdikaris, CMAME 384 (2021),
  Eq. 3.1): γ(x) = [cos(2πBx), sin(2πBx)] with B ∈ R^{m×d}, B_ij ~ N(0, σ²) drawn once and never trained.
  B is an array leaf of the model (so the model builds under ``jit``), but it is only read through
  ``jax.lax.stop_gradient``: its gradient is exactly zero, so no optimizer moves it.
- Exact periodic embedding (Dong & Ni, J. Comput. Phys. 435 (2021); Wang, Sankaran, Perdikaris 2023, Sec. 4):
  a coordinate of period P is replaced by [cos(kωx), sin(kωx)], k = 1 … harmonics, ω = 2π/P, so the network
  is exactly P-periodic in it; other coordinates pass through unchanged.
- Root-of-time feature (``root_time=1`` on ``periodic``): one more input, √((t − t₀)/T + δ²) − δ (T the time span,
  δ = 1e-3 keeps the derivative finite at t = t₀). A parabolic problem whose initial data has a kink (Allen–Cahn's
  u0 = x² cos πx at its periodic seam) starts with a layer that grows like √(t − t₀): the vertex of the kink rises
  as √t, which a network smooth in t can only follow from below or above, while in the variable s = √t the layer
  is a cone, Lipschitz in (s, x).
- Seam-kink feature (``seam=κ`` on ``periodic``): one more input per periodic coordinate, the heat-smoothed distance
  to its seam, g(d, σ) = E|d + σZ| = d·erf(d/(√2σ)) + σ√(2/π)·exp(−d²/(2σ²)) (Z standard normal), with
  d = (P/π)·sin(π(x − x₀)/P) (|x − x₀| near the seam x₀, smooth and periodic elsewhere) and σ² = 2κ(t − t₀) + δ²
  (δ = 1e-6·P). g is the free-space solution of g_t = κ g_dd from |d|: initial data periodic in value but not in
  slope (Allen–Cahn's u0 = x² cos πx jumps from −2 to +2 at x = ±1) is a smooth function plus a multiple of |d|,
  a V the exact periodic embedding cannot make and that diffusion with diffusivity κ rounds to width √(2κt).
- Input standardisation (``normalize=1`` on ``mlp`` and ``modified-mlp``): z ↦ (z − m) / s per coordinate with
  the mean m = (lo + hi)/2 and standard deviation s = (hi − lo)/√12 of the uniform distribution on the problem's
  box — what the codes of Wang, Teng & Perdikaris (2021) do with the moments of 10⁵ uniform samples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..errors import PinnsightError
from .mlp import MLP
from .modified_mlp import ModifiedMLP

NETS = {"mlp": MLP, "modified-mlp": ModifiedMLP}


class FourierFeatures(eqx.Module):
    """γ(x) = [cos(2πBx), sin(2πBx)], B of shape (features, d), fixed (read under stop_gradient)."""

    B: jax.Array

    def __init__(self, in_size: int, features: int, sigma: float, *, key: jax.Array, dtype=None):
        dtype = dtype or jnp.result_type(float)
        self.B = jnp.asarray(sigma, dtype) * jax.random.normal(key, (features, in_size), dtype)

    @property
    def out_size(self) -> int:
        return 2 * self.B.shape[0]

    def __call__(self, z: jax.Array) -> jax.Array:
        proj = 2.0 * math.pi * (jax.lax.stop_gradient(self.B) @ z)
        return jnp.concatenate([jnp.cos(proj), jnp.sin(proj)])


class PeriodicEmbedding(eqx.Module):
    """Coordinate i of ``coords`` (period ``periods[i]``) ↦ [cos(kωzᵢ), sin(kωzᵢ)]_{k=1..harmonics}, ω = 2π/P."""

    in_size: int = eqx.field(static=True)
    coords: tuple[int, ...] = eqx.field(static=True)
    periods: tuple[float, ...] = eqx.field(static=True)
    harmonics: int = eqx.field(static=True, default=1)

    @property
    def out_size(self) -> int:
        return self.in_size + len(self.coords) * (2 * self.harmonics - 1)

    @property
    def smooth_periodic_coords(self) -> tuple[int, ...]:
        """The input coordinates in which the model is periodic with every derivative (a declared property)."""
        return self.coords

    def __call__(self, z: jax.Array) -> jax.Array:
        parts = []
        for i in range(self.in_size):
            if i in self.coords:
                omega = 2.0 * math.pi / self.periods[self.coords.index(i)]
                k = jnp.arange(1, self.harmonics + 1, dtype=z.dtype)
                parts += [jnp.cos(k * omega * z[i]), jnp.sin(k * omega * z[i])]
            else:
                parts.append(z[i : i + 1])
        return jnp.concatenate(parts)


class RootTime(eqx.Module):
    """``inner(z)`` followed by √((z[time] − start)/span + δ²) − δ (δ = ``delta``): a feature with the √t growth
    of a parabolic layer at the start time, its t-derivative finite (1/(2δ·span) at the start)."""

    inner: eqx.Module
    time: int = eqx.field(static=True)
    start: float = eqx.field(static=True)
    span: float = eqx.field(static=True)
    delta: float = eqx.field(static=True, default=1e-3)

    @property
    def out_size(self) -> int:
        return self.inner.out_size + 1

    def __call__(self, z: jax.Array) -> jax.Array:
        tau = (z[self.time] - self.start) / self.span
        tau = jnp.where(tau >= 0, tau, 0.0)  # before the start (never in the domain): constant
        root = jnp.sqrt(tau + self.delta**2) - self.delta
        return jnp.concatenate([self.inner(z), root[None]])


class SeamKink(eqx.Module):
    """``inner(z)`` followed by g(d, σ) = E|d + σZ| for each periodic coordinate (module docstring): the
    distance to its seam ``origins[i]`` (mod ``periods[i]``) smoothed by heat flow of diffusivity ``kappa`` from the
    start time (``time`` = −1: no time coordinate, σ = δ)."""

    inner: eqx.Module
    coords: tuple[int, ...] = eqx.field(static=True)
    periods: tuple[float, ...] = eqx.field(static=True)
    origins: tuple[float, ...] = eqx.field(static=True)
    kappa: float = eqx.field(static=True)
    time: int = eqx.field(static=True, default=-1)
    start: float = eqx.field(static=True, default=0.0)

    @property
    def out_size(self) -> int:
        return self.inner.out_size + len(self.coords)

    def _sigma2(self, z: jax.Array, period: float) -> jax.Array:
        delta2 = (1e-6 * period) ** 2
        if self.time < 0:
            return jnp.asarray(delta2, z.dtype)
        tau = jnp.where(z[self.time] >= self.start, z[self.time] - self.start, 0.0)
        return 2.0 * self.kappa * tau + delta2

    def __call__(self, z: jax.Array) -> jax.Array:
        feats = []
        for i, period, x0 in zip(self.coords, self.periods, self.origins):
            d = (period / math.pi) * jnp.sin(math.pi * (z[i] - x0) / period)
            sigma = jnp.sqrt(self._sigma2(z, period))
            feats.append(d * jax.scipy.special.erf(d / (math.sqrt(2.0) * sigma))
                         + sigma * math.sqrt(2.0 / math.pi) * jnp.exp(-(d * d) / (2.0 * sigma * sigma)))
        return jnp.concatenate([self.inner(z), jnp.stack(feats)])


def _parse_time(raw: str, in_size: int) -> tuple[int, float, float]:
    """``"index:start:end"`` (the time coordinate and its range) -> (index, start, span)."""
    try:
        i, lo, hi = raw.split(":")
        idx, start, end = int(i), float(lo), float(hi)
    except ValueError:
        raise PinnsightError(
            f"model periodic: time={raw!r} must be index:start:end (root_time=1 fills it from a time-dependent problem)"
        ) from None
    if not 0 <= idx < in_size or not (math.isfinite(start) and math.isfinite(end) and end > start):
        raise PinnsightError(f"model periodic: time={raw!r} needs an index in 0..{in_size - 1} and start < end")
    return idx, start, end - start


class Standardize(eqx.Module):
    """z ↦ (z − mean) / std per coordinate (constants, not parameters)."""

    mean: tuple[float, ...] = eqx.field(static=True)
    std: tuple[float, ...] = eqx.field(static=True)

    @classmethod
    def uniform_on(cls, box: list[tuple[float, float]]) -> Standardize:
        """The mean and standard deviation of the uniform distribution on ``box`` [(lo, hi), ...]."""
        return cls(tuple((lo + hi) / 2 for lo, hi in box), tuple((hi - lo) / math.sqrt(12.0) for lo, hi in box))

    @property
    def out_size(self) -> int:
        return len(self.mean)

    def __call__(self, z: jax.Array) -> jax.Array:
        return (z - jnp.asarray(self.mean, z.dtype)) / jnp.asarray(self.std, z.dtype)


class Embedded(eqx.Module):
    """``net(embedding(z))``: a network behind an input embedding."""

    embedding: eqx.Module
    net: eqx.Module

    def __call__(self, z: jax.Array) -> jax.Array:
        return self.net(self.embedding(z))


def smooth_periodic_coords(model) -> tuple[int, ...]:
    """The coordinates in which ``model`` (or its static part) is periodic with every derivative: those declared
    by any part of it with a ``smooth_periodic_coords`` property."""
    parts = jax.tree.leaves(model, is_leaf=lambda m: hasattr(m, "smooth_periodic_coords"))
    return tuple(sorted({i for m in parts if hasattr(m, "smooth_periodic_coords") for i in m.smooth_periodic_coords}))


def _net(name: str, model: str):
    if name not in NETS:
        raise PinnsightError(f"model {model}: net={name!r} is not one of {', '.join(NETS)}")
    return NETS[name]


# -------------------------------------------------------------------------------------------- builders
def fourier_model(
    in_size: int, *, key: jax.Array, dtype=None, width: int, depth: int, sigma: float, features: int, net: str,
    out_size: int = 1,
) -> Embedded:
    """Random Fourier features (σ, ``features`` = m frequencies) followed by ``net`` (mlp or modified-mlp)."""
    cls = _net(net, "fourier")
    k_b, k_net = jax.random.split(key)
    emb = FourierFeatures(in_size, features, sigma, key=k_b, dtype=dtype)
    return Embedded(emb, cls(emb.out_size, width, depth, key=k_net, dtype=dtype, out_size=out_size))


def _split(raw: str) -> list[str]:
    """Lists inside one option: ``0/1`` (the command line separates options by commas) or ``0,1`` (Python)."""
    return [s.strip() for s in re.split(r"[,/]", raw)]


def _parse_coords(raw: str, in_size: int) -> tuple[int, ...]:
    try:
        coords = tuple(int(s) for s in _split(raw))
    except ValueError:
        raise PinnsightError(
            f"model periodic: coords={raw!r} must be coordinate indices like 0 or 0/1 (names need the problem)"
        ) from None
    if len(set(coords)) != len(coords) or any(not 0 <= i < in_size for i in coords):
        raise PinnsightError(f"model periodic: coords={raw!r} must be distinct indices in 0..{in_size - 1}")
    return coords


def _parse_periods(raw: str, n: int) -> tuple[float, ...]:
    try:
        periods = tuple(float(s) for s in _split(raw))
    except ValueError:
        raise PinnsightError(f"model periodic: period={raw!r} must be numbers like 2 or 2/6.28") from None
    if len(periods) == 1:
        periods = periods * n
    if len(periods) != n or not all(math.isfinite(p) and p > 0 for p in periods):
        raise PinnsightError(f"model periodic: period={raw!r} must be {n} positive number(s), one per coordinate")
    return periods


def periodic_model(
    in_size: int, *, key: jax.Array, dtype=None, width: int, depth: int, coords: str, period: str,
    harmonics: int, net: str, root_time: bool = False, time: str = "", seam: float = 0.0, seam_at: str = "",
    out_size: int = 1,
) -> Embedded:
    """Exact periodic embedding of coordinates ``coords`` (indices, ``0`` or ``0/1``) with periods ``period``
    (one number, or one per coordinate: ``2/6.28``), then ``net``. Built for a problem, both default to its
    periodic coordinates and their box lengths, and ``coords`` may name coordinates (see ``periodic_options``).
    ``root_time``: the √t feature of ``RootTime`` on the time coordinate ``time`` (``index:start:end``, filled from
    a time-dependent problem); ``seam`` > 0: the seam-kink feature of ``SeamKink`` with diffusivity ``seam``, the
    seams at ``seam_at`` (one number per periodic coordinate, default 0; filled from a problem's box)."""
    cls = _net(net, "periodic")
    if not coords or not period:
        raise PinnsightError(
            "model periodic: give coords= and period= (e.g. periodic:coords=0,period=6.283185307179586) "
            "or build it for a problem with periodic coordinates"
        )
    idx = _parse_coords(coords, in_size)
    periods = _parse_periods(period, len(idx))
    emb = PeriodicEmbedding(in_size, idx, periods, harmonics)
    if root_time:
        if not time:
            raise PinnsightError("model periodic: root_time=1 needs time=index:start:end or a time-dependent problem")
        it, start, span = _parse_time(time, in_size)
        if it in idx:
            raise PinnsightError(f"model periodic: time coordinate {it} is also a periodic coordinate")
        emb = RootTime(emb, it, start, span)
    if seam:
        emb = _seam_kink(emb, idx, periods, seam, seam_at, time, in_size)
    return Embedded(emb, cls(emb.out_size, width, depth, key=key, dtype=dtype, out_size=out_size))


def _seam_kink(emb, idx, periods, kappa: float, seam_at: str, time: str, in_size: int) -> SeamKink:
    """``SeamKink`` over ``emb`` from the model options (``seam_at``: ``x0`` or ``x0/x1``, one per coordinate)."""
    try:
        origins = tuple(float(v) for v in _split(seam_at)) if seam_at else (0.0,) * len(idx)
    except ValueError:
        origins = ()
    if len(origins) != len(idx) or not all(math.isfinite(o) for o in origins):
        raise PinnsightError(f"model periodic: seam_at={seam_at!r} must give one number per periodic coordinate "
                             f"({len(idx)})")
    it, start = (-1, 0.0)
    if time:
        it, start, _ = _parse_time(time, in_size)
    return SeamKink(emb, idx, periods, origins, float(kappa), it, start)


def periodic_options(problem: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """Fill the periodic model's ``coords`` (names allowed) and ``period`` from ``problem``: its periodic
    coordinates and their box lengths ``hi − lo``."""
    out = dict(options)
    if not out["coords"]:
        if not problem.periodic:
            raise PinnsightError(
                f"model periodic: problem {problem.name!r} has no periodic coordinates; give coords= and period="
            )
        names = list(problem.periodic)
    else:
        names = _split(out["coords"])
    idx = []
    for s in names:
        if s in problem.coords:
            idx.append(problem.coords.index(s))
        elif s.strip().lstrip("-").isdigit():
            idx.append(int(s))
        else:
            raise PinnsightError(f"model periodic: coords: {s!r} is not a coordinate of {problem.name} {problem.coords}")
    out["coords"] = "/".join(str(i) for i in idx)
    if not out["period"]:
        if any(not 0 <= i < problem.dim for i in idx):
            raise PinnsightError(f"model periodic: coords={out['coords']!r} out of range for {problem.coords}")
        out["period"] = "/".join(repr(float(problem.bounds[i][1] - problem.bounds[i][0])) for i in idx)
    if out.get("seam") and not out.get("seam_at"):
        out["seam_at"] = "/".join(repr(float(problem.bounds[i][0])) for i in idx)
    if (out.get("root_time") or out.get("seam")) and not out.get("time") and problem.time is not None:
        it = problem.time_index
        out["time"] = f"{it}:{float(problem.bounds[it][0])!r}:{float(problem.bounds[it][1])!r}"
    if out.get("root_time") and not out.get("time"):
        raise PinnsightError(f"model periodic: root_time=1 needs a time-dependent problem ({problem.name} has no time)")
    return out


def parse_box(raw: str, in_size: int, model: str) -> list[tuple[float, float]]:
    """``"lo:hi/lo:hi"`` (one interval per input coordinate) -> [(lo, hi), ...]."""
    try:
        box = [tuple(float(v) for v in part.split(":")) for part in _split(raw)]
    except ValueError:
        box = []
    if len(box) != in_size or any(len(b) != 2 or not b[0] < b[1] for b in box):
        raise PinnsightError(f"model {model}: box={raw!r} must give lo:hi with lo < hi for each of the "
                             f"{in_size} input coordinates, '/'-separated")
    return box


def plain_model(cls: type, name: str):
    """Build function of ``mlp`` / ``modified-mlp``: the network, behind ``Standardize`` when ``normalize``."""

    def build(in_size: int, *, key: jax.Array, dtype=None, width: int, depth: int, normalize: bool = False,
              box: str = "", out_size: int = 1):
        net = cls(in_size, width, depth, key=key, dtype=dtype, out_size=out_size)
        if not normalize:
            return net
        if not box:
            raise PinnsightError(f"model {name}: normalize=1 needs the problem's box (or box=lo:hi/lo:hi)")
        return Embedded(Standardize.uniform_on(parse_box(box, in_size, name)), net)

    return build


def box_options(problem: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """Fill ``box`` from the problem's bounds when ``normalize`` is on and no box was given."""
    out = dict(options)
    if out.get("normalize") and not out.get("box"):
        out["box"] = "/".join(f"{float(lo)!r}:{float(hi)!r}" for lo, hi in problem.bounds)
    return out
