"""examples/own_problem.py: a user's Problem object in a few lines, with no reference solution — it builds, says
it has no reference, and is evaluated (residual and boundary errors on fresh points) for an untrained network."""

import pathlib
import runpy

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import pinnsight as ps
from pinnsight.evaluation import make_residual_errors

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "own_problem.py"


def load():
    return runpy.run_path(str(EXAMPLE))["problem"]  # not as __main__: builds the problem, trains nothing


def test_the_example_builds_a_problem_without_a_reference():
    problem = load()
    assert isinstance(problem, ps.Problem)
    assert problem.term_names == ("res", "bc") and problem.coords == ("x",) and problem.time is None
    assert not problem.has_reference and problem.reference_solution() is None
    assert len(EXAMPLE.read_text().split("problem = ps.Problem(", 1)[1].split("\n\n", 1)[0].splitlines()) <= 4


def test_an_untrained_network_is_evaluated():
    problem = load()
    model = ps.make_model("mlp", problem.dim, key=jax.random.PRNGKey(0), width=16, depth=2)
    params, static = eqx.partition(model, eqx.is_array)
    errors = make_residual_errors(problem, static, {"res": 128, "bc": 16})
    out = {k: float(v) for k, v in errors(params, {}, jax.random.PRNGKey(1)).items()}
    assert set(out) == {"res_rms", "res_max", "bc_rms"}
    assert all(np.isfinite(v) for v in out.values())
    assert out["res_rms"] > 1.0 and out["res_max"] >= out["res_rms"]  # −u'' ≈ 0 for a fresh net, f = π² sin(πx)


def test_the_solution_the_example_does_not_know_has_no_residual():
    """u = sin(πx) solves the example's problem: its residual and boundary errors vanish (float32 rounding)."""

    class Sine(eqx.Module):
        scale: jax.Array

        def __call__(self, z):
            return self.scale * jnp.sin(jnp.pi * z[0])

    problem = load()
    params, static = eqx.partition(Sine(jnp.float32(1.0)), eqx.is_array)
    out = make_residual_errors(problem, static, 256)(params, {}, jax.random.PRNGKey(2))
    assert float(out["res_rms"]) < 1e-4 and float(out["bc_rms"]) < 1e-6


def test_a_problem_object_without_reference_trains_and_writes_its_run(tmp_path):
    """train(Problem) needs no registration and no reference: metrics and history report the residual and the
    boundary error on fresh points, rel_l2 is absent (not invented), the run directory shows prediction and
    residual. An exactly solvable case checks the numbers mean something: the residual falls with training."""
    import pinnsight as ps
    from pinnsight.runs import write_run

    problem = load()
    short = ps.train(problem, ps.TrainConfig(phases=(ps.PhaseConfig("adam", 20),), log_every=10, eval_every=10),
                     progress=False)
    result = ps.train(problem, ps.TrainConfig(phases=(ps.PhaseConfig("adam", 600), ps.PhaseConfig("lbfgs", 100)),
                                              points={"res": 128}, log_every=100, eval_every=100), progress=False)
    assert "rel_l2" not in result.metrics and result.reference is None
    assert all("rel_l2" not in row for row in result.history)
    res = result.metrics["residual"]
    assert set(res) >= {"res_rms_fresh", "res_max_fresh", "bc_rms_fresh"}
    assert res["res_rms_fresh"] < short.metrics["residual"]["res_rms_fresh"] / 10
    rows = [r for r in result.history if r.get("res_rms_fresh") is not None]
    assert len(rows) >= 3
    out = write_run(tmp_path / "run", result)
    assert (out / "solution.png").is_file() and (out / "prediction.npz").is_file()
    assert result.config.problem_name == problem.name
