"""Residual-adaptive resampling during a quasi-Newton phase (issue 20, item 3): the points are redrawn every k
iterations inside the SSBroyden phase, the batch keeps its shape, nothing retraces (counted), and the
quasi-Newton state is kept (``restart=0``) or started afresh (``restart=1``) as asked."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pinnsight as ps
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.remedies import RemedySetup, Segment, StepInfo, build_remedies
from pinnsight.problems import grid_points
from pinnsight.precision import precision
from pinnsight.trainer import initial_state


def _config(steps: int, spec: str) -> TrainConfig:
    return TrainConfig(problem="convection", params={"beta": 2.0}, model_options={"width": 8, "depth": 2},
                       points={"res": 64, "ic": 16, "bc": 16}, x64=True, log_every=10, eval_every=10,
                       phases=(PhaseConfig("adam", 20), PhaseConfig("ssbroyden", steps)), remedies=(spec,))


def test_resampling_inside_ssbroyden_keeps_shapes_and_never_retraces(convection_traces):
    counts, results = [], []
    for steps in (40, 120):  # 2 and 10 resamples inside the quasi-Newton phase
        convection_traces["n"] = 0
        result = ps.train(_config(steps, "rad:every=10"), progress=False)
        counts.append(convection_traces["n"])
        results.append(result)
    assert counts[0] == counts[1] > 0, counts
    h = results[1].history
    resampled = [r["step"] for r in h if r.get("resampled") and r["phase"] == "ssbroyden"]
    assert len(resampled) >= 9, resampled  # every 10 iterations of the quasi-Newton phase
    snaps = results[1].metrics.get("phases")
    assert [p["name"] for p in snaps] == ["adam", "ssbroyden"] and snaps[1]["steps"] == 120
    assert np.isfinite(results[1].metrics["rel_l2"])


def test_restart_option_asks_the_trainer_to_reset_the_quasi_newton_state():
    for restart in (0, 1):
        with precision(True):
            changes, shape = _rad_update(restart)
        assert changes.batch["res"].shape == shape
        assert changes.restart is bool(restart)


def _rad_update(restart: int):
    """One RAD update in the SSBroyden phase: (its Changes, the shape of the residual batch it replaces)."""
    cfg = _config(20, f"rad:every=5,restart={restart}")
    problem = cfg.build_problem()
    static, state = initial_state(cfg, problem)
    setup = RemedySetup(cfg, problem, static, jnp.float64, jax.random.PRNGKey(0),
                        grid_points(problem.reference_axes()), lambda key: state.params)
    (rad,) = build_remedies(cfg.remedies, setup)
    segment = Segment(bounds=tuple(problem.bounds))
    _, rstate = rad.init(segment)
    info = StepInfo(30, "ssbroyden", 10, 30, state.params, state, {"res": 1.0}, 1.0, segment, False)
    changes, _ = rad.update(rstate, info)
    return changes, state.batch["res"].shape


@pytest.mark.slow
def test_short_burgers_with_resampling_inside_ssbroyden_beats_the_same_budget_without():
    """The Burgers record recipe, scaled down (float64, 3 × 20, 2000 residual points, Adam 500 + SSBroyden 1000):
    with RAD every 200 iterations (in the SSBroyden phase too) it reached rel L2 3.8e-3 (seed 0; 1.4e-3 seed 1);
    the same budget without resampling — the old recipe — ended at 0.37, and Adam + L-BFGS at 0.42 with 1500
    L-BFGS iterations (measured 2026-12-02; FINDINGS: with 1000 points every old sequence ended at 0.16–0.46)."""
    def run(remedies):
        cfg = TrainConfig(problem="burgers", x64=True, model_options={"width": 20, "depth": 3}, points={"res": 2000},
                          phases=(PhaseConfig("adam", 500), PhaseConfig("ssbroyden", 1000)), remedies=remedies,
                          log_every=100, eval_every=500)
        return ps.train(cfg, progress=False).metrics["rel_l2"]

    new, old = run(("rad:every=200",)), run(())
    assert new < 1e-2 and old > 0.1, (new, old)
