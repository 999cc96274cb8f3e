"""Issue 18, measured data and unknown coefficients: the data term, trainable coefficients wherever they appear
(residual, boundary data), their parametrisations, identification, and the bad inputs of the command line."""

from __future__ import annotations

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnsight import trainer
from pinnsight.cli import main
from pinnsight.config import PhaseConfig, TrainConfig, UnknownConfig
from pinnsight.errors import PinnsightError
from pinnsight.losses import make_objective, pointwise_residuals
from pinnsight.models import Unknowns, make_model, unknown_values
from pinnsight.observations import make_observations
from pinnsight.problems import Dirichlet, Problem, make_problem
from pinnsight.sampling import sample_batch


def exact_observations(problem, n=300, seed=0):
    """``n`` random points of the box with the exact solution's values."""
    rng = np.random.default_rng(seed)
    lo, hi = np.array(problem.bounds).T
    pts = lo + (hi - lo) * rng.random((n, problem.dim))
    c = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    vals = np.asarray(jax.vmap(lambda z: problem.exact(*z, c))(jnp.asarray(pts)))
    return make_observations(pts, {"u": vals}, coords=problem.coords, fields=("u",), bounds=problem.bounds)


def test_the_exact_solution_makes_the_residual_and_the_data_misfit_vanish():
    problem = make_problem("convection", beta=3.0)
    problem = problem.with_observations(exact_observations(problem))
    c = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    exact = lambda z: problem.exact(*z, c)  # noqa: E731  (a "model" that is the solution)
    batch = sample_batch(problem, jax.random.PRNGKey(0), {"res": 200, "ic": 50, "bc": 50, "data": 300})
    out = pointwise_residuals(problem, exact, batch, c)
    assert set(out) == {"res", "ic", "bc", "data"}
    assert float(jnp.max(jnp.abs(out["data"]))) < 1e-5 and float(jnp.max(jnp.abs(out["res"]))) < 1e-4
    wrong = lambda z: exact(z) + 0.1  # noqa: E731
    assert float(jnp.max(jnp.abs(pointwise_residuals(problem, wrong, batch, c)["data"]) - 0.1)) < 1e-5


@pytest.mark.parametrize("lo, hi", [(None, None), (0.0, None), (None, 5.0), (1.0, 4.0)])
def test_parametrisations_start_at_the_initial_value_and_honour_their_bounds(x64, lo, hi):
    u = Unknowns.create({"k": 2.0}, {"k": (lo, hi)}, jnp.float64)
    assert float(u.values()["k"]) == pytest.approx(2.0, rel=1e-12)
    for raw in (-50.0, -3.0, 0.0, 3.0, 50.0):
        v = float(Unknowns({"k": jnp.asarray(raw)}, u.bounds).values()["k"])
        assert (lo is None or v >= lo) and (hi is None or v <= hi) and np.isfinite(v)


def test_a_coefficient_only_in_a_boundary_condition_gets_the_right_gradient(x64):
    """DeepXDE users report wrong gradients here: u'' = 0 on [0, 1] with u(0) = 0, u(1) = a (a in the boundary
    data only). The loss gradient with respect to the unknown's raw value matches central differences."""
    problem = Problem(name="bc-coef", coords=("x",), bounds=((0.0, 1.0),), time=None,
                      residual=lambda u, x, c: jax.grad(jax.grad(u))(x),
                      constraints=(Dirichlet(value=lambda x, c: c["a"] * x, name="bc", n_points=20),),
                      coefficients={"a": 2.0})
    model = make_model("mlp", 1, key=jax.random.PRNGKey(1), dtype=jnp.float64, problem=problem,
                       unknowns={"a": (0.7, None, None)}, width=8, depth=2)
    params, static = eqx.partition(model, eqx.is_array)
    batch = sample_batch(problem, jax.random.PRNGKey(2), {"res": 30, "bc": 20}, jnp.float64)
    objective = make_objective(problem, static)
    weights = {"res": 1.0, "bc": 1.0}
    coeffs = {"a": jnp.asarray(2.0)}  # the problem's value: replaced by the unknown in the loss
    loss = lambda p: objective(p, batch, weights, coeffs)[0]  # noqa: E731
    grad = jax.grad(loss)(params).unknowns.raw["a"]

    def at(raw):
        return loss(eqx.tree_at(lambda p: p.unknowns.raw["a"], params, jnp.asarray(raw)))

    h, raw = 1e-6, float(params.unknowns.raw["a"])
    fd = (at(raw + h) - at(raw - h)) / (2 * h)
    assert abs(float(grad)) > 1e-3 and float(grad) == pytest.approx(float(fd), rel=1e-6)
    assert float(loss(params)) != pytest.approx(float(at(2.0)))  # the target moves with the unknown


def identification(phases, seed=0):
    problem = make_problem("convection", beta=3.0)
    data = exact_observations(problem, n=400)
    return TrainConfig(problem=make_problem("convection", beta=3.0).with_observations(data),
                       unknowns=(UnknownConfig("beta", 1.0, truth=3.0),), phases=phases, seed=seed,
                       model_options={"width": 24, "depth": 3}, points={"res": 300, "ic": 64, "bc": 64},
                       log_every=50, eval_every=500)


def test_a_small_identification_recovers_the_coefficient_with_adam_and_lbfgs():
    """β of u_t + β u_x = 0 from 400 exact samples, starting at β = 1 (truth 3)."""
    result = trainer.train(identification((PhaseConfig("adam", 800), PhaseConfig("lbfgs", 200))), progress=False)
    found = result.metrics["unknowns"]["beta"]
    assert found["rel_error"] < 0.02, found
    assert result.history[0]["unknown_beta"] == pytest.approx(1.0, rel=1e-6)
    assert result.metrics["data"]["data"]["train_rms"] < 0.05
    assert unknown_values(eqx.filter(result.model, eqx.is_array))["beta"] == pytest.approx(found["value"])


def test_second_order_phases_move_the_unknowns_too():
    config = identification((PhaseConfig("adam", 100), PhaseConfig("gauss-newton", 5)))
    result = trainer.train(config, progress=False)
    gn = [r for r in result.history if r["phase"] == "gauss-newton"]
    before = [r for r in result.history if r["phase"] == "adam"][-1]
    assert gn[-1]["unknown_beta"] != before["unknown_beta"] and gn[-1]["loss"] < before["loss"]


# ------------------------------------------------------------------------------------------ command line
def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    problem = make_problem("convection", beta=3.0)
    path = tmp_path_factory.mktemp("data") / "samples.csv"
    exact_observations(problem, n=200).save(path)
    return path


def test_the_cli_trains_an_inverse_problem_and_records_the_unknown(tmp_path, capsys, data_file):
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "convection", "-p", "beta=3", "--unknown", "beta=1:truth=3",
                           "--data", data_file, "--held-out", "0.25", "--steps", "60", "--lbfgs-steps", "0",
                           "--model", "mlp:width=8,depth=2", "--points", "res=128", "--log-every", "20",
                           "--eval-every", "20", "--no-progress", "--checkpoint-every", "0", "--out", out)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["unknowns"]["beta"]) >= {"value", "initial", "truth", "rel_error"}
    assert metrics["data"]["data"]["n_train"] == 150 and metrics["data"]["data"]["n_heldout"] == 50
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert {"unknown_beta", "data_loss", "data_heldout_rms"} <= set(header)
    assert (out / "unknowns.png").is_file()
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["unknowns"][0]["name"] == "beta" and config["data"]["held_out"] == 0.25


@pytest.mark.parametrize("args, fragment", [
    (["--unknown", "gamma=1"], "not a coefficient of convection"),
    (["--unknown", "beta"], "expected NAME=INITIAL"),
    (["--unknown", "beta=1:lo=2"], "strictly inside its bounds"),
    (["--unknown", "beta=1:lo=2,hi=1"], "must be below"),
    (["--unknown", "beta=1:tol=3"], "unknown option 'tol'"),
    (["--unknown", "beta=nan"], "beta"),
    (["--unknown", "beta=1", "--unknown", "beta=2"], "given twice"),
    (["--held-out", "0.2"], "--data FILE, which is not given"),
    (["--data", "missing.csv"], "missing.csv"),
])
def test_bad_inverse_options_are_one_error_line_and_nothing_is_written(tmp_path, capsys, args, fragment):
    code, _, err = run_cli(capsys, "train", "convection", *args, "--steps", "1", "--out", tmp_path / "r")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("pinnsight: error: ") and fragment in lines[0], err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("content, fragment", [
    ("x,t\n1,0.5\n", "field"),  # no field column
    ("x,t,u,w\n1,0.5,0.1,2\n", "'w'"),  # an extra column
    ("x,t,u\n1,0.5,nan\n", "NaN"),
    ("x,t,u\n9,0.5,0.1\n", "outside"),  # x beyond 2π
    ("x,u\n1,0.1\n", "'t'"),  # a coordinate missing
])
def test_bad_data_files_are_one_error_line_naming_the_file(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, _, err = run_cli(capsys, "train", "convection", "--data", path, "--steps", "1", "--out", tmp_path / "r")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and str(path) in lines[0] and fragment in lines[0], err
    assert not (tmp_path / "r").exists()
