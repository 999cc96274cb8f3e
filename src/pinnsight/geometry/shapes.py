"""Shapes: primitives (box, ball/disk, polygon, annulus) and their union, intersection and difference, each with a
signed distance, uniform interior and boundary sampling (with outward normals) and named boundary parts.

Sampling runs under ``jax.jit`` with a static count: candidates are drawn in the bounding box (interior) or on the
boundary pieces of the primitives (∝ their length), and the first ``n`` that belong are kept — candidates are iid,
so those are uniform. The number of candidates comes from the fraction that belongs (measured once on the host)
with a margin that makes a shortfall improbable (< 1e-12).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError
from .pieces import Face, Segment, Sphere, join_vector, piece_distances

_CACHE: dict = {}  # (shape, what) -> host-side estimates (fractions, measures)
_ESTIMATE_POINTS = 200_000
BOX_FACES = (("left", "right"), ("bottom", "top"), ("back", "front"))


def _numbers(values, what: str, n: int | None = None) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise PinnsightError(f"{what}: expected numbers, got {values!r}") from None
    if (n is not None and len(out) != n) or not out or not all(map(math.isfinite, out)):
        raise PinnsightError(f"{what}: expected {n or 'some'} finite numbers, got {values!r}")
    return out


def _xp(x):
    """The array module of ``x``: NumPy for host-side estimates (nothing compiled), jax.numpy otherwise."""
    return np if isinstance(x, np.ndarray) else jnp


def _cached(key, compute):
    """A host-side estimate, computed once (eagerly, also when first asked for inside a trace)."""
    if key not in _CACHE:
        with jax.ensure_compile_time_eval(), jax.default_device(jax.devices("cpu")[0]):
            _CACHE[key] = compute()
    return _CACHE[key]


def _first_kept(keep, rows, n: int):
    """The first ``n`` rows where ``keep`` holds (stable: the candidates' random order is kept)."""
    idx = jnp.argsort(jnp.logical_not(keep), stable=True)[:n]
    return tuple(r[idx] for r in rows)


def _candidates_for(n: int, fraction: float) -> int:
    m = n / fraction
    return int(math.ceil(m + 8.0 * math.sqrt(m) + 64))


class Shape:
    """Base of every shape. Subclasses give ``dim``, ``bbox``, ``sdf``, ``leaves`` and ``_keep``; primitives also
    ``pieces`` and ``exact_measure``."""

    extra_parts: tuple = ()  # (name, predicate) pairs added by ``with_parts``

    # ------------------------------------------------------------------ geometry
    def sdf(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def contains(self, x, tol: float = 0.0):
        return self.sdf(x) <= tol

    @property
    def size(self) -> float:
        return max(hi - lo for lo, hi in self.bbox)

    @property
    def measure(self) -> float:
        """Area (volume): exact for a primitive, a Monte-Carlo estimate (fixed seed) for a composite shape."""
        exact = getattr(self, "exact_measure", None)
        return exact if exact is not None else self._box_volume() * self._inside_fraction()

    @property
    def perimeter(self) -> float:
        """Length (area) of the boundary: the kept fraction of the primitives' boundary candidates × their length."""
        total = sum(p.length for p in self.all_pieces())
        return total * self._boundary_fraction(None)

    def _box_volume(self) -> float:
        return math.prod(hi - lo for lo, hi in self.bbox)

    def _inside_fraction(self) -> float:
        exact = getattr(self, "exact_measure", None)
        if exact is not None:  # a primitive: no estimate (and nothing compiled)
            return exact / self._box_volume()

        def compute():
            lo, hi = np.array(self.bbox, float).T
            pts = lo + (hi - lo) * np.random.default_rng(12345).random((_ESTIMATE_POINTS, self.dim))
            return float(np.mean(self.contains(pts)))  # NumPy throughout: building a shape compiles nothing
        return _cached((self, "inside"), compute)

    # ------------------------------------------------------------------ structure
    def all_pieces(self) -> list:
        """The boundary pieces of every primitive leaf, in leaf order."""
        return [p for leaf in self.leaves() for p in leaf.pieces()]

    @property
    def part_names(self) -> tuple[str, ...]:
        names = dict.fromkeys(p.name for p in self.all_pieces())
        names.update(dict.fromkeys(n for n, _ in self.extra_parts))
        return tuple(names)

    def with_parts(self, **predicates: Callable) -> "Shape":
        """This shape with boundary parts given by predicates ``name=lambda x, y: ...`` (bool arrays)."""
        for name, pred in predicates.items():
            if not callable(pred):
                raise PinnsightError(f"boundary part {name!r}: expected a predicate of the coordinates, got {pred!r}")
        shape = copy.copy(self)  # a new shape (its own cached estimates); this one is unchanged
        object.__setattr__(shape, "extra_parts", tuple(self.extra_parts) + tuple(predicates.items()))
        return shape

    # ------------------------------------------------------------------ sampling
    def sample_interior(self, key, n: int, dtype=jnp.float32):
        """``n`` uniform points of the shape (n, dim)."""
        m = _candidates_for(n, self._inside_fraction())
        lo, hi = (jnp.asarray(v, dtype) for v in np.array(self.bbox, float).T)
        cand = lo[None, :] + (hi - lo)[None, :] * jax.random.uniform(key, (m, self.dim), dtype)
        return _first_kept(self.contains(cand), (cand,), n)[0]

    def _boundary_candidates(self, key, m: int, dtype):
        """``m`` candidates on the primitives' pieces (∝ length): points, outward normals (of the final shape where
        kept) and whether each is on the shape's boundary, and its piece index."""
        pieces = self.all_pieces()
        lengths = np.array([p.length for p in pieces], float)
        k_choice, k_points = jax.random.split(key)
        which = jax.random.choice(k_choice, len(pieces), (m,), p=jnp.asarray(lengths / lengths.sum()))
        pts, nrm = zip(*(p.sample(k, m, dtype) for p, k in zip(pieces, jax.random.split(k_points, len(pieces)))))
        pts, nrm = jnp.stack(pts)[which, jnp.arange(m)], jnp.stack(nrm)[which, jnp.arange(m)]
        keep, sign = self._keep(pts, nrm, which, 0)
        return pts, nrm * sign[:, None], keep, which

    def _in_part(self, pts, which, part: str | None):
        xp = _xp(pts)
        if part is None:
            return xp.ones(pts.shape[0], bool)
        for name, pred in reversed(self.extra_parts):
            if name == part:
                return xp.asarray(pred(*pts.T), bool)
        ids = xp.asarray([p.name == part for p in self.all_pieces()])
        return ids[which]

    def sample_boundary(self, key, n: int, dtype=jnp.float32, part: str | None = None):
        """``n`` uniform points of the boundary (or of the named ``part``) and their unit outward normals."""
        self._check_part(part)
        m = _candidates_for(n, self._boundary_fraction(part))
        pts, nrm, keep, which = self._boundary_candidates(key, m, dtype)
        return _first_kept(keep & self._in_part(pts, which, part), (pts, nrm), n)

    def _boundary_fraction(self, part: str | None) -> float:
        if self.leaves() == [self] and not any(n == part for n, _ in self.extra_parts):
            lengths = {p.name: 0.0 for p in self.pieces()}  # a primitive: every candidate is on its boundary
            for p in self.pieces():
                lengths[p.name] += p.length
            total = sum(lengths.values())
            return 1.0 if part is None else lengths.get(part, 0.0) / total

        def compute():  # NumPy throughout: building a shape compiles nothing
            pts, keep, which = self._boundary_sample()
            return float(np.mean(keep & self._in_part(pts, which, part)))
        return _cached((self, "boundary", part), compute)

    def _boundary_sample(self):
        """A fixed host-side sample of boundary candidates (points, kept, piece index) for the estimates."""
        def compute():
            pts, _, keep, which = self._boundary_candidates_np(np.random.default_rng(7), _ESTIMATE_POINTS // 4)
            return pts, keep, which
        return _cached((self, "boundary-sample"), compute)

    def _boundary_candidates_np(self, rng, m: int):
        """``_boundary_candidates`` in NumPy (float64), for the host-side estimates."""
        pieces = self.all_pieces()
        lengths = np.array([p.length for p in pieces], float)
        which = rng.choice(len(pieces), m, p=lengths / lengths.sum())
        pts, nrm = np.empty((m, self.dim)), np.empty((m, self.dim))
        for i, piece in enumerate(pieces):
            rows = which == i
            pts[rows], nrm[rows] = piece.sample_np(rng, int(rows.sum()))
        keep, sign = self._keep(pts, nrm, which, 0)
        return pts, nrm * sign[:, None], keep, which

    def _check_part(self, part):
        if part is not None and part not in self.part_names:
            raise PinnsightError(f"{self!r} has no boundary part {part!r} (parts: {', '.join(self.part_names)})")

    def part_fraction(self, part: str | None) -> float:
        """The fraction of the boundary in ``part``; an unknown part, or one that matches no boundary point, raises."""
        self._check_part(part)
        whole = self._boundary_fraction(None)
        fraction = self._boundary_fraction(part) / whole if whole > 0 else 0.0
        if fraction == 0.0:
            raise PinnsightError(f"boundary part {part!r} of {self!r} matches no boundary points")
        return fraction

    # ------------------------------------------------------------------ distance functions
    def adf(self, x, parts=None):
        """An approximate distance function of the boundary (or of the named ``parts``, made of whole pieces):
        0 there, > 0 inside, normalised to first order (Sukumar & Srivastava 2022: R-equivalence of order 2 of
        the pieces' distances)."""
        return join_vector(piece_distances(self.distance_pieces(parts), x))

    def distance_pieces(self, parts=None) -> list:
        """The pieces an ADF of ``parts`` (None: the whole boundary) is built from."""
        pieces = self._adf_pieces()
        if parts is None:
            return pieces
        parts = (parts,) if isinstance(parts, str) else tuple(parts)
        names = set()
        for part in parts:
            self._check_part(part)
            names |= self._predicate_pieces(part) if any(n == part for n, _ in self.extra_parts) else {part}
        chosen = [p for p in pieces if p.name in names]
        if not chosen:
            raise PinnsightError(f"boundary parts {parts} of {self!r} hold no piece for a distance function")
        return chosen

    def _adf_pieces(self) -> list:
        return self.all_pieces()

    def _predicate_pieces(self, part: str) -> set[str]:
        """The names of the pieces a part given by a predicate is made of: those it holds at on ≥ 90 % of their
        boundary points (a fixed sample); a piece it touches at < 10 % (a predicate's slack at a corner, such as
        x < −0.99 for the left edge) is not in it; in between, the part has no distance function."""
        pts, keep, which = self._boundary_sample()
        inside = keep & self._in_part(pts, which, part)
        names, split = set(), set()
        for i, piece in enumerate(self.all_pieces()):
            share = inside[which == i].sum() / max(int(keep[which == i].sum()), 1)
            if share >= 0.9:
                names.add(piece.name)
            elif share > 0.1:
                split.add(piece.name)
        if split:
            raise PinnsightError(f"boundary part {part!r} of {self!r} covers only some of piece(s) "
                                 f"{', '.join(sorted(split))}; a distance function needs parts made of whole pieces "
                                 "(edges, circles, faces)")
        return names


# ---------------------------------------------------------------------------------------------- primitives
@dataclass(frozen=True, eq=False)
class Box(Shape):
    """The box lo..hi (any dimension); faces left/right (axis 0), bottom/top (axis 1), back/front (axis 2)."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]

    def __post_init__(self):
        lo = _numbers(self.lo, "Box lo")
        hi = _numbers(self.hi, "Box hi", len(lo))
        if any(h <= l for l, h in zip(lo, hi)):
            raise PinnsightError(f"Box: each lo must be below its hi, got lo={lo}, hi={hi}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    dim = property(lambda self: len(self.lo))
    bbox = property(lambda self: tuple(zip(self.lo, self.hi)))
    exact_measure = property(lambda self: math.prod(h - l for l, h in zip(self.lo, self.hi)))

    def sdf(self, x):
        xp = _xp(x)
        lo, hi = xp.asarray(self.lo, x.dtype), xp.asarray(self.hi, x.dtype)
        c, half = (lo + hi) / 2, (hi - lo) / 2
        q = xp.abs(x - c[None, :]) - half[None, :]
        outside = xp.linalg.norm(xp.maximum(q, 0.0), axis=1)
        return outside + xp.minimum(xp.max(q, axis=1), 0.0)

    def pieces(self) -> list:
        if self.dim == 2:  # segments, counter-clockwise: their trimmed distances also serve a box-shaped hole
            (x0, y0), (x1, y1) = self.lo, self.hi
            corners = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
            names = ("bottom", "right", "top", "left")
            return [Segment(corners[i], corners[(i + 1) % 4], names[i]) for i in range(4)]
        return [Face(self.lo, self.hi, a, high, self._face_name(a, high)) for a in range(self.dim)
                for high in (False, True)]

    @staticmethod
    def _face_name(axis: int, high: bool) -> str:
        return BOX_FACES[axis][high] if axis < len(BOX_FACES) else f"{'hi' if high else 'lo'}{axis}"

    def leaves(self):
        return [self]

    def _keep(self, x, n, which, start):
        xp = _xp(x)
        return xp.ones(x.shape[0], bool), xp.ones(x.shape[0], x.dtype)

    def __repr__(self):
        return f"Box({self.lo}, {self.hi})"


@dataclass(frozen=True, eq=False)
class Ball(Shape):
    """The ball (disk in 2-D) of ``center`` and ``radius``; its boundary part is ``circle`` (2-D) / ``sphere``."""

    center: tuple[float, ...]
    radius: float

    def __post_init__(self):
        object.__setattr__(self, "center", _numbers(self.center, type(self).__name__ + " center"))
        r = _numbers([self.radius], type(self).__name__ + " radius", 1)[0]
        if r <= 0:
            raise PinnsightError(f"{type(self).__name__}: the radius must be > 0, got {self.radius!r}")
        object.__setattr__(self, "radius", r)

    dim = property(lambda self: len(self.center))
    bbox = property(lambda self: tuple((c - self.radius, c + self.radius) for c in self.center))
    exact_measure = property(lambda self: math.pi ** (self.dim / 2) / math.gamma(self.dim / 2 + 1)
                             * self.radius**self.dim)

    def sdf(self, x):
        xp = _xp(x)
        return xp.linalg.norm(x - xp.asarray(self.center, x.dtype)[None, :], axis=1) - self.radius

    def pieces(self):
        return [Sphere(self.center, self.radius, "circle" if self.dim == 2 else "sphere")]

    def leaves(self):
        return [self]

    _keep = Box._keep

    def __repr__(self):
        return f"{type(self).__name__}({self.center}, {self.radius:g})"


@dataclass(frozen=True, eq=False)
class Disk(Ball):
    """A 2-D ball."""

    def __post_init__(self):
        super().__post_init__()
        if self.dim != 2:
            raise PinnsightError(f"Disk: the center must have 2 coordinates, got {self.center}")


@dataclass(frozen=True, eq=False)
class Annulus(Shape):
    """The ring inner < |x − center| < outer (2-D); boundary parts ``inner`` and ``outer``."""

    center: tuple[float, float]
    inner: float
    outer: float

    def __post_init__(self):
        object.__setattr__(self, "center", _numbers(self.center, "Annulus center", 2))
        r, R = _numbers([self.inner, self.outer], "Annulus radii", 2)
        if not 0 < r < R:
            raise PinnsightError(f"Annulus: need 0 < inner < outer, got inner={self.inner!r}, outer={self.outer!r}")
        object.__setattr__(self, "inner", r)
        object.__setattr__(self, "outer", R)

    dim = 2
    bbox = property(lambda self: tuple((c - self.outer, c + self.outer) for c in self.center))
    exact_measure = property(lambda self: math.pi * (self.outer**2 - self.inner**2))

    def sdf(self, x):
        xp = _xp(x)
        r = xp.linalg.norm(x - xp.asarray(self.center, x.dtype)[None, :], axis=1)
        return xp.maximum(r - self.outer, self.inner - r)

    def pieces(self):
        return [Sphere(self.center, self.outer, "outer"), Sphere(self.center, self.inner, "inner", inside=False)]

    def leaves(self):
        return [self]

    _keep = Box._keep

    def __repr__(self):
        return f"Annulus({self.center}, {self.inner:g}, {self.outer:g})"


def _signed_area(v: np.ndarray) -> float:
    x, y = v[:, 0], v[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _segments_cross(a, b, c, d) -> bool:
    """Whether the closed segments ab and cd intersect (proper crossings and touching)."""
    def orient(p, q, r):
        return np.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    def on(p, q, r):
        return min(p[0], q[0]) - 1e-12 <= r[0] <= max(p[0], q[0]) + 1e-12 and \
            min(p[1], q[1]) - 1e-12 <= r[1] <= max(p[1], q[1]) + 1e-12
    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    if o1 != o2 and o3 != o4:
        return True
    return any(o == 0 and on(p, q, r) for o, p, q, r in ((o1, a, b, c), (o2, a, b, d), (o3, c, d, a), (o4, c, d, b)))


@dataclass(frozen=True, eq=False)
class Polygon(Shape):
    """A simple polygon (2-D); edge i runs from vertex i to vertex i + 1 and is the part ``edge{i}`` unless
    ``names`` (one per edge, repeats allowed) names it. Clockwise vertices are reversed (normals point out)."""

    vertices: tuple
    names: tuple | None = None

    def __post_init__(self):
        try:
            v = np.array([_numbers(p, "Polygon vertex", 2) for p in self.vertices], float)
        except TypeError:
            raise PinnsightError(f"Polygon: vertices must be (x, y) pairs, got {self.vertices!r}") from None
        if len(v) < 3:
            raise PinnsightError(f"Polygon: needs at least 3 vertices, got {len(v)}")
        names = tuple(f"edge{i}" for i in range(len(v))) if self.names is None else tuple(self.names)
        if len(names) != len(v) or not all(isinstance(n, str) and n for n in names):
            raise PinnsightError(f"Polygon: names must be {len(v)} non-empty strings (one per edge), got {self.names!r}")
        _check_simple(v)
        if _signed_area(v) < 0:  # clockwise: v0, v_n−1, …, v1; new edge i is old edge n − 1 − i reversed
            v, names = np.concatenate([v[:1], v[:0:-1]]), tuple(reversed(names))
        object.__setattr__(self, "vertices", tuple(map(tuple, v)))
        object.__setattr__(self, "names", names)

    dim = 2
    bbox = property(lambda self: tuple((float(min(c)), float(max(c))) for c in zip(*self.vertices)))
    exact_measure = property(lambda self: abs(_signed_area(np.array(self.vertices))))

    def sdf(self, x):
        xp = _xp(x)
        v = xp.asarray(self.vertices, x.dtype)
        w = xp.roll(v, -1, axis=0)
        e, d = w - v, x[:, None, :] - v[None, :, :]
        t = xp.clip(xp.sum(d * e[None], axis=2) / xp.sum(e * e, axis=1)[None, :], 0.0, 1.0)
        dist = xp.min(xp.linalg.norm(d - t[..., None] * e[None], axis=2), axis=1)
        # winding by crossings of the horizontal ray
        y, vy, wy = x[:, 1:2], v[None, :, 1], w[None, :, 1]
        crosses = (vy > y) != (wy > y)
        xs = v[None, :, 0] + (y - vy) * (w[None, :, 0] - v[None, :, 0]) / xp.where(wy != vy, wy - vy, 1.0)
        inside = xp.sum(crosses & (x[:, :1] < xs), axis=1) % 2 == 1
        return xp.where(inside, -dist, dist)

    def pieces(self):
        v = self.vertices
        return [Segment(v[i], v[(i + 1) % len(v)], self.names[i]) for i in range(len(v))]

    def leaves(self):
        return [self]

    _keep = Box._keep

    def __repr__(self):
        return f"Polygon({len(self.vertices)} vertices)"


def _check_simple(v: np.ndarray) -> None:
    n = len(v)
    for i in range(n):
        if np.allclose(v[i], v[(i + 1) % n]):
            raise PinnsightError(f"Polygon: vertices {i} and {(i + 1) % n} coincide")
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            if _segments_cross(v[i], v[(i + 1) % n], v[j], v[(j + 1) % n]):
                raise PinnsightError(f"Polygon: edges {i} and {j} intersect (the polygon is not simple)")
    if abs(_signed_area(v)) < 1e-14 * max(1.0, float(np.ptp(v)) ** 2):
        raise PinnsightError("Polygon: its area is zero (degenerate or collinear vertices)")


# ----------------------------------------------------------------------------------------------- CSG
@dataclass(frozen=True, eq=False)
class _Composite(Shape):
    a: Shape
    b: Shape
    op: str = field(default="", init=False)

    def __post_init__(self):
        for s in (self.a, self.b):
            if not isinstance(s, Shape):
                raise PinnsightError(f"{type(self).__name__}: {s!r} is not a shape")
        if self.a.dim != self.b.dim:
            raise PinnsightError(f"{type(self).__name__}: a {self.a.dim}-D and a {self.b.dim}-D shape")
        if self._inside_fraction() == 0.0:
            raise PinnsightError(f"{self!r} is empty")

    dim = property(lambda self: self.a.dim)

    def leaves(self):
        return self.a.leaves() + self.b.leaves()

    def _split(self, x, n, which, start):
        """(keep, sign) of each operand for its own candidates, and which candidates are the first operand's."""
        n_a = sum(len(leaf.pieces()) for leaf in self.a.leaves())
        ka, sa = self.a._keep(x, n, which, start)
        kb, sb = self.b._keep(x, n, which, start + n_a)
        return (ka, sa), (kb, sb), which < start + n_a

    def _delta(self):
        return 1e-6 * self.size

    def __repr__(self):
        return f"({self.a!r} {self.op} {self.b!r})"


@dataclass(frozen=True, eq=False)
class Union(_Composite):
    op: str = field(default="∪", init=False)
    bbox = property(lambda self: tuple((min(p[0], q[0]), max(p[1], q[1])) for p, q in zip(self.a.bbox, self.b.bbox)))

    def sdf(self, x):
        return _xp(x).minimum(self.a.sdf(x), self.b.sdf(x))

    def _keep(self, x, n, which, start):
        (ka, sa), (kb, sb), first = self._split(x, n, which, start)
        xp = _xp(x)
        d, eps = self._delta(), 1e-9 * self.size
        keep_a = ka & (self.b.sdf(x + d * n * sa[:, None]) > 0)  # not inside b, nor an interface with it
        keep_b = kb & (self.a.sdf(x) > eps)  # strictly outside a (shared pieces: a's copy is kept)
        return xp.where(first, keep_a, keep_b), xp.where(first, sa, sb)

    def _adf_pieces(self):
        raise PinnsightError(f"a distance function of a union ({self!r}) is not supported: describe the domain "
                             "as one polygon, or as a difference or intersection")


@dataclass(frozen=True, eq=False)
class Intersection(_Composite):
    op: str = field(default="∩", init=False)
    bbox = property(lambda self: tuple((max(p[0], q[0]), min(p[1], q[1])) for p, q in zip(self.a.bbox, self.b.bbox)))

    def __post_init__(self):
        if self.a.dim == self.b.dim and any(lo >= hi for lo, hi in self.bbox):  # disjoint boxes: nothing to sample
            raise PinnsightError(f"{self!r} is empty")
        super().__post_init__()

    def sdf(self, x):
        return _xp(x).maximum(self.a.sdf(x), self.b.sdf(x))

    def _keep(self, x, n, which, start):
        (ka, sa), (kb, sb), first = self._split(x, n, which, start)
        xp = _xp(x)
        d, eps = self._delta(), 1e-9 * self.size
        keep_a = ka & (self.b.sdf(x - d * n * sa[:, None]) < 0)  # the inner side is in b
        keep_b = kb & (self.a.sdf(x) < -eps)  # strictly inside a
        return xp.where(first, keep_a, keep_b), xp.where(first, sa, sb)


@dataclass(frozen=True, eq=False)
class Difference(_Composite):
    op: str = field(default="−", init=False)
    bbox = property(lambda self: self.a.bbox)

    def sdf(self, x):
        return _xp(x).maximum(self.a.sdf(x), -self.b.sdf(x))

    def _keep(self, x, n, which, start):
        (ka, sa), (kb, sb), first = self._split(x, n, which, start)
        xp = _xp(x)
        d, eps = self._delta(), 1e-9 * self.size
        keep_a = ka & (self.b.sdf(x - d * n * sa[:, None]) > 0)  # the inner side is not in b
        keep_b = kb & (self.a.sdf(x) < -eps)  # b's boundary strictly inside a, its normal reversed
        return xp.where(first, keep_a, keep_b), xp.where(first, sa, -sb)

    def _adf_pieces(self):
        holes = [_as_hole(p) for p in self.b._adf_pieces()]
        return self.a._adf_pieces() + holes


def _as_hole(piece):
    """A piece of a subtracted shape as the boundary of a hole: a circle's distance changes sign; a segment's
    trimmed distance is unsigned already; a plane face cannot bound a hole."""
    if isinstance(piece, Sphere):
        return Sphere(piece.center, piece.radius, piece.name, inside=not piece.inside)
    if isinstance(piece, Face):
        raise PinnsightError("a distance function of a box hole is supported in 2-D only")
    return piece


Shape.__or__ = lambda self, other: Union(self, other)
Shape.__and__ = lambda self, other: Intersection(self, other)
Shape.__sub__ = lambda self, other: Difference(self, other)
