"""Errors without a reference (``pinnsight.evaluation``): the RMS of the PDE residual and of every constraint on
fresh points, checked against exact solutions (≈ 0) and a perturbed solution (a NumPy finite-difference estimate
on the same points); and the prediction / residual figure for runs without a reference."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pinnsight as ps
from pinnsight.evaluation import make_residual_errors, point_counts, residual_error_names
from pinnsight.plots import plot_prediction_residual
from pinnsight.sampling import sample_batch

PI = np.pi


class Solution(eqx.Module):
    """A stand-in network: ``exact(*z, c) + eps · perturbation(*z)``; ``eps`` is its only array (its parameters)."""

    eps: jax.Array
    exact: Callable = eqx.field(static=True)
    perturbation: Callable = eqx.field(static=True)
    coeffs: tuple = eqx.field(static=True)

    def __call__(self, z):
        zs = [z[i] for i in range(z.shape[0])]
        return self.exact(*zs, dict(self.coeffs)) + self.eps * self.perturbation(*zs)


def solution(problem, eps, dtype, perturbation=lambda *z: jnp.exp(z[0]) * z[-1] ** 2):
    model = Solution(jnp.asarray(eps, dtype), problem.exact, perturbation, tuple(problem.coefficients.items()))
    return eqx.partition(model, eqx.is_array)


def coeffs_of(problem, dtype):
    return {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}


COUNTS = {"res": 500, "bc": 200}


def test_the_exact_solution_has_no_residual_float32():
    problem = ps.make_problem("helmholtz")
    params, static = solution(problem, 0.0, jnp.float32)
    errors = make_residual_errors(problem, static, COUNTS, jnp.float32)
    out = errors(params, coeffs_of(problem, jnp.float32), jax.random.PRNGKey(0))
    assert set(out) == set(residual_error_names(problem)) == {"res_rms", "res_max", "bc_rms"}
    assert all(v.dtype == jnp.float32 and v.shape == () for v in out.values())
    assert float(out["res_rms"]) < 1e-4 and float(out["res_max"]) < 1e-3 and float(out["bc_rms"]) < 1e-6


def test_the_exact_solution_has_no_residual_float64(x64):
    for name in ("helmholtz", "poisson", "wave", "klein-gordon"):
        problem = ps.make_problem(name)
        params, static = solution(problem, 0.0, jnp.float64)
        out = make_residual_errors(problem, static, 256, jnp.float64)(
            params, coeffs_of(problem, jnp.float64), jax.random.PRNGKey(1))
        assert all(v.dtype == jnp.float64 for v in out.values())
        assert float(out["res_rms"]) < 1e-10, (name, out)
        for con in problem.constraints:
            assert float(out[f"{con.name}_rms"]) < 1e-10, (name, con.name, out)


def test_a_vector_constraint_and_initial_conditions(x64):
    """diffusion: the periodic constraint has two values per row (u and u_x on both faces); exact solution."""
    problem = ps.make_problem("diffusion")
    params, static = solution(problem, 0.0, jnp.float64)
    out = make_residual_errors(problem, static, 128, jnp.float64)(params, coeffs_of(problem, jnp.float64),
                                                                  jax.random.PRNGKey(2))
    assert set(out) == {"res_rms", "res_max", "ic_rms", "bc_rms"}
    assert max(float(v) for v in out.values()) < 1e-10
    # a perturbation that breaks periodicity of u (exp(x)) shows up in bc_rms, in (N, 2) rows
    params, static = solution(problem, 0.1, jnp.float64)
    out = make_residual_errors(problem, static, 128, jnp.float64)(params, coeffs_of(problem, jnp.float64),
                                                                  jax.random.PRNGKey(2))
    assert float(out["bc_rms"]) > 1.0 and float(out["ic_rms"]) == pytest.approx(0.0, abs=1e-12)  # t² = 0 at t = 0


def _fd_residual_helmholtz(problem, eps, x, y, h=1e-4):
    """Δu + k²u − q of u = exact + eps·exp(x)·y², Δ by central differences, in float64 NumPy."""
    c = problem.coefficients

    def u(x, y):
        return np.sin(c["a1"] * PI * x) * np.sin(c["a2"] * PI * y) + eps * np.exp(x) * y**2

    lap = (u(x + h, y) + u(x - h, y) + u(x, y + h) + u(x, y - h) - 4.0 * u(x, y)) / h**2
    q = (c["k"] ** 2 - PI**2 * (c["a1"] ** 2 + c["a2"] ** 2)) * np.sin(c["a1"] * PI * x) * np.sin(c["a2"] * PI * y)
    return lap + c["k"] ** 2 * u(x, y) - q


@pytest.mark.parametrize("dtype, rtol, exact_rtol", [(jnp.float32, 1e-3, 1e-4), (jnp.float64, 2e-5, 1e-10)])
def test_a_perturbed_solution_matches_a_finite_difference_estimate(dtype, rtol, exact_rtol, request):
    """rtol: the finite differences' own error (h = 1e-4) or float32 rounding; exact_rtol: against the formula."""
    if dtype == jnp.float64:
        request.getfixturevalue("x64")
    problem, eps, key = ps.make_problem("helmholtz"), 0.1, jax.random.PRNGKey(3)
    params, static = solution(problem, eps, dtype)
    out = make_residual_errors(problem, static, COUNTS, dtype)(params, coeffs_of(problem, dtype), key)
    batch = {k: np.asarray(v, np.float64) for k, v in sample_batch(problem, key, COUNTS, dtype).items()}  # same points
    r = _fd_residual_helmholtz(problem, eps, batch["res"][:, 0], batch["res"][:, 1])
    bc = eps * np.exp(batch["bc"][:, 0]) * batch["bc"][:, 1] ** 2  # the exact part meets the boundary values
    assert float(out["res_rms"]) > 0.1  # clearly positive
    np.testing.assert_allclose(float(out["res_rms"]), np.sqrt(np.mean(r**2)), rtol=rtol)
    np.testing.assert_allclose(float(out["res_max"]), np.max(np.abs(r)), rtol=rtol)
    np.testing.assert_allclose(float(out["bc_rms"]), np.sqrt(np.mean(bc**2)), rtol=exact_rtol)
    # analytically: residual = eps·exp(x)·(y² + 2 + k²y²)
    x, y = batch["res"][:, 0], batch["res"][:, 1]
    exact_r = eps * np.exp(x) * (y**2 + 2.0 + problem.coefficients["k"] ** 2 * y**2)
    np.testing.assert_allclose(float(out["res_rms"]), np.sqrt(np.mean(exact_r**2)), rtol=exact_rtol)
    np.testing.assert_allclose(float(out["res_max"]), np.max(np.abs(exact_r)), rtol=exact_rtol)


def test_fresh_points_every_key_one_compilation():
    problem = ps.make_problem("helmholtz")
    params, static = solution(problem, 0.1, jnp.float32)
    errors = make_residual_errors(problem, static, COUNTS, jnp.float32)
    c = coeffs_of(problem, jnp.float32)
    a = errors(params, c, jax.random.PRNGKey(0))
    b = errors(params, c, jax.random.PRNGKey(1))
    again = errors(params, c, jax.random.PRNGKey(0))
    assert float(a["res_rms"]) != float(b["res_rms"])  # new points
    assert float(a["res_rms"]) == float(again["res_rms"])  # the key decides the points
    shifted = errors(params, {**c, "a2": jnp.float32(3.0)}, jax.random.PRNGKey(0))  # coefficients are traced
    assert float(shifted["res_rms"]) > 10 * float(a["res_rms"])
    assert errors._cache_size() == 1


def test_point_counts():
    problem = ps.make_problem("klein-gordon")
    assert point_counts(problem, 16) == {"res": 16, "ic": 16, "ic_t": 16, "bc": 16}
    assert point_counts(problem, {"res": 8, "ic": 4, "ic_t": 4, "bc": 2})["bc"] == 2
    for bad, match in (({"res": 8}, "no count for 'ic'"), ({**dict.fromkeys(problem.term_names, 4), "data": 3},
                                                         "unknown term 'data'"),
                       (0, "must be a positive integer"), (True, "must be a positive integer"),
                       ({**dict.fromkeys(problem.term_names, 4), "bc": 2.5}, "'bc' must be a positive integer")):
        with pytest.raises(ps.PinnsightError, match=match):
            point_counts(problem, bad)


def test_an_untrained_network_on_a_problem_without_reference():
    problem = ps.Problem(
        name="no-ref", coords=("x", "y"), bounds=((0.0, 1.0), (0.0, 1.0)), time=None,
        residual=lambda u, x, y, c: jax.grad(jax.grad(u, 0), 0)(x, y) + jax.grad(jax.grad(u, 1), 1)(x, y) - 1.0,
        constraints=(ps.Dirichlet(),))
    assert not problem.has_reference and problem.reference_solution() is None
    model = ps.make_model("mlp", 2, key=jax.random.PRNGKey(0), width=8, depth=2)
    params, static = eqx.partition(model, eqx.is_array)
    out = make_residual_errors(problem, static, 64)(params, {}, jax.random.PRNGKey(5))
    assert set(out) == {"res_rms", "res_max", "bc_rms"}
    assert all(np.isfinite(float(v)) and float(v) > 0 for v in out.values())
    assert float(out["res_max"]) >= float(out["res_rms"])


# -------------------------------------------------------------------------------------------------- figure
def _png(path):
    return path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_prediction_residual_writes_a_png(tmp_path):
    problem = ps.make_problem("helmholtz")
    axes = (np.linspace(-1, 1, 21), np.linspace(-1, 1, 17))
    xx, yy = np.meshgrid(*axes, indexing="ij")
    plot_prediction_residual(problem, axes, np.sin(xx) * yy, (xx * yy).ravel(), tmp_path / "two.png")  # flat too
    assert _png(tmp_path / "two.png")

    line = ps.make_problem("poisson")
    x = np.linspace(0, 1, 50)
    plot_prediction_residual(line, (x,), np.sin(PI * x), np.zeros_like(x), tmp_path / "one.png")  # |r| = 0 too
    assert _png(tmp_path / "one.png")
