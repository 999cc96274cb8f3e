"""``--remedy auto`` verifies its result without the reference and escalates (issue 20, item 5): the decision
table as a pure function, the verdict on an under-trained run, and the loop keeping the best validation loss
within its budget, every decision recorded."""

from __future__ import annotations

import math

import pytest

from pinnsight import planner
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.diagnostics.verify import Issue, Verdict, verify
from pinnsight.escalation import LIMITS, next_step
from pinnsight.trainer import train


def _config(**kw) -> TrainConfig:
    base = dict(problem="convection", params={"beta": 2.0}, model_options={"width": 8, "depth": 2},
                points={"res": 64, "ic": 16, "bc": 16}, phases=(PhaseConfig("adam", 200),), log_every=10,
                eval_every=50)
    return TrainConfig(**{**base, **kw})


def _verdict(*names: str) -> Verdict:
    return Verdict(1.0, {}, tuple(Issue(n, n) for n in names))


def test_decision_table():
    cfg = _config(phases=(PhaseConfig("adam", 100), PhaseConfig("ssbroyden", 300)))
    assert next_step(cfg, _verdict(), {}) is None  # verified: nothing to do
    s = next_step(cfg, _verdict("unconverged"), {})
    assert (s.action, s.warm, [p.name for p in s.config.phases]) == ("longer", True, ["ssbroyden"])
    assert [p.name for p in s.full.phases] == ["adam", "ssbroyden"]  # later steps build on the whole run
    s = next_step(cfg, _verdict("fresh-residual-high"), {})
    assert s.action == "more-points" and s.config.points["res"] == 128 and s.warm
    s = next_step(cfg, _verdict("fresh-residual-high"), {"more-points": LIMITS["more-points"]})
    assert s.action == "resample" and [(r.name, r.options["every"]) for r in s.config.remedies] == [("rad", 50)]
    s = next_step(cfg, _verdict("stalled"), {})
    assert (s.action, s.warm, s.config.model_options["width"]) == ("wider", False, 16)
    assert len(s.config.phases) == 2  # from scratch: the whole run
    assert next_step(cfg, _verdict("unconverged"), {"longer": LIMITS["longer"]}) is None
    driven = _config(remedies=("curriculum:coef=beta,start=1,stages=2",))
    s = next_step(driven, _verdict("unconverged"), {})
    assert not s.warm and s.config.phases[0].steps == 400  # a driver cannot be resumed: whole run, doubled
    owned = _config(remedies=("rad:every=10",))
    assert next_step(owned, _verdict("fresh-residual-high"), {"more-points": 2}) is None  # points already owned


def test_verdict_of_an_under_trained_run_without_using_its_reference():
    result = train(_config(phases=(PhaseConfig("adam", 150),)), progress=False)
    v = verify(result)
    assert [i.name for i in v.issues] == ["unconverged"]
    assert math.isfinite(v.validation_loss) and v.validation_loss > 0
    assert v.checks["last_phase"] == "adam" and v.checks["stop_reason"] == "budget"
    result.reference, result.metrics["rel_l2"] = None, None  # no reference: the verdict is the same
    assert verify(result).to_dict() == v.to_dict()


def test_auto_escalates_keeps_the_best_and_records_every_decision(tmp_path):
    import json

    from pinnsight.runs import write_run

    cfg = _config(remedies=("auto:probe_steps=50,second_order=0,budget_s=120",))
    result = planner.train(cfg, progress=False)
    rec = result.metrics["auto"]["verification"]
    rows = rec["attempts"]
    assert len(rows) >= 2 and rows[0]["action"]["name"] == "longer"
    assert all("why" in r["action"] for r in rows[:-1]) and rec["stopped"]
    kept = rows[rec["kept"]]
    assert kept["validation_loss"] == min(r["validation_loss"] for r in rows) < rows[0]["validation_loss"]
    assert result.metrics["rel_l2"] == pytest.approx(kept["rel_l2"])
    recorded = json.loads((write_run(tmp_path / "run", result) / "config.json").read_text())
    assert recorded["auto"]["verification"]["attempts"][0]["action"]["why"] == rows[0]["action"]["why"]
    # a budget too small for any step: verified as is, nothing retrained, the reason recorded
    small = planner.train(_config(remedies=("auto:probe_steps=50,second_order=0,budget_s=0.01",)), progress=False)
    srec = small.metrics["auto"]["verification"]
    assert srec["stopped"].startswith("budget") and len(srec["attempts"]) == 1


def test_auto_on_a_problem_without_reference_is_steered_by_the_verification():
    """A user's problem (no reference, no exact solution): the probe is not diagnosed, the run is verified and
    escalated by its validation loss alone."""
    import jax
    import jax.numpy as jnp

    import pinnsight as ps

    problem = ps.Problem(name="my-poisson", coords=("x",), bounds=((0.0, 1.0),), time=None,
                         residual=lambda u, x, c: -jax.grad(jax.grad(u))(x) - jnp.pi ** 2 * jnp.sin(jnp.pi * x),
                         constraints=(ps.Dirichlet(name="bc", n_points=16),))
    cfg = TrainConfig(problem=problem, model_options={"width": 8, "depth": 2}, points={"res": 32},
                      phases=(PhaseConfig("adam", 100),), log_every=10, eval_every=50,
                      remedies=("auto:probe_steps=30,budget_s=60",))
    result = planner.train(cfg, progress=False)
    auto = result.metrics["auto"]
    assert auto["findings"] == [] and "no reference" in auto["note"]
    rows = auto["verification"]["attempts"]
    assert all("rel_l2" not in r for r in rows) and math.isfinite(rows[0]["validation_loss"])
    assert rows[auto["verification"]["kept"]]["validation_loss"] <= rows[0]["validation_loss"]


def test_validation_loss_of_a_time_marched_run_uses_each_window_network():
    """The validation loss of a stitched solution: every row answered by the network of the window that holds it
    (the last window's network alone gave 7.6e4 on a solved convection β = 45 run)."""
    import dataclasses

    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    from pinnsight.diagnostics.verify import VERIFY_SALT, validation_loss
    from pinnsight.losses import loss_terms
    from pinnsight.sampling import sample_batch

    result = train(_config(params={"beta": 5.0}, phases=(PhaseConfig("adam", 150),),
                           remedies=("seq2seq:windows=2",)), progress=False)
    models, regions = result.artifacts["segment_models"], result.artifacts["segment_regions"]
    assert len(models) == len(regions) == 2
    cfg, problem = result.config, result.problem
    dtype = jax.tree.leaves(eqx.filter(result.model, eqx.is_array))[0].dtype
    batch = sample_batch(problem, jax.random.fold_in(jax.random.PRNGKey(cfg.seed), VERIFY_SALT), cfg.points, dtype)
    coeffs = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    owned = {k: [np.asarray(region(np.asarray(rows))) for region in regions] for k, rows in batch.items()}
    for masks in owned.values():  # each row in exactly one window
        assert np.array_equal(np.sum(masks, axis=0), np.ones(masks[0].shape[0]))
    sums = {k: 0.0 for k in batch}  # per term: Σ over windows of (its rows' mean with its network) × its row count
    for j, model in enumerate(models):
        sub = {k: rows[owned[k][j]] if owned[k][j].any() else rows for k, rows in batch.items()}
        terms = loss_terms(problem, model, sub, coeffs)
        for k in batch:
            sums[k] += float(terms[k]) * owned[k][j].sum()
    expected = sum(cfg.weights.get(k, 1.0) * sums[k] / batch[k].shape[0] for k in batch)
    assert validation_loss(result) == pytest.approx(expected, rel=1e-5)
    # without the windows' networks: the last network answers every row (what the loss was before), a different value
    last = loss_terms(problem, result.model, batch, coeffs)
    alone = sum(cfg.weights.get(k, 1.0) * float(v) for k, v in last.items())
    assert validation_loss(dataclasses.replace(result, artifacts={})) == pytest.approx(alone, rel=1e-5)
    assert alone != pytest.approx(expected, rel=1e-5)  # the two are told apart at the tolerance used above
