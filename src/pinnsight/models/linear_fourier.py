"""A model linear in its parameters: u_θ(z) = Σ_j θ_j p_j φ_j(z) on Fourier modes, optionally preconditioned.

De Ryck, Bonnet, Mishra, de Bézenac, "An operator preconditioning perspective on training in physics-informed
machine learning", ICLR 2024 (arXiv 2310.05801). For a model linear in θ the physics-informed loss
L(θ) = mean_i (Du_θ − f)²(x_i) + λ mean_j (Bu_θ − g)²(y_j) is quadratic, its Hessian is 2A with

    A = Φ_Dᵀ Φ_D / N + λ Φ_Bᵀ Φ_B / N_b,      (Φ_D)_ij = (Dφ_j)(x_i),  (Φ_B)_ij = (Bφ_j)(y_i)

(the paper's Eq. 2.6 matrix A_ij = ⟨Dφ_i, Dφ_j⟩ + λ⟨φ_i, φ_j⟩_∂Ω, discretised with the loss's own mean), and
gradient descent contracts the slowest error component by 1 − 1/κ(A) per step (their Thm. 2.3).

Basis. Each coordinate i lives on a box [a_i, b_i] of length L_i; with ω_i = 2π/L_i, centre c and an integer
vector m (|m_i| ≤ K_i, one of each ±m pair: the first nonzero entry positive), the modes are

    φ_0 = 1,   cos(ν_m·(z − c)),   sin(ν_m·(z − c)),   ν_m = (m_i ω_i)_i.

In one dimension on [−π, π] these are the paper's Fourier features 1, cos(kx), sin(kx), k = 1..K (their
Sec. 3, Poisson example, up to the L² normalising constants). In (x, t) they are the real form of the tensor
basis e^{i(k ω_x x + l ω_t t)}, |k| ≤ K, |l| ≤ M (same span as {1, cos kx, sin kx} ⊗ {1, cos lt, sin lt}),
chosen as travelling waves because a constant-coefficient operator maps each (cos, sin) pair into itself
(symbol σ(ν) = Σ_α a_α (iν)^α), so D*D is diagonal in it. Every mode is periodic in every coordinate with the
box length, so periodic constraints hold exactly; time is periodic too, which a non-periodic solution in t can
only approximate (a limit of this instrument, not of the analysis).

Preconditioning. The paper's remedy is a linear change of parameters θ = P θ̃, so that GD sees Pᵀ A P
(Sec. 3, "preconditioning"); with Fourier features D*D is diagonal and P rescales each feature by the inverse
square root of its symbol — 1/k² for −u'' (their Poisson preconditioner), 1/|σ| for advection — while the
boundary/initial term fixes the modes D annihilates (the constant for −u''; resonant modes for advection).
We take the one rule that does both: p_j = A∞_jj^{-1/2}, the Jacobi scaling of the *exact* (quadrature-exact)
operator matrix A∞, so for −u'' on [a, b]: p_0 = λ^{-1/2}, p_k,sin = √2 / (kω)², p_k,cos = (k⁴ω⁴/2 + λ)^{-1/2}.
Conditioning is scale invariant, so p is then divided by its value at the first harmonic sin(ω_0(z_0 − c_0))
to keep low-frequency coefficients O(1) for a fixed-step optimizer such as Adam (this changes nothing else).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..errors import PinnsightError

Term = tuple[float, tuple[int, ...]]  # (coefficient a_α, multi-index α): the operator Σ a_α ∂^α


# -------------------------------------------------------------------------------------------------- basis
@dataclass(frozen=True)
class FourierBasis:
    """Real Fourier modes on a box: ``freqs`` (n, d) angular frequencies ν_j, ``kinds`` (n,) 0 = cos, 1 = sin,
    ``center`` (d,). Evaluation is closed form in numpy float64 (no autodiff): see ``values``."""

    freqs: np.ndarray
    kinds: np.ndarray
    center: np.ndarray
    harmonics: np.ndarray  # (n, d) the integer vectors m (ν = m ω)

    @property
    def size(self) -> int:
        return len(self.kinds)

    @property
    def dim(self) -> int:
        return self.freqs.shape[1]

    def values(self, z: np.ndarray, alpha: Sequence[int] | None = None) -> np.ndarray:
        """(N, n): ∂^α φ_j at the rows of ``z`` (N, d). With θ = ν·(z − c) and |α| = Σα_i,
        ∂^α cos θ = Πν_i^{α_i} cos(θ + |α|π/2), ∂^α sin θ = Πν_i^{α_i} sin(θ + |α|π/2) (shifts done exactly)."""
        z = np.asarray(z, np.float64).reshape(-1, self.dim)
        alpha = tuple(alpha) if alpha is not None else (0,) * self.dim
        theta = (z - self.center) @ self.freqs.T
        order = sum(alpha) % 4
        cos, sin = np.cos(theta), np.sin(theta)
        # (cos, sin) of θ + order·π/2
        shifted_cos = (cos, -sin, -cos, sin)[order]
        shifted_sin = (sin, cos, -sin, -cos)[order]
        factor = np.prod(self.freqs ** np.asarray(alpha, np.float64), axis=1)
        return np.where(self.kinds == 0, shifted_cos, shifted_sin) * factor


def fourier_basis(bounds: Sequence[tuple[float, float]], harmonics: Sequence[int]) -> FourierBasis:
    """All modes with |m_i| ≤ harmonics[i] on the box ``bounds`` (ordered by max |m_i|, then lexicographically;
    cos before sin). One coordinate, K harmonics: 1, cos(ks), sin(ks), k = 1..K, s = ω(x − c) ∈ [−π, π]."""
    if len(bounds) != len(harmonics):
        raise PinnsightError(f"fourier basis: {len(bounds)} bounds but {len(harmonics)} harmonic counts")
    if any(int(k) < 0 for k in harmonics):
        raise PinnsightError(f"fourier basis: harmonics {tuple(harmonics)} must be non-negative")
    lo = np.array([b[0] for b in bounds], np.float64)
    hi = np.array([b[1] for b in bounds], np.float64)
    if not np.all(hi > lo):
        raise PinnsightError(f"fourier basis: empty box {tuple(bounds)}")
    omega = 2.0 * np.pi / (hi - lo)
    vectors = [m for m in itertools.product(*(range(-k, k + 1) for k in harmonics)) if _canonical(m)]
    vectors.sort(key=lambda m: (max((abs(v) for v in m), default=0), tuple(abs(v) for v in m), m))
    ms, kinds = [], []
    for m in vectors:
        for kind in ((0,) if not any(m) else (0, 1)):
            ms.append(m)
            kinds.append(kind)
    ms = np.array(ms, np.int64).reshape(-1, len(bounds))
    return FourierBasis(ms * omega, np.array(kinds, np.int64), 0.5 * (lo + hi), ms)


def _canonical(m: tuple[int, ...]) -> bool:
    """One representative of each ±m: zero, or the first nonzero entry positive."""
    nonzero = [v for v in m if v != 0]
    return not nonzero or nonzero[0] > 0


# --------------------------------------------------------------------------------- operators and problems
@dataclass(frozen=True)
class LinearSetup:
    """A linear PINN loss on a Fourier basis: interior operator D = Σ a_α ∂^α and boundary/initial operators
    B_k = ∂^{α_k} on point sets with quadrature weights w (Σw = 1; 1/N_k for a sampled batch), each term with
    its loss weight λ_k: A = Φ_Dᵀ Φ_D / N + Σ_k λ_k Φ_Bkᵀ diag(w_k) Φ_Bk."""

    basis: FourierBasis
    operator: tuple[Term, ...]
    interior: np.ndarray  # (N, d)
    boundary: tuple[tuple[str, float, tuple[int, ...], np.ndarray, np.ndarray], ...]  # (name, λ, α, points, weights)


def apply_operator(basis: FourierBasis, operator: Sequence[Term], z: np.ndarray) -> np.ndarray:
    """(N, n): (Dφ_j)(z_i) for D = Σ a_α ∂^α, closed form."""
    z = np.asarray(z, np.float64).reshape(-1, basis.dim)
    out = np.zeros((len(z), basis.size))
    for coef, alpha in operator:
        out += float(coef) * basis.values(z, alpha)
    return out


def operator_matrix(setup: LinearSetup) -> np.ndarray:
    """The matrix A of the quadratic PINN loss (module docstring): Hessian of the loss / 2, float64."""
    phi = apply_operator(setup.basis, setup.operator, setup.interior)
    A = phi.T @ phi / len(phi)
    for _, lam, alpha, pts, w in setup.boundary:
        b = setup.basis.values(pts, alpha)
        A = A + lam * (b.T @ (w[:, None] * b))
    return 0.5 * (A + A.T)


def periodic_grid(bounds: Sequence[tuple[float, float]], counts: Sequence[int]) -> np.ndarray:
    """Rows of the uniform tensor grid with ``counts[i]`` points on [a_i, b_i) (end point left out). Its mean is
    the periodic trapezoid rule, exact for trigonometric polynomials of degree < counts[i] in coordinate i."""
    axes = [a + (b - a) * np.arange(n) / n for (a, b), n in zip(bounds, counts)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([g.ravel() for g in mesh], axis=1)


#: constant-coefficient linear operators of the built-in linear problems, from their coefficients c
#: (terms Σ a_α ∂^α with α over the problem's coordinates, in order). The forcing f does not enter A.
OPERATORS: dict[str, Any] = {
    "poisson": lambda c: ((-1.0, (2,)),),  # −u''                                 (wang.poisson_residual_fn)
    "convection": lambda c: ((float(c["beta"]), (1, 0)), (1.0, (0, 1))),  # u_t + β u_x (failure_modes)
    "diffusion": lambda c: ((1.0, (0, 1)), (-float(c["nu"]), (2, 0))),  # u_t − ν u_xx
    "helmholtz": lambda c: ((1.0, (2, 0)), (1.0, (0, 2)), (float(c["k"]) ** 2, (0, 0))),  # Δu + k²u
    "wave": lambda c: ((1.0, (0, 2)), (-float(c["c"]) ** 2, (2, 0))),  # u_tt − c²u_xx
}


def exact_setup(problem, basis: FourierBasis, lam: float | Mapping[str, float] = 1.0) -> LinearSetup:
    """The quadrature-exact setup of a registered linear ``problem`` on ``basis``: interior and boundary means
    taken on periodic grids with 2K_i + 2 points per coordinate (exact for every product φ_i φ_j), Dirichlet
    faces and the initial slice as in ``Problem``'s samplers (faces pooled with equal weight), periodic
    constraints left out (every mode satisfies them exactly). ``lam``: one weight or one per constraint."""
    from ..problems import Dirichlet, Initial, Periodic

    if problem.name not in OPERATORS:
        raise PinnsightError(
            f"no linear operator is known for problem {problem.name!r} (linear: {', '.join(sorted(OPERATORS))}); "
            "the linear-fourier model needs one only when preconditioned=true"
        )
    operator = OPERATORS[problem.name](problem.coefficients)
    counts = [2 * int(m) + 2 for m in np.max(np.abs(basis.harmonics), axis=0)]
    bounds = problem.bounds
    boundary = []
    for con in problem.constraints:
        weight = float(lam[con.name] if isinstance(lam, Mapping) else lam)
        if isinstance(con, Periodic):
            continue
        if isinstance(con, Initial):
            it = problem.time_index
            pts = periodic_grid(bounds, [1 if i == it else n for i, n in enumerate(counts)])
            pts[:, it] = bounds[it][0]
            alpha = tuple(con.order if i == it else 0 for i in range(problem.dim))
            boundary.append((con.name, weight, alpha, pts, np.full(len(pts), 1.0 / len(pts))))
        elif isinstance(con, Dirichlet):
            names = con.coords if con.coords is not None else tuple(c for c in problem.coords if c != problem.time)
            faces = []
            for name in names:
                i = problem.coords.index(name)
                for end in bounds[i]:
                    pts = periodic_grid(bounds, [1 if j == i else n for j, n in enumerate(counts)])
                    pts[:, i] = end
                    faces.append(pts)
            # each face gets the same share of the mean, as in Problem's boundary sampler
            w = np.concatenate([np.full(len(f), 1.0 / (len(f) * len(faces))) for f in faces])
            boundary.append((con.name, weight, (0,) * problem.dim, np.concatenate(faces), w))
        else:
            raise PinnsightError(
                f"linear-fourier: constraint {con.name!r} ({type(con).__name__}) is not supported by the preconditioner"
            )
    return LinearSetup(basis, operator, periodic_grid(bounds, counts), tuple(boundary))


def jacobi_scaling(A: np.ndarray, reference: int | None = None) -> np.ndarray:
    """p = diag(A)^{-1/2}, divided by p[reference] when given (conditioning is invariant to that constant)."""
    d = np.diag(A)
    if np.any(d <= 0):
        raise PinnsightError(f"preconditioner: {int(np.sum(d <= 0))} mode(s) invisible to the loss (zero diagonal)")
    p = 1.0 / np.sqrt(d)
    return p / p[reference] if reference is not None else p


def first_harmonic(basis: FourierBasis) -> int | None:
    """Index of sin(ω_0 (z_0 − c_0)), the mode the preconditioner keeps at unit scale (None if absent)."""
    target = np.zeros(basis.dim, np.int64)
    target[0] = 1
    hits = np.flatnonzero(np.all(basis.harmonics == target, axis=1) & (basis.kinds == 1))
    return int(hits[0]) if len(hits) else None


def preconditioner(problem, basis: FourierBasis, lam: float | Mapping[str, float] = 1.0) -> np.ndarray:
    """The diagonal preconditioner p (module docstring): Jacobi scaling of the exact A of ``problem``."""
    return jacobi_scaling(operator_matrix(exact_setup(problem, basis, lam)), first_harmonic(basis))


# ------------------------------------------------------------------------------------------------- model
class LinearFourier(eqx.Module):
    """u(z) = Σ_j θ_j p_j φ_j(z); θ is the only array leaf (initialised to zero: the loss is convex),
    the basis and the scaling p are static."""

    theta: jax.Array
    freqs: tuple[tuple[float, ...], ...] = eqx.field(static=True)
    kinds: tuple[int, ...] = eqx.field(static=True)
    center: tuple[float, ...] = eqx.field(static=True)
    scale: tuple[float, ...] = eqx.field(static=True)

    def __init__(self, basis: FourierBasis, scale: np.ndarray | None = None, *, dtype=None):
        dtype = dtype or jnp.result_type(float)
        self.theta = jnp.zeros(basis.size, dtype)
        self.freqs = tuple(tuple(float(v) for v in row) for row in basis.freqs)
        self.kinds = tuple(int(k) for k in basis.kinds)
        self.center = tuple(float(c) for c in basis.center)
        self.scale = tuple(float(s) for s in (scale if scale is not None else np.ones(basis.size)))

    def features(self, z: jax.Array) -> jax.Array:
        """(n,): p_j φ_j(z)."""
        nu = jnp.asarray(self.freqs, z.dtype)
        phase = nu @ (z - jnp.asarray(self.center, z.dtype))
        phi = jnp.where(jnp.asarray(self.kinds) == 0, jnp.cos(phase), jnp.sin(phase))
        return jnp.asarray(self.scale, z.dtype) * phi

    def __call__(self, z: jax.Array) -> jax.Array:
        return jnp.dot(self.theta, self.features(z))


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _flag(raw: str) -> bool:
    s = str(raw).strip().lower()
    if s not in _TRUE + _FALSE:
        raise PinnsightError(f"model linear-fourier: preconditioned={raw!r} must be true or false")
    return s in _TRUE


def linear_fourier_model(
    in_size: int, *, key: jax.Array, dtype=None, K: int, M: int, preconditioned: str, lam: float,
    problem: Any = None,
) -> LinearFourier:
    """Build for ``problem`` (filled in by ``linear_fourier_options``): K harmonics per spatial coordinate,
    M in time; ``preconditioned``: scale features by ``preconditioner`` with boundary weight ``lam``."""
    del key  # deterministic: θ = 0
    precondition = _flag(preconditioned)
    if problem is None:
        raise PinnsightError("model linear-fourier is built for a problem (its box and operator)")
    if problem.dim != in_size:
        raise PinnsightError(f"model linear-fourier: problem {problem.name!r} has {problem.dim} coords, not {in_size}")
    harmonics = [M if name == problem.time else K for name in problem.coords]
    basis = fourier_basis(problem.bounds, harmonics)
    scale = preconditioner(problem, basis, lam) if precondition else None
    return LinearFourier(basis, scale, dtype=dtype)


def linear_fourier_options(problem: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """Pass the problem itself to the builder (box, time coordinate, operator), checking the flag early."""
    _flag(options["preconditioned"])
    return {**options, "problem": problem}
