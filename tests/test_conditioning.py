"""Operator conditioning (De Ryck, Bonnet, Mishra, de Bézenac, ICLR 2024): the matrix A of a linear Fourier model
against independent computations, its growth K⁴ / β², the preconditioner, the Gauss–Newton condition number of a
network, and training of the linear-fourier model (plain vs preconditioned at equal budgets)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.diagnostics.conditioning import (
    advection_matrix,
    batch_matrix,
    condition_number,
    fitted_exponent,
    gauss_newton_condition,
    poisson_matrix,
)
from pinnsight.errors import PinnsightError
from pinnsight.losses import make_objective, pointwise_residuals
from pinnsight.models import make_model
from pinnsight.models.linear_fourier import fourier_basis
from pinnsight.problems import make_problem
from pinnsight.sampling import sample_batch
from pinnsight import train
from pinnsight.trainer import initial_state


pytestmark = pytest.mark.usefixtures("x64")  # float64 throughout (fixture in conftest.py)


def linear_model(problem, K, M=1, preconditioned="false", lam=1.0):
    return make_model("linear-fourier", problem.dim, key=jax.random.PRNGKey(0), dtype=jnp.float64, problem=problem,
                      K=K, M=M, preconditioned=preconditioned, lam=lam)


# ------------------------------------------------------------------------------ A against independent checks
def test_poisson_matrix_matches_the_closed_form():
    """Exact A for −u'' on [0, 1], ω = 2π: diag(0, (kω)⁴/2 [cos], (kω)⁴/2 [sin]) + λ v vᵀ, v = (1, (−1)^k, 0):
    cos(k·ω(x − ½)) = (−1)^k at both ends, sin = 0, and the boundary mean is over the two ends."""
    K, lam, omega = 6, 0.7, 2 * math.pi
    A = poisson_matrix(K, lam)
    diag = [0.0] + [v for k in range(1, K + 1) for v in 2 * [(k * omega) ** 4 / 2]]
    v = np.array([1.0] + [w for k in range(1, K + 1) for w in ((-1.0) ** k, 0.0)])
    expected = np.diag(diag) + lam * np.outer(v, v)
    np.testing.assert_allclose(A, expected, rtol=1e-12, atol=1e-9)


def gauss_legendre_box(bounds, n):
    """Tensor Gauss–Legendre nodes and weights normalised to a mean over the box."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    axes = [(0.5 * (b - a) * nodes + 0.5 * (a + b), 0.5 * weights) for a, b in bounds]
    mesh = np.meshgrid(*[a for a, _ in axes], indexing="ij")
    wmesh = np.meshgrid(*[w for _, w in axes], indexing="ij")
    return np.stack([m.ravel() for m in mesh], 1), np.prod(np.stack([w.ravel() for w in wmesh], 1), 1)


def autodiff_rows(problem, model, term, rows):
    """∂r/∂θ at each row: the Jacobian of the problem's own residual code through the model (autodiff)."""
    params, static = eqx.partition(model, eqx.is_array)
    coeffs = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}

    def residuals(theta):
        m = eqx.combine(eqx.tree_at(lambda p: p.theta, params, theta), static)
        return pointwise_residuals(problem, m, {**dummy_batch(problem), term: jnp.asarray(rows)}, coeffs)[term]

    return np.asarray(jax.jit(jax.jacfwd(residuals))(model.theta)).reshape(len(rows), -1)


def dummy_batch(problem):
    return sample_batch(problem, jax.random.PRNGKey(1), {k: 2 for k in problem.term_names}, jnp.float64)


def test_advection_matrix_matches_gauss_legendre_quadrature_of_the_problem_residual():
    """Exact A (closed-form derivatives, periodic grids) = Gauss–Legendre quadrature (40 nodes per coordinate) of
    (∂r/∂θ)(∂r/∂θ)ᵀ with ∂r/∂θ by autodiff of the convection problem's residual through the model, plus λ × the
    same on the initial slice."""
    beta, K, M, lam = 3.0, 3, 2, 2.0
    problem = make_problem("convection", beta=beta)
    model = linear_model(problem, K, M)
    pts, w = gauss_legendre_box(problem.bounds, 40)
    J = autodiff_rows(problem, model, "res", pts)
    x, wx = gauss_legendre_box(problem.bounds[:1], 40)
    ic_rows = np.concatenate([x, np.zeros_like(x), np.zeros_like(x)], 1)  # [x, t=0, target]
    Jic = autodiff_rows(problem, model, "ic", ic_rows)
    expected = J.T @ (w[:, None] * J) + lam * Jic.T @ (wx[:, None] * Jic)
    np.testing.assert_allclose(advection_matrix(beta, K, M, lam), expected, rtol=1e-9,
                               atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("name, params, preconditioned", [
    ("poisson", {}, "false"), ("poisson", {}, "true"), ("convection", {"beta": 7.0}, "true"),
])
def test_loss_hessian_is_twice_the_batch_matrix(name, params, preconditioned):
    """For a model linear in θ the trainer's loss Σ_k w_k mean(r_k²) is quadratic with Hessian 2A exactly
    (jax.hessian of the objective the trainer uses vs ``batch_matrix`` on the same batch and weights)."""
    problem = make_problem(name, **params)
    lam = 3.0
    model = linear_model(problem, 4, 2, preconditioned, lam)
    params_, static = eqx.partition(model, eqx.is_array)
    batch = sample_batch(problem, jax.random.PRNGKey(2), {k: 40 for k in problem.term_names}, jnp.float64)
    weights = {k: (0.5 if k == "res" else lam) for k in problem.term_names}
    coeffs = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    objective = make_objective(problem, static)
    H = jax.jit(jax.hessian(lambda p: objective(p, batch, weights, coeffs)[0]))(params_).theta.theta
    basis = fourier_basis(problem.bounds, [4, 2][: problem.dim])
    A = batch_matrix(problem, basis, {k: np.asarray(v) for k, v in batch.items()}, weights, np.asarray(model.scale))
    np.testing.assert_allclose(np.asarray(H), 2 * A, rtol=1e-10, atol=1e-10 * np.abs(A).max())


# ------------------------------------------------------------------------------------------- growth laws
def test_poisson_condition_grows_like_k4_and_preconditioned_stays_bounded():
    """κ(A) ∝ K⁴: λ_max = (Kω)⁴/2 (+ O(λ)) and λ_min tends to a limit fixed by the boundary term, so the log–log
    slope over K = 4..32 is 4 up to the drift of λ_min (< 1e-3 relative): tolerance 0.05. Preconditioned, the
    paper's claim is a K-independent κ near 1; measured limit 1.0774 (λ = 1), asserted < 1.1 for K ≤ 64."""
    Ks = [4, 8, 16, 32]
    kappa = [condition_number(poisson_matrix(K)) for K in Ks]
    assert abs(fitted_exponent(Ks, kappa) - 4.0) < 0.05, kappa
    pre = [condition_number(poisson_matrix(K, preconditioned=True)) for K in [1, 2, 4, 8, 16, 32, 64]]
    assert max(pre) < 1.1 and np.all(np.diff(pre) >= -1e-12), pre
    # the paper's interval [−π, π] (ω = 1) gives the same exponent
    kappa_pi = [condition_number(poisson_matrix(K, bounds=(-math.pi, math.pi))) for K in Ks]
    assert abs(fitted_exponent(Ks, kappa_pi) - 4.0) < 0.05


def test_advection_condition_grows_like_beta2_and_preconditioned_stays_bounded():
    """κ(A) ∝ β² for large β: λ_max = (βK + 2πM)²/2 (+ the initial-condition term), λ_min fixed by the k = 0 block
    (independent of β), so the local log–log slope is 2βK/(βK + 2πM): 1.90–1.99 over β = 128..1024 (K = M = 4).
    Tolerance 0.1. Preconditioned: κ stays below 2 (measured 1.70–1.71) over β = 0.5..1024."""
    betas = [128.0, 256.0, 512.0, 1024.0]
    kappa = [condition_number(advection_matrix(b, 4, 4)) for b in betas]
    assert abs(fitted_exponent(betas, kappa) - 2.0) < 0.1, kappa
    assert kappa[-1] / kappa[0] > 50
    pre = [condition_number(advection_matrix(b, 4, 4, preconditioned=True)) for b in [0.5, 2.0, 30.0] + betas]
    assert max(pre) < 2.0, pre


# ------------------------------------------------------------------------------------------ Gauss–Newton
@pytest.mark.parametrize("width, points, n_params", [(3, 40, 13), (6, 3, 25)])
def test_gauss_newton_condition_matches_numpy_on_a_tiny_network(width, points, n_params):
    """κ of JᵀJ on its nonzero spectrum = np.linalg.cond(JᵀJ) when J has full column rank (3 × 40 rows, 13
    parameters), = np.linalg.cond(JJᵀ) when it has full row rank (3 × 3 rows, 25 parameters); J here independently
    by jax.jacfwd of the stacked weighted residual vector (the function under test builds it row by row with
    jacrev). Convection β = 2, a one-hidden-layer tanh net (measured κ ≈ 1e6 and 5e4: well inside float64)."""
    problem = make_problem("convection", beta=2.0)
    model = make_model("mlp", 2, key=jax.random.PRNGKey(3), dtype=jnp.float64, width=width, depth=1)
    batch = sample_batch(problem, jax.random.PRNGKey(4), dict.fromkeys(problem.term_names, points), jnp.float64)
    weights = {"res": 1.0, "ic": 10.0, "bc": 2.0}
    coeffs = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    params, static = eqx.partition(model, eqx.is_array)
    x, unravel = ravel_pytree(params)

    def r(v):
        res = pointwise_residuals(problem, eqx.combine(unravel(v), static), batch, coeffs)
        return jnp.concatenate([jnp.sqrt(weights[k] / res[k].size) * res[k].ravel() for k in res])

    J = np.asarray(jax.jit(jax.jacfwd(r))(x))
    got = gauss_newton_condition(problem, model, batch, coeffs, weights, max_points=None)
    gram = J.T @ J if J.shape[0] >= J.shape[1] else J @ J.T
    assert got.n_params == n_params and got.n_rows == 3 * points and got.rank == min(J.shape)
    assert got.dtype == "float64"
    np.testing.assert_allclose(got.cond, np.linalg.cond(gram), rtol=1e-6)


def test_gauss_newton_condition_of_a_linear_model_is_that_of_a():
    """For the linear-fourier model JᵀJ = A on the batch, so the two condition numbers agree; subsampling keeps
    at most ``max_points`` rows per term, evenly spread."""
    problem = make_problem("poisson")
    model = linear_model(problem, 5)
    batch = sample_batch(problem, jax.random.PRNGKey(5), {"res": 120, "bc": 20}, jnp.float64)
    got = gauss_newton_condition(problem, model, batch, max_points=None)
    A = batch_matrix(problem, fourier_basis(problem.bounds, [5]), {k: np.asarray(v) for k, v in batch.items()})
    np.testing.assert_allclose(got.cond, condition_number(A), rtol=1e-7)
    assert gauss_newton_condition(problem, model, batch, max_points=40).n_rows == 40 + 20


# --------------------------------------------------------------------------------------------- training
def gradient_descent_losses(preconditioned, steps):
    """Plain gradient descent (optax.sgd) on the trainer's own objective and batch, step 1/λ_max(2A)."""
    config = TrainConfig(problem="poisson", model="linear-fourier", x64=True,
                         model_options={"K": 16, "preconditioned": preconditioned})
    problem = config.build_problem()
    static, state = initial_state(config, problem)
    model = eqx.combine(state.params, static)
    A = batch_matrix(problem, fourier_basis(problem.bounds, [16]), {k: np.asarray(v) for k, v in state.batch.items()},
                     scale=np.asarray(model.scale))
    opt = optax.sgd(1.0 / (2.0 * np.linalg.eigvalsh(A)[-1]))
    objective = make_objective(problem, static)
    loss = lambda p: objective(p, state.batch, state.weights, state.coeffs)[0]  # noqa: E731

    def step(carry, _):
        p, s = carry
        value, g = jax.value_and_grad(loss)(p)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), value

    _, losses = jax.jit(lambda p: jax.lax.scan(step, (p, opt.init(p)), None, length=steps))(state.params)
    return np.asarray(losses), condition_number(A)


def test_preconditioned_gradient_descent_converges_where_plain_stalls():
    """Poisson, K = 16, the trainer's default batch (1000 + 100 points), 100 GD steps at each model's largest
    stable step: κ(A_batch) ≈ 5e7 plain vs ≈ 2 preconditioned, so (Thm. 2.3) the plain loss can fall by only
    O(100/κ) in its slow directions while the preconditioned one contracts by ~(1 − 1/κ)² per step."""
    plain, k_plain = gradient_descent_losses("false", 100)
    pre, k_pre = gradient_descent_losses("true", 100)
    assert k_plain > 1e7 and k_pre < 5, (k_plain, k_pre)
    assert plain[0] == pytest.approx(pre[0])  # both start at θ = 0
    assert plain[-1] > 0.5 * plain[0]
    assert pre[-1] < 1e-20 * pre[0]


def test_linear_fourier_trains_with_the_usual_trainer_and_preconditioning_wins_with_lbfgs():
    """The registered model through ``train`` (float32, L-BFGS, 30 iterations, same budget for both): preconditioned
    reaches rel L2 < 1e-4 on u = sin(4πx); plain stays above 1e-3 (its A has κ ≈ 5e7)."""
    jax.config.update("jax_enable_x64", False)
    runs = {
        pc: train(TrainConfig(problem="poisson", model="linear-fourier", model_options={"K": 16, "preconditioned": pc},
                              phases=(PhaseConfig("lbfgs", 30),), log_every=10, eval_every=10), progress=False)
        for pc in ("true", "false")
    }
    assert runs["true"].metrics["rel_l2"] < 1e-4, runs["true"].metrics
    assert runs["false"].metrics["rel_l2"] > 1e-3, runs["false"].metrics
    assert runs["true"].metrics["n_params"] == 33


def test_bad_options_and_unsupported_problems_are_one_line_errors():
    problem = make_problem("poisson")
    with pytest.raises(PinnsightError, match="preconditioned='maybe' must be true or false"):
        make_model("linear-fourier", 1, key=jax.random.PRNGKey(0), problem=problem, preconditioned="maybe")
    with pytest.raises(PinnsightError, match="no linear operator is known for problem 'burgers'"):
        linear_model(make_problem("burgers"), 2, 2, "true")
    with pytest.raises(PinnsightError, match="is built for a problem"):
        make_model("linear-fourier", 1, key=jax.random.PRNGKey(0))
    # without preconditioning the basis needs only the box: a nonlinear problem is fine
    assert linear_model(make_problem("burgers"), 2, 2, "false").theta.shape == (25,)
