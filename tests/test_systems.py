"""Issue 18, PDE systems: several fields, several named equations (each its own loss term), constraints on one
field, data of several fields; Kovasznay and Taylor–Green (Navier–Stokes, exact) as the cases."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnsight import trainer
from pinnsight.cli import main
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.errors import PinnsightError
from pinnsight.losses import pointwise_residuals
from pinnsight.models import make_model
from pinnsight.observations import make_observations
from pinnsight.problems import Dirichlet, Fields, Initial, Problem, exact_values, make_problem
from pinnsight.problems.navier_stokes import kovasznay_exact, kovasznay_lambda
from pinnsight.sampling import sample_batch


@pytest.mark.parametrize("name", ["kovasznay", "taylor-green"])
def test_the_exact_solutions_make_every_equation_and_constraint_vanish(x64, name):
    problem = make_problem(name)
    c = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    exact = lambda z: exact_values(problem, list(z), c)  # noqa: E731  (a "model" that is the solution)
    batch = sample_batch(problem, jax.random.PRNGKey(0), {k: 300 for k in problem.batch_names}, jnp.float64)
    out = pointwise_residuals(problem, exact, batch, c)
    assert set(out) == set(problem.term_names) and {"mom_x", "mom_y", "div"} <= set(out)
    for term, values in out.items():
        assert float(jnp.max(jnp.abs(values))) < 1e-10, term
    wrong = lambda z: exact(z) * jnp.asarray([1.0, 1.0, 1.1])  # noqa: E731  (pressure off by 10 %)
    moved = pointwise_residuals(problem, wrong, batch, c)
    assert float(jnp.max(jnp.abs(moved["mom_x"]))) > 1e-3 and float(jnp.max(jnp.abs(moved["div"]))) < 1e-10


def test_models_give_one_output_per_field_and_the_scalar_models_are_unchanged():
    kov, conv = make_problem("kovasznay"), make_problem("convection")
    for model in ("mlp", "modified-mlp", "fourier"):
        net = make_model(model, 2, key=jax.random.PRNGKey(0), problem=kov)
        assert net(jnp.zeros(2)).shape == (3,)
    scalar = make_model("mlp", 2, key=jax.random.PRNGKey(0), problem=conv)
    assert scalar(jnp.zeros(2)).shape == ()
    vector = make_model("mlp", 2, key=jax.random.PRNGKey(0), problem=kov)  # same hidden layers, same draw
    np.testing.assert_array_equal(vector.weights[0], scalar.weights[0])
    with pytest.raises(PinnsightError, match="gives one field"):
        make_model("hard-constraint", 2, key=jax.random.PRNGKey(0), problem=kov)


def two_field_problem(**overrides):
    """u_x − v = 0, v_x + u = 0 on [0, π/2] (u = sin, v = cos), u and v given on both faces."""
    kw = dict(name="pair", coords=("x",), bounds=((0.0, np.pi / 2),), time=None, fields=("u", "v"),
              equations=("first", "second"),
              residual=lambda f, x, c: {"first": jax.grad(f.u)(x) - f.v(x), "second": jax.grad(f.v)(x) + f.u(x)},
              constraints=(Dirichlet(value=jnp.sin, field="u", name="bc_u"),
                           Dirichlet(value=jnp.cos, field="v", name="bc_v")),
              exact=lambda x, c: {"u": jnp.sin(x), "v": jnp.cos(x)})
    return Problem(**{**kw, **overrides})


@pytest.mark.parametrize("overrides, fragment", [
    ({"constraints": (Dirichlet(value=lambda x: 0.0 * x, name="bc"),)}, "must say which field"),
    ({"constraints": (Dirichlet(value=lambda x: 0.0 * x, field="w", name="bc"),)}, "'w' is not a field"),
    ({"residual": lambda f, x, c: {"first": f.u(x)}}, "must return a dict of the equations first, second"),
    ({"residual": lambda f, x, c: f.u(x)}, "must return a dict"),
    ({"fields": ("u", "u")}, "unique"),
    ({"equations": ("first", "bc_u")}, "equation's loss term"),
    ({"exact": lambda x, c: jnp.sin(x)}, "exact"),
])
def test_a_malformed_system_is_refused_when_it_is_built(overrides, fragment):
    with pytest.raises(PinnsightError, match=fragment):
        two_field_problem(**overrides)


def test_fields_give_each_field_as_a_scalar_function():
    f = Fields(lambda x, y: jnp.stack([x + y, x * y, x - y]), ("u", "v", "p"))
    assert float(f.v(2.0, 3.0)) == 6.0 and float(f["p"](2.0, 3.0)) == -1.0
    assert float(jax.grad(f.u, 1)(2.0, 3.0)) == 1.0
    with pytest.raises(AttributeError):
        f.w  # noqa: B018


def test_a_small_system_trains_with_a_loss_term_per_equation_and_errors_per_field():
    config = TrainConfig(problem=two_field_problem(), model_options={"width": 16, "depth": 2},
                         phases=(PhaseConfig("adam", 600), PhaseConfig("lbfgs", 200)),
                         points={"res": 64, "bc_u": 8, "bc_v": 8}, log_every=100, eval_every=200,
                         weights={"second": 2.0})
    result = trainer.train(config, progress=False)
    row = result.history[-1]
    assert {"first_loss", "second_loss", "bc_u_loss", "second_weight", "rel_l2_u", "rel_l2_v"} <= set(row)
    assert row["second_weight"] == 2.0
    assert result.metrics["rel_l2"] < 1e-2 and set(result.metrics["rel_l2_fields"]) == {"u", "v"}
    assert result.prediction.shape == (100, 2)


def test_data_of_several_fields_is_one_term_with_a_misfit_per_observed_field():
    problem = make_problem("kovasznay")
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-0.5, 1.0, 50), rng.uniform(-0.5, 1.5, 50)])
    lam = kovasznay_lambda(problem.coefficients["re"])
    vals = kovasznay_exact(jnp.asarray(pts[:, 0]), jnp.asarray(pts[:, 1]), lam)
    obs = make_observations(pts, {"u": np.asarray(vals["u"]), "v": np.asarray(vals["v"])}, coords=("x", "y"),
                            fields=problem.fields, bounds=problem.bounds)
    with_data = problem.with_observations(obs)
    assert with_data.constraints[-1].fields == ("u", "v") and with_data.constraints[-1].rows.shape == (50, 4)
    c = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    exact = lambda z: exact_values(problem, list(z), c)  # noqa: E731
    batch = sample_batch(with_data, jax.random.PRNGKey(0), {k: 20 for k in with_data.batch_names[:-1]} | {"data": 50})
    out = pointwise_residuals(with_data, exact, batch, c)
    assert out["data"].shape == (50, 2) and float(jnp.max(jnp.abs(out["data"]))) < 1e-5


def oscillator():
    """u_t − v = 0, v_t + u = 0 on t ∈ [0, 1] from u(0) = 0, v(0) = 1 (u = sin t, v = cos t): a system in time."""
    return Problem(name="oscillator", coords=("t",), bounds=((0.0, 1.0),), fields=("u", "v"),
                   equations=("du", "dv"),
                   residual=lambda f, t, c: {"du": jax.grad(f.u)(t) - f.v(t), "dv": jax.grad(f.v)(t) + f.u(t)},
                   constraints=(Initial(value=lambda: 0.0, field="u", name="ic_u", n_points=1),
                                Initial(value=lambda: 1.0, field="v", name="ic_v", n_points=1)),
                   exact=lambda t, c: {"u": jnp.sin(t), "v": jnp.cos(t)})


@pytest.mark.parametrize("remedies", [("lra:every=10",), ("inverse-dirichlet:every=10", "rar:every=10"),
                                      ("causal",), ("ntk:every=10",), ("seq2seq:windows=2",)])
def test_remedies_run_on_a_system(remedies):
    config = TrainConfig(problem=oscillator(), model_options={"width": 12, "depth": 2},
                         phases=(PhaseConfig("adam", 40),), points={"res": 64}, log_every=10, eval_every=20,
                         remedies=remedies)
    result = trainer.train(config, progress=False)
    assert np.isfinite(result.history[-1]["loss"]) and result.metrics["rel_l2"] < 2
    name = remedies[0].split(":")[0]
    if name in ("lra", "inverse-dirichlet", "ntk"):  # weights moved for the terms the scheme adapts
        moved = {k[:-len("_weight")] for k, v in result.history[-1].items() if k.endswith("_weight") and v != 1.0}
        assert moved and moved <= set(result.problem.term_names)
        if name == "lra":  # the equations are the anchors: their weights stay 1
            assert not moved & {"du", "dv"}


def test_gauss_newton_takes_every_equations_rows():
    problem = two_field_problem()
    config = TrainConfig(problem=problem, model_options={"width": 8, "depth": 2},
                         phases=(PhaseConfig("adam", 50), PhaseConfig("gauss-newton", 5)),
                         points={"res": 32, "bc_u": 4, "bc_v": 4}, log_every=5, eval_every=5)
    result = trainer.train(config, progress=False)
    gn = [r for r in result.history if r["phase"] == "gauss-newton"]
    assert gn[-1]["loss"] < [r for r in result.history if r["phase"] == "adam"][-1]["loss"]


def test_the_cli_trains_a_system_and_predicts_every_field(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "kovasznay", "--steps", "30", "--lbfgs-steps", "0", "--model", "mlp:width=8,depth=2",
                 "--points", "res=64", "--log-every", "10", "--eval-every", "10", "--no-progress",
                 "--checkpoint-every", "0", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["rel_l2_fields"]) == {"u", "v", "p"} and (out / "solution.png").is_file()
    assert set(metrics["final_losses"]) == {"mom_x", "mom_y", "div", "bc_u", "bc_v", "bc_p"}
    points = tmp_path / "points.csv"
    points.write_text("x,y\n0.0,0.0\n0.5,1.0\n")
    capsys.readouterr()
    assert main(["predict", str(out), "--points", str(points)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "x,y,u,v,p" and len(lines) == 3
