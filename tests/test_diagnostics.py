"""Diagnostics: NTK blocks, traces and spectra against a brute-force Jacobian; gradient statistics against a second
method; the Gauss–Newton condition number against dense numpy; each failure signature on a constructed case and
not on a healthy one; the auto remedy choice on constructed findings and one tiny end-to-end run."""

import json
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from pinnsight import PhaseConfig, TrainConfig, make_model, make_problem, train
from pinnsight.diagnostics import (
    HIST_EDGES,
    Finding,
    condition_from_jacobian,
    conditioning_growth,
    error_grows_in_time,
    gauss_newton_condition,
    gradient_statistics,
    high_frequency_error,
    late_time_residual,
    loss_low_error_high,
    make_context,
    make_jacobians,
    make_traces,
    ntk_blocks,
    ntk_spectra,
    ntk_spread,
    scaled_jacobian,
    spectral_split,
    stall,
    suggest,
    unbalanced_terms,
)
from pinnsight.cli import command_config
from pinnsight.diagnostics import signatures as S
from pinnsight.planner import choose, probe_config, split_auto
from pinnsight.losses import loss_terms, pointwise_residuals
from pinnsight.remedies import remedy_specs, validate_specs
from pinnsight.sampling import sample_batch


def tiny(problem_name="reaction-diffusion", width=5, depth=1, points=None, dtype=jnp.float64, **params):
    problem = make_problem(problem_name, **params)
    model = make_model("mlp", problem.dim, key=jax.random.PRNGKey(3), dtype=dtype, width=width, depth=depth)
    p, static = eqx.partition(model, eqx.is_array)
    points = points or {"res": 9, **{c.name: 4 for c in problem.constraints}}
    batch = sample_batch(problem, jax.random.PRNGKey(4), points, dtype)
    coeffs = {k: jnp.asarray(v, dtype) for k, v in problem.coefficients.items()}
    return problem, p, static, batch, coeffs


def brute_force_jacobian(problem, params, static, batch, coeffs):
    """jacrev of all residual values stacked (terms in batch order, rows flattened row-major) w.r.t. flat θ."""
    theta, unravel = ravel_pytree(params)

    def stacked(th):
        r = pointwise_residuals(problem, eqx.combine(unravel(th), static), batch, coeffs)
        return jnp.concatenate([jnp.reshape(r[k], (-1,)) for k in batch])

    return np.asarray(jax.jit(jax.jacrev(stacked))(theta))


# ------------------------------------------------------------------------------------------------------- NTK
def test_ntk_blocks_traces_and_spectra_match_a_brute_force_jacobian():
    with jax.enable_x64(True):
        problem, params, static, batch, coeffs = tiny()  # bc rows: periodic u and u_x (2 values per row)
        js = {k: np.asarray(v) for k, v in make_jacobians(problem, static, params)(params, batch, coeffs).items()}
        J = brute_force_jacobian(problem, params, static, batch, coeffs)
        rows = {k: v.shape[0] for k, v in js.items()}
        assert rows == {"res": 9, "ic": 4, "bc": 8}
        assert J.shape == (21, ravel_pytree(params)[0].size)
        np.testing.assert_allclose(np.concatenate([js[k] for k in batch]), J, rtol=1e-12, atol=1e-12)
        offsets = np.cumsum([0] + [rows[k] for k in batch])
        sl = {k: slice(offsets[i], offsets[i + 1]) for i, k in enumerate(batch)}
        K = J @ J.T
        blocks = ntk_blocks(js)
        for a in batch:
            for b in batch:
                np.testing.assert_allclose(blocks[a, b], K[sl[a], sl[b]], rtol=1e-12, atol=1e-12)
        traces = make_traces(problem, static, params, chunk=4)(params, batch, coeffs)  # chunked: 9 = 4 + 4 + 1
        for a in batch:
            assert float(traces[a]) == pytest.approx(np.trace(K[sl[a], sl[a]]), rel=1e-12)
        spectra = ntk_spectra(js)
        np.testing.assert_allclose(spectra["all"], np.sort(np.linalg.eigvalsh(K))[::-1], atol=1e-10 * K.max())
        np.testing.assert_allclose(spectra["res"], np.sort(np.linalg.eigvalsh(K[sl["res"], sl["res"]]))[::-1],
                                   atol=1e-10 * K.max())


def test_gauss_newton_condition_matches_dense_numpy_and_the_conditioning_module():
    with jax.enable_x64(True):
        # more rows (24 + 8 + 2·8) than parameters (21): JᵀJ is nonsingular and np.linalg.cond applies directly
        problem, params, static, batch, coeffs = tiny(points={"res": 24, "ic": 8, "bc": 8})
        js = make_jacobians(problem, static, params)(params, batch, coeffs)
        weights = {"res": 1.0, "ic": 10.0, "bc": 1.0}
        Jt = scaled_jacobian(js, weights)
        J = brute_force_jacobian(problem, params, static, batch, coeffs)
        # rows scaled by √(w/N), N the residual values of the term (bc: 2 per point), terms in the Jacobians' order
        offsets = {"res": (0, 24), "ic": (24, 32), "bc": (32, 48)}
        expected = np.concatenate([math.sqrt(weights[k] / (offsets[k][1] - offsets[k][0])) * J[slice(*offsets[k])]
                                   for k in js])
        np.testing.assert_allclose(Jt, expected, rtol=1e-12)
        c = condition_from_jacobian(Jt)
        # a tanh network's Jacobian is ill-conditioned even with 21 parameters (κ(JᵀJ) ≈ 4e11): the dense
        # np.linalg.cond(JᵀJ) is then accurate to about eps·κ ≈ 1e-4 relative, the squared κ(J) to ~1e-10
        dense = np.linalg.cond(Jt.T @ Jt)
        assert c.rank == 21 and c.cond < 1e13
        assert c.cond == pytest.approx(dense, rel=1e-3)
        assert c.cond == pytest.approx(np.linalg.cond(Jt) ** 2, rel=1e-8)
        model = eqx.combine(params, static)
        other = gauss_newton_condition(problem, model, batch, coeffs, weights, max_points=None)
        assert other.cond == pytest.approx(c.cond, rel=1e-8) and other.rank == c.rank
        # fewer rows than parameters: the condition of JJᵀ (the nonzero spectrum of JᵀJ)
        wide = Jt[::6]  # 8 rows from all three terms (κ ≈ 7e6: the dense reference is accurate)
        cw = condition_from_jacobian(wide)
        assert cw.rank == 8 and cw.cond == pytest.approx(np.linalg.cond(wide @ wide.T), rel=1e-7)


# ------------------------------------------------------------------------------------------- gradient stats
def test_gradient_statistics_match_per_term_gradients_and_numpy_histograms():
    problem, params, static, batch, coeffs = tiny("convection", width=16, depth=2, dtype=jnp.float32,
                                                  points={"res": 50, "ic": 20, "bc": 20}, beta=20.0)
    stats = gradient_statistics(problem, static, params, batch, coeffs)
    assert set(stats) == {"res", "ic", "bc"}
    for term in stats:
        g = jax.jit(jax.grad(lambda p: loss_terms(problem, eqx.combine(p, static), batch, coeffs)[term]))(params)
        flat = np.asarray(ravel_pytree(g)[0], np.float64)
        s = stats[term]
        assert s.norm == pytest.approx(np.linalg.norm(flat), rel=1e-5)
        assert s.max == pytest.approx(np.max(np.abs(flat)), rel=1e-5)
        assert s.mean == pytest.approx(np.mean(np.abs(flat)), rel=1e-5)
        assert s.std == pytest.approx(np.std(flat), rel=1e-4)
        a = np.abs(flat)
        inner, _ = np.histogram(a, bins=HIST_EDGES)
        expected = np.concatenate([[np.sum(a < HIST_EDGES[0])], inner, [np.sum(a >= HIST_EDGES[-1])]])
        expected[-2] -= np.sum(a == HIST_EDGES[-1])  # numpy's last bin is closed; ours sends it to overflow
        np.testing.assert_array_equal(s.hist, expected)
        assert s.hist.sum() == flat.size


# --------------------------------------------------------------------------------------------- signatures
def test_loss_low_error_high():
    assert loss_low_error_high(1.0, 1e-6, 0.9).name == "loss-low-error-high"
    f = loss_low_error_high(1.0, 0.3, 0.9, fresh_residual=1e-2, train_residual=1e-4)  # fits the training points only
    assert f is not None and f.evidence["fresh_over_train"] == pytest.approx(100.0)
    assert loss_low_error_high(1.0, 1e-6, 1e-3) is None  # healthy: small loss, small error
    assert loss_low_error_high(1.0, 0.3, 0.9, fresh_residual=1.1e-4, train_residual=1e-4) is None  # plain failure


def test_points_overfit_names_a_moderate_error_that_the_collocation_points_limit():
    from pinnsight.diagnostics.signatures import Context, points_overfit, suggest

    # the cylinder channel's trained run: fresh-point residual ≈ 1.3e4 × the training one, rel L2 8.6e-3
    f = points_overfit(1.2e-2, 9.0e-7, 8.6e-3, 4000)
    assert f.name == "points-overfit" and f.evidence["fresh_over_train"] == pytest.approx(1.2e-2 / 9.0e-7)
    assert points_overfit(1.2e-2, 9.0e-7, 0.5, 4000) is None  # a large error: loss-low-error-high names it
    assert points_overfit(5e-7, 1e-7, 8.6e-3, 4000) is None  # 5×: points generalise
    ctx = Context("cylinder", has_time=False, available={"rad": None})
    specs = [(s.spec, s.args) for s in suggest(f, ctx)]
    assert (None, ("--points", "res=8000")) in specs and any(spec and spec.startswith("rad") for spec, _ in specs)


def test_the_ntk_spread_of_a_system_puts_its_equations_on_top():
    spectra = {"mom_x": np.array([3e4]), "div": np.array([2e5]), "bc_u": np.array([800.0]), "gauge": np.array([25.0]),
               "all": np.array([2e5])}
    assert ntk_spread(spectra) != ntk_spread(spectra)  # no "res" block: undefined (NaN), not 0
    assert ntk_spread(spectra, ("mom_x", "div")) == pytest.approx(2e5 / 25.0)


def test_late_time_residual_and_error_growing_in_time():
    t = np.linspace(0.05, 0.95, 10)
    assert late_time_residual(t, 10.0 ** np.linspace(-6, -2, 10)).name == "late-time-residual"
    assert late_time_residual(t, np.full(10, 1e-3)) is None
    assert late_time_residual(t, 10.0 ** np.linspace(-2, -6, 10)) is None  # concentrated early
    # error fields on a (x, t) grid: growing along t, and a healthy uniform small error
    x, tt = np.meshgrid(np.linspace(0, 2 * np.pi, 64, endpoint=False), np.linspace(0, 1, 50), indexing="ij")
    u = np.sin(x - 3 * tt)
    grows = 0.8 * tt**2 * np.sin(2 * x)
    times, prof = S.grid_time_profile(grows, u, 1, 10)
    assert prof[-1] > 10 * prof[0]
    f = error_grows_in_time(times, prof, float(np.linalg.norm(grows) / np.linalg.norm(u)))
    assert f is not None and f.evidence["late_over_early"] >= 10
    small = 1e-3 * np.cos(x)
    times, prof = S.grid_time_profile(small, u, 1, 10)
    assert error_grows_in_time(times, prof, float(np.linalg.norm(small) / np.linalg.norm(u))) is None


def test_high_frequency_error_from_the_error_spectrum():
    x, t = np.meshgrid(np.linspace(0, 2 * np.pi, 128, endpoint=False), np.linspace(0, 1, 64), indexing="ij")
    u = np.sin(x) * (1 + t)
    periodic = (True, False)
    hf = 0.1 * np.sin(40 * x)
    split = spectral_split(hf, u, periodic)
    assert split["error_fraction_above"] > 0.99 and split["error_centroid"] > 4 * split["solution_centroid"]
    assert high_frequency_error(split, 0.1).name == "high-frequency-error"
    lf = 0.1 * np.sin(x) * t
    split = spectral_split(lf, u, periodic)
    assert split["error_fraction_above"] < 0.05
    assert high_frequency_error(split, 0.1) is None
    assert high_frequency_error(spectral_split(hf, u, periodic), 1e-3) is None  # error too small to matter


def test_stall_on_flat_histories_only():
    rng = np.random.default_rng(0)
    flat = list(0.3 * (1 + 0.05 * rng.standard_normal(60)))
    assert stall(flat, 0.9).name == "stall"
    falling = list(10.0 ** np.linspace(0, -4, 60) * (1 + 0.05 * rng.standard_normal(60)))
    assert stall(falling, 0.9) is None
    assert stall(flat, 1e-3) is None  # flat but solved
    assert stall(flat[:8], 0.9) is None  # too short to tell
    assert S.still_improving(falling, 0.9).name == "still-improving"  # unsolved, but not stalled
    assert S.still_improving(flat, 0.9) is None and S.still_improving(falling, 1e-3) is None


def test_unbalanced_terms_and_conditioning_growth():
    f = unbalanced_terms({"res": 120.0, "ic": 0.05, "bc": 1.0})
    assert f.evidence["largest"] == "res" and f.evidence["smallest"] == "ic" and f.evidence["ratio"] == pytest.approx(2400)
    assert unbalanced_terms({"res": 1.0, "ic": 0.5, "bc": 2.0}) is None
    assert unbalanced_terms({"res": 120.0, "ic": 0.05}, rel_l2=1e-3) is None  # solved: the imbalance did no harm
    assert unbalanced_terms({"res": 40.0, "ic": 1.0}, rel_l2=0.5).severity == "warning"
    # a small gradient from a term that is already met is not starvation: ic (loss 1e-5) is left out
    assert unbalanced_terms({"res": 40.0, "ic": 1.0}, 0.5, {"res": 1.0, "ic": 1e-5}) is None
    assert unbalanced_terms({"res": 40.0, "ic": 1.0}, 0.5, {"res": 1.0, "ic": 0.2}) is not None
    spectra_small = {"res": np.array([10.0, 1.0]), "ic": np.array([20.0, 2.0]), "bc": np.array([30.0]),
                     "all": np.array([40.0])}
    spectra_big = {**spectra_small, "res": np.array([9000.0, 1.0])}
    assert ntk_spread(spectra_small) == pytest.approx(0.5) and ntk_spread(spectra_big) == pytest.approx(450.0)
    # a block the model meets identically (periodicity by a periodic embedding: round-off rows) is left out
    met = {**spectra_big, "bc": np.array([3e-31, 1e-33])}
    assert ntk_spread(met) == pytest.approx(ntk_spread({k: v for k, v in spectra_big.items() if k != "bc"}))
    g = conditioning_growth("beta", 1.0, 30.0, ntk_spread(spectra_small), ntk_spread(spectra_big))
    assert g.name == "conditioning-growth" and g.evidence["growth"] == pytest.approx(900.0)
    assert conditioning_growth("beta", 1.0, 5.0, 0.5, 3.0) is None


def test_suggestions_are_valid_remedy_specs_with_command_lines():
    problem = make_problem("convection", beta=40.0)
    ctx = make_context(problem, {"beta": 40.0}, remedy_specs())
    assert ctx.coefficient == ("beta", 40.0, 1.0)
    findings = [conditioning_growth("beta", 1.0, 40.0, 0.7, 300.0),
                error_grows_in_time(np.arange(10), 10.0 ** np.linspace(-3, 0, 10), 0.9),
                unbalanced_terms({"res": 1e3, "ic": 1e-2, "bc": 1.0}), loss_low_error_high(1.0, 1e-6, 0.9),
                stall([0.3] * 60, 0.9)]
    for f in findings:
        sugs = suggest(f, ctx)
        assert sugs, f.name
        for s in sugs:
            assert s.command.startswith("pinnsight train convection -p beta=40")
            if s.spec is not None:
                validate_specs((s.spec,), problem)
                assert f"--remedy {s.spec}" in s.command
    # the measured second-order recipes come last, and their command lines parse as a real training config
    lm = suggest(findings[0], ctx)[-1]
    assert lm.args[:1] == ("--x64",) and "gauss-newton" in lm.command and lm.spec.startswith("curriculum:")
    ng = suggest(findings[2], ctx)[-1]
    assert "natural-gradient:steps=500" in ng.command and ng.spec is None
    for s in (lm, ng):
        argv = s.command.split()[2:]
        config = command_config(argv)
        assert config.x64 and config.phases[-1].name in ("gauss-newton", "natural-gradient")
    cur = suggest(findings[0], ctx)[0].spec
    assert cur == "curriculum:coef=beta,start=5,stages=4,spacing=geometric,keep_optimizer=1"  # 5, 10, 20, 40
    assert S.curriculum_spec("rho", 2.0, 1.0) == "curriculum:coef=rho,start=1,stages=2,spacing=geometric,keep_optimizer=1"


# ------------------------------------------------------------------------------------------------ auto
def _ctx(available):
    return make_context(make_problem("convection", beta=30.0), {"beta": 30.0}, available)


def _with(ctx, *findings):
    return S.with_suggestions(list(findings), ctx)


def test_auto_choice_on_constructed_findings():
    ctx = _ctx(remedy_specs())
    growth = conditioning_growth("beta", 1.0, 30.0, 0.7, 200.0)
    late = error_grows_in_time(np.arange(10), 10.0 ** np.linspace(-3, 0, 10), 0.9)
    c = choose(_with(ctx, late, growth))  # the conditioning first (root cause), although less severe
    assert [s.split(":")[0] for s in c.specs] == ["curriculum", "causal"]
    assert {r["finding"] for r in c.reasons} == {"conditioning-growth", "error-grows-in-time"}
    # no causal registered: the late-time finding's next suggestion is seq2seq, a second driver: skipped
    no_causal = _ctx(set(remedy_specs()) - {"causal"})
    c = choose(_with(no_causal, growth, late))
    assert [s.split(":")[0] for s in c.specs] == ["curriculum"]
    # unbalanced terms without a weighting remedy: a fixed weight on the starved term
    plain = _ctx({"curriculum", "causal", "seq2seq", "rad"})
    c = choose(_with(plain, unbalanced_terms({"res": 1e4, "ic": 1.0, "bc": 50.0})))
    assert c.specs == () and c.weights == {"ic": 100.0}
    with_lra = _ctx({"curriculum", "lra"})
    c = choose(_with(with_lra, unbalanced_terms({"res": 1e4, "ic": 1.0, "bc": 50.0})))
    assert c.specs == ("lra",) and c.weights == {}
    # a dominant residual next to conditioning growth: the curriculum treats it, no weighting is stacked on top
    c = choose(_with(with_lra, conditioning_growth("beta", 1.0, 30.0, 0.7, 200.0),
                     unbalanced_terms({"res": 1e4, "ic": 1.0, "bc": 50.0})))
    assert [s.split(":")[0] for s in c.specs] == ["curriculum"] and c.weights == {}
    assert c.reasons[-1]["finding"] == "unbalanced-terms" and c.reasons[-1]["choice"] == "none"
    # loss low, error high: resampling first; the same remedy asked twice is chosen once
    c = choose(_with(ctx, loss_low_error_high(1.0, 1e-6, 0.9), stall([0.3] * 60, 0.9)))
    assert [s.split(":")[0] for s in c.specs] == ["rad", "curriculum"]
    # spectral bias: Fourier features in place of the plain MLP, width and depth kept
    hf = Finding("high-frequency-error", "warning", "", {"sigma": 4.0})
    c = choose(_with(ctx, hf), model="mlp", model_options={"width": 30, "depth": 3})
    assert c.model == ("fourier", {"width": 30, "depth": 3, "sigma": "4"})
    assert choose(_with(ctx, hf), model="modified-mlp").model is None
    # nothing found: nothing chosen, the user's own remedies kept
    assert choose([], user_specs=("rad",)).specs == ("rad",)


def test_auto_second_order_recipes_only_when_asked():
    ctx = _ctx(remedy_specs())
    growth = conditioning_growth("beta", 1.0, 30.0, 0.7, 200.0)
    plain = choose(_with(ctx, growth))
    assert plain.recipe is None
    # time-dependent with smooth periodic data: time marching under SSBroyden first (convection β = 50's record)
    c = choose(_with(ctx, growth), recipes=True)
    assert c.recipe == "marching-quasi-newton" and c.specs == ("seq2seq:windows=4",)
    assert c.reasons[-1]["choice"] == ("recipe marching-quasi-newton: --remedy seq2seq:windows=4 --x64 --model "
                                       "periodic:width=30,depth=3 --points res=4000 --weight ic=100 --optimizer "
                                       "adam:steps=1000 --optimizer ssbroyden:steps=4000")
    beta50 = make_context(make_problem("convection", beta=50.0), {"beta": 50.0}, remedy_specs())
    assert choose(_with(beta50, conditioning_growth("beta", 1.0, 50.0, 0.7, 900.0)), recipes=True).specs == (
        "seq2seq:windows=5",)  # one window per 10 of β above 40: the measured 5 at β = 50
    # no time marching registered: curriculum + Levenberg–Marquardt
    ctx = _ctx(set(remedy_specs()) - {"seq2seq"})
    c = choose(_with(ctx, growth), recipes=True)
    assert c.recipe == "curriculum-lm" and c.specs == ("curriculum:coef=beta,start=1,stages=7",)
    lm_sug = next(s for s in _with(ctx, growth)[0].suggestions if s.recipe)
    assert lm_sug.spec == "curriculum:coef=beta,start=1,stages=7"  # 5 apart: 1, 5.8, ..., 30 (docs/benchmarks.md)
    assert c.reasons[-1]["choice"].startswith("recipe curriculum-lm: --remedy curriculum:coef=beta,start=1,stages=7 "
                                              "--x64 --model periodic:width=20,depth=3")
    assert c.reasons[-1]["note"].startswith("replaces curriculum:coef=beta,start=3.75")
    # no coefficient to raise (Helmholtz-like): unbalanced terms → many resampled points under SSBroyden (the
    # Helmholtz record, 2.5e-6, against 3.3e-4 for Adam → natural gradient), no model swap
    helm = make_context(make_problem("helmholtz"), {}, remedy_specs())
    hf = Finding("high-frequency-error", "warning", "", {"sigma": 4.0})
    c = choose(S.with_suggestions([unbalanced_terms({"res": 1e4, "bc": 1.0}), hf], helm), recipes=True)
    assert c.recipe == "resampled-quasi-newton" and c.model is None and c.specs == ("rad:every=500",)
    assert c.weights == {} and c.recipe_model == ("mlp", {"width": "30", "depth": "3"})
    # a user's own remedy is kept, the first-order picks (lra) are replaced by the whole recipe
    c = choose(S.with_suggestions([unbalanced_terms({"res": 1e4, "bc": 1.0})], helm), recipes=True,
               user_specs=("lra",))
    assert c.specs == ("lra", "rad:every=500") and c.reasons[-1]["note"] == "replaces nothing"
    c = choose(S.with_suggestions([unbalanced_terms({"res": 1e4, "bc": 1.0})], helm), recipes=True,
               user_specs=("rad:every=100",))
    assert c.specs == ("rad:every=100",)  # the user's own RAD in place of the recipe's
    # without RAD registered: Adam → natural gradient
    c = choose(S.with_suggestions([unbalanced_terms({"res": 1e4, "bc": 1.0})],
                                  make_context(make_problem("helmholtz"), {}, set(remedy_specs()) - {"rad"})),
               recipes=True)
    assert c.recipe == "natural-gradient" and c.specs == ()
    # a run that already used the resampled recipe is offered the natural gradient next
    tried = make_context(make_problem("helmholtz"), {}, remedy_specs(), tried=("rad", "ssbroyden"))
    (f,) = S.with_suggestions([stall([0.3] * 60, 0.9)], tried)
    assert [s.recipe for s in f.suggestions if s.recipe] == ["natural-gradient"]
    ac = make_context(make_problem("allen-cahn"), {}, remedy_specs())
    c = choose(S.with_suggestions([unbalanced_terms({"res": 1e4, "ic": 1.0})], ac), recipes=True)
    assert c.recipe == "marching-quasi-newton" and c.specs == ("seq2seq:windows=4",)  # its record: 4 windows
    # Allen–Cahn's u0 jumps in slope across its seam (1.57 of its largest slope, declared periodic): kinked;
    # convection's sin x and KdV's cos πx are smooth. The marching recipe keeps its own network (measured)
    assert ac.kinked and c.model is None
    assert not beta50.kinked and not make_context(make_problem("kdv"), {}, remedy_specs()).kinked
    seam = Finding("seam-error", "warning", "", {"coord": "x", "share": 0.8, "ratio": 30.0, "lines": 8,
                                                "undeclared_kink": False})
    # the diffusivity read from Allen–Cahn's residual (ε² = 1e-4) sets the seam-kink input's rounding
    assert ac.seam_kappa == pytest.approx(1e-4, rel=1e-6)  # float32 here: the coefficient rounded
    assert [s.args for s in S.suggest(seam, ac)][0] == ("--model",
                                                        "periodic:width=30,depth=3,harmonics=3,root_time=1,seam=0.0001")
    assert S.suggest(seam, beta50) == ()  # smooth data: no suggestion for a seam error
    ac = make_context(make_problem("allen-cahn"), {}, set(remedy_specs()) - {"seq2seq"})
    c = choose(S.with_suggestions([unbalanced_terms({"res": 1e4, "ic": 1.0})], ac), recipes=True)
    # periodic x: the exact periodic embedding, the width and depth of the recipe
    assert c.recipe == "resampled-quasi-newton" and c.recipe_model == ("periodic", {"width": "30", "depth": "3"})
    r = S.RECIPES["natural-gradient"]
    assert r.args == ("--x64", "--model", "mlp:width=30,depth=3", "--optimizer", "adam:steps=1000",
                      "--optimizer", "natural-gradient:steps=500")
    # loss low, error high (Burgers-like, no coefficient to raise): many resampled points under SSBroyden
    burgers = make_context(make_problem("burgers"), {}, remedy_specs())
    c = choose(S.with_suggestions([loss_low_error_high(1.0, 1e-6, 0.3)], burgers), recipes=True)
    assert c.recipe == "resampled-quasi-newton" and c.specs == ("rad:every=500",)
    # the probes of Burgers' seeds 0 and 1 read as a stall and as still improving: the same recipe (natural
    # gradient, which the stall took before: 3.0e-3 on seed 0 against 4.2e-8)
    for f in (stall([0.3] * 60, 0.4), S.still_improving([10.0 ** (-0.05 * i) for i in range(60)], 0.35)):
        c = choose(S.with_suggestions([f], burgers), recipes=True)
        assert c.recipe == "resampled-quasi-newton" and c.recipe_model[0] == "mlp", f.name
    r = S.RECIPES["resampled-quasi-newton"]
    assert r.x64 and dict(r.points) == {"res": 10000} and r.phases == (("adam", 2000), ("ssbroyden", 8000))


def test_auto_with_second_order_trains_the_recipe(tmp_path):
    config = TrainConfig(problem="convection", params={"beta": 30.0}, model_options={"width": 16, "depth": 2},
                         points={"res": 128, "ic": 32, "bc": 32}, phases=(PhaseConfig("adam", 20),), log_every=10,
                         eval_every=20, remedies=("auto:probe_steps=100,ntk_points=32,verify=0",))  # second_order=1 is the default
    import pinnsight.diagnostics.signatures as sig

    small = sig.Recipe("marching-quasi-newton", True, ("periodic", (("width", 6), ("depth", 2))),
                       (("res", 64), ("ic", 16)), (("adam", 3), ("ssbroyden", 3)), "test-sized", (("ic", 100.0),))
    original = sig.RECIPES["marching-quasi-newton"]
    sig.RECIPES["marching-quasi-newton"] = small
    try:
        result = train(config, progress=False)
    finally:
        sig.RECIPES["marching-quasi-newton"] = original
    auto = result.metrics["auto"]
    assert auto["chosen"]["recipe"] == "marching-quasi-newton"
    cfg = result.config
    assert cfg.x64 and cfg.model == "periodic" and cfg.points["res"] == 64 and cfg.points["ic"] == 16
    assert cfg.weights["ic"] == 100.0 and cfg.weights["res"] == 1.0  # the recipe's weight over the config's
    assert [(p.name, p.steps) for p in cfg.phases] == [("adam", 3), ("ssbroyden", 3)]
    assert cfg.remedies == validate_specs(("seq2seq:windows=4",))
    assert result.metrics["phases"][-1]["name"] == "ssbroyden"


def test_auto_bad_second_order_is_one_error_line(capsys):
    from pinnsight.cli import main

    assert main(["train", "convection", "--remedy", "auto:second_order=2", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "pinnsight: error: remedy auto: second_order=2 is not one of 0, 1"


def test_auto_spec_parsing_and_probe_config():
    config = TrainConfig(problem="convection", params={"beta": 10.0}, remedies=("auto:probe_steps=300", "rad"),
                         phases=(PhaseConfig("adam", 2000, {"lr": 5e-3}), PhaseConfig("lbfgs", 100)))
    opts, rest = split_auto(config.remedies)
    assert opts == {"probe_steps": 300, "ntk_points": 128, "second_order": 1, "verify": 1, "budget_s": 0.0,
                    "rounds": 4, "symmetric": 1, "seam": 1} and rest == ("rad",)
    probe = probe_config(config, 300)
    assert probe.remedies == () and [(p.name, p.steps) for p in probe.phases] == [("adam", 300)]
    assert probe.phases[0].options["lr"] == 5e-3 and probe.log_every == 6 and probe.eval_every % probe.log_every == 0


def test_auto_end_to_end_records_its_choice(tmp_path):
    from pinnsight.runs import write_run

    config = TrainConfig(problem="convection", params={"beta": 30.0}, model_options={"width": 16, "depth": 2},
                         points={"res": 128, "ic": 32, "bc": 32}, phases=(PhaseConfig("adam", 20),), log_every=10,
                         eval_every=20, remedies=("auto:probe_steps=100,ntk_points=32,second_order=0,verify=0",))
    result = train(config, progress=False)
    auto = result.metrics["auto"]
    assert auto["requested"] == ["auto:probe_steps=100,ntk_points=32,second_order=0,verify=0"] and auto["probe"]["steps"] == 100
    names = {f["name"] for f in auto["findings"]}
    assert "conditioning-growth" in names  # β = 30: the residual's NTK block outgrows the initial condition's
    assert result.config.remedies == validate_specs(auto["chosen"]["remedies"])
    assert str(result.config.remedies[0]).startswith("curriculum:coef=beta")
    assert all(r["finding"] in names for r in auto["reasons"])
    assert "auto" not in [r.name for r in result.config.remedies] and result.metrics["remedies"]["driver"]["values"][-1] == 30.0
    out = write_run(tmp_path / "run", result)
    recorded = json.loads((out / "config.json").read_text())
    assert validate_specs(recorded["auto"]["chosen"]["remedies"]) == result.config.remedies
    assert TrainConfig.from_dict(recorded["config"]).remedies == result.config.remedies


@pytest.mark.parametrize("problem, option, symmetric", [
    ("burgers", "", True),  # declares u(−x, t) = −u(x, t)
    ("burgers", ",symmetric=0", False),
    ("convection", "", False),  # declares no symmetry
])
def test_auto_builds_a_declared_symmetry_into_the_network(problem, option, symmetric):
    from pinnsight.planner import resolve_auto

    config = TrainConfig(problem=problem, model_options={"width": 8, "depth": 2}, points={"res": 64},
                         phases=(PhaseConfig("adam", 10),), log_every=5, eval_every=10,
                         remedies=(f"auto:probe_steps=20,ntk_points=16,second_order=0,verify=0{option}",))
    resolved, record = resolve_auto(config)
    assert resolved.symmetric is symmetric
    assert resolved.points["res"] == 64  # as many points (on half of them Burgers' recipe failed)
    taken = [r for r in record["reasons"] if r["choice"] == "--symmetric"]
    assert len(taken) == int(symmetric)
    if symmetric:
        assert taken[0]["finding"] == "declared-symmetry" and "x → −x with u → −u" in taken[0]["why"]
        assert TrainConfig.from_dict(resolved.to_dict()).symmetric  # recorded in config.json


@pytest.mark.parametrize("problem, model, option, seam", [
    ("allen-cahn", "periodic", "", 1e-4),  # u0 = x² cos πx: slope −2 → +2 across x = ±1, diffused by ε² = 1e-4
    ("allen-cahn", "periodic", ",seam=0", 0.0),
    ("allen-cahn", "mlp", "", 0.0),  # no periodic network: nothing to add the input to
    ("kdv", "periodic", "", 0.0),  # cos πx is smooth across its seam (and KdV does not diffuse)
])
def test_auto_gives_a_kinked_seam_its_rounded_kink_as_an_input(problem, model, option, seam):
    from pinnsight.planner import resolve_auto

    config = TrainConfig(problem=problem, model=model, model_options={"width": 8, "depth": 2}, points={"res": 64},
                         phases=(PhaseConfig("adam", 10),), log_every=5, eval_every=10,
                         remedies=(f"auto:probe_steps=20,ntk_points=16,second_order=0,verify=0,symmetric=0{option}",))
    resolved, record = resolve_auto(config)
    assert resolved.model_options.get("seam", 0.0) == pytest.approx(seam, rel=1e-6)
    taken = [r for r in record["reasons"] if r["finding"] == "kinked-seam"]
    assert len(taken) == int(bool(seam))
    if seam:
        assert "κ = 0.0001" in taken[0]["why"]
        assert TrainConfig.from_dict(resolved.to_dict()).model_options["seam"] == resolved.model_options["seam"]


def test_grad_stats_remedy_logs_gradient_columns():
    config = TrainConfig(problem="convection", params={"beta": 2.0}, model_options={"width": 8, "depth": 2},
                         points={"res": 64, "ic": 16, "bc": 16}, phases=(PhaseConfig("adam", 60),), log_every=10,
                         eval_every=60, remedies=("grad-stats:every=20",))
    result = train(config, progress=False)
    rows = [r for r in result.history if "res_grad_norm" in r]
    assert [r["step"] for r in rows] == [10, 20, 40, 60]  # the first chunk, then each chunk reaching a multiple of 20
    assert all(r[f"{k}_grad_norm"] > 0 for r in rows for k in ("res", "ic", "bc"))
    events = result.metrics["remedies"]["grad-stats"]["events"]
    assert [e["step"] for e in events] == [10, 20, 40, 60]
    assert sum(events[0]["hist"]["res"]) == result.metrics["n_params"]


def test_divergence_and_non_finite_runs_are_named():
    from pinnsight.diagnostics import signatures as S

    phases = [{"name": "adam", "steps": 50, "stop_reason": "diverged", "start_loss": 2.7, "end_loss": 3e16}]
    f = S.training_broke_down("diverged", phases)
    assert f.name == "diverged" and f.severity == "critical" and "adam" in f.message
    assert S.training_broke_down("nan", [{"name": "lbfgs", "steps": 3, "stop_reason": "nan"}]).name == "non-finite"
    assert S.training_broke_down("budget", phases) is None


def test_suggestions_leave_out_what_the_run_already_tried():
    from pinnsight.diagnostics import signatures as S
    from pinnsight.remedies import remedy_specs

    problem = make_problem("convection", beta=30.0)
    finding = S.conditioning_growth("beta", 1.0, 30.0, 0.7, 2000.0)
    fresh = S.make_context(problem, {"beta": 30.0}, remedy_specs(), 1000)
    first = S.with_suggestions([finding], fresh)[0].suggestions
    # the remedy, then the marching recipe, then the LM recipe
    assert [s.spec.split(":")[0] for s in first if s.spec] == ["curriculum", "seq2seq", "curriculum"]
    # a run that used curriculum + Levenberg–Marquardt is not told to use them again, but to go further
    tried = S.make_context(problem, {"beta": 30.0}, remedy_specs(), 1000, tried=("curriculum", "adam", "gauss-newton"))
    (only,) = S.with_suggestions([finding], tried)[0].suggestions
    assert only.recipe == "marching-quasi-newton"
    # ... and one that used every suggestion, to train longer
    everything = ("curriculum", "adam", "gauss-newton", "seq2seq", "ssbroyden")
    tried = S.make_context(problem, {"beta": 30.0}, remedy_specs(), 1000, tried=everything)
    (only,) = S.with_suggestions([finding], tried)[0].suggestions
    assert only.spec is None and only.args == ("--steps", "2000") and "already used" in only.why
    # curriculum alone tried: the recipes (they add seq2seq + ssbroyden, gauss-newton) are still proposed
    partly = S.make_context(problem, {"beta": 30.0}, remedy_specs(), 1000, tried=("curriculum", "adam"))
    assert [s.recipe for s in S.with_suggestions([finding], partly)[0].suggestions] == ["marching-quasi-newton",
                                                                                      "curriculum-lm"]
    # no time marching on data the periodic embedding cannot represent (reaction's Gaussian): LM only
    reaction = S.make_context(make_problem("reaction", rho=5.0), {"rho": 5.0}, remedy_specs(), 1000)
    growth = S.conditioning_growth("rho", 1.0, 5.0, 1.5, 50.0)
    assert [s.recipe for s in S.with_suggestions([growth], reaction)[0].suggestions if s.recipe] == ["curriculum-lm"]
