"""Problems: exact solutions satisfy residuals through autodiff; constraints sample what they claim; registry errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pinnsight as ps
from pinnsight.losses import as_function
from pinnsight.problems import grid_points



@pytest.fixture(autouse=True)
def _float64():
    """Exactness checks in float64, without changing the global default for other test modules."""
    with jax.enable_x64(True):
        yield


def _points(problem, n=64, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.array([b[0] for b in problem.bounds])
    hi = np.array([b[1] for b in problem.bounds])
    return jnp.asarray(lo + (hi - lo) * rng.random((n, problem.dim)), jnp.float64)


def _coeffs(problem):
    return {k: jnp.asarray(v, jnp.float64) for k, v in problem.coefficients.items()}


def _exact_residual(problem):
    c = _coeffs(problem)
    u = lambda *z: problem.exact(*z, c)  # noqa: E731
    return jax.vmap(lambda p: problem.residual(u, *p, c))(_points(problem))


@pytest.mark.parametrize(
    "name, params",
    [
        ("convection", {"beta": 30.0}),
        ("convection", {"beta": 7.0, "u0": "gauss"}),
        ("reaction", {"rho": 5.0}),
        ("reaction", {"rho": 10.0, "u0": "sin"}),
        ("diffusion", {"nu": 5.0}),
        ("diffusion", {"nu": 2.0, "u0": "1+sin"}),
    ],
)
def test_exact_solution_has_zero_residual(name, params):
    problem = ps.make_problem(name, **params)
    r = _exact_residual(problem)
    scale = 1.0 + max(abs(v) for v in problem.coefficients.values())
    assert r.dtype == jnp.float64
    assert float(jnp.max(jnp.abs(r))) < 1e-11 * scale


def test_residual_detects_a_wrong_solution():
    problem = ps.make_problem("convection", beta=30.0)
    c = _coeffs(problem)
    wrong = lambda x, t: jnp.sin(x - 29.0 * t)  # noqa: E731
    r = jax.vmap(lambda p: problem.residual(wrong, *p, c))(_points(problem))
    assert float(jnp.max(jnp.abs(r))) > 0.1


def test_reaction_diffusion_residual_reduces_to_its_parts():
    rd = ps.make_problem("reaction-diffusion", nu=3.0, rho=5.0)
    c = _coeffs(rd)
    for steady in (0.0, 1.0):  # u ≡ 0 and u ≡ 1 are equilibria of the logistic reaction with diffusion
        r = jax.vmap(lambda p: rd.residual(lambda x, t: steady + 0.0 * x, *p, c))(_points(rd))
        assert float(jnp.max(jnp.abs(r))) == 0.0
    diff = ps.make_problem("diffusion", nu=3.0)
    no_reaction = {"nu": c["nu"], "rho": jnp.asarray(0.0, jnp.float64)}
    u = lambda x, t: diff.exact(x, t, _coeffs(diff))  # noqa: E731
    r = jax.vmap(lambda p: rd.residual(u, *p, no_reaction))(_points(rd))
    assert float(jnp.max(jnp.abs(r))) < 1e-11


@pytest.mark.parametrize(
    "name, params", [("convection", {"beta": 20.0}), ("reaction", {"rho": 5.0}), ("diffusion", {"nu": 2.0})]
)
def test_exact_solution_matches_reference_solver(name, params):
    problem = ps.make_problem(name, **params)
    ref = problem.reference_solution()
    assert ref.values.shape == (256, 100)
    assert ref.axes[0][-1] < 2 * math.pi  # periodic axis without its end point
    c = _coeffs(problem)
    exact = jax.vmap(lambda p: problem.exact(*p, c))(jnp.asarray(grid_points(ref.axes)))
    np.testing.assert_allclose(ref.values.ravel(), np.asarray(exact), atol=1e-10)


def test_constraints_sample_their_sets():
    problem = ps.make_problem("reaction-diffusion")
    key = jax.random.PRNGKey(3)
    ic, bc = problem.constraints
    rows = ic.sample(key, problem, 50)
    assert rows.shape == (50, 3)
    np.testing.assert_array_equal(rows[:, 1], 0.0)
    np.testing.assert_allclose(rows[:, 2], np.exp(-((rows[:, 0] - np.pi) ** 2) / (2 * (np.pi / 4) ** 2)), rtol=1e-6)
    pairs = bc.sample(key, problem, 40)
    assert pairs.shape == (40, 4)
    np.testing.assert_array_equal(pairs[:, 0], 0.0)
    np.testing.assert_allclose(pairs[:, 2], 2 * np.pi)
    np.testing.assert_array_equal(pairs[:, 1], pairs[:, 3])  # same time on both faces
    u = as_function(lambda z: jnp.sin(z[0]) * jnp.exp(-z[1]))  # periodic in x: value and slope match
    r = jax.vmap(lambda row: bc.residual(u, row, {}, problem))(pairs)
    assert r.shape == (40, 2) and float(jnp.max(jnp.abs(r))) < 1e-12


def test_dirichlet_and_neumann_on_a_square():
    square = ps.Problem(
        name="square", coords=("x", "y"), bounds=((0.0, 1.0), (0.0, 2.0)), time=None,
        residual=lambda u, x, y, c: 0.0 * x,
        constraints=(ps.Dirichlet(value=lambda x, y: x + y), ps.Neumann()),
    )
    key = jax.random.PRNGKey(0)
    d, n = square.constraints
    rows = d.sample(key, square, 400)
    on_face = (rows[:, 0] == 0) | (rows[:, 0] == 1) | (rows[:, 1] == 0) | (rows[:, 1] == 2)
    assert bool(jnp.all(on_face))
    assert bool(jnp.any(rows[:, 0] == 0)) and bool(jnp.any(rows[:, 1] == 2))  # all four faces drawn
    np.testing.assert_allclose(rows[:, 2], rows[:, 0] + rows[:, 1])
    # u = x² + y²: outward normal derivative is 2 on x=1, 0 on x=0, 4 on y=2, 0 on y=0
    u = as_function(lambda z: z[0] ** 2 + z[1] ** 2)
    nrows = n.sample(key, square, 400)
    dn = jax.vmap(lambda row: n.residual(u, row, {}, square))(nrows)
    z = nrows[:, :2]
    expected = jnp.where(z[:, 0] == 1, 2.0, 0.0) + jnp.where(z[:, 1] == 2, 4.0, 0.0)
    np.testing.assert_allclose(dn, expected, atol=1e-12)


def test_user_defined_problem_in_a_few_lines():
    @ps.register_problem("my-advection", params={"c": ps.Param(2.0, "speed", min=0.0)})
    def my_advection(c):
        return ps.Problem(
            name="my-advection", coords=("x", "t"), bounds=((0.0, 2 * jnp.pi), (0.0, 1.0)), periodic=("x",),
            residual=lambda u, x, t, k: jax.grad(u, 1)(x, t) + k["c"] * jax.grad(u, 0)(x, t),
            constraints=(ps.Initial(jnp.sin), ps.Periodic("x")), coefficients={"c": c},
            exact=lambda x, t, k: jnp.sin(x - k["c"] * t),
        )

    problem = ps.make_problem("my-advection", c="3")
    assert problem.coefficients == {"c": 3.0}
    assert float(jnp.max(jnp.abs(_exact_residual(problem)))) < 1e-12
    assert "my-advection" in ps.problem_specs()
    with pytest.raises(ps.PinnsightError, match="out of range"):
        ps.make_problem("my-advection", c=-1)


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("convecton", {}, "unknown problem 'convecton'"),
        ("convection", {"rho": 1}, "unknown parameter 'rho'"),
        ("convection", {"beta": "fast"}, "is not a number"),
        ("diffusion", {"nu": -1}, "out of range"),
        ("reaction", {"rho": "nan"}, "must be finite"),
        ("reaction", {"u0": "square"}, "is not one of"),
    ],
)
def test_bad_problem_input_is_a_clear_error(name, params, message):
    with pytest.raises(ps.PinnsightError, match=message):
        ps.make_problem(name, **params)
