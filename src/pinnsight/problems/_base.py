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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError

Coefficients = Mapping[str, Any]
ResidualFn = Callable[..., jax.Array]


# ----------------------------------------------------------------------------------------------- constraints
class Constraint:
    """A named soft constraint: ``sample`` draws rows, ``residual`` maps (u, row, c) to residual values.

    Subclasses are frozen dataclasses with at least the fields ``name`` (the loss term) and ``n_points``.
    """

    name: str
    n_points: int

    def sample(self, key: jax.Array, problem: "Problem", n: int) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def residual(self, u: Callable, row: jax.Array, c: Coefficients, problem: "Problem") -> jax.Array:
        raise NotImplementedError  # pragma: no cover - abstract


def _uniform(key: jax.Array, n: int, bounds: tuple[tuple[float, float], ...]) -> jax.Array:
    lo = jnp.array([[b[0] for b in bounds]])
    hi = jnp.array([[b[1] for b in bounds]])
    return lo + (hi - lo) * jax.random.uniform(key, (n, len(bounds)), dtype=lo.dtype)


@dataclass(frozen=True)
class Initial(Constraint):
    """Initial condition ``∂ᵏu/∂tᵏ (x, t0) = value(x)`` for ``order = k`` (0: value, 1: velocity).

    Rows are ``[coords..., target]`` with the time coordinate set to the start time; ``value`` takes the
    spatial coordinates (in problem order, time removed) as arrays and returns the target.
    """

    value: Callable[..., jax.Array] = jnp.sin
    order: int = 0
    name: str = "ic"
    n_points: int = 100

    def sample(self, key, problem, n):
        pts = _uniform(key, n, problem.bounds)
        it = problem.time_index
        pts = pts.at[:, it].set(problem.bounds[it][0])
        space = [pts[:, i] for i in range(problem.dim) if i != it]
        target = jnp.asarray(self.value(*space), dtype=pts.dtype)
        return jnp.concatenate([pts, target[:, None]], axis=1)

    def residual(self, u, row, c, problem):
        z, target = row[: problem.dim], row[problem.dim]
        return _derivative(u, problem.time_index, self.order)(*z) - target


@dataclass(frozen=True)
class Dirichlet(Constraint):
    """``u = value(coords, c)`` on the faces of the spatial box (``coords`` limits which directions)."""

    value: Callable[..., jax.Array] = lambda *z: 0.0 * z[0]
    coords: tuple[str, ...] | None = None
    name: str = "bc"
    n_points: int = 100

    def sample(self, key, problem, n):
        pts = _boundary_points(key, problem, n, self.coords)
        target = jnp.asarray(self.value(*pts.T), dtype=pts.dtype) * jnp.ones(n, pts.dtype)
        return jnp.concatenate([pts, target[:, None]], axis=1)

    def residual(self, u, row, c, problem):
        return u(*row[: problem.dim]) - row[problem.dim]


@dataclass(frozen=True)
class Neumann(Constraint):
    """Outward normal derivative ``∂u/∂n = value(coords)`` on the faces of the listed spatial directions."""

    value: Callable[..., jax.Array] = lambda *z: 0.0 * z[0]
    coords: tuple[str, ...] | None = None
    name: str = "neumann"
    n_points: int = 100

    def sample(self, key, problem, n):
        pts, normal_axis, sign = _boundary_points(key, problem, n, self.coords, with_normals=True)
        target = jnp.asarray(self.value(*pts.T), dtype=pts.dtype) * jnp.ones(n, pts.dtype)
        return jnp.concatenate(
            [pts, normal_axis[:, None].astype(pts.dtype), sign[:, None].astype(pts.dtype), target[:, None]], axis=1
        )

    def residual(self, u, row, c, problem):
        d = problem.dim
        z, axis, sign, target = row[:d], row[d], row[d + 1], row[d + 2]
        grad = jnp.stack(jax.grad(u, argnums=tuple(range(d)))(*z))
        return sign * jnp.sum(jnp.where(jnp.arange(d) == axis, grad, 0.0)) - target


@dataclass(frozen=True)
class Periodic(Constraint):
    """``∂ᵏu`` equal on the two faces of ``coord`` for k = 0..``derivatives``. Rows: ``[low point, high point]``."""

    coord: str = "x"
    derivatives: int = 0
    name: str = "bc"
    n_points: int = 100

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


def _derivative(u: Callable, axis: int, order: int) -> Callable:
    for _ in range(order):
        u = jax.grad(u, argnums=axis)
    return u


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

    def __post_init__(self):
        if len(self.coords) != len(self.bounds):
            raise PinnsightError(f"problem {self.name!r}: {len(self.coords)} coords but {len(self.bounds)} bounds")
        names = [c.name for c in self.constraints]
        if len(set(names)) != len(names) or "res" in names:
            raise PinnsightError(f"problem {self.name!r}: constraint names must be unique and not 'res': {names}")
        if self.time is not None and self.time not in self.coords:
            raise PinnsightError(f"problem {self.name!r}: time coordinate {self.time!r} not in {self.coords}")

    @property
    def dim(self) -> int:
        return len(self.coords)

    @property
    def time_index(self) -> int:
        if self.time is None:
            raise PinnsightError(f"problem {self.name!r} has no time coordinate")
        return self.coords.index(self.time)

    @property
    def term_names(self) -> tuple[str, ...]:
        return ("res",) + tuple(c.name for c in self.constraints)

    def with_coefficients(self, **values: float) -> "Problem":
        return dataclasses.replace(self, coefficients={**self.coefficients, **values})

    def reference_axes(self) -> tuple[np.ndarray, ...]:
        """The evaluation grid: ``reference_shape`` points per axis, periodic axes without their end point."""
        shape = self.reference_shape or tuple(100 for _ in self.coords)
        return tuple(
            np.linspace(lo, hi, n, endpoint=name not in self.periodic)
            for name, (lo, hi), n in zip(self.coords, self.bounds, shape)
        )

    def reference_solution(self) -> ReferenceSolution:
        axes = self.reference_axes()
        if self.reference is not None:
            values = np.asarray(self.reference(dict(self.coefficients), axes), dtype=np.float64)
        elif self.exact is not None:
            pts = grid_points(axes)
            c = {k: jnp.asarray(v) for k, v in self.coefficients.items()}
            with jax.default_device(jax.devices("cpu")[0]):
                vals = jax.vmap(lambda z: self.exact(*z, c))(jnp.asarray(pts))
            values = np.asarray(vals, dtype=np.float64).reshape([len(a) for a in axes])
        else:
            raise PinnsightError(f"problem {self.name!r} has neither a reference solver nor an exact solution")
        return ReferenceSolution(axes, values)


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
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise PinnsightError(f"{problem}: {name}={raw!r} is not a number") from None
        if not math.isfinite(value):
            raise PinnsightError(f"{problem}: {name}={raw!r} must be finite")
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


def register_problem(name: str, params: Mapping[str, Param], summary: str = ""):
    """Decorator: register ``factory(**params) -> Problem`` under ``name`` (``pinnsight train NAME``)."""

    def decorate(factory: Callable[..., Problem]) -> Callable[..., Problem]:
        missing = set(params) ^ set(inspect.signature(factory).parameters)
        if missing:
            raise ValueError(f"problem {name!r}: factory arguments and params differ on {sorted(missing)}")
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
