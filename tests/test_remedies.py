"""Remedies against their formulas on hand-computed cases, their spec strings, composition, and no retracing
across curriculum stages or time windows. (Short runs where a remedy beats vanilla: test_remedies_runs.py.)"""

import json
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pinnsight as ps
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.problems import failure_modes
from pinnsight.remedies import (
    NO_CHANGE,
    Changes,
    RemedySetup,
    Segment,
    StepInfo,
    build_remedies,
    causal_residual_loss,
    causal_weights,
    chain,
    cosine_fraction,
    curriculum_values,
    draw_proportional,
    eps_schedule,
    make_window_batch,
    merge,
    mix_uniform,
    rad_probabilities,
    slice_losses,
    window_edges,
    window_mask,
)
from pinnsight.remedies.curriculum import parse_values
from pinnsight.trainer import initial_state


# ------------------------------------------------------------------------------------------------ causal
def test_causal_weights_match_eq_2_12():
    L = jnp.array([1.0, 2.0, 3.0])
    w = causal_weights(L, jnp.asarray(0.5))
    np.testing.assert_allclose(w, [1.0, math.exp(-0.5), math.exp(-1.5)], rtol=1e-6)


def test_causal_loss_slices_mean_and_stop_gradient():
    # two points per slice, M = 3 slices over t ∈ [0, 1]
    t = jnp.array([0.0, 0.1, 0.4, 0.5, 0.9, 1.0])
    sq = jnp.array([1.0, 3.0, 2.0, 2.0, 5.0, 7.0])
    np.testing.assert_allclose(slice_losses(sq, t, 3), [2.0, 2.0, 6.0], rtol=1e-6)
    eps = jnp.asarray(0.25)
    loss, w = causal_residual_loss(sq, t, eps, 3)
    w_hand = np.array([1.0, math.exp(-0.25 * 2.0), math.exp(-0.25 * 4.0)])
    np.testing.assert_allclose(w, w_hand, rtol=1e-6)
    np.testing.assert_allclose(loss, np.mean(w_hand * [2.0, 2.0, 6.0]), rtol=1e-6)
    # weights are constants for the gradient: d loss / d sq_j = w_slice(j) / (M · count)
    grad = jax.grad(lambda s: causal_residual_loss(s, t, eps, 3)[0])(sq)
    np.testing.assert_allclose(grad, np.repeat(w_hand, 2) / 6.0, rtol=1e-6)


def test_eps_schedule_and_annealing_rule():
    np.testing.assert_allclose(eps_schedule(0.01, 10.0, 5), [0.01, 0.1, 1.0, 10.0, 100.0])
    setup = _setup("convection", {"beta": 5.0})
    (causal,) = build_remedies(("causal:eps=0.01,factor=10,levels=3,delta=0.9",), setup)
    changes, state = causal.init(Segment(bounds=((0, 1), (0, 1))))
    assert changes.coeffs == {"causal_eps": 0.01}
    changes, state = causal.update(state, _info({"causal_min_weight": 0.5}))  # below δ: ε stays
    assert changes.coeffs is None and state.eps == 0.01
    changes, state = causal.update(state, _info({"causal_min_weight": 0.95}))  # above δ: next ε
    assert changes.coeffs == {"causal_eps": pytest.approx(0.1)} and changes.events[0]["eps"] == pytest.approx(0.1)
    changes, state = causal.update(state, _info({"causal_min_weight": 0.95}))
    changes, state = causal.update(state, _info({"causal_min_weight": 0.95}))  # last level: stays
    assert state.eps == pytest.approx(1.0) and changes.coeffs is None


# ------------------------------------------------------------------------------------------------ sampling
def test_cosine_uniform_fraction():
    assert cosine_fraction(0, 100, 1.0, 0.2) == pytest.approx(1.0)
    assert cosine_fraction(50, 100, 1.0, 0.2) == pytest.approx(0.6)
    assert cosine_fraction(25, 100, 1.0, 0.2) == pytest.approx(0.2 + 0.4 * (1 + math.cos(math.pi / 4)))
    assert cosine_fraction(100, 100, 1.0, 0.2) == cosine_fraction(500, 100, 1.0, 0.2) == pytest.approx(0.2)


def test_residual_proportional_draw_hits_the_stated_proportion():
    """Candidates in [0, 1): weight 3 on [0, ½), 1 on [½, 1) → ¾ of the draws on the left half.
    n = 2000 draws from 200 000 candidates (no replacement distorts by < 1 %); 4σ of the binomial = 0.039."""
    cand = jax.random.uniform(jax.random.PRNGKey(0), (200_000, 1))
    weights = jnp.where(cand[:, 0] < 0.5, 3.0, 1.0)
    drawn = draw_proportional(jax.random.PRNGKey(1), cand, weights, 2000)
    assert len(np.unique(np.asarray(drawn))) == 2000  # distinct rows
    assert abs(float(jnp.mean(drawn[:, 0] < 0.5)) - 0.75) < 0.039


def test_mix_uniform_takes_the_uniform_fraction_first():
    a, b = jnp.zeros((10, 2)), jnp.ones((10, 2))
    out = mix_uniform(jnp.asarray(3), a, b)
    np.testing.assert_array_equal(out[:, 0], [0, 0, 0] + [1] * 7)


def test_rad_probabilities_eq_2():
    p = rad_probabilities(jnp.array([0.0, 1.0, 3.0]), 1.0, 1.0)  # |r|/mean + c = [0, .75, 2.25] + 1
    np.testing.assert_allclose(p, np.array([1.0, 1.75, 3.25]) / 6.0, rtol=1e-6)
    p2 = rad_probabilities(jnp.array([1.0, 2.0]), 2.0, 0.0)  # |r|² normalised
    np.testing.assert_allclose(p2, [0.2, 0.8], rtol=1e-6)


def test_adaptive_sampling_resamples_every_k_and_restarts_on_stall():
    setup = _setup("convection", {"beta": 5.0}, points={"res": 200})
    (ad,) = build_remedies(("adaptive-sampling:every=100,period=400,uniform_max=1,uniform_min=0,patience=300",), setup)
    seg = Segment(bounds=((0.0, 2 * math.pi), (0.0, 1.0)))
    changes, state = ad.init(seg)
    assert changes is NO_CHANGE
    changes, state = ad.update(state, _info({}, loss=1.0, seg_step=50, setup=setup, segment=seg))
    assert changes.batch is None  # before `every`
    changes, state = ad.update(state, _info({}, loss=0.5, seg_step=200, setup=setup, segment=seg))
    assert changes.batch["res"].shape == (200, 2) and not changes.restart
    assert changes.log["uniform_fraction"] == pytest.approx(cosine_fraction(200, 400, 1.0, 0.0))
    pts = np.asarray(changes.batch["res"])
    assert pts[:, 0].min() >= 0 and pts[:, 0].max() <= 2 * math.pi and pts[:, 1].min() >= 0 and pts[:, 1].max() <= 1
    # no decrease since step 200 for patience = 300 steps: resample at once, schedule and optimizer restart
    changes, state = ad.update(state, _info({}, loss=0.5, seg_step=500, setup=setup, segment=seg))
    assert changes.restart and changes.events[0]["stall"] and state.restarts == 1
    assert changes.log["uniform_fraction"] == pytest.approx(1.0)


def test_r3_keeps_points_above_mean_residual():
    setup = _setup("convection", {"beta": 5.0}, points={"res": 200})
    (r3,) = build_remedies(("rad:method=r3,every=1",), setup)
    seg = Segment(bounds=((0.0, 2 * math.pi), (0.0, 1.0)))
    _, state = r3.init(seg)
    info = _info({}, seg_step=1, setup=setup, segment=seg)
    changes, _ = r3.update(state, info)
    old, new = np.asarray(info.state.batch["res"]), np.asarray(changes.batch["res"])
    from pinnsight.remedies.sampling import make_magnitude

    mag = np.asarray(make_magnitude(setup.problem, setup.static)(info.params, jnp.asarray(old), info.state.coeffs))
    keep = mag > mag.mean()
    assert 0 < keep.sum() < len(keep)
    np.testing.assert_array_equal(new[keep], old[keep])
    assert np.all(np.any(new[~keep] != old[~keep], axis=1))


# --------------------------------------------------------------------------------------- curriculum / seq2seq
def test_curriculum_stage_values():
    np.testing.assert_allclose(curriculum_values(1.0, 30.0, 4), [1.0, 1 + 29 / 3, 1 + 58 / 3, 30.0])
    np.testing.assert_allclose(curriculum_values(1.0, 27.0, 4, "geometric"), [1.0, 3.0, 9.0, 27.0])
    assert curriculum_values(1.0, 30.0, 1) == (30.0,)
    assert parse_values("1/5/10/20", 30.0) == (1.0, 5.0, 10.0, 20.0, 30.0)
    assert parse_values("1/5/30", 30.0) == (1.0, 5.0, 30.0)


def test_window_edges_and_masks_cover_the_grid_once():
    np.testing.assert_allclose(window_edges(0.0, 1.0, 4), [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(window_edges(0.0, 1.0, 99, dt=0.3), [0, 0.3, 0.6, 0.9, 1.0])
    np.testing.assert_allclose(window_edges(0.0, 1.0, 99, dt=0.3, inner="0.05/0.5"), [0, 0.05, 0.5, 1.0])
    t = np.linspace(0, 1, 101)
    edges = window_edges(0.0, 1.0, 4)
    masks = [window_mask(t, edges[k], edges[k + 1], k == 3) for k in range(4)]
    np.testing.assert_array_equal(np.sum(masks, axis=0), 1)


@pytest.mark.parametrize("text", ["0.5/0.2", "0/0.5", "0.5/1", "a/b", "/"])
def test_window_edges_reject_bad_inner_boundaries(text):
    with pytest.raises(ps.PinnsightError, match="edges="):
        window_edges(0.0, 1.0, 4, inner=text)


def test_window_batch_maps_rows_and_takes_initial_targets_from_previous_network():
    config = TrainConfig(problem="convection", params={"beta": 5.0}, points={"res": 50, "ic": 20, "bc": 20},
                         model_options={"width": 20, "depth": 3})
    problem = config.build_problem()
    static, state = initial_state(config, problem)
    batch_fn = make_window_batch(problem, static, config.points, jnp.float32)
    b = batch_fn(jax.random.PRNGKey(3), jnp.float32(0.4), jnp.float32(0.6), state.params, jnp.asarray(True))
    assert float(b["res"][:, 1].min()) >= 0.4 - 1e-6 and float(b["res"][:, 1].max()) <= 0.6 + 1e-6
    np.testing.assert_allclose(b["ic"][:, 1], 0.4, rtol=1e-6)  # the window's start time
    model = jax.tree_util.Partial(lambda p, z: eqx.combine(p, static)(z), state.params)
    prev = jax.vmap(model)(b["ic"][:, :2])
    np.testing.assert_allclose(b["ic"][:, 2], prev, rtol=1e-5, atol=1e-6)  # targets: previous prediction
    np.testing.assert_array_equal(b["bc"][:, 1], b["bc"][:, 3])  # periodic pairs at equal times in the window
    assert float(b["bc"][:, 1].min()) >= 0.4 - 1e-6
    first = batch_fn(jax.random.PRNGKey(3), jnp.float32(0.0), jnp.float32(0.2), state.params, jnp.asarray(False))
    np.testing.assert_allclose(first["ic"][:, 2], jnp.sin(first["ic"][:, 0]), rtol=1e-5, atol=1e-6)  # true IC


def test_window_batch_takes_the_velocity_rows_of_a_second_order_problem_from_the_previous_network():
    """Wave (u_tt = c²u_xx): a later window's u(x, t_k) rows target the previous network's u and its u_t(x, t_k)
    rows that network's time derivative (checked against a central difference)."""
    config = TrainConfig(problem="wave", points={"res": 40, "ic": 16, "ic_t": 16, "bc": 16},
                         model_options={"width": 16, "depth": 2}, x64=True)
    problem = config.build_problem()
    static, state = initial_state(config, problem)
    batch_fn = make_window_batch(problem, static, config.points, jnp.float64)
    b = batch_fn(jax.random.PRNGKey(5), jnp.float64(0.5), jnp.float64(1.0), state.params, jnp.asarray(True))
    u = lambda x, t: eqx.combine(state.params, static)(jnp.stack([x, t]))  # noqa: E731
    x = b["ic_t"][:, 0]
    np.testing.assert_allclose(b["ic_t"][:, 1], 0.5)
    h = 1e-5
    central = (jax.vmap(u)(x, 0.5 + h + 0 * x) - jax.vmap(u)(x, 0.5 - h + 0 * x)) / (2 * h)
    np.testing.assert_allclose(b["ic_t"][:, 2], central, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(b["ic"][:, 2], jax.vmap(u)(b["ic"][:, 0], b["ic"][:, 1]), rtol=1e-12, atol=1e-14)
    first = batch_fn(jax.random.PRNGKey(5), jnp.float64(0.0), jnp.float64(0.5), state.params, jnp.asarray(False))
    np.testing.assert_allclose(first["ic_t"][:, 2], 0.0, atol=1e-14)  # the true initial velocity


# ------------------------------------------------------------------------------------------- specs / config
@pytest.mark.parametrize("spec, message", [
    ("nope", "unknown remedy"),
    ("causal:bogus=1", "unknown option"),
    ("causal:eps=abc", "is not a number"),
    ("causal:delta=1.5", "must be in (0, 1)"),
    ("rar:every=0", "must be positive"),
    ("rar:every=2.5", "is not an integer"),
    ("rad:method=zz", "not one of"),
    ("curriculum:coef=rho", "not a coefficient"),
    ("curriculum:values=1/x", "'/'-separated"),
    ("curriculum:final_steps=0", "must be positive"),
    ("causal:eps", "key=value"),
])
def test_bad_specs_raise_pinnsight_error(spec, message):
    with pytest.raises(ps.PinnsightError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(problem="convection", remedies=(spec,))


def test_two_drivers_or_duplicates_refused_and_config_round_trips():
    with pytest.raises(ps.PinnsightError, match="outer drivers"):
        TrainConfig(remedies=("curriculum", "seq2seq"))
    with pytest.raises(ps.PinnsightError, match="more than once"):
        TrainConfig(remedies=("rad", "rad:k=2"))
    cfg = TrainConfig(remedies=["curriculum:start=2,stages=3", "causal"])
    assert [str(r) for r in cfg.remedies] == ["curriculum:start=2,stages=3", "causal"]
    assert cfg.remedies[0].options["start"] == 2.0 and cfg.remedies[0].options["stages"] == 3
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert TrainConfig().remedies == () and [str(r) for r in TrainConfig(remedies="causal").remedies] == ["causal"]


def test_merge_and_chain_compose_changes():
    a = Changes(batch={"res": 1}, coeffs={"beta": 1.0}, log={"x": 1}, events=({"step": 1},))
    b = Changes(coeffs={"beta": 2.0, "causal_eps": 0.1}, restart=True)
    m = merge([a, b])
    assert m.batch == {"res": 1} and m.coeffs == {"beta": 2.0, "causal_eps": 0.1} and m.restart
    assert merge([NO_CHANGE, NO_CHANGE]) is NO_CHANGE
    setup = _setup("convection", {"beta": 5.0})
    members = build_remedies(("causal", "curriculum:stages=2"), setup)
    both = chain(*members)
    changes, states = both.init(Segment(bounds=setup.problem.bounds))
    assert changes.coeffs == {"causal_eps": 0.01} and len(states) == 2
    assert both.driver is members[1].driver and both.reduce is not None


def test_keep_optimizer_carries_adam_state_to_the_next_stage():
    from pinnsight.losses import make_objective
    from pinnsight.trainer import PhaseCompiler, PhaseRun

    config = TrainConfig(phases=(PhaseConfig("adam", 10),), log_every=10, points={"res": 64, "ic": 16, "bc": 16},
                         model_options={"width": 8, "depth": 1})
    problem = config.build_problem()
    static, state = initial_state(config, problem)
    compiler = PhaseCompiler(problem, static, make_objective(problem, static), sum_of_squares=True, sample=None,
                             seed=0)

    def adam_count(warm):
        run = PhaseRun(compiler, config.phases[0], state, warm=warm)
        run.chunk(10)
        return max(int(x) for x in jax.tree.leaves(run.state.opt) if jnp.issubdtype(x.dtype, jnp.integer))

    assert adam_count(False) == 10
    assert adam_count(True) == 20  # went on from the stored state
    assert adam_count(False) == 10  # a restart


# ------------------------------------------------------------------------------------------- no retracing
def _count_traces(monkeypatch, remedies, adam=60, lbfgs=5):
    import conftest

    traces = conftest.count_convection_traces(monkeypatch)
    phases = (PhaseConfig("adam", adam), PhaseConfig("lbfgs", lbfgs))
    cfg = TrainConfig(problem="convection", params={"beta": 2.0}, phases=phases,
                      log_every=30, eval_every=30, points={"res": 128, "ic": 32, "bc": 32},
                      model_options={"width": 16, "depth": 2}, remedies=remedies)
    traces["n"] = 0
    result = ps.train(cfg, progress=False)
    return traces["n"], result


def test_no_retracing_across_curriculum_stages(monkeypatch):
    one, _ = _count_traces(monkeypatch, ("curriculum:stages=1",))
    three, result = _count_traces(monkeypatch, ("curriculum:stages=3",))
    assert one == three > 0
    assert [s["value"] for s in result.metrics["remedies"]["segments"]] == [1.0, 1.5, 2.0]
    assert [r["coef_beta"] for r in result.history if r["phase"] != "init"][-1] == 2.0


def test_curriculum_final_steps_lengthens_only_the_last_stage(monkeypatch):
    """final_steps=3: stages 1 and 2 run 60 Adam + 5 L-BFGS steps, the last 180 + 15 — with no new trace."""
    one, _ = _count_traces(monkeypatch, ("curriculum:stages=1",))
    n, result = _count_traces(monkeypatch, ("curriculum:stages=3,final_steps=3",))
    assert n == one
    assert [(p["name"], p["steps"]) for p in result.metrics["phases"]] == [
        ("adam", 60), ("lbfgs", 5), ("adam", 60), ("lbfgs", 5), ("adam", 180), ("lbfgs", 15)]
    assert result.metrics["steps"] == 2 * 65 + 195


def test_no_retracing_across_time_windows(monkeypatch):
    w1, _ = _count_traces(monkeypatch, ("seq2seq:windows=1", "causal"))
    w3, result = _count_traces(monkeypatch, ("seq2seq:windows=3", "causal"))
    assert w1 == w3 > 0
    assert result.metrics["remedies"]["driver"]["edges"] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert result.metrics["steps"] == 3 * 65


# ---------------------------------------------------------------------------------------------- helpers
_SETUPS = {}


def _setup(problem, params, points=None):
    """A RemedySetup (and the initial state in ``_setup.state``), built once per argument set."""
    key = (problem, tuple(sorted(params.items())), tuple(sorted((points or {}).items())))
    if key not in _SETUPS:
        config = TrainConfig(problem=problem, params=params, points=points or {},
                             model_options={"width": 20, "depth": 3})
        prob = config.build_problem()
        static, state = initial_state(config, prob)
        setup = RemedySetup(config, prob, static, jnp.float32, jax.random.PRNGKey(9), np.zeros((4, 2)),
                            lambda key: state.params)
        _SETUPS[key] = (setup, state)
    setup, _setup.state = _SETUPS[key]
    return setup


def _info(losses, loss=1.0, seg_step=100, setup=None, segment=None):
    state = _setup.state if setup is not None else None
    state = state._replace(coeffs={**state.coeffs, "causal_eps": jnp.float32(0.01)}) if state is not None else None
    return StepInfo(step=seg_step, phase="adam", phase_step=seg_step, segment_step=seg_step,
                    params=state.params if state is not None else None, state=state, losses=losses, loss=loss,
                    segment=segment or Segment())


def test_causal_weighting_composes_after_another_in_loss_transform():
    """chain(X, causal): causal keeps what X did to the other terms (it used to drop any transform before it)."""
    from pinnsight.losses import make_objective, mean_squares
    from pinnsight.remedies import Remedy, RemedySetup, build_remedies, chain

    config = TrainConfig(problem="convection", params={"beta": 2.0}, model_options={"width": 8, "depth": 2},
                         points={"res": 64, "ic": 16, "bc": 16})
    problem = config.build_problem()
    static, state = initial_state(config, problem)
    setup = RemedySetup(config, problem, static, jnp.float32, jax.random.PRNGKey(0), np.zeros((1, 2)), None)
    (causal,) = build_remedies(("causal",), setup)

    def double_bc(base):
        def reduction(r, batch, coeffs):
            contributions, record = base(r, batch, coeffs)
            return {**contributions, "bc": 2.0 * contributions["bc"]}, record
        return reduction

    both = chain(Remedy("double-bc", reduce=double_bc), causal)
    coeffs = {**state.coeffs, "causal_eps": jnp.asarray(0.01)}
    alone = make_objective(problem, static, causal.reduce(mean_squares))
    composed = make_objective(problem, static, both.reduce(mean_squares))
    (t_alone, terms), (t_both, _) = (f(state.params, state.batch, state.weights, coeffs) for f in (alone, composed))
    assert float(t_both - t_alone) == pytest.approx(float(terms["bc"]), rel=1e-5)  # the extra bc term survived
    assert float(t_alone) != pytest.approx(float(terms["res"] + terms["ic"] + terms["bc"]), rel=1e-6)  # causal on
