"""Problems: a box domain, a pointwise PDE residual, named constraints, coefficients, a reference.

A residual is written for one point with JAX autodiff, ``residual(u, *coords, c)``, where ``u`` is the
network as a function of scalar coordinates and ``c`` maps coefficient names to (traced) scalars, so a
coefficient change (curriculum) never retraces the training step. Constraints sample their own points as
rows of one array; a row carries its target values, so a remedy may replace targets (time marching) without
touching the loss code.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError
from ..spec import coerce
from .symmetry import Reflection, check_reflections

Coefficients = Mapping[str, Any]
ResidualFn = Callable[..., jax.Array]


# ----------------------------------------------------------------------------------------------- constraints
class Constraint:
    """A named soft constraint: ``sample`` draws rows, ``residual`` maps (u, row, c) to residual values.

    Subclasses are frozen dataclasses with at least the fields ``name`` (the loss term) and ``n_points``. In a
    system (several fields), a constraint names the ``field`` it constrains and ``residual`` gets that field's
    scalar function as ``u``; a constraint with ``fields`` (observations of several) gets the ``Fields``.
    """

    name: str
    n_points: int

    def sample(self, key: jax.Array, problem: "Problem", n: int) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def residual(self, u: Callable, row: jax.Array, c: Coefficients, problem: "Problem") -> jax.Array:
        raise NotImplementedError  # pragma: no cover - abstract


def takes_coefficients(value: Callable) -> bool:
    """Whether a constraint's ``value`` takes the coefficients as its last argument, named ``c``
    (``value(x, t, c)``): its target is then computed in the loss, from the traced (or unknown) coefficients, so
    a coefficient trained in an inverse problem gets its gradient through the boundary or initial data too."""
    try:
        params = list(inspect.signature(value).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[-1] == "c"


def _target(value: Callable, coords, row_target, c):
    """The constraint's target: ``value(*coords, c)`` when it takes coefficients, else the row's stored value."""
    return value(*coords, c) if takes_coefficients(value) else row_target


def _stored(value: Callable, coords, dtype, n: int):
    """The target column a row stores: ``value(*coords)``, or zeros when the value needs the coefficients."""
    if takes_coefficients(value):
        return jnp.zeros(n, dtype)
    return jnp.asarray(value(*coords), dtype=dtype) * jnp.ones(n, dtype)


def _uniform(key: jax.Array, n: int, bounds: tuple[tuple[float, float], ...]) -> jax.Array:
    lo = jnp.array([[b[0] for b in bounds]])
    hi = jnp.array([[b[1] for b in bounds]])
    return lo + (hi - lo) * jax.random.uniform(key, (n, len(bounds)), dtype=lo.dtype)


@dataclass(frozen=True)
class Initial(Constraint):
    """Initial condition ``∂ᵏu/∂tᵏ (x, t0) = value(x)`` for ``order = k`` (0: value, 1: velocity).

    Rows are ``[coords..., target]`` with the time coordinate set to the start time; ``value`` takes the
    spatial coordinates (in problem order, time removed) as arrays and returns the target; ``value(x, c)``
    (last argument named ``c``) takes the coefficients too and is evaluated in the loss.
    """

    value: Callable[..., jax.Array] = jnp.sin
    order: int = 0
    name: str = "ic"
    n_points: int = 100
    field: str | None = None  # the field it constrains (a system's constraints name one)

    def sample(self, key, problem, n):
        pts = interior_points(problem, key, n)
        it = problem.time_index
        pts = pts.at[:, it].set(problem.bounds[it][0])
        space = [pts[:, i] for i in range(problem.dim) if i != it]
        target = _stored(self.value, space, pts.dtype, n)
        return jnp.concatenate([pts, target[:, None]], axis=1)

    def residual(self, u, row, c, problem):
        z, it = row[: problem.dim], problem.time_index
        target = _target(self.value, [z[i] for i in range(problem.dim) if i != it], row[problem.dim], c)
        return _derivative(u, it, self.order)(*z) - target


@dataclass(frozen=True)
class Dirichlet(Constraint):
    """``u = value(*coords)`` on the faces of the spatial box (``coords`` limits which directions), or on the
    boundary of the problem's ``domain`` (``on`` names one of its boundary parts); a ``value`` whose last argument
    is named ``c`` takes the coefficients and is evaluated in the loss."""

    value: Callable[..., jax.Array] = lambda *z: 0.0 * z[0]
    coords: tuple[str, ...] | None = None
    name: str = "bc"
    n_points: int = 100
    field: str | None = None  # the field it constrains (a system's constraints name one)
    on: str | None = None  # a boundary part of the problem's domain (None: all of its boundary)

    def sample(self, key, problem, n):
        pts = _boundary_points(key, problem, n, self.coords) if problem.domain is None \
            else boundary_points(problem, key, n, self.on)[0]
        target = _stored(self.value, pts.T, pts.dtype, n)
        return jnp.concatenate([pts, target[:, None]], axis=1)

    def residual(self, u, row, c, problem):
        z = row[: problem.dim]
        return u(*z) - _target(self.value, list(z), row[problem.dim], c)


@dataclass(frozen=True)
class Neumann(Constraint):
    """Outward normal derivative ``∂u/∂n = value(coords)`` on the faces of the listed spatial directions, or on
    the boundary (part ``on``) of the problem's ``domain``.

    Rows: ``[coords..., normal..., target]`` — the outward normal as one number per coordinate (0 for time)."""

    value: Callable[..., jax.Array] = lambda *z: 0.0 * z[0]
    coords: tuple[str, ...] | None = None
    name: str = "neumann"
    n_points: int = 100
    field: str | None = None  # the field it constrains (a system's constraints name one)
    on: str | None = None  # a boundary part of the problem's domain (None: all of its boundary)

    def sample(self, key, problem, n):
        pts, normals = _points_with_normals(key, problem, n, self.coords, self.on)
        target = _stored(self.value, pts.T, pts.dtype, n)
        return jnp.concatenate([pts, normals, target[:, None]], axis=1)

    def residual(self, u, row, c, problem):
        d = problem.dim
        z = row[:d]
        target = _target(self.value, list(z), row[2 * d], c)
        return _normal_derivative(u, z, row[d:2 * d]) - target


@dataclass(frozen=True)
class Robin(Neumann):
    """``a u + b ∂u/∂n = value(coords)`` on the box faces (``coords``) or the domain's boundary part ``on``
    (rows as ``Neumann``'s)."""

    a: float = 1.0
    b: float = 1.0
    name: str = "robin"

    def residual(self, u, row, c, problem):
        d = problem.dim
        z = row[:d]
        target = _target(self.value, list(z), row[2 * d], c)
        return self.a * u(*z) + self.b * _normal_derivative(u, z, row[d:2 * d]) - target


def _normal_derivative(u: Callable, z, normal) -> jax.Array:
    grad = jnp.stack(jax.grad(u, argnums=tuple(range(len(z))))(*z))
    return jnp.sum(grad * normal)


def _points_with_normals(key, problem, n, coords, on):
    """Boundary points and their outward normals (one column per coordinate, 0 for time)."""
    if problem.domain is not None:
        return boundary_points(problem, key, n, on)
    pts, axis, sign = _boundary_points(key, problem, n, coords, with_normals=True)
    normals = jnp.where(jnp.arange(problem.dim)[None, :] == axis[:, None], sign[:, None], 0).astype(pts.dtype)
    return pts, normals


@dataclass(frozen=True)
class Periodic(Constraint):
    """``∂ᵏu`` equal on the two faces of ``coord`` for k = 0..``derivatives``. Rows: ``[low point, high point]``."""

    coord: str = "x"
    derivatives: int = 0
    name: str = "bc"
    n_points: int = 100
    field: str | None = None  # the field it constrains (a system's constraints name one)

    def sample(self, key, problem, n):
        i = problem.coords.index(self.coord)
        pts = _uniform(key, n, problem.bounds)
        low = pts.at[:, i].set(problem.bounds[i][0])
        high = pts.at[:, i].set(problem.bounds[i][1])
        return jnp.concatenate([low, high], axis=1)

    def residual(self, u, row, c, problem):
        d, i = problem.dim, problem.coords.index(self.coord)
        return jnp.stack(
            [_derivative(u, i, k)(*row[:d]) - _derivative(u, i, k)(*row[d:]) for k in range(self.derivatives + 1)]
        )


@dataclass(frozen=True, eq=False)
class Observed(Constraint):
    """Measured values of the field at given points: the misfit ``u(z) − value`` is the loss term ``name``.

    ``rows`` (n, dim + k): coordinates then the observed values of ``fields``; ``held_out`` rows of the same form are kept out
    of training and reported (their misfit, ``<name>_heldout_rms``). Rows are the observations themselves, not
    sampled: a batch takes the first ``n`` rows (all of them by default)."""

    rows: Any = None
    held_out: Any = None
    name: str = "data"
    n_points: int = 0
    fields: tuple[str, ...] = ("u",)  # the observed fields, one value column each (in this order)

    def __post_init__(self):
        rows = np.asarray(self.rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[0] == 0:
            raise PinnsightError(f"observations {self.name!r}: rows must be a non-empty (n, dim + 1) array, "
                                 f"got shape {rows.shape}")
        object.__setattr__(self, "rows", rows)
        if self.held_out is not None:
            object.__setattr__(self, "held_out", np.asarray(self.held_out, dtype=np.float64))
        if not self.n_points:
            object.__setattr__(self, "n_points", rows.shape[0])

    def sample(self, key, problem, n):
        return jnp.asarray(self.rows[: min(n, self.rows.shape[0])])

    def residual(self, u, row, c, problem):
        z = row[: problem.dim]
        if isinstance(u, Fields):
            return jnp.stack([u[f](*z) for f in self.fields]) - row[problem.dim:]
        return u(*z) - row[problem.dim]


@dataclass(frozen=True)
class Pinned(Constraint):
    """``field`` equal to ``value`` at one ``point``: a gauge, e.g. for a pressure that the equations and the
    velocity conditions fix only up to a constant. Every row of its batch is that point."""

    point: tuple[float, ...] = ()
    value: float = 0.0
    name: str = "gauge"
    n_points: int = 1
    field: str | None = None  # the field it constrains (a system's constraints name one)

    def sample(self, key, problem, n):
        row = jnp.asarray([*map(float, self.point), float(self.value)])
        return jnp.tile(row[None, :], (n, 1))

    def residual(self, u, row, c, problem):
        return u(*row[: problem.dim]) - row[problem.dim]


class Fields:
    """The network of a system as residuals see it: ``f(x, y)`` the vector of all fields, ``f.u(x, y)`` or
    ``f["p"](x, y)`` one field's scalar function (for ``jax.grad``)."""

    def __init__(self, fn: Callable, names: tuple[str, ...]):
        self._fn, self._names = fn, tuple(names)

    def __call__(self, *z):
        return self._fn(*z)

    def __getitem__(self, name: str) -> Callable:
        if name not in self._names:
            raise PinnsightError(f"no field {name!r} (fields: {', '.join(self._names)})")
        i = self._names.index(name)
        return lambda *z: self._fn(*z)[i]

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except PinnsightError as e:
            raise AttributeError(str(e)) from None


def constraint_view(problem: "Problem", u: Callable, con: Constraint) -> Callable:
    """What ``con.residual`` gets as ``u``: the network itself (one field), one field's function (``con.field``),
    or all fields (a constraint with ``fields``)."""
    if problem.n_fields == 1 or not isinstance(u, Fields):
        return u
    return u if hasattr(con, "fields") else u[con.field]


def exact_values(problem: "Problem", z, c):
    """The exact solution at ``z``: a scalar (one field), or the vector of the fields (``exact`` of a system
    returns a dict by field name or a vector in field order)."""
    out = problem.exact(*z, c)
    if problem.n_fields > 1 and isinstance(out, Mapping):
        return jnp.stack([out[f] for f in problem.fields])
    return out


def equation_values(problem: "Problem", u: Callable, z, c) -> dict:
    """The residual's value of each equation at point ``z`` (a scalar problem's one equation is ``res``)."""
    out = problem.residual(u, *z, c)
    if len(problem.equations) == 1 and not isinstance(out, Mapping):
        return {problem.equations[0]: out}
    return {k: out[k] for k in problem.equations}


def _derivative(u: Callable, axis: int, order: int) -> Callable:
    for _ in range(order):
        u = jax.grad(u, argnums=axis)
    return u


def interior_points(problem: "Problem", key, n: int, lo=None, hi=None) -> jax.Array:
    """``n`` uniform points of the problem's domain: of the box ``lo``..``hi`` (default: ``bounds``) when it has no
    ``domain``; else of the domain's shape (its spatial part) times the time interval of ``lo``..``hi``."""
    lo = jnp.asarray([b[0] for b in problem.bounds]) if lo is None else lo
    hi = jnp.asarray([b[1] for b in problem.bounds], lo.dtype) if hi is None else hi
    if problem.domain is None:
        return lo[None, :] + (hi - lo)[None, :] * jax.random.uniform(key, (n, lo.shape[0]), dtype=lo.dtype)
    k_space, k_time = jax.random.split(key)
    return _with_time(problem, k_time, problem.domain.sample_interior(k_space, n, lo.dtype), lo, hi)


def boundary_points(problem: "Problem", key, n: int, part: str | None = None):
    """``n`` uniform points of the domain's boundary (or of its ``part``) at uniform times, and their outward
    normals (one column per coordinate, 0 for time)."""
    dtype = jnp.asarray(0.0).dtype
    k_space, k_time = jax.random.split(key)
    space, normals = problem.domain.sample_boundary(k_space, n, dtype, part=part)
    lo = jnp.asarray([b[0] for b in problem.bounds], dtype)
    hi = jnp.asarray([b[1] for b in problem.bounds], dtype)
    zeros = jnp.zeros(problem.dim, dtype)
    return _with_time(problem, k_time, space, lo, hi), _with_time(problem, None, normals, zeros, zeros)


def _with_time(problem: "Problem", key, space, lo, hi):
    """``space`` (n, spatial dim) with the time column inserted at its place: uniform on lo..hi (0 when no key)."""
    if problem.time is None:
        return space
    it, n = problem.time_index, space.shape[0]
    u = jnp.zeros((n,), space.dtype) if key is None else jax.random.uniform(key, (n,), dtype=space.dtype)
    t = lo[it] + (hi[it] - lo[it]) * u
    return jnp.concatenate([space[:, :it], t[:, None], space[:, it:]], axis=1)


def _boundary_points(key, problem, n, coords, with_normals=False):
    """Uniform points on the faces of the listed spatial directions, faces chosen with equal probability."""
    names = coords if coords is not None else tuple(c for c in problem.coords if c != problem.time)
    axes = jnp.array([problem.coords.index(c) for c in names])
    k_pts, k_face = jax.random.split(key)
    pts = _uniform(k_pts, n, problem.bounds)
    face = jax.random.randint(k_face, (n,), 0, 2 * len(names))
    axis, high = axes[face // 2], face % 2
    lo = jnp.array([b[0] for b in problem.bounds], pts.dtype)
    hi = jnp.array([b[1] for b in problem.bounds], pts.dtype)
    on_face = jnp.where(high == 1, hi[axis], lo[axis])
    pts = jnp.where(jnp.arange(problem.dim)[None, :] == axis[:, None], on_face[:, None], pts)
    if with_normals:
        return pts, axis, 2 * high - 1
    return pts


# ---------------------------------------------------------------------------------------------- reference
@dataclass(frozen=True)
class ReferenceSolution:
    """Reference values on a tensor grid: ``values[i, j, ...] = u(axes[0][i], axes[1][j], ...)``."""

    axes: tuple[np.ndarray, ...]
    values: np.ndarray
    #: which grid points lie in the problem's domain (None: all, a box); values outside are 0 and never compared
    inside: np.ndarray | None = None

    def points(self) -> np.ndarray:
        """All grid points as rows, in the order of ``values.ravel()``."""
        return grid_points(self.axes)


def grid_points(axes: tuple[np.ndarray, ...]) -> np.ndarray:
    """Rows of all points of the tensor grid ``axes`` (C order, first axis slowest)."""
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


# ------------------------------------------------------------------------------------------------ problem
@dataclass(frozen=True)
class Problem:
    """A PDE on a box: ``residual(u, *coords, c) = 0`` inside, ``constraints`` on the boundary and at t0.

    ``exact(*coords, c)`` (optional, jnp) is used for tests and as the reference when ``reference`` is None;
    ``reference(c, axes)`` returns values on the grid ``axes`` (the package's own solvers, cached on disk).
    """

    name: str
    coords: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    residual: ResidualFn
    constraints: tuple[Constraint, ...]
    coefficients: Mapping[str, float] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    time: str | None = "t"
    periodic: tuple[str, ...] = ()
    exact: Callable[..., jax.Array] | None = None
    reference: Callable[[Coefficients, tuple[np.ndarray, ...]], np.ndarray] | None = None
    reference_shape: tuple[int, ...] | None = None
    #: the output fields (a system: e.g. ("u", "v", "p")); residuals of a system get a ``Fields`` as ``u``
    fields: tuple[str, ...] = ("u",)
    #: the residual's equations, each its own loss term (a system's residual returns a dict of them)
    equations: tuple[str, ...] = ("res",)
    #: the spatial domain, a ``geometry.Shape`` (None: the box of ``bounds``); ``bounds`` must enclose it, and give
    #: the time interval of an evolution problem
    domain: Any = None
    #: ``reference_at(c, points)``: the reference at scattered points (n, d) -> (n,) or (n, fields) — a
    #: finite-element solution probed there (``nodes``: the evaluation on a mesh's nodes); None: ``exact``, if any
    reference_at: Callable[[Coefficients, np.ndarray], np.ndarray] | None = None
    #: mirrors that leave the problem unchanged (``symmetry.Reflection``): ``--symmetric`` builds a network with them
    symmetries: tuple[Reflection, ...] = ()

    def __post_init__(self):
        """Checked once, when built (``check_problem``): a bad part fails here, naming the problem and the part,
        not inside training. Sequences are normalised (coords, periodic, constraints to tuples; bounds to floats)."""
        check_problem(self)

    @property
    def has_reference(self) -> bool:
        """Whether errors against a solution can be computed (a ``reference`` solver or an ``exact`` solution)."""
        return self.reference is not None or self.exact is not None

    @property
    def dim(self) -> int:
        return len(self.coords)

    @property
    def time_index(self) -> int:
        if self.time is None:
            raise PinnsightError(f"problem {self.name!r} has no time coordinate")
        return self.coords.index(self.time)

    @property
    def n_fields(self) -> int:
        return len(self.fields)

    @property
    def field_shape(self) -> list[int]:
        """The trailing shape of one point's values: [] for one field, [k] for a system of k fields."""
        return [] if self.n_fields == 1 else [self.n_fields]

    @property
    def term_names(self) -> tuple[str, ...]:
        """The loss terms: the equations, then the constraints."""
        return tuple(self.equations) + tuple(c.name for c in self.constraints)

    @property
    def batch_names(self) -> tuple[str, ...]:
        """The point sets of a batch: ``res`` (the collocation points every equation uses), then the constraints'."""
        return ("res",) + tuple(c.name for c in self.constraints)

    def batch_key(self, term: str) -> str:
        """The batch entry a loss term is evaluated on (``res`` for every equation)."""
        return "res" if term in self.equations else term

    def with_coefficients(self, **values: float) -> "Problem":
        return dataclasses.replace(self, coefficients={**self.coefficients, **values})

    def with_observations(self, observations, held_out=None, name: str = "data") -> "Problem":
        """This problem with a data term ``name``: ``observations`` (an ``observations.Observations`` of the
        field, or rows ``[coords..., value]``) fitted in training; ``held_out`` (the same kinds) only reported."""
        fields = tuple(observations.fields) if hasattr(observations, "fields") else self.fields[:1]
        rows = lambda o: None if o is None else (  # noqa: E731
            np.column_stack([o.points, *(o.values[f] for f in fields)]) if hasattr(o, "points")
            else np.asarray(o, np.float64))
        data = Observed(rows=rows(observations), held_out=rows(held_out), name=name, fields=fields)
        return dataclasses.replace(self, constraints=tuple(self.constraints) + (data,))

    def reference_axes(self) -> tuple[np.ndarray, ...]:
        """The evaluation grid: ``reference_shape`` points per axis, periodic axes without their end point."""
        shape = self.reference_shape or tuple(100 for _ in self.coords)
        return tuple(
            np.linspace(lo, hi, n, endpoint=name not in self.periodic)
            for name, (lo, hi), n in zip(self.coords, self.bounds, shape)
        )

    def reference_solution(self) -> ReferenceSolution | None:
        """Values on ``reference_axes()`` from the reference solver, else from the exact solution; None when the
        problem has neither (``has_reference`` is False): errors are then residual and constraint errors only."""
        if not self.has_reference:
            return None
        axes = self.reference_axes()
        if self.reference is not None:
            values = np.asarray(self.reference(dict(self.coefficients), axes), dtype=np.float64)
        elif self.exact is not None:
            pts = grid_points(axes)
            c = {k: jnp.asarray(v) for k, v in self.coefficients.items()}
            with jax.default_device(jax.devices("cpu")[0]):
                vals = jax.vmap(lambda z: exact_values(self, z, c))(jnp.asarray(pts))
            values = np.asarray(vals, dtype=np.float64).reshape([len(a) for a in axes] + self.field_shape)
        inside = self.inside_grid(axes)
        if inside is not None:
            values = np.where(inside.reshape(inside.shape + (1,) * len(self.field_shape)), values, 0.0)
        return ReferenceSolution(axes, values, inside)

    def inside_grid(self, axes) -> np.ndarray | None:
        """Which points of the grid ``axes`` lie in the domain (None for a box: all of them)."""
        if self.domain is None:
            return None
        pts = grid_points(axes)
        space = np.delete(pts, self.time_index, axis=1) if self.time is not None else pts
        with jax.default_device(jax.devices("cpu")[0]):
            inside = np.asarray(self.domain.contains(jnp.asarray(space), tol=1e-9 * _size(self.bounds)))
        return inside.reshape([len(a) for a in axes])


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) \
        and math.isfinite(float(v))


def _size(bounds) -> float:
    return max(hi - lo for lo, hi in bounds)


# -------------------------------------------------------------------------------------------------- checks
def check_problem(problem: Problem) -> None:
    """Check every part of ``problem`` once, when it is built; a bad part raises ``PinnsightError`` naming the
    problem and the part.

    First the structure (name, coordinates, bounds, coefficients, constraints, the signatures of the residual, the
    constraint values and the exact solution), then one abstract evaluation (``jax.eval_shape``: traced, never
    compiled or run) of the residual, of each constraint's ``sample`` and ``residual`` and of ``exact``, with a
    stand-in network: the residual and ``exact`` must give one floating-point value per point, a constraint one
    value or a vector of values per row. Coords, periodic and constraints become tuples, bounds pairs of floats.
    """
    name = problem.name
    if not isinstance(name, str) or not name.strip():
        raise PinnsightError(f"a problem needs a non-empty string name, got {name!r}")

    def err(part: str, message: str) -> PinnsightError:
        return PinnsightError(f"problem {name!r}: {part}: {message}")

    def normalise(field_name: str, value: Any) -> None:
        object.__setattr__(problem, field_name, value)  # frozen dataclass: set once, while being built

    coords = _name_tuple(problem.coords, err, "coords")
    if not coords:
        raise err("coords", "a problem needs at least one coordinate")
    repeated = sorted({c for c in coords if coords.count(c) > 1})
    if repeated:
        raise err("coords", f"coordinate names must be unique, {repeated[0]!r} appears twice in {coords}")
    normalise("coords", coords)
    normalise("bounds", _checked_bounds(problem.bounds, coords, err))
    if problem.time is not None and problem.time not in coords:
        raise err("time", f"time coordinate {problem.time!r} is not one of the coords {coords} (time=None: no time)")
    periodic = _name_tuple(problem.periodic, err, "periodic")
    for c in periodic:
        if c not in coords:
            raise err("periodic", f"{c!r} is not a coordinate (coords: {', '.join(coords)})")
    normalise("periodic", periodic)
    _check_coefficients(problem.coefficients, err)
    _check_domain(problem, err)
    normalise("fields", _names(problem.fields, err, "fields", "field"))
    normalise("symmetries", check_reflections(problem, err))
    normalise("equations", _names(problem.equations, err, "equations", "equation"))
    if problem.n_fields > 1 and set(problem.fields) & set(coords):
        raise err("fields", f"a field cannot be named like a coordinate ({sorted(set(problem.fields) & set(coords))})")
    if not isinstance(problem.options, Mapping):
        raise err("options", f"expected a mapping, got {problem.options!r}")
    _check_signature(problem.residual, len(coords) + 2, err, "residual", f"residual(u, {', '.join(coords)}, c)")
    normalise("constraints", _checked_constraints(problem, err))
    _check_solution_signatures(problem, coords, err)
    if problem.reference_shape is not None:
        normalise("reference_shape", _checked_shape(problem.reference_shape, len(coords), err))
    _check_abstractly(problem, err)


def _check_solution_signatures(problem: "Problem", coords: tuple[str, ...], err: Callable) -> None:
    """The signatures of the exact solution and the reference solvers, where the problem has them."""
    if problem.exact is not None:
        _check_signature(problem.exact, len(coords) + 1, err, "exact", f"exact({', '.join(coords)}, c)")
    if problem.reference is not None:
        _check_signature(problem.reference, 2, err, "reference", "reference(c, axes)")
    if problem.reference_at is not None:
        _check_signature(problem.reference_at, 2, err, "reference_at", "reference_at(c, points)")


def _names(value: Any, err: Callable, part: str, what: str) -> tuple[str, ...]:
    """A non-empty tuple of unique identifiers (field or equation names)."""
    if isinstance(value, str) or not isinstance(value, (tuple, list)) or not value:
        raise err(part, f"expected a non-empty tuple of {what} names such as ('u',), got {value!r}")
    for v in value:
        if not isinstance(v, str) or not v.isidentifier():
            raise err(part, f"{what} names are identifiers, got {v!r} in {tuple(value)!r}")
    if len(set(value)) != len(value):
        raise err(part, f"{what} names must be unique, got {tuple(value)!r}")
    return tuple(value)


def _name_tuple(value: Any, err: Callable, part: str) -> tuple[str, ...]:
    """A tuple of non-empty strings; a bare string is refused (``("x",)``, not ``"x"``)."""
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise err(part, f"expected a tuple of coordinate names such as ('x',), got {value!r}")
    for v in value:
        if not isinstance(v, str) or not v:
            raise err(part, f"coordinate names are non-empty strings, got {v!r} in {tuple(value)!r}")
    return tuple(value)


def _real(x: Any) -> float:
    """A real scalar as a float (TypeError for booleans, strings, arrays, complex numbers)."""
    if isinstance(x, (bool, np.bool_, str, bytes)) or np.ndim(x) != 0 or np.iscomplexobj(x):
        raise TypeError(x)
    return float(x)


def _checked_bounds(bounds: Any, coords: tuple[str, ...], err: Callable) -> tuple[tuple[float, float], ...]:
    try:
        pairs = [] if isinstance(bounds, (str, bytes)) else list(bounds)
    except TypeError:
        pairs = []
    if not pairs and coords:
        raise err("bounds", f"expected one (lo, hi) pair per coordinate {coords}, got {bounds!r}")
    if len(pairs) != len(coords):
        raise err("bounds", f"{len(coords)} coords but {len(pairs)} bounds")
    out = []
    for c, pair in zip(coords, pairs):
        try:
            lo, hi = pair
            lo, hi = _real(lo), _real(hi)
        except (TypeError, ValueError):
            raise err(f"bounds of {c!r}", f"expected a (lo, hi) pair of numbers, got {pair!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise err(f"bounds of {c!r}", f"({lo:g}, {hi:g}) must be finite")
        if not lo < hi:
            raise err(f"bounds of {c!r}", f"lo = {lo:g} must be below hi = {hi:g}")
        out.append((lo, hi))
    return tuple(out)


def _checked_shape(shape: Any, dim: int, err: Callable) -> tuple[int, ...]:
    try:
        sizes = tuple(shape)
    except TypeError:
        sizes = None
    if sizes is None or len(sizes) != dim or any(
        isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 2 for n in sizes
    ):
        raise err("reference_shape", f"expected {dim} integers ≥ 2 (points per coordinate), got {shape!r}")
    return tuple(int(n) for n in sizes)


def _check_coefficients(coefficients: Any, err: Callable) -> None:
    if not isinstance(coefficients, Mapping):
        raise err("coefficients", f"expected a mapping of names to numbers, got {coefficients!r}")
    for k, v in coefficients.items():
        if not isinstance(k, str) or not k:
            raise err("coefficients", f"names are non-empty strings, got {k!r}")
        try:
            x = _real(v)
        except (TypeError, ValueError):
            raise err(f"coefficient {k!r}", f"{v!r} is not a real number") from None
        if not math.isfinite(x):
            raise err(f"coefficient {k!r}", f"{x} must be finite")


def _callable_name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def _check_signature(fn: Any, n_args: int, err: Callable, part: str, form: str) -> None:
    """``fn`` must accept ``n_args`` positional arguments (written as ``form``)."""
    if not callable(fn):
        raise err(part, f"{fn!r} is not callable; expected a function {form}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature to read (some builtins): the abstract evaluation decides
        return
    try:
        signature.bind(*range(n_args))
    except TypeError as e:
        raise err(part, f"{_callable_name(fn)}{signature} cannot be called as {form}: {e}") from None


def _checked_constraints(problem: Problem, err: Callable) -> tuple[Constraint, ...]:
    constraints = problem.constraints
    if isinstance(constraints, Constraint):
        raise err("constraints", f"expected a tuple of constraints, got one: write ({constraints!r},)")
    try:
        constraints = tuple(constraints)
    except TypeError:
        raise err("constraints", f"expected a tuple of constraints, got {constraints!r}") from None
    seen: set[str] = set()
    for i, con in enumerate(constraints):
        if not isinstance(con, Constraint):
            raise err(f"constraint {i}",
                      f"{con!r} is not a Constraint (Initial, Dirichlet, Neumann, Periodic or a Constraint subclass)")
        cname = getattr(con, "name", None)
        if not isinstance(cname, str) or not cname:
            raise err(f"constraint {i} ({type(con).__name__})", f"needs a non-empty string name, got {cname!r}")
        part = f"constraint {cname!r} ({type(con).__name__})"
        if cname == "res":
            raise err(part, "the name 'res' is the PDE residual's loss term; give the constraint another name=")
        if cname in problem.equations:
            raise err(part, f"the name {cname!r} is an equation's loss term; give the constraint another name=")
        _check_field(problem, con, part, err)
        if cname in seen:
            raise err(part, f"constraint names must be unique, {cname!r} appears twice (name= sets it)")
        seen.add(cname)
        n = getattr(con, "n_points", None)
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise err(part, f"n_points must be a positive integer, got {n!r}")
        _check_builtin_constraint(problem, con, part, err)
    return constraints


def _check_field(problem: Problem, con: Constraint, part: str, err: Callable) -> None:
    """A constraint of a system names the field it constrains (observations: the fields they hold)."""
    if isinstance(con, Observed):
        unknown = [f for f in con.fields if f not in problem.fields]
        if unknown:
            raise err(part, f"field {unknown[0]!r} is not a field of the problem (fields: {', '.join(problem.fields)})")
        return
    field_name = getattr(con, "field", None)
    if field_name is None:
        if problem.n_fields > 1:
            raise err(part, f"a constraint of a system must say which field it constrains: field= one of "
                            f"{', '.join(problem.fields)}")
    elif field_name not in problem.fields:
        raise err(part, f"field {field_name!r} is not a field of the problem (fields: {', '.join(problem.fields)})")


def _check_builtin_constraint(problem: Problem, con: Constraint, part: str, err: Callable) -> None:
    coords = problem.coords
    spatial = tuple(c for c in coords if c != problem.time)

    def known(c: Any) -> None:
        if c not in coords:
            raise err(part, f"{c!r} is not a coordinate of the problem (coords: {', '.join(coords)})")

    def count(value: Any, field_name: str) -> None:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
            raise err(part, f"{field_name} must be an integer ≥ 0, got {value!r}")

    if isinstance(con, Periodic):
        if problem.domain is not None:
            raise err(part, "a periodic condition needs a box domain (domain=None)")
        if not isinstance(con.coord, str):
            raise err(part, f"coord must be a coordinate name such as 'x', got {con.coord!r}")
        known(con.coord)
        count(con.derivatives, "derivatives")
    elif isinstance(con, (Dirichlet, Neumann)):
        _check_on(problem, con, part, err)
        if problem.domain is None and con.coords is None and not spatial:
            raise err(part, "the problem has no spatial coordinate to take boundary faces from; name coords=")
        if problem.domain is None and con.coords is not None:
            names = _name_tuple(con.coords, lambda _, m: err(part, f"coords: {m}"), "coords")
            if not names:
                raise err(part, "coords=() names no face (coords=None: the faces of every spatial coordinate)")
            for c in names:
                known(c)
        if isinstance(con, Robin) and not all(_is_number(v) for v in (con.a, con.b)):
            raise err(part, f"a and b must be finite numbers, got a={con.a!r}, b={con.b!r}")
        extra = 1 if takes_coefficients(con.value) else 0
        _check_signature(con.value, len(coords) + extra, err, f"{part} value", f"value({', '.join(coords)})")
    elif isinstance(con, Observed):
        width = len(coords) + len(con.fields)
        if con.rows.shape[1] != width:
            raise err(part, f"rows have {con.rows.shape[1]} columns; expected {width} (coordinates, then "
                            f"{', '.join(con.fields)})")
    elif isinstance(con, Initial):
        if problem.time is None:
            raise err(part, "an initial condition needs a time coordinate, and this problem has time=None")
        count(con.order, "order")
        extra = 1 if takes_coefficients(con.value) else 0
        _check_signature(con.value, len(spatial) + extra, err, f"{part} value", f"value({', '.join(spatial)})")
    elif isinstance(con, Pinned):
        _check_pinned(problem, con, part, err)


def _check_domain(problem: Problem, err: Callable) -> None:
    """A domain is a shape of the spatial coordinates that ``bounds`` enclose; no periodic coordinate with it."""
    shape = problem.domain
    if shape is None:
        return
    if not all(hasattr(shape, a) for a in ("sdf", "sample_interior", "sample_boundary", "bbox")):
        raise err("domain", f"expected a geometry shape (pinnsight.geometry: Box, Disk, Polygon, …), got {shape!r}")
    spatial = [i for i, c in enumerate(problem.coords) if c != problem.time]
    if shape.dim != len(spatial):
        raise err("domain", f"a {shape.dim}-D shape for {len(spatial)} spatial coordinates "
                            f"({', '.join(problem.coords[i] for i in spatial)})")
    tol = 1e-9 * _size(problem.bounds)
    for i, (lo, hi) in zip(spatial, shape.bbox):
        b_lo, b_hi = problem.bounds[i]
        if lo < b_lo - tol or hi > b_hi + tol:
            raise err("domain", f"the shape spans {problem.coords[i]} ∈ [{lo:g}, {hi:g}], outside bounds "
                                f"[{b_lo:g}, {b_hi:g}] (bounds must enclose the domain)")
    if problem.periodic:
        raise err("domain", "periodic coordinates need a box domain (domain=None)")


def _check_on(problem: Problem, con: Constraint, part: str, err: Callable) -> None:
    """``on=`` names a boundary part of the domain (a box problem chooses faces by ``coords=`` instead)."""
    on = getattr(con, "on", None)
    if problem.domain is None:
        if on is not None:
            raise err(part, f"on={on!r} names a boundary part, but the problem has no domain (its box faces are "
                            "chosen by coords=)")
        return
    if getattr(con, "coords", None) is not None:
        raise err(part, "coords= chooses faces of a box; on a domain, name a boundary part with on=")
    if on is not None and not isinstance(on, str):
        raise err(part, f"on must be a boundary part's name, got {on!r}")
    try:
        problem.domain.part_fraction(on) if on is not None else None
    except PinnsightError as e:
        raise err(part, str(e)) from None


def _check_pinned(problem: Problem, con: "Pinned", part: str, err: Callable) -> None:
    try:
        point = [float(v) for v in con.point]
        value = float(con.value)
    except (TypeError, ValueError):
        raise err(part, f"point must be {len(problem.coords)} numbers and value a number, got {con.point!r}, "
                        f"{con.value!r}") from None
    if len(point) != len(problem.coords) or not all(map(math.isfinite, point + [value])):
        raise err(part, f"point must be {len(problem.coords)} finite numbers ({', '.join(problem.coords)}) and "
                        f"value finite, got {con.point!r}, {con.value!r}")
    if any(not lo <= v <= hi for v, (lo, hi) in zip(point, problem.bounds)):
        raise err(part, f"point {tuple(point)} is outside the domain {tuple(problem.bounds)}")


def _check_abstractly(problem: Problem, err: Callable) -> None:
    """Trace (never run) the residual, each constraint and ``exact`` once with a stand-in network, float32."""
    tracer = _Tracer(problem, err)
    tracer.residual()
    for con in problem.constraints:
        tracer.constraint(con)
    if problem.exact is not None:
        tracer.exact()


class _Tracer:
    """Abstract evaluations (``jax.eval_shape``) of a problem's parts with a stand-in network, and the checks of
    what they return; a failure is one ``PinnsightError`` naming the part."""

    def __init__(self, problem: Problem, err: Callable):
        self.problem, self.err, dim, coords = problem, err, problem.dim, problem.coords
        f32 = jnp.float32
        self.coeffs = {k: jax.ShapeDtypeStruct((), f32) for k in problem.coefficients}
        self.point = jax.ShapeDtypeStruct((dim,), f32)

        def u(*z):  # the network as the residual sees it: scalar coordinates in, one scalar out
            if len(z) != dim:
                raise PinnsightError(f"u takes the {dim} coordinates ({', '.join(coords)}), called with {len(z)}")
            if any(jnp.ndim(v) != 0 for v in z):
                raise PinnsightError("u takes scalar coordinates (points are batched by vmap), called with arrays")
            return sum(z) * 0.0 + 1.0

        k = problem.n_fields
        self.net = u if k == 1 else Fields(lambda *z: u(*z) * jnp.ones(k, f32), problem.fields)

    def trace(self, part: str, fn: Callable, *args: Any) -> Any:
        try:
            return jax.eval_shape(fn, *args)
        except PinnsightError as e:
            raise self.err(part, f"fails on a test point: {e}") from e
        except Exception as e:  # noqa: BLE001 - any failure of user code, reported with the part that failed
            lines = str(e).strip().splitlines()
            names = ", ".join(self.problem.coefficients) or "none"
            hint = f" (coefficients: {names})" if isinstance(e, KeyError) else ""
            raise self.err(part, f"fails on a test point: {type(e).__name__}: {(lines or [''])[0][:300]}{hint}") from e

    def values(self, part: str, out: Any, what: str, vector_ok: bool, lead: tuple[int, ...] = ()) -> None:
        leaves = jax.tree.leaves(out)
        if len(leaves) != 1 or leaves[0] is not out:
            raise self.err(part, f"returns a {type(out).__name__} of {len(leaves)} values {what}; it must return one "
                                 "array")
        shape = tuple(out.shape[len(lead):])
        if not (len(shape) <= 1 if vector_ok else shape in ((), (1,))):
            want = "a scalar or a vector" if vector_ok else "one scalar (shape () or (1,))"
            raise self.err(part, f"returns shape {shape} {what} ({math.prod(shape)} values); it must return {want}")
        if not jnp.issubdtype(out.dtype, jnp.floating):
            hint = " (a comparison?)" if out.dtype == jnp.bool_ else ""
            raise self.err(part, f"returns {out.dtype} values {what}{hint}; it must return floating-point values")

    def residual(self) -> None:
        problem, dim = self.problem, self.problem.dim
        out = self.trace("residual", lambda z, c: problem.residual(self.net, *(z[i] for i in range(dim)), c),
                         self.point, self.coeffs)
        _check_equations(problem, out, self.err)
        out = out if isinstance(out, Mapping) else {problem.equations[0]: out}
        for name, value in out.items():
            self.values("residual" if len(out) == 1 else f"residual equation {name!r}", value, "per point",
                        vector_ok=False)

    def constraint(self, con: Constraint) -> None:
        problem, part = self.problem, f"constraint {con.name!r} ({type(con).__name__})"
        rows = self.trace(f"{part} sample", lambda k: con.sample(k, problem, 2), jax.ShapeDtypeStruct((2,), jnp.uint32))
        leaves = jax.tree.leaves(rows)
        if len(leaves) != 1 or rows.ndim != 2 or rows.shape[0] != 2 or not jnp.issubdtype(rows.dtype, jnp.floating):
            got = f"shape {rows.shape}, {rows.dtype}" if len(leaves) == 1 and leaves[0] is rows else type(rows).__name__
            raise self.err(f"{part} sample", f"sample(key, problem, n) must return n rows as a floating (n, width) "
                                             f"array, got {got} for n = 2")
        view = constraint_view(problem, self.net, con)
        out = self.trace(f"{part} residual", lambda r, c: jax.vmap(lambda x: con.residual(view, x, c, problem))(r),
                         jax.ShapeDtypeStruct(rows.shape, rows.dtype), self.coeffs)
        self.values(f"{part} residual", out, "per row", vector_ok=True, lead=(2,))

    def exact(self) -> None:
        problem, k = self.problem, self.problem.n_fields
        out = self.trace("exact", lambda z, c: exact_values(problem, [z[i] for i in range(problem.dim)], c),
                         self.point, self.coeffs)
        if k == 1:
            self.values("exact", out, "per point", vector_ok=False)
        elif tuple(out.shape) != (k,):
            raise self.err("exact", f"returns shape {tuple(out.shape)} per point; a system's exact solution returns "
                                    f"a dict of its fields ({', '.join(problem.fields)}) or a vector of {k}")


def _check_equations(problem: Problem, out: Any, err: Callable) -> None:
    """A residual of several equations returns a dict with exactly their names (one equation: a value)."""
    if len(problem.equations) == 1 and not isinstance(out, Mapping):
        return
    if not isinstance(out, Mapping) or set(out) != set(problem.equations):
        got = sorted(out) if isinstance(out, Mapping) else type(out).__name__
        raise err("residual", f"must return a dict of the equations {', '.join(problem.equations)}, got {got}")


# ----------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Param:
    """A problem parameter: a numeric coefficient (with optional bounds) or a named choice."""

    default: float | str
    doc: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] | None = None

    def parse(self, problem: str, name: str, raw: Any) -> float | str:
        if self.choices is not None:
            if str(raw) not in self.choices:
                raise PinnsightError(
                    f"{problem}: {name}={raw!r} is not one of {', '.join(self.choices)}"
                )
            return str(raw)
        value = coerce(raw, float, problem, name)  # finite, not a boolean (pinnsight.spec)
        if self.min is not None and (value < self.min or (self.min_exclusive and value == self.min)):
            op = ">" if self.min_exclusive else "≥"
            raise PinnsightError(f"{problem}: {name}={value:g} is out of range (must be {op} {self.min:g})")
        if self.max is not None and value > self.max:
            raise PinnsightError(f"{problem}: {name}={value:g} is out of range (must be ≤ {self.max:g})")
        return value


@dataclass(frozen=True)
class ProblemSpec:
    name: str
    summary: str
    params: Mapping[str, Param]
    factory: Callable[..., Problem]


_REGISTRY: dict[str, ProblemSpec] = {}


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def register_problem(name: str, params: Mapping[str, Param], summary: str = "", *, replace: bool = False):
    """Decorator: register ``factory(**params) -> Problem`` under ``name`` (``pinnsight train NAME``).

    ``name`` is letters, digits, ``-``, ``_`` and ``.`` (it is written in specs, ``NAME:key=value``, and paths);
    a name already registered (a built-in, say) is replaced only with ``replace=True``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PinnsightError(
            f"register_problem: a problem name is a non-empty string of letters, digits, '-', '_' and '.' "
            f"starting with a letter or digit, got {name!r}"
        )
    if not isinstance(params, Mapping) or not all(isinstance(k, str) and k for k in params):
        raise PinnsightError(f"register_problem {name!r}: params must map parameter names to Param, got {params!r}")
    for k, p in params.items():
        if not isinstance(p, Param):
            raise PinnsightError(f"register_problem {name!r}: parameter {k!r} is {p!r}, not a Param")

    def refuse_replacing() -> None:
        if name in _REGISTRY and not replace:
            summary_of = _REGISTRY[name].summary or "no summary"
            raise PinnsightError(
                f"register_problem: a problem {name!r} is already registered ({summary_of}); "
                f"pass replace=True to replace it, or choose another name"
            )

    refuse_replacing()

    def decorate(factory: Callable[..., Problem]) -> Callable[..., Problem]:
        if not callable(factory):
            raise PinnsightError(f"register_problem {name!r}: decorates a factory function, got {factory!r}")
        missing = set(params) ^ set(inspect.signature(factory).parameters)
        if missing:
            raise PinnsightError(f"problem {name!r}: factory arguments and params differ on {sorted(missing)}")
        refuse_replacing()
        doc = summary or (inspect.getdoc(factory) or "").splitlines()[0:1]
        _REGISTRY[name] = ProblemSpec(name, summary or (doc[0] if doc else ""), dict(params), factory)
        return factory

    return decorate


def problem_specs() -> dict[str, ProblemSpec]:
    """All registered problems by name."""
    return dict(sorted(_REGISTRY.items()))


def resolve_params(name: str, overrides: Mapping[str, Any] | None = None) -> dict[str, float | str]:
    """Defaults of problem ``name`` updated with validated ``overrides`` (strings from the CLI are parsed)."""
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise PinnsightError(f"unknown problem {name!r} (known: {known})")
    spec = _REGISTRY[name]
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(spec.params))
    if unknown:
        raise PinnsightError(
            f"{name}: unknown parameter {unknown[0]!r} (parameters: {', '.join(spec.params) or 'none'})"
        )
    return {k: p.parse(name, k, overrides.get(k, p.default)) for k, p in spec.params.items()}


def make_problem(name: str, **overrides: Any) -> Problem:
    """Build registered problem ``name`` with its defaults updated by ``overrides``."""
    params = resolve_params(name, overrides)
    return _REGISTRY[name].factory(**params)
