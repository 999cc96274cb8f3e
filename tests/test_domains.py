"""Problems on domains that are not boxes (issue 19): exact solutions satisfy their equations and conditions, points
are drawn in the domain, errors are measured on the grid points inside it, conditions on named parts, exact
Dirichlet conditions by distance functions, and the bad inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnsight import trainer
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.errors import PinnsightError
from pinnsight.geometry import Annulus, Box, Disk, Polygon
from pinnsight.models import make_model
from pinnsight.problems import Dirichlet, Fields, Neumann, Problem, Robin, constraint_view, make_problem
from pinnsight.sampling import sample_batch

from _cli import one_error_line, run_cli

NAMES = ("laplace-lshape", "poisson-annulus", "heat-disk")


def _batch(problem, n=400):
    points = {"res": n, **{c.name: c.n_points for c in problem.constraints}}
    return jax.jit(lambda k: sample_batch(problem, k, points, jnp.asarray(0.0).dtype))(jax.random.PRNGKey(0))


@pytest.mark.parametrize("name", NAMES)
def test_exact_solutions_satisfy_the_equation_and_the_conditions_at_points_of_the_domain(x64, name):
    problem = make_problem(name)
    batch = _batch(problem)
    space = [i for i, c in enumerate(problem.coords) if c != problem.time]
    assert bool(jnp.all(problem.domain.contains(batch["res"][:, jnp.asarray(space)], tol=1e-12)))
    c = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    exact = lambda *z: problem.exact(*z, c)  # noqa: E731
    res = jax.vmap(lambda z: problem.residual(exact, *z, c))(batch["res"])
    assert float(jnp.max(jnp.abs(res))) < 1e-8
    for con in problem.constraints:
        rows = batch[con.name]
        assert float(jnp.max(jnp.abs(jax.vmap(lambda r: con.residual(exact, r, c, problem))(rows)))) < 1e-10


def test_the_reference_grid_is_masked_to_the_domain():
    problem = make_problem("laplace-lshape")
    ref = problem.reference_solution()
    assert ref.inside.shape == ref.values.shape and ref.inside.mean() == pytest.approx(0.75, abs=0.02)
    assert np.all(ref.values[~ref.inside] == 0.0)
    x, y = np.meshgrid(*ref.axes, indexing="ij")
    np.testing.assert_array_equal(ref.inside, ~((x > 1e-9) & (y < -1e-9)))


def test_conditions_on_named_parts_sample_their_part_with_outward_normals():
    problem = make_problem("poisson-annulus")
    batch = _batch(problem)
    np.testing.assert_allclose(np.linalg.norm(batch["bc_inner"][:, :2], axis=1), 0.5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(batch["bc_outer"][:, :2], axis=1), 1.0, atol=1e-6)
    ring = Annulus((0, 0), 0.5, 1.0)
    p = Problem(name="ring-flux", coords=("x", "y"), bounds=((-1, 1), (-1, 1)), time=None,
                residual=lambda u, x, y, c: u(x, y), domain=ring,
                constraints=(Neumann(on="inner", name="flux", n_points=50),
                             Robin(on="outer", a=2.0, b=1.0, name="robin", n_points=50)))
    rows = np.asarray(_batch(p)["flux"])
    np.testing.assert_allclose(rows[:, 2:4], -rows[:, :2] / 0.5, atol=1e-6)  # normal toward the centre
    # ∂u/∂n and a u + b ∂u/∂n of u = x² + y² on the circles: inner −2r = −1, outer 2·1 + 1·2 = 4
    c = {}
    u = lambda x, y: x * x + y * y  # noqa: E731
    flux = jax.vmap(lambda r: p.constraints[0].residual(u, r, c, p))(jnp.asarray(rows))
    np.testing.assert_allclose(flux, -1.0, atol=1e-5)
    robin_rows = _batch(p)["robin"]
    np.testing.assert_allclose(jax.vmap(lambda r: p.constraints[1].residual(u, r, c, p))(robin_rows), 4.0, atol=1e-5)


def test_the_box_problems_sample_exactly_as_before():
    """A problem without a domain draws the same points (the box path is unchanged)."""
    problem = make_problem("helmholtz")
    batch = _batch(problem, 64)
    lo = jnp.array([[b[0] for b in problem.bounds]])
    hi = jnp.array([[b[1] for b in problem.bounds]])
    key = jax.random.split(jax.random.PRNGKey(0), len(problem.constraints) + 1)[0]
    np.testing.assert_array_equal(batch["res"], lo + (hi - lo) * jax.random.uniform(key, (64, 2)))


@pytest.mark.parametrize("name", ["laplace-lshape", "poisson-annulus", "heat-disk", "cylinder"])
def test_exact_dirichlet_conditions_hold_to_round_off_on_the_boundary(x64, name):
    """(The cylinder's no-slip part is given by a predicate: it is resolved to the circle piece.)"""
    problem = make_problem(name)
    model = make_model("mlp", problem.dim, key=jax.random.PRNGKey(1), dtype=jnp.float64, problem=problem,
                       exact_bc=True, width=8, depth=2)
    batch = _batch(problem)
    c = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    u = lambda *z: model(jnp.stack(z))  # noqa: E731
    if problem.n_fields > 1:
        u = Fields(u, problem.fields)
    for con in problem.constraints:
        if type(con) is Dirichlet:
            got = jax.vmap(lambda r: con.residual(constraint_view(problem, u, con), r, c, problem))(batch[con.name])
            assert float(jnp.max(jnp.abs(got))) < 1e-12, con.name
    if name in ("poisson-annulus", "heat-disk"):  # (the L-shape's six trimmed edges and the cylinder's
        # Navier–Stokes residual take long to compile; the L-shape's training test covers it)
        lap = jax.jit(jax.vmap(lambda z: problem.residual(u, *z, c)))(batch["res"])
        assert all(bool(jnp.all(jnp.isfinite(v))) for v in jax.tree.leaves(lap))  # g + φ·N: finite 2nd derivatives


def test_the_lift_uses_boundary_values_only():
    """g is interpolated from the data on the boundary: inside the L-shape it is not the exact solution (which
    the value function is), so a run learns the solution rather than being handed it."""
    problem = make_problem("laplace-lshape")
    model = make_model("mlp", 2, key=jax.random.PRNGKey(1), problem=problem, exact_bc=True, width=8, depth=2)
    inner = jnp.asarray([[-0.5, 0.5], [-0.3, -0.6], [0.4, 0.5]])
    lift = jax.vmap(model.lift)(inner)
    exact = jax.vmap(lambda z: problem.exact(*z, {}))(inner)
    assert float(jnp.max(jnp.abs(lift - exact))) > 1e-3


def test_a_short_training_on_the_annulus_learns_with_exact_conditions():
    base = dict(problem="poisson-annulus", model_options={"width": 16, "depth": 2},
                points={"res": 256, "bc_inner": 32, "bc_outer": 32}, log_every=50, eval_every=50, seed=0)
    config = TrainConfig(**base, phases=(PhaseConfig("adam", 300, {"lr": 0.01}),), exact_bc=True)
    trained = trainer.train(config)
    first, last = trained.history[0]["rel_l2"], trained.metrics["rel_l2"]
    assert last < 0.2 * first
    assert max(trained.metrics["final_losses"][k] for k in ("bc_inner", "bc_outer")) < 1e-10  # exact


def _square_with(*constraints, domain=None, **kw) -> Problem:
    return Problem(name="sq", coords=("x", "y"), bounds=((0.0, 1.0), (0.0, 1.0)), time=None,
                   residual=lambda u, x, y, c: u(x, y), constraints=constraints, domain=domain, **kw)


@pytest.mark.parametrize("build, message", [
    (lambda: _square_with(Dirichlet(on="nope"), domain=Disk((0.5, 0.5), 0.5)), "has no boundary part 'nope'"),
    (lambda: _square_with(Dirichlet(on="left")), "has no domain"),
    (lambda: _square_with(Dirichlet(coords=("x",)), domain=Disk((0.5, 0.5), 0.5)), "name a boundary part with on="),
    (lambda: _square_with(Dirichlet(), domain=Disk((0.5, 0.5), 0.8)), "outside bounds"),
    (lambda: _square_with(Dirichlet(), domain=Box((0, 0, 0), (1, 1, 1))), "3-D shape for 2 spatial"),
    (lambda: _square_with(Dirichlet(), domain="disk"), "expected a geometry shape"),
    (lambda: _square_with(Dirichlet(field="w"), domain=Disk((0.5, 0.5), 0.5)), "field"),
    (lambda: _square_with(Dirichlet(on="inlet"), domain=Box((0, 0), (1, 1)).with_parts(inlet=lambda x, y: x > 2)),
     "matches no boundary points"),
])
def test_bad_domains_and_parts_are_refused_when_the_problem_is_built(build, message):
    with pytest.raises(PinnsightError, match=message):
        build()


def test_exact_bc_without_a_dirichlet_condition_is_one_error_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "allen-cahn", "--exact-bc", "--steps", "1", "--out", tmp_path / "r")
    assert code == 2
    one_error_line(err, "no Dirichlet condition")
    assert not (tmp_path / "r").exists()


def test_polygon_domains_from_python():
    tri = Polygon(((0, 0), (1, 0), (0, 1)), names=("bottom", "hyp", "left"))
    p = _square_with(Dirichlet(on="hyp", name="bc_hyp", value=lambda x, y: x + y), domain=tri,
                     exact=lambda x, y, c: x + y)
    rows = np.asarray(_batch(p)["bc_hyp"])
    np.testing.assert_allclose(rows[:, 0] + rows[:, 1], 1.0, atol=1e-6)
    np.testing.assert_allclose(rows[:, 2], 1.0, atol=1e-6)
    assert p.reference_solution().inside.mean() == pytest.approx(0.5, abs=0.02)
