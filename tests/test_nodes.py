"""Evaluation on scattered points (issue 19): the nodes of a mesh of the domain, the reference there (exact, or the
finite-element solution probed at them), the errors over them, the run's figure and arrays on the triangulation."""

from __future__ import annotations

import numpy as np
import pytest
import jax.numpy as jnp

from pinnsight import nodes, trainer
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.problems import make_problem
from pinnsight.problems.domains import L_VERTICES, lshape_exact
from pinnsight.runs import write_run


def test_the_lshape_nodes_lie_in_the_domain_and_carry_its_corners_and_the_exact_solution(x64):
    problem = make_problem("laplace-lshape")
    node_set = nodes.evaluation_nodes(problem)
    pts = node_set.points
    sdf = np.asarray(problem.domain.sdf(jnp.asarray(pts)))
    assert np.all(sdf <= 1e-12) and np.mean(np.abs(sdf) < 1e-12) > 0.02  # inside, and many on the boundary
    for vertex in L_VERTICES:  # every vertex of the polygon, the re-entrant corner (0, 0) among them
        assert np.min(np.linalg.norm(pts - np.asarray(vertex), axis=1)) < 1e-12
    a, b, c = (pts[node_set.triangles[:, i]] for i in range(3))
    area = np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]).sum() / 2
    assert area == pytest.approx(3.0, rel=1e-12)  # the triangles tile the L-shape exactly
    np.testing.assert_allclose(node_set.reference, np.asarray(lshape_exact(pts[:, 0], pts[:, 1])), atol=1e-14)


def test_node_errors_are_relative_l2_over_the_nodes_per_field_and_together():
    problem = make_problem("cylinder")
    ref = np.random.default_rng(0).normal(size=(50, 3))
    pred = ref * np.array([1.01, 1.0, 0.9])
    out = nodes.node_errors(problem, pred, ref)
    assert out["rel_l2_fields"] == pytest.approx({"u": 0.01, "v": 0.0, "p": 0.1})
    assert out["rel_l2"] == pytest.approx(np.linalg.norm(pred - ref) / np.linalg.norm(ref))


def test_only_steady_problems_on_shapes_have_nodes():
    assert nodes.evaluation_nodes(make_problem("heat-disk")) is None  # time-dependent: the space–time grid
    assert nodes.evaluation_nodes(make_problem("helmholtz")) is None  # a box
    assert nodes.has_nodes(make_problem("poisson-annulus"))


def test_the_plate_reference_at_points_is_the_finite_element_solution_of_the_grid(monkeypatch, x64):
    from pinnsight.problems import domains

    monkeypatch.setattr(domains, "PLATE_MESH", {"h": 0.1, "holes": 0.02})  # a coarse solve: the same code path
    problem = make_problem("helmholtz-plate")
    axes = (np.linspace(-1, 1, 21), np.linspace(-1, 1, 21))
    grid = problem.reference(dict(problem.coefficients), axes)
    X, Y = np.meshgrid(*axes, indexing="ij")
    inside = problem.inside_grid(axes)
    at = problem.reference_at(dict(problem.coefficients), np.stack([X[inside], Y[inside]], axis=1))
    np.testing.assert_allclose(at, grid[inside], atol=1e-12)
    assert np.max(np.abs(at)) > 0.05  # not the zero function


def test_a_run_on_the_annulus_reports_the_node_error_and_draws_the_mesh(tmp_path):
    config = TrainConfig(problem="poisson-annulus", model_options={"width": 16, "depth": 2},
                         points={"res": 256, "bc_inner": 32, "bc_outer": 32}, log_every=50, eval_every=50,
                         seed=0, phases=(PhaseConfig("adam", 300, {"lr": 0.01}),), exact_bc=True)
    result = trainer.train(config)
    m = result.metrics["nodes"]
    assert m["n"] > 1000
    # the same network against the same solution on two point sets that cover the domain alike
    assert 0.7 < m["rel_l2"] / result.metrics["rel_l2"] < 1.4, (m["rel_l2"], result.metrics["rel_l2"])
    evaluation = result.artifacts["nodes"]
    np.testing.assert_allclose(
        np.linalg.norm(evaluation.prediction - evaluation.nodes.reference) / np.linalg.norm(evaluation.nodes.reference),
        m["rel_l2"])
    out = write_run(tmp_path / "run", result)
    assert (out / "mesh.png").stat().st_size > 10_000
    saved = np.load(out / "prediction.npz")
    np.testing.assert_array_equal(saved["node_points"], evaluation.nodes.points)
    assert saved["node_triangles"].shape[1] == 3 and saved["node_prediction"].shape == (m["n"],)
    assert saved["node_residual"].shape == (m["n"],) and np.all(np.isfinite(saved["node_residual"]))


def test_the_mesh_figure_without_a_reference_shows_prediction_and_residual(tmp_path):
    from pinnsight.plots import plot_mesh

    problem = make_problem("cylinder")
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.4], [1.0, 0.4]])
    node_set = nodes.NodeSet(pts, np.array([[0, 1, 2], [1, 3, 2]]), None)
    evaluation = nodes.NodeEvaluation(node_set, np.arange(12.0).reshape(4, 3), np.array([1e-3, 1e-2, 1e-1, 1.0]),
                                      {})
    plot_mesh(problem, evaluation, tmp_path / "mesh.png")
    assert (tmp_path / "mesh.png").stat().st_size > 5_000


def test_a_shape_the_mesher_cannot_trace_leaves_the_grid_errors_alone(monkeypatch):
    from pinnsight.errors import PinnsightError

    def refuse(problem):
        raise PinnsightError("meshing: a boundary piece Curve is not a 2-D segment or circle")
    monkeypatch.setattr(nodes, "node_mesh", refuse)
    with pytest.warns(UserWarning, match="errors on the grid only"):
        assert nodes.evaluation_nodes(make_problem("laplace-lshape")) is None


def test_a_reference_at_of_the_wrong_signature_or_shape_is_named_and_never_breaks_a_run(x64):
    import dataclasses

    from pinnsight.errors import PinnsightError
    from pinnsight.problems import Problem

    problem = make_problem("laplace-lshape")
    fields = {f.name: getattr(problem, f.name) for f in dataclasses.fields(problem)}
    with pytest.raises(PinnsightError, match=r"reference_at\(c, points\)"):
        Problem(**{**fields, "reference_at": lambda points: points})
    flat = Problem(**{**fields, "reference_at": lambda c, points: np.zeros(3)})  # not one value per point
    with pytest.warns(UserWarning, match="returned shape \\(3,\\) for .* points; expected"):
        assert nodes.evaluation_nodes(flat) is None
