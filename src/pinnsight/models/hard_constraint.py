"""Hard-constraint model (Négiar, Mahoney, Krishnapriyan, ICLR 2023): a network of N basis functions followed by a
differentiable least-squares layer that fits the PDE and its constraints at fixed enforcement points.

``HardConstraint(z)`` is u(z) = Σ_j c_j φ_j(z) with c = argmin ‖A c − b‖² + γ‖c‖² (``pinnsight.hard.linear``),
rows at the model's enforcement points for the coefficients the model was built with. Training calls
``bind(problem, coeffs)`` instead (``losses.pointwise_residuals`` does, when a model has it), so traced coefficients
(a curriculum, a family of PDE parameters) give their own c; the loss is then evaluated on the batch's points, which
are not the enforcement points. c does not depend on z, so under ``vmap`` over points it is solved once.

Only linear PDEs: the residual must be affine in u (checked when the model is built). The enforcement points are
array leaves read under ``stop_gradient`` (no optimizer moves them); the problem is kept as a static field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError
from ..hard.linear import affine_defects, check_affine, conditioning, ridge_lstsq, term_rows, warn_if_ill_conditioned, weighted_system
from .mlp import glorot_normal


@dataclass(frozen=True, eq=False)
class ProblemRef:
    """A problem as a static pytree field (hashed by identity: ``Problem`` holds dicts)."""

    problem: Any


class BoxEmbedding(eqx.Module):
    """Coordinates of a box → features. Periodic coordinate i (period P): [cos kωzᵢ, sin kωzᵢ]_{k=1..harmonics},
    ω = 2π/P (exact periodicity, Dong & Ni 2021). Other coordinates, rescaled to s = (zᵢ − lo)/(hi − lo) ∈ [0, 1]:
    [s] or, with ``frequencies`` = K > 0, [s, cos kπs, sin kπs]_{k=1..K} (a deterministic Fourier ladder up to
    frequency Kπ/(hi − lo), so the basis can oscillate in time, e.g. sin(x − βt) for β up to ≈ Kπ)."""

    periodic: tuple[int, ...] = eqx.field(static=True)
    periods: tuple[float, ...] = eqx.field(static=True)
    lows: tuple[float, ...] = eqx.field(static=True)
    lengths: tuple[float, ...] = eqx.field(static=True)
    harmonics: int = eqx.field(static=True)
    frequencies: int = eqx.field(static=True)

    @property
    def out_size(self) -> int:
        d, p = len(self.lows), len(self.periodic)
        return 2 * self.harmonics * p + (d - p) * (1 + 2 * self.frequencies)

    def __call__(self, z: jax.Array) -> jax.Array:
        parts = []
        for i in range(len(self.lows)):
            if i in self.periodic:
                k = jnp.arange(1, self.harmonics + 1, dtype=z.dtype) * (2.0 * math.pi / self.periods[self.periodic.index(i)])
                parts += [jnp.cos(k * z[i]), jnp.sin(k * z[i])]
            else:
                s = (z[i : i + 1] - self.lows[i]) / self.lengths[i]
                parts.append(2.0 * s - 1.0)
                if self.frequencies:
                    k = jnp.arange(1, self.frequencies + 1, dtype=z.dtype) * math.pi
                    parts += [jnp.cos(k * s), jnp.sin(k * s)]
        return jnp.concatenate(parts)


class BasisNet(eqx.Module):
    """tanh MLP ``(d,) -> (N,)``: the basis φ_1..φ_N, optionally behind an input embedding."""

    weights: tuple[jax.Array, ...]
    biases: tuple[jax.Array, ...]
    embedding: eqx.Module | None

    def __init__(self, in_size: int, n_basis: int, width: int, depth: int, *, key, dtype=None,
                 embedding: eqx.Module | None = None):
        dtype = dtype or jnp.result_type(float)
        self.embedding = embedding
        first = embedding.out_size if embedding is not None else in_size
        sizes = [first] + [width] * depth + [n_basis]
        keys = jax.random.split(key, len(sizes) - 1)
        self.weights = tuple(glorot_normal(k, o, i, dtype) for k, i, o in zip(keys, sizes[:-1], sizes[1:]))
        self.biases = tuple(jnp.zeros(o, dtype) for o in sizes[1:])

    @property
    def n_basis(self) -> int:
        return self.weights[-1].shape[0]

    def __call__(self, z: jax.Array) -> jax.Array:
        if self.embedding is not None:
            z = self.embedding(z)
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            z = jnp.tanh(w @ z + b)
        return self.weights[-1] @ z + self.biases[-1]


class TensorBasis(eqx.Module):
    """Tensor-product basis φ_{j₁…j_d}(z) = Π_i g^{(i)}_{j_i}(z_i): one small tanh ``BasisNet`` per coordinate, each
    behind its own one-coordinate ``BoxEmbedding`` (a separable basis, as in spectral methods and separable PINNs,
    Cho et al. 2023). Sums of its products represent non-separable solutions, e.g. sin(x − βt) = sin x cos βt −
    cos x sin βt. With ``skip``, each factor also keeps [1, embedding(zᵢ)] next to its learned functions, so the
    fixed Fourier tensor basis is a sub-span of the learned one."""

    factors: tuple[BasisNet, ...]
    skip: bool = eqx.field(static=True)

    def factor(self, i: int, zi: jax.Array) -> jax.Array:
        net = self.factors[i]
        g = net(zi)
        if self.skip:
            g = jnp.concatenate([jnp.ones((1,), g.dtype), net.embedding(zi), g])
        return g

    def __call__(self, z: jax.Array) -> jax.Array:
        out = self.factor(0, z[0:1])
        for i in range(1, len(self.factors)):
            out = (out[:, None] * self.factor(i, z[i : i + 1])[None, :]).reshape(-1)
        return out


def coordinate_embedding(problem, i: int, harmonics: int, frequencies: int) -> BoxEmbedding:
    """``BoxEmbedding`` of coordinate ``i`` alone (input ``z[i:i+1]``)."""
    lo, hi = (float(v) for v in problem.bounds[i])
    periodic = problem.coords[i] in problem.periodic
    return BoxEmbedding((0,) if periodic else (), (hi - lo,) if periodic else (), (lo,), (hi - lo,), harmonics,
                        frequencies)


def tensor_basis(problem, factors: tuple[int, ...], width: int, depth: int, *, key, dtype, harmonics: int,
                 frequencies: int, skip: bool) -> TensorBasis:
    keys = jax.random.split(key, problem.dim)
    nets = tuple(BasisNet(1, n, width, depth, key=k, dtype=dtype,
                          embedding=coordinate_embedding(problem, i, harmonics, frequencies))
                 for i, (n, k) in enumerate(zip(factors, keys)))
    return TensorBasis(nets, bool(skip))


def parse_factors(text: str, basis: int, dim: int) -> tuple[int, ...]:
    """``"4/32"`` → (4, 32), one count per coordinate; empty → each ⌈basis^(1/dim)⌉."""
    if not str(text):
        return (max(1, math.ceil(basis ** (1.0 / dim) - 1e-9)),) * dim
    try:
        out = tuple(int(v) for v in str(text).split("/"))
    except ValueError:
        out = ()
    if len(out) != dim or min(out) < 1:
        raise PinnsightError(f"model hard-constraint: factors={text!r} must be {dim} positive integers joined by '/'")
    return out


class HardConstraint(eqx.Module):
    """u = Σ c_j φ_j with c from the regularised least-squares fit of the PDE and constraint rows."""

    basis: Callable[[jax.Array], jax.Array]
    points: dict  # enforcement rows per loss term (problem.term_names), read under stop_gradient
    ridge: float = eqx.field(static=True)
    problem_ref: ProblemRef = eqx.field(static=True)
    coefficients: tuple[tuple[str, float], ...] = eqx.field(static=True)
    weights: tuple[tuple[str, float], ...] = eqx.field(static=True)
    points_seed: int = eqx.field(static=True, default=1)

    @property
    def problem(self):
        return self.problem_ref.problem

    @property
    def n_basis(self) -> int:
        return int(jax.eval_shape(self.basis, jax.ShapeDtypeStruct((self.problem.dim,), self.dtype)).shape[0])

    @property
    def dtype(self):
        return next(iter(self.points.values())).dtype

    def default_coeffs(self) -> dict[str, jax.Array]:
        return {k: jnp.asarray(v, self.dtype) for k, v in self.coefficients}

    def system(self, coeffs: Mapping[str, jax.Array] | None = None, problem=None) -> tuple[jax.Array, jax.Array]:
        """The weighted least-squares system (A, b) at the enforcement points."""
        problem = problem if problem is not None else self.problem
        coeffs = self.default_coeffs() if coeffs is None else coeffs
        pts = jax.lax.stop_gradient(self.points)
        rows = term_rows(problem, self.basis, self.n_basis, pts, coeffs, self.dtype)
        return weighted_system(rows, dict(self.weights))

    def solve(self, coeffs: Mapping[str, jax.Array] | None = None, problem=None) -> jax.Array:
        """The combination coefficients c for ``coeffs`` (default: the built coefficients)."""
        A, b = self.system(coeffs, problem)
        return ridge_lstsq(A, b, jnp.asarray(self.ridge, A.dtype))

    def bind(self, problem, coeffs: Mapping[str, jax.Array]) -> Callable[[jax.Array], jax.Array]:
        """The solution for ``coeffs`` as a point function z ↦ u(z) (c solved once)."""
        c = self.solve(coeffs, problem)
        return lambda z: jnp.dot(c, self.basis(z))

    def __call__(self, z: jax.Array) -> jax.Array:
        return jnp.dot(self.solve(), self.basis(z))

    def with_problem(self, problem) -> "HardConstraint":
        """The same basis for ``problem`` (other coefficients or initial/boundary data): the enforcement rows
        re-sampled from ``points_seed`` — the same points, with the new problem's targets."""
        require_linear(problem, self.dtype)
        counts = {k: v.shape[0] for k, v in self.points.items()}
        points = enforcement_points(problem, counts, jax.random.PRNGKey(self.points_seed), self.dtype)
        return HardConstraint(self.basis, points, self.ridge, ProblemRef(problem),
                              tuple((k, float(v)) for k, v in problem.coefficients.items()), self.weights,
                              self.points_seed)

    def report(self, coeffs: Mapping[str, jax.Array] | None = None) -> dict[str, Any]:
        """Diagnostics of the solve (host): conditioning, enforcement-point loss ‖Ac − b‖², optimality defect
        ‖Aᵀ(Ac − b) + γc‖ / ‖Aᵀb‖; warns (``IllConditionedWarning``) when the system is ill-conditioned."""
        A, b, c = _system_and_solution(self, self.default_coeffs() if coeffs is None else coeffs)
        A, b, c = (np.asarray(v, np.float64) for v in (A, b, c))
        cond = conditioning(A, self.ridge)
        grad = A.T @ (A @ c - b) + self.ridge * c
        out = {
            "n_basis": int(A.shape[1]),
            "rows": int(A.shape[0]),
            "ridge": self.ridge,
            **cond,
            "enforcement_loss": float(np.sum(np.square(A @ c - b))),
            "optimality_defect": float(np.linalg.norm(grad) / (np.linalg.norm(A.T @ b) + 1e-300)),
            "coef_norm": float(np.linalg.norm(c)),
        }
        out["ill_conditioned"] = warn_if_ill_conditioned(cond, self.dtype)
        return out


@eqx.filter_jit
def _system_and_solution(model: HardConstraint, coeffs):
    A, b = model.system(coeffs)
    return A, b, ridge_lstsq(A, b, jnp.asarray(model.ridge, A.dtype))


def enforcement_points(problem, counts: Mapping[str, int], key: jax.Array, dtype) -> dict[str, jax.Array]:
    from ..sampling import sample_batch

    return sample_batch(problem, key, counts, dtype)


_LINEAR: dict[tuple[int, str], Any] = {}  # (id(problem), dtype) -> problem, for problems already checked


EMBEDDINGS = ("periodic", "fourier", "none")


def require_linear(problem, dtype) -> None:
    """PinnsightError unless the problem's residual and constraints are affine in u (``affine_defects`` of a fixed
    random-feature basis sin(Wz + b) at a few points, compiled once per problem). Runs eagerly, also while a model
    is built under ``jit``."""
    tag = (id(problem), jnp.dtype(dtype).name)
    if _LINEAR.get(tag) is problem:
        return
    with jax.ensure_compile_time_eval():
        k_w, k_b, k_p = jax.random.split(jax.random.PRNGKey(7), 3)
        lo = jnp.array([b[0] for b in problem.bounds], dtype)
        hi = jnp.array([b[1] for b in problem.bounds], dtype)
        w = jax.random.normal(k_w, (2, problem.dim), dtype) * (6.0 / (hi - lo))[None, :]
        b = jax.random.uniform(k_b, (2,), dtype, 0.0, 6.0)
        pts = enforcement_points(problem, {"res": 4, **{con.name: 4 for con in problem.constraints}}, k_p, dtype)
        coeffs = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}

        def defects(w, b, pts, coeffs):
            u = lambda *z: jnp.sin(w[0] @ jnp.stack(z) + b[0])  # noqa: E731
            v = lambda *z: 2.0 * jnp.cos(w[1] @ jnp.stack(z) + b[1])  # noqa: E731
            return affine_defects(problem, u, v, pts, coeffs)

        check_affine(problem, jax.jit(defects)(w, b, pts, coeffs), rtol=1e-5 if jnp.dtype(dtype) == jnp.float32 else 1e-10)
    _LINEAR[tag] = problem


def hard_constraint_model(
    in_size: int, *, key: jax.Array, dtype=None, basis: int, width: int, depth: int, points: int,
    ridge: float, harmonics: int, embed: str, frequencies: int, bc_weight: float, points_seed: int, problem=None,
    separable: bool = False, factors: str = "", skip: bool = False,
) -> HardConstraint:
    """``basis`` functions from a ``depth`` × ``width`` tanh MLP behind ``BoxEmbedding`` (``embed=periodic``: exact
    periodic embedding of the periodic coordinates, the others rescaled to [−1, 1]; ``embed=fourier``: also a
    Fourier ladder of ``frequencies`` harmonics on the non-periodic coordinates; ``none``: raw input), solved at ``points`` residual points plus each
    constraint's own count (uniform, drawn from ``points_seed``: part of the model, not of the run's seed),
    constraint rows weighted ``bc_weight``, ridge γ = ``ridge``. ``separable=1``: a ``TensorBasis`` instead, one
    ``depth`` × ``width`` net per coordinate with ``factors`` functions each (``"4/32"``; default ⌈basis^(1/d)⌉),
    ``skip=1`` keeping each coordinate's embedding features in its factor (``embed`` must not be ``none``)."""
    if problem is None:
        raise PinnsightError("model hard-constraint needs the problem (build it with make_model(..., problem=...))")
    if embed not in EMBEDDINGS:
        raise PinnsightError(f"model hard-constraint: embed={embed!r} is not one of {', '.join(EMBEDDINGS)}")
    dtype = dtype or jnp.result_type(float)
    k_net, k_pts = key, jax.random.PRNGKey(points_seed)
    emb = None
    if embed != "none":
        idx = tuple(problem.coords.index(c) for c in problem.periodic)
        emb = BoxEmbedding(
            idx, tuple(float(problem.bounds[i][1] - problem.bounds[i][0]) for i in idx),
            tuple(float(lo) for lo, _ in problem.bounds), tuple(float(hi - lo) for lo, hi in problem.bounds),
            harmonics, frequencies if embed == "fourier" else 0,
        )
    if separable:
        if embed == "none":
            raise PinnsightError("model hard-constraint: separable=1 needs embed=periodic or embed=fourier")
        net = tensor_basis(problem, parse_factors(factors, basis, problem.dim), width, depth, key=k_net, dtype=dtype,
                           harmonics=harmonics, frequencies=frequencies if embed == "fourier" else 0, skip=skip)
    else:
        net = BasisNet(in_size, basis, width, depth, key=k_net, dtype=dtype, embedding=emb)
    counts = {"res": points, **{c.name: c.n_points for c in problem.constraints}}
    pts = enforcement_points(problem, counts, k_pts, dtype)
    require_linear(problem, dtype)
    weights = (("res", 1.0),) + tuple((c.name, float(bc_weight)) for c in problem.constraints)
    return HardConstraint(net, pts, float(ridge), ProblemRef(problem),
                          tuple((k, float(v)) for k, v in problem.coefficients.items()), weights, int(points_seed))


def with_basis(problem, basis: Callable[[jax.Array], jax.Array], *, points: int = 1000, ridge: float = 1e-12,
               dtype=None, bc_weight: float = 1.0, points_seed: int = 1) -> HardConstraint:
    """The least-squares layer on any basis ``z ↦ (φ_1(z), ..., φ_N(z))`` (a fixed one, e.g. sines, or a trained
    network): enforcement rows as in ``hard_constraint_model``."""
    dtype = dtype or jnp.result_type(float)
    require_linear(problem, dtype)
    counts = {"res": points, **{c.name: c.n_points for c in problem.constraints}}
    pts = enforcement_points(problem, counts, jax.random.PRNGKey(points_seed), dtype)
    weights = (("res", 1.0),) + tuple((c.name, float(bc_weight)) for c in problem.constraints)
    return HardConstraint(basis, pts, float(ridge), ProblemRef(problem),
                          tuple((k, float(v)) for k, v in problem.coefficients.items()), weights, int(points_seed))


def hard_constraint_options(problem, options: Mapping[str, Any]) -> dict[str, Any]:
    return {**options, "problem": problem}


HARD_CONSTRAINT_DEFAULTS = {
    "basis": 60, "width": 64, "depth": 3, "points": 1000, "ridge": 1e-10, "harmonics": 1, "embed": "periodic",
    "frequencies": 16, "separable": False, "factors": "", "skip": False,
    "bc_weight": 1.0, "points_seed": 1,
}
