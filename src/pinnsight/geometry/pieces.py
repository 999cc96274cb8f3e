"""The pieces a primitive's boundary is made of — segments, circles (spheres), box faces — each sampled uniformly
with its outward normal, with a distance function normalised to first order (Sukumar & Srivastava, CMAME 389
(2022) 114333, Sec. 3) and a closest-point projection. Points are rows (n, dim) of jnp arrays."""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True)
class Segment:
    """The segment p → q of a counter-clockwise boundary (the domain on its left)."""

    p: tuple[float, float]
    q: tuple[float, float]
    name: str

    @property
    def length(self) -> float:
        return math.dist(self.p, self.q)

    def sample(self, key, m: int, dtype):
        p, q = jnp.asarray(self.p, dtype), jnp.asarray(self.q, dtype)
        t = jax.random.uniform(key, (m, 1), dtype)
        d = (q - p) / self.length
        normal = jnp.broadcast_to(jnp.stack([d[1], -d[0]]), (m, 2))
        return p[None, :] + t * (q - p)[None, :], normal

    def sample_np(self, rng, m: int):
        """``sample`` in NumPy (host-side estimates: nothing compiled)."""
        p, q = np.asarray(self.p, float), np.asarray(self.q, float)
        d = (q - p) / self.length
        return p[None, :] + rng.random((m, 1)) * (q - p)[None, :], np.broadcast_to(np.array([d[1], -d[0]]), (m, 2))

    def distance(self, x):
        """Sukumar & Srivastava's trimmed distance to the segment: √(f² + ((√(t² + f⁴) − t)/2)²), f the distance
        to its line, t = (L²/4 − |x − c|²)/L: ≥ 0, 0 on the segment only, ≈ the distance to it nearby."""
        p, q = jnp.asarray(self.p, x.dtype), jnp.asarray(self.q, x.dtype)
        L, c = self.length, (p + q) / 2
        f = ((q[0] - p[0]) * (x[:, 1] - p[1]) - (q[1] - p[1]) * (x[:, 0] - p[0])) / L
        t = (L * L / 4 - jnp.sum((x - c[None, :]) ** 2, axis=1)) / L
        psi = (jnp.sqrt(t * t + f**4) - t) / 2
        return jnp.sqrt(f * f + psi * psi)

    def project(self, x):
        p, q = jnp.asarray(self.p, x.dtype), jnp.asarray(self.q, x.dtype)
        t = jnp.clip(jnp.sum((x - p[None, :]) * (q - p)[None, :], axis=1) / self.length**2, 0.0, 1.0)
        return p[None, :] + t[:, None] * (q - p)[None, :]


@dataclass(frozen=True)
class Sphere:
    """The circle (sphere) of ``center`` and ``radius``; ``inside`` True when the domain lies inside it (a disk),
    False for a hole (the annulus's inner circle): the outward normal and the distance's sign follow."""

    center: tuple[float, ...]
    radius: float
    name: str
    inside: bool = True

    @property
    def length(self) -> float:
        d, r = len(self.center), self.radius
        return 2 * math.pi ** (d / 2) / math.gamma(d / 2) * r ** (d - 1)

    def sample(self, key, m: int, dtype):
        d = len(self.center)
        direction = jax.random.normal(key, (m, d), dtype)
        direction = direction / jnp.linalg.norm(direction, axis=1, keepdims=True)
        points = jnp.asarray(self.center, dtype)[None, :] + self.radius * direction
        return points, direction if self.inside else -direction

    def sample_np(self, rng, m: int):
        direction = rng.standard_normal((m, len(self.center)))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        points = np.asarray(self.center, float)[None, :] + self.radius * direction
        return points, direction if self.inside else -direction

    def distance(self, x):
        """(r² − |x − c|²)/(2r) inside a disk, its negative outside a hole: smooth, > 0 in the domain."""
        c = jnp.asarray(self.center, x.dtype)[None, :]
        value = (self.radius**2 - jnp.sum((x - c) ** 2, axis=1)) / (2 * self.radius)
        return value if self.inside else -value

    def project(self, x):
        c = jnp.asarray(self.center, x.dtype)[None, :]
        v = x - c
        at_center = jnp.sum(v * v, axis=1, keepdims=True) == 0
        safe = jnp.where(at_center, jnp.eye(x.shape[1], dtype=x.dtype)[:1], v)  # no NaN derivative at the centre
        return c + self.radius * safe / jnp.linalg.norm(safe, axis=1, keepdims=True)


@dataclass(frozen=True)
class Face:
    """The face x_axis = lo (``high`` False) or hi of the box lo..hi (any dimension)."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]
    axis: int
    high: bool
    name: str

    @property
    def length(self) -> float:
        return math.prod(h - l for i, (l, h) in enumerate(zip(self.lo, self.hi)) if i != self.axis)

    def sample(self, key, m: int, dtype):
        lo, hi = jnp.asarray(self.lo, dtype), jnp.asarray(self.hi, dtype)
        x = lo[None, :] + (hi - lo)[None, :] * jax.random.uniform(key, (m, len(self.lo)), dtype)
        x = x.at[:, self.axis].set(hi[self.axis] if self.high else lo[self.axis])
        normal = jnp.zeros((m, len(self.lo)), dtype).at[:, self.axis].set(1.0 if self.high else -1.0)
        return x, normal

    def sample_np(self, rng, m: int):
        lo, hi = np.asarray(self.lo, float), np.asarray(self.hi, float)
        x = lo[None, :] + (hi - lo)[None, :] * rng.random((m, len(self.lo)))
        x[:, self.axis] = hi[self.axis] if self.high else lo[self.axis]
        normal = np.zeros((m, len(self.lo)))
        normal[:, self.axis] = 1.0 if self.high else -1.0
        return x, normal

    def distance(self, x):
        """The distance to the face's plane, > 0 inside the box (a box is the outer shape, never a hole)."""
        return x[:, self.axis] - self.lo[self.axis] if not self.high else self.hi[self.axis] - x[:, self.axis]

    def project(self, x):
        y = jnp.clip(x, jnp.asarray(self.lo, x.dtype)[None, :], jnp.asarray(self.hi, x.dtype)[None, :])
        return y.at[:, self.axis].set(self.hi[self.axis] if self.high else self.lo[self.axis])


# ------------------------------------------------------------------ many pieces at once (one op per kind)
def _segment_arrays(segs, dtype):
    p = jnp.asarray([s.p for s in segs], dtype)
    q = jnp.asarray([s.q for s in segs], dtype)
    return p, q, jnp.linalg.norm(q - p, axis=1)


def _by_kind(pieces: list, x, segments, one):
    """Columns (n, k, ...) for every piece: the segments all at once (``segments(p, q, L)``), the others one by
    one (``one(piece)``), put back in the pieces' order."""
    cols, order = [], []
    segs = [(i, p) for i, p in enumerate(pieces) if isinstance(p, Segment)]
    if segs:
        cols.append(segments(*_segment_arrays([s for _, s in segs], x.dtype)))
        order += [i for i, _ in segs]
    others = [(i, p) for i, p in enumerate(pieces) if not isinstance(p, Segment)]
    if others:
        cols.append(jnp.stack([one(p) for _, p in others], axis=1))
        order += [i for i, _ in others]
    return jnp.concatenate(cols, axis=1)[:, jnp.asarray(np.argsort(order))]


def piece_distances(pieces: list, x) -> jax.Array:
    """The distances of every piece at the points ``x``: (n, k), computed once per kind of piece (vectorised over
    the pieces, so that derivatives of a function of many pieces compile in one go)."""
    def segments(p, q, L):
        d, r = (q - p)[None], x[:, None, :] - p[None]
        f = (d[..., 0] * r[..., 1] - d[..., 1] * r[..., 0]) / L[None]
        t = (L[None] ** 2 / 4 - jnp.sum((x[:, None, :] - ((p + q) / 2)[None]) ** 2, axis=2)) / L[None]
        psi = (jnp.sqrt(t * t + f**4) - t) / 2
        return jnp.sqrt(f * f + psi * psi)

    return _by_kind(pieces, x, segments, lambda piece: piece.distance(x))


def piece_projections(pieces: list, x) -> jax.Array:
    """The closest point of every piece to each point of ``x``: (n, k, dim)."""
    def segments(p, q, L):
        t = jnp.clip(jnp.sum((x[:, None, :] - p[None]) * (q - p)[None], axis=2) / (L**2)[None], 0.0, 1.0)
        return p[None] + t[..., None] * (q - p)[None]

    return _by_kind(pieces, x, segments, lambda piece: piece.project(x))


def _product(columns: list):
    out = columns[0]
    for c in columns[1:]:
        out = out * c
    return out


def _products_of_others(phi):
    """Πⱼ≠ᵢ φⱼ for each i along the last axis: plain products (k is small; no cumprod or prod, whose
    derivatives compile to far larger programs)."""
    cols = [phi[..., j] for j in range(phi.shape[-1])]
    return jnp.stack([_product([c for j, c in enumerate(cols) if j != i]) for i in range(len(cols))], axis=-1)


def join_vector(phi) -> jax.Array:
    """The R-equivalence of order 2 of the columns of ``phi`` (n, k), φ = (Σ φᵢ⁻²)^(−1/2), written as
    Π φᵢ / (Σᵢ Πⱼ≠ᵢ φⱼ²)^(1/2) so that it is 0 (not NaN) where a φᵢ is 0; near piece k it is ≈ φₖ."""
    if phi.shape[-1] == 1:
        return phi[..., 0]
    num = _product([phi[..., j] for j in range(phi.shape[-1])])
    den2 = jnp.sum(_products_of_others(phi) ** 2, axis=-1)
    safe = jnp.where(den2 > 0, den2, 1.0)
    return jnp.where(den2 > 0, num / jnp.sqrt(safe), 0.0)


def blend_vector(phi) -> jax.Array:
    """Transfinite-interpolation weights wᵢ = Πⱼ≠ᵢ φⱼ / Σₖ Πⱼ≠ₖ φⱼ of the columns of ``phi`` (n, k): wᵢ = 1 on
    piece i, Σ wᵢ = 1 (Sukumar & Srivastava, Eq. 30 with μ = 1)."""
    if phi.shape[-1] == 1:
        return jnp.ones_like(phi)
    others = _products_of_others(phi)
    total = jnp.sum(others, axis=-1, keepdims=True)
    safe = jnp.where(total > 0, total, 1.0)
    return jnp.where(total > 0, others / safe, 1.0 / phi.shape[-1])
