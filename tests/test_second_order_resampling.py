"""Residual-adaptive resampling during a quasi-Newton phase (issue 20, item 3): the points are redrawn every k
iterations inside the SSBroyden phase, the batch keeps its shape, nothing retraces (counted), and the
quasi-Newton state is kept (``restart=0``) or started afresh (``restart=1``) as asked."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

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
            _restart_case(restart)


def _restart_case(restart: int) -> None:
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
    assert changes.batch["res"].shape == state.batch["res"].shape
    assert changes.restart is bool(restart)
