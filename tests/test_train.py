"""Trainer: reaches a stated error, is deterministic, never retraces per chunk, stops for stated reasons."""

import importlib
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pinnsight as ps
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.problems import failure_modes


def _cfg(adam=200, lbfgs=0, **kw):
    phases = tuple(p for p in (PhaseConfig("adam", adam), PhaseConfig("lbfgs", lbfgs)) if p.steps)
    return TrainConfig(**{"problem": "convection", "params": {"beta": 1.0}, "phases": phases, **kw})


def test_convection_beta1_trains_below_2e2():
    t0 = time.perf_counter()
    result = ps.train(_cfg(adam=1500, lbfgs=200, eval_every=500), progress=False)
    assert result.metrics["rel_l2"] < 2e-2
    lbfgs = result.metrics["phases"][1]
    # L-BFGS either spends its budget or says it stopped because float32 progress ended (never silently)
    assert lbfgs["stop_reason"] == "budget" or (lbfgs["stop_reason"] == "no-progress" and lbfgs["steps"] < 200)
    assert result.metrics["stop_reason"] == lbfgs["stop_reason"]
    assert time.perf_counter() - t0 < 60
    errors = [r["rel_l2"] for r in result.history if r["rel_l2"] is not None]
    assert errors[-1] < 0.1 * errors[0]  # the error fell by at least 10×, not just the loss
    assert set(result.metrics["final_losses"]) == {"res", "ic", "bc"}


def test_same_seed_same_numbers_other_seed_differs():
    a = ps.train(_cfg(adam=200, lbfgs=20, seed=7), progress=False)
    b = ps.train(_cfg(adam=200, lbfgs=20, seed=7), progress=False)
    c = ps.train(_cfg(adam=200, seed=8), progress=False)
    loss = lambda r: [row["loss"] for row in r.history]  # noqa: E731
    assert loss(a) == loss(b) and a.metrics["rel_l2"] == b.metrics["rel_l2"]
    assert loss(a)[:3] != loss(c)[:3]


def test_float32_numbers_do_not_depend_on_an_earlier_float64_run():
    """A float64 run switches JAX's 64-bit mode on for the process; a float32 run after it must still give the
    numbers it gives in a fresh process (it once did not: weak-typed constants became float64)."""
    before = jax.config.jax_enable_x64
    a = ps.train(_cfg(adam=100, seed=3), progress=False)
    try:
        jax.config.update("jax_enable_x64", True)
        b = ps.train(_cfg(adam=100, seed=3), progress=False)
    finally:
        jax.config.update("jax_enable_x64", before)
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    assert a.metrics["rel_l2"] == b.metrics["rel_l2"] and b.metrics["dtype"] == "float32"


def test_jitted_steps_do_not_retrace_per_chunk(monkeypatch):
    """Trace count of the residual is the same for 2 and 8 chunks per phase: compilation is per run, not per step."""
    traces = {"n": 0}
    original = failure_modes.convection_residual

    def counting(u, x, t, c):
        traces["n"] += 1
        return original(u, x, t, c)

    def count(adam, lbfgs):
        traces["n"] = 0
        problem = ps.make_problem("convection", beta=1.0)
        monkeypatch.setattr(TrainConfig, "build_problem", lambda self: ps.Problem(
            **{**problem.__dict__, "residual": counting}))
        ps.train(_cfg(adam=adam, lbfgs=lbfgs, log_every=50, eval_every=50), progress=False)
        return traces["n"]

    few, many = count(100, 100), count(400, 400)
    assert few == many > 0


def test_steps_are_fused_one_dispatch_per_chunk(monkeypatch):
    """1000 Adam steps with log_every=100 are 10 jitted calls (10 host syncs), not 1000."""
    phases_module = importlib.import_module("pinnsight.trainer.phases")  # where the trainer builds its chunks

    calls = {"n": 0}
    original = phases_module.make_chunk

    def counting_factory(*args):
        chunk = original(*args)

        def counted(*a):
            calls["n"] += 1
            return chunk(*a)

        return counted

    monkeypatch.setattr(phases_module, "make_chunk", counting_factory)
    result = ps.train(_cfg(adam=1000, log_every=100, eval_every=500), progress=False)
    assert result.metrics["steps"] == 1000
    assert calls["n"] == 10


def test_nan_stops_and_keeps_finite_parameters(monkeypatch):
    """A residual that turns non-finite once |u| exceeds 0.5 (it starts near 0): Adam must stop with 'nan'."""
    problem = ps.make_problem("convection", beta=1.0)

    def blows_up(u, x, t, c):
        return failure_modes.convection_residual(u, x, t, c) + jnp.sqrt(0.5 - jnp.abs(u(x, t)))

    monkeypatch.setattr(TrainConfig, "build_problem", lambda self: ps.Problem(**{**problem.__dict__, "residual": blows_up}))
    result = ps.train(_cfg(adam=2000, lbfgs=50, log_every=50, eval_every=50), progress=False)
    assert result.metrics["stop_reason"] == "nan"
    assert result.metrics["phases"][1]["stop_reason"] == "skipped"
    leaves = jax.tree.leaves(result.model)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in leaves)


def test_target_error_stops_early_and_skips_later_phases():
    result = ps.train(_cfg(adam=2000, lbfgs=100, target_rel_l2=0.5, log_every=50, eval_every=50), progress=False)
    assert result.metrics["stop_reason"] == "target"
    assert result.metrics["steps"] < 2000
    assert result.metrics["rel_l2"] <= 0.5
    assert result.metrics["phases"][1]["stop_reason"] == "skipped"


def test_lbfgs_records_iterations_and_stop_reason():
    result = ps.train(_cfg(adam=300, lbfgs=400, phases=(
        PhaseConfig("adam", 300), PhaseConfig("lbfgs", 400, {"gtol": 1e-2}))), progress=False)
    lbfgs = result.metrics["phases"][1]
    assert lbfgs["stop_reason"] == "gtol"  # a loose gradient tolerance ends it early, and it says so
    assert 0 < lbfgs["steps"] < 400
    assert lbfgs["function_evals"] >= lbfgs["steps"]
    assert lbfgs["end_loss"] < lbfgs["start_loss"]
    full = ps.train(_cfg(adam=300, lbfgs=100), progress=False)
    assert full.metrics["phases"][1]["steps"] == 100  # default tolerances: runs its whole budget here
    assert full.metrics["phases"][1]["stop_reason"] == "budget"


def test_adam_stall_detection():
    result = ps.train(_cfg(adam=3000, stall_steps=200, stall_rtol=0.5, log_every=50, eval_every=50,
                           phases=(PhaseConfig("adam", 3000, {"lr": 1e-7}),)), progress=False)
    assert result.metrics["stop_reason"] == "stall"
    assert result.metrics["steps"] < 3000


def test_history_records_terms_weights_and_error():
    result = ps.train(_cfg(adam=200, lbfgs=10, weights={"ic": 10.0}, log_every=50, eval_every=100), progress=False)
    row = result.history[-1]
    for key in ("step", "phase", "wall_s", "loss", "res_loss", "ic_loss", "bc_loss", "res_weight", "ic_weight",
                "bc_weight", "rel_l2"):
        assert key in row
    assert row["ic_weight"] == 10.0
    assert row["loss"] == pytest.approx(row["res_loss"] + 10 * row["ic_loss"] + row["bc_loss"], rel=1e-5)
    evaluated = [r["step"] for r in result.history if r["rel_l2"] is not None]
    assert evaluated[:3] == [0, 100, 200]


def test_float64_switch_is_float64_throughout():
    code = (
        "import jax, jax.numpy as jnp, pinnsight as ps\n"
        "from pinnsight.config import PhaseConfig\n"
        "r = ps.train(ps.TrainConfig(problem='convection', params={'beta': 1.0}, x64=True,"
        " phases=(PhaseConfig('adam', 50), PhaseConfig('lbfgs', 5))), progress=False)\n"
        "print(r.metrics['dtype'], {str(x.dtype) for x in jax.tree.leaves(r.model)})\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "float64 {'float64'}"
    r32 = ps.train(_cfg(adam=20), progress=False)
    assert r32.metrics["dtype"] == "float32"
    assert {str(x.dtype) for x in jax.tree.leaves(r32.model)} == {"float32"}


def test_bad_config_values_are_clear_errors():
    with pytest.raises(ps.PinnsightError, match="unknown optimizer"):
        PhaseConfig("sgd", 10)
    with pytest.raises(ps.PinnsightError, match="unknown option 'lr'"):
        PhaseConfig("lbfgs", 10, {"lr": 1})
    with pytest.raises(ps.PinnsightError, match="unknown loss term 'boundary'"):
        _cfg(weights={"boundary": 2.0})
    with pytest.raises(ps.PinnsightError, match="out of range"):
        _cfg(points={"res": 0})
    with pytest.raises(ps.PinnsightError, match="multiple of log_every"):
        _cfg(eval_every=150, log_every=100)
    with pytest.raises(ps.PinnsightError, match="unknown model"):
        _cfg(model="transformer")
    with pytest.raises(ps.PinnsightError, match="must be positive"):
        _cfg(model_options={"width": 0})


def test_config_round_trips_through_dict():
    config = _cfg(adam=123, lbfgs=4, weights={"ic": 3.0}, seed=5)
    again = TrainConfig.from_dict(config.to_dict())
    assert again == config
    with pytest.raises(ps.PinnsightError, match="malformed config"):
        TrainConfig.from_dict({**config.to_dict(), "colour": "blue"})


def test_lbfgs_keeps_descending_after_adam_in_float32():
    """Regression: the line search starts from the unit step; starting from the last accepted step made every
    search fail after Adam on the demo case (stalled at 1.44e-4, 23 failures in 24 iterations)."""
    config = TrainConfig(problem="convection", params={"beta": 5.0}, seed=0,
                         phases=(PhaseConfig("adam", 3000), PhaseConfig("lbfgs", 150)))
    lbfgs = ps.train(config, progress=False).metrics["phases"][1]
    assert lbfgs["steps"] == 150 and lbfgs["stop_reason"] == "budget"
    assert lbfgs["linesearch_failures"] <= 2
    assert lbfgs["end_loss"] < lbfgs["start_loss"] / 2  # measured 3.2× (the stalled search gave 1.0×)


def test_a_finite_blow_up_stops_as_diverged_with_the_best_parameters_kept():
    """Adam at lr = 1e8: the loss rises by 1e16 in 50 steps while staying finite. The phase stops 'diverged', the
    later phase is skipped, and the parameters are the best seen (here the start: rel L2 as at initialisation,
    where keeping the last ones ended at rel L2 ≈ 90–270)."""
    cfg = _cfg(adam=300, lbfgs=50, log_every=50, eval_every=50,
               phases=(PhaseConfig("adam", 300, {"lr": 1e8}), PhaseConfig("lbfgs", 50)))
    result = ps.train(cfg, progress=False)
    assert result.metrics["stop_reason"] == "diverged"
    assert [p["stop_reason"] for p in result.metrics["phases"]] == ["diverged", "skipped"]
    assert result.metrics["rel_l2"] <= result.history[0]["rel_l2"] * 1.0001


def test_guard_rules():
    from pinnsight.trainer import Guard

    g = Guard(stall_steps=0, stall_rtol=1e-3, first_order=True, factor=1e4, start=1.0, params="p0")
    assert g.observe(10, 0.5, "p1") is None and g.best_params == "p1"
    assert g.observe(20, 1e3, "p2") is None  # 2000× its best but a spike, not above 1e4×
    assert g.observe(30, 0.9, "p3") is None and g.best_params == "p1"
    assert g.observe(40, 6e3, "p4") == "diverged"
    s = Guard(stall_steps=20, stall_rtol=0.5, first_order=True, factor=1e4, start=1.0, params=None)
    assert s.observe(10, 0.4, None) is None and s.observe(20, 0.3, None) is None
    assert s.observe(30, 0.29, None) == "stall"  # no 50 % improvement for 20 steps
    assert Guard(stall_steps=20, stall_rtol=0.5, first_order=False, factor=1e4, start=1.0,
                 params=None).stall_steps == 0  # stall is a first-order rule
