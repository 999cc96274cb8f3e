"""Second-order phases (issue 5): known minimizers, Wolfe conditions, damping rule, float64 throughout, no
retracing, stop reasons, and a PINN where Levenberg–Marquardt beats the same number of extra Adam steps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import pinnsight as ps
from pinnsight.config import PHASE_DEFAULTS, PhaseConfig, TrainConfig
from pinnsight.errors import PinnsightError
from pinnsight.losses import make_objective
from pinnsight.optimizers import _flat, base, gauss_newton, lbfgs, natural_gradient, newton_cg, quasi_newton
from pinnsight.optimizers.base import PhaseContext
from pinnsight.trainer import PhaseCompiler, PhaseRun, initial_state


def rosenbrock(x, data=None):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_residuals(x, data=None):
    return jnp.concatenate([10.0 * (x[1:] - x[:-1] ** 2), 1.0 - x[:-1]])


def quadratic_problem(n=8, cond=1e3):
    """f = ½xᵀAx − bᵀx with eigenvalues spread over ``cond``; the minimiser A⁻¹b; residuals r = Lᵀx − L⁻¹b."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = q @ np.diag(np.geomspace(1.0, cond, n)) @ q.T
    b = rng.normal(size=n)
    return jnp.asarray(A), jnp.asarray(b), np.linalg.solve(A, b)


def run_method(method, x0, options, iters=500):
    chunk = base.make_chunk(method.step, options)
    state = base.strong(jax.jit(method.init)(x0, None))
    return chunk(x0, state, None, jnp.asarray(iters, jnp.int32))


X0_ROSEN = (-1.2, 1.0)


pytestmark = pytest.mark.usefixtures("x64")  # float64 throughout (fixture in conftest.py)


# ------------------------------------------------------------------------------------- quasi-Newton
@pytest.mark.parametrize("variant", quasi_newton.VARIANTS)
def test_quasi_newton_finds_known_minimizers(variant):
    opts = dict(quasi_newton.DEFAULTS, patience=5)
    out = run_method(quasi_newton.qn_method(rosenbrock, 2, variant, opts), jnp.array(X0_ROSEN), opts, 300)
    assert np.max(np.abs(out.x - 1.0)) < 1e-6, (variant, out.x)
    assert int(out.iteration) < 120  # superlinear: the steepest-descent-like failure mode takes thousands
    A, b, x_star = quadratic_problem()
    f = lambda x, data: 0.5 * x @ A @ x - b @ x  # noqa: E731
    out = run_method(quasi_newton.qn_method(f, 8, variant, opts), jnp.zeros(8), opts, 200)
    assert np.max(np.abs(out.x - x_star)) < 1e-6 * np.max(np.abs(x_star)), variant
    assert base.REASONS[int(out.reason)] in ("gtol", "no-progress")  # stopped at the minimum, for its reason


def test_self_scaled_inverse_update_is_the_inverse_of_the_direct_update():
    """H⁺ from the inverse form with φ = (1−θ)/(1+aθ) inverts B⁺ of the direct form with parameter θ, any τ."""
    rng = np.random.default_rng(1)
    n = 6
    M = rng.normal(size=(n, n))
    B = M @ M.T + np.eye(n)
    H = np.linalg.inv(B)
    s, y = rng.normal(size=n), rng.normal(size=n)
    y = y if y @ s > 0 else -y
    a = (y @ H @ y / (y @ s)) * (s @ B @ s / (y @ s)) - 1.0
    assert a > 1.0  # far from the secant condition: the duality formula matters
    for theta, tau in [(0.0, 1.0), (0.4, 0.6), (-0.5 / (1 + a), 0.9)]:
        Bn = quasi_newton.direct_update(jnp.asarray(B), jnp.asarray(s), jnp.asarray(y), tau, theta)
        Hn = quasi_newton.inverse_update(jnp.asarray(H), jnp.asarray(s), jnp.asarray(y), tau, (1 - theta) / (1 + a * theta))
        assert np.max(np.abs(np.asarray(Hn @ Bn) - np.eye(n))) < 1e-9
        assert np.allclose(Hn @ y, s)  # inverse secant condition, whatever τ and φ


def test_ssbroyden_scaling_formulas():
    """τ, φ against Urbán et al. (2025) Eqs. 11–23 evaluated by hand in NumPy."""
    rng = np.random.default_rng(2)
    n = 5
    H = np.eye(n) * 0.3
    g = rng.normal(size=n)
    alpha = 0.7
    s = -alpha * H @ g
    y = 2.5 * s + 0.2 * rng.normal(size=n)
    b = -alpha * s @ g / (y @ s)
    h = y @ H @ y / (y @ s)
    a = h * b - 1
    c = np.sqrt(a / (1 + a))
    rho = min(1, h * (1 - c))
    theta = max((rho - 1) / a, min(1 / rho, (1 - b) / b))
    sigma = 1 + a * theta
    tau1 = min(1, 1 / b)
    tau = tau1 * min(sigma ** (-1 / (n - 1)), 1 / theta) if theta > 0 else min(tau1 * sigma ** (-1 / (n - 1)), sigma)
    got = quasi_newton.scaling("ssbroyden", *map(jnp.asarray, (s, y, g)), alpha, jnp.asarray(H @ y), n)
    assert np.allclose([float(v) for v in got], [tau, (1 - theta) / (1 + a * theta)], rtol=1e-12)
    assert np.allclose(float(quasi_newton.scaling("ssbfgs", *map(jnp.asarray, (s, y, g)), alpha, None, n)[0]), tau1)


def test_zoom_line_search_satisfies_strong_wolfe():
    ls = _flat.zoom({"max_linesearch_steps": 25})
    fn, grad = rosenbrock, jax.grad(rosenbrock)
    search = jax.jit(lambda x, d: _flat.line_search(ls, ls.init(x), x, fn(x), grad(x), d, fn))
    newton = jax.jit(lambda x: -jnp.linalg.solve(jax.hessian(fn)(x) + 1e-3 * jnp.eye(4), grad(x)))
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(10):
        x = jnp.asarray(rng.uniform(-2, 2, size=4))
        g = grad(x)
        for d in (-g, newton(x)):
            if not d @ g < 0:
                continue
            step, value, new_grad, _, failed, _ = search(x, d)
            assert not bool(failed)
            alpha = float(step @ d / (d @ d))
            assert alpha > 0
            assert float(value) <= float(fn(x)) + 1e-4 * alpha * float(g @ d)  # sufficient decrease
            assert abs(float(new_grad @ d)) <= 0.9 * abs(float(g @ d))  # strong curvature condition
            assert np.isclose(float(value), float(fn(x + step)))
            checked += 1
    assert checked >= 12


# --------------------------------------------------------------------------------------- Gauss–Newton
@pytest.mark.parametrize("matrix_free", [0, 1])
def test_levenberg_marquardt_finds_known_minimizers(matrix_free):
    opts = dict(gauss_newton.DEFAULTS, matrix_free=matrix_free, cg_tol=1e-10)
    out = run_method(gauss_newton.lm_method(rosenbrock_residuals, 2, opts), jnp.array(X0_ROSEN), opts, 200)
    assert np.max(np.abs(out.x - 1.0)) < 1e-8
    A, b, x_star = quadratic_problem()
    L = np.linalg.cholesky(np.asarray(A))
    res = lambda x, data: jnp.asarray(L.T) @ x - jnp.asarray(np.linalg.solve(L, b))  # noqa: E731  ‖r‖² = 2f + const
    out = run_method(gauss_newton.lm_method(res, 8, opts), jnp.zeros(8), opts, 100)
    assert np.max(np.abs(out.x - x_star)) < 1e-8 * np.max(np.abs(x_star))


def test_nielsen_damping_rule():
    lam, nu = jnp.asarray(1.0), jnp.asarray(2.0)
    assert np.allclose(gauss_newton.nielsen(lam, nu, 1.0, True), (1 / 3, 2.0))  # very good step: λ/3
    assert np.allclose(gauss_newton.nielsen(lam, nu, 0.5, True), (1.0, 2.0))  # mediocre: unchanged
    assert np.allclose(gauss_newton.nielsen(lam, nu, 0.1, True), (1 + 0.8 ** 3, 2.0))  # poor but accepted: up
    assert np.allclose(gauss_newton.nielsen(lam, jnp.asarray(4.0), 0.0, False), (4.0, 8.0))  # rejected: λν, ν ← 2ν


def test_levenberg_marquardt_damping_adapts():
    """Large initial damping falls over good steps; a trial from a point where the model is poor raises it."""
    opts = dict(gauss_newton.DEFAULTS, damping=1e3)
    method = gauss_newton.lm_method(rosenbrock_residuals, 2, opts)
    step = jax.jit(method.step)
    x = jnp.array(X0_ROSEN)
    st = method.init(x, None)
    lams = [float(st.damping)]
    for _ in range(6):
        x, st, info = step(x, st, None)
        lams.append(float(st.damping))
        assert int(info.fevals) >= 2
    assert lams[-1] < 1e-2 * lams[0] and all(b <= a for a, b in zip(lams, lams[1:]))
    # tiny damping where the linear model is poor (r = x³ − 1 near 0): the Gauss–Newton step (≈ +33) overshoots,
    # is rejected, λ rises until a step is accepted
    opts = dict(gauss_newton.DEFAULTS, damping=1e-12)
    method = gauss_newton.lm_method(lambda x, d: x ** 3 - 1.0, 1, opts)
    x = jnp.array([0.1])
    st = method.init(x, None)
    x_new, st_new, info = method.step(x, st, None)
    assert int(info.fevals) > 2  # at least one rejected trial before the accepted one
    assert float(st_new.damping) > float(st.damping) and float(st_new.value) < float(st.value)


# --------------------------------------------------------------------------------------- Newton–CG
def test_newton_cg_finds_known_minimizers():
    opts = dict(newton_cg.DEFAULTS, patience=5)
    out = run_method(newton_cg.newton_cg_method(rosenbrock, 2, opts), jnp.array(X0_ROSEN), opts, 200)
    assert np.max(np.abs(out.x - 1.0)) < 1e-6
    A, b, x_star = quadratic_problem()
    f = lambda x, data: 0.5 * x @ A @ x - b @ x  # noqa: E731
    out = run_method(newton_cg.newton_cg_method(f, 8, dict(opts, cg_tol=1e-10)), jnp.zeros(8), opts, 30)
    assert np.max(np.abs(out.x - x_star)) < 1e-6 * np.max(np.abs(x_star))


def test_truncated_cg():
    A, b, x_star = quadratic_problem(cond=100.0)
    p, k = _flat.truncated_cg(lambda v: A @ v, b, 100, 1e-12)
    assert np.allclose(p, x_star, rtol=1e-8) and int(k) <= 20
    p, k = _flat.truncated_cg(lambda v: -v, b, 100, 1e-12)  # negative curvature at once: the right-hand side
    assert np.allclose(p, b) and int(k) == 1


# ------------------------------------------------------------------------------------------ PINN plumbing
def tiny_context(**kw):
    cfg = TrainConfig(problem="convection", params={"beta": 2.0}, model_options={"width": 8, "depth": 2},
                      points={"res": 64, "ic": 16, "bc": 16}, log_every=3, eval_every=3, **kw)
    problem = cfg.build_problem()
    static, state = initial_state(cfg, problem)
    return PhaseContext(problem, static, make_objective(problem, static)), state


@pytest.mark.parametrize("name", ["adam", "lbfgs", "ssbroyden", "gauss-newton", "natural-gradient"])
def test_phase_run_reports_and_never_retraces(name):
    """Chunks of 3, 3 and 1 iterations are one trace; a phase resumed with new coefficients (a remedy's change)
    and a second run of the same configuration (the next curriculum stage) reuse it."""
    ctx, state = tiny_context()
    compiler = PhaseCompiler(ctx.problem, ctx.static, ctx.objective, sum_of_squares=True, sample=None, seed=0)
    run = PhaseRun(compiler, PhaseConfig(name, 7), state, warm=False)
    start = run.value
    done = [run.chunk(n)[0] for n in (3, 3, 1)]
    assert done == [3, 3, 1] and run.value < start
    chunk = compiler.get(PhaseConfig(name, 7), state.params).chunk
    assert chunk._cache_size() == 1
    run.resume(state._replace(coeffs={"beta": jnp.asarray(3.0, jnp.float32)}), restart=False)
    run.chunk(3)
    again = PhaseRun(compiler, PhaseConfig(name, 7), state, warm=True)
    again.chunk(2)
    assert chunk._cache_size() == 1


def test_stop_reasons_no_progress_and_nan_keeps_last_finite():
    opts = dict(quasi_newton.DEFAULTS, patience=3)
    out = run_method(quasi_newton.qn_method(rosenbrock, 2, "bfgs", opts), jnp.array([1.0, 1.0]), opts, 50)
    assert base.REASONS[int(out.reason)] == "gtol" and np.allclose(out.x, 1.0)  # ∇f = 0 exactly at the minimum
    out = run_method(quasi_newton.qn_method(rosenbrock, 2, "bfgs", opts), jnp.array([0.5, 0.2]), opts, 500)
    assert base.REASONS[int(out.reason)] in ("gtol", "no-progress") and np.allclose(out.x, 1.0)

    def walk(x, st, data):  # a fake method whose loss turns NaN at its 3rd step
        value = jnp.where(x[0] + 1.0 > 2.5, jnp.nan, x[0] + 1.0)
        return x + 1.0, st._replace(value=value), base.info(st.value, value, jnp.inf, 1)

    from typing import NamedTuple

    class WalkState(NamedTuple):
        value: jax.Array

    out = base.make_chunk(walk, dict(gtol=0.0, ftol=0.0, patience=10))(
        jnp.zeros(1), WalkState(jnp.asarray(0.0)), None, jnp.asarray(10, jnp.int32))
    assert base.REASONS[int(out.reason)] == "nan" and float(out.x[0]) == 2.0 and int(out.iteration) == 3
    assert float(out.state.value) == 2.0  # the state of the last finite iterate
    # LM: trials that hit NaN are rejected (damping rises); the iterate stays finite
    opts = dict(gauss_newton.DEFAULTS)
    res = lambda x, data: jnp.where(x[0] > 0.5, jnp.nan, x - 2.0)  # noqa: E731
    out = run_method(gauss_newton.lm_method(res, 2, opts), jnp.zeros(2), opts, 50)
    assert bool(jnp.all(jnp.isfinite(out.x))) and float(out.x[0]) <= 0.5


@pytest.mark.parametrize("name", ["gauss-newton", "natural-gradient"])
def test_sum_of_squares_phases_refuse_a_remedy_that_changes_the_loss(name, monkeypatch):
    """Causal weighting declares its loss no sum of squares: the configuration itself is refused."""
    with pytest.raises(PinnsightError, match="squared residuals"):
        TrainConfig(problem="convection", params={"beta": 2.0}, model_options={"width": 8, "depth": 2},
                    phases=(PhaseConfig("adam", 3), PhaseConfig(name, 3)), remedies=("causal",))


def test_phase_options_validated():
    assert PhaseConfig("gauss-newton", 5, {"matrix_free": "1"}).options["matrix_free"] == 1
    with pytest.raises(PinnsightError, match="unknown option"):
        PhaseConfig("ssbroyden", 5, {"memory": "3"})
    for name in ("bfgs", "ssbfgs", "ssbroyden", "gauss-newton", "newton-cg", "lbfgs"):
        assert PhaseConfig(name, 1).name == name


def test_float64_throughout_every_step():
    """With x64 on (fixture), no float32 value appears anywhere in any phase's step — nested loops, line search,
    CG and Cholesky included — and the state it returns is float64."""
    ctx, state = tiny_context(x64=True)
    x, unravel = ravel_pytree(state.params)
    assert x.dtype == jnp.float64
    data = (state.batch, state.weights, state.coeffs)
    builds = {"ssbroyden": quasi_newton.build("ssbroyden"),  # bfgs, ssbfgs: the same code path
              "gauss-newton": gauss_newton.build, "newton-cg": newton_cg.build,
              "natural-gradient": natural_gradient.build}
    extras = {"gauss-newton": [{}, {"matrix_free": 1}], "natural-gradient": [{}, {"damping": 0.0}]}
    checked = 0
    for name, build in builds.items():
        for extra in extras.get(name, [{}]):
            m = build(ctx, {**PHASE_DEFAULTS[name], **extra}, unravel, x.size)
            st = jax.eval_shape(lambda x: m.init(x, data), x)
            text = str(jax.make_jaxpr(lambda x, st: m.step(x, st, data))(x, st))
            assert "f64[" in text and "f32[" not in text and "f16[" not in text, (name, extra)
            x2, st2, _ = jax.eval_shape(lambda x, st: m.step(x, st, data), x, st)
            floats = {v.dtype for v in jax.tree.leaves(st2) if jnp.issubdtype(v.dtype, jnp.floating)}
            assert x2.dtype == jnp.float64 and floats == {jnp.dtype("float64")}, (name, extra, floats)
            checked += 1
    assert checked == 6


def test_second_order_phase_beats_the_same_number_of_adam_steps():
    """Convection β=5, 3×20 tanh net, 300 residual points, float64, seed 0: Adam 200 then 40 LM iterations vs
    Adam 240. Measured (shared 2-core CPU): Adam 0.96, Adam+LM 3.8e-3 (seed 1: 0.91 vs 3.5e-2); asserted: ≥ 20×."""
    base = dict(problem="convection", params={"beta": 5.0}, model_options={"width": 20, "depth": 3},
                points={"res": 300}, seed=0, x64=True, log_every=40, eval_every=40)
    adam = ps.train(TrainConfig(phases=(PhaseConfig("adam", 240),), **base), progress=False)
    lm = ps.train(TrainConfig(phases=(PhaseConfig("adam", 200), PhaseConfig("gauss-newton", 40)), **base),
                  progress=False)
    assert lm.metrics["steps"] == adam.metrics["steps"] == 240
    assert lm.metrics["dtype"] == "float64"
    report = lm.phases[-1]
    assert report.name == "gauss-newton" and report.steps == 40 and report.function_evals >= 40
    assert lm.metrics["rel_l2"] < adam.metrics["rel_l2"] / 20, (lm.metrics["rel_l2"], adam.metrics["rel_l2"])
    rows = [r for r in lm.history if r["phase"] == "gauss-newton"]
    assert rows and all(r["rel_l2"] is not None for r in rows)  # the error curve of the phase is recorded


def test_lbfgs_chunk_finds_rosenbrock_minimizer_with_configured_memory():
    opts = dict(PhaseConfig("lbfgs", 1, {"memory": 4, "patience": 5}).options)
    objective = lambda p, b, w, c: (rosenbrock(p), {})  # noqa: E731
    method = lbfgs.build(PhaseContext(None, None, objective), opts, None, 0)
    x0 = jnp.array(X0_ROSEN)
    data = ({}, {}, {})
    state = base.strong(jax.jit(method.init)(x0, data))
    assert state.opt[0].diff_params_memory.shape == (4, 2)  # history size = memory
    out = base.make_chunk(method.step, opts)(x0, state, data, jnp.asarray(300, jnp.int32))
    assert np.max(np.abs(out.x - 1.0)) < 1e-6 and base.REASONS[int(out.reason)] in ("gtol", "no-progress")
    assert int(out.fevals) >= int(out.iteration)


# ------------------------------------------------------------------------------------ natural gradient
def test_natural_direction_is_the_minimum_norm_least_squares_step():
    """δ = G⁺Jᵀr equals numpy's minimum-norm lstsq solution of Jδ = r, also for a rank-deficient J."""
    rng = np.random.default_rng(1)
    J = rng.normal(size=(12, 6))
    J[:, 5] = J[:, 0] + J[:, 1]  # rank 5
    r = rng.normal(size=12)
    d = natural_gradient.natural_direction(jnp.asarray(J), jnp.asarray(r), 1e-10, 0.0)
    expected = np.linalg.lstsq(J, r, rcond=None)[0]
    assert np.allclose(np.asarray(d), expected, atol=1e-10)
    # Tikhonov variant: (G + μ max diag(G) I)⁻¹ Jᵀ r
    G = J.T @ J
    mu = 1e-3 * np.diag(G).max()
    d = natural_gradient.natural_direction(jnp.asarray(J), jnp.asarray(r), 1e-10, 1e-3)
    assert np.allclose(np.asarray(d), np.linalg.solve(G + mu * np.eye(6), J.T @ r), atol=1e-10)


def test_natural_direction_in_sample_space_equals_the_parameter_space_step():
    """With fewer rows than parameters (N = 7 < P = 15) the Woodbury form Jᵀ(JJᵀ + μI)⁻¹r equals
    (JᵀJ + μI)⁻¹Jᵀr with μ = damping·max diag(JᵀJ), and Jᵀ(JJᵀ)⁺r the minimum-norm solution — also rank-deficient."""
    rng = np.random.default_rng(2)
    J = rng.normal(size=(7, 15))
    J[6] = J[0] - 2 * J[3]  # rank 6
    r = rng.normal(size=7)
    G = J.T @ J
    mu = 1e-3 * np.diag(G).max()
    tikhonov = np.linalg.solve(G + mu * np.eye(15), J.T @ r)
    for woodbury in (True, False):
        d = natural_gradient.natural_direction(jnp.asarray(J), jnp.asarray(r), 1e-10, 1e-3, woodbury)
        assert np.allclose(np.asarray(d), tikhonov, rtol=1e-8, atol=1e-10), woodbury
        d = natural_gradient.natural_direction(jnp.asarray(J), jnp.asarray(r), 1e-10, 0.0, woodbury)
        assert np.allclose(np.asarray(d), np.linalg.lstsq(J, r, rcond=None)[0], atol=1e-9), woodbury


@pytest.mark.parametrize("phase, flag", [("natural-gradient", "woodbury"), ("gauss-newton", "matrix_free"),
                                         ("gauss-newton", "marquardt"), ("gauss-newton", "jac_forward")])
def test_switch_options_take_only_0_or_1(phase, flag):
    assert PhaseConfig(phase, 5, {flag: "0"}).options[flag] == 0
    with pytest.raises(ps.PinnsightError, match=f"{flag}='2' is out of range"):
        PhaseConfig(phase, 5, {flag: "2"})


def test_natural_gradient_solves_linear_least_squares_in_one_step_and_rosenbrock():
    """For r linear in x, one ENGD step with η = 1 lands on the least-squares minimiser (the grid picks η = 1);
    on Rosenbrock's residuals the grid-searched Gauss–Newton steps converge."""
    opts = dict(natural_gradient.DEFAULTS, damping=0.0)
    A, b, x_star = quadratic_problem()
    L = np.linalg.cholesky(np.asarray(A))
    res = lambda x, data: jnp.asarray(L.T) @ x - jnp.asarray(np.linalg.solve(L, b))  # noqa: E731
    method = natural_gradient.ng_method(res, 8, opts)
    x1, st, info = jax.jit(method.step)(jnp.zeros(8), jax.jit(method.init)(jnp.zeros(8), None), None)
    assert float(st.step_size) == 1.0
    assert np.max(np.abs(np.asarray(x1) - x_star)) < 1e-9 * np.max(np.abs(x_star))
    out = run_method(natural_gradient.ng_method(rosenbrock_residuals, 2, opts), jnp.array(X0_ROSEN), opts, 100)
    assert np.max(np.abs(out.x - 1.0)) < 1e-8


def test_natural_gradient_phase_on_a_pinn():
    """Convection β=5 (linear PDE: ENGD proper), 3×20 tanh, float64, seed 0: Adam 200 then 30 ENGD iterations vs
    Adam 230. Measured (loaded 2-core CPU): Adam 0.96, Adam+ENGD 7.2e-4 (default damping 1e-8); asserted ≥ 20× lower."""
    base = dict(problem="convection", params={"beta": 5.0}, model_options={"width": 20, "depth": 3},
                points={"res": 300}, seed=0, x64=True, log_every=30, eval_every=30)
    adam = ps.train(TrainConfig(phases=(PhaseConfig("adam", 230),), **base), progress=False)
    ng = ps.train(TrainConfig(phases=(PhaseConfig("adam", 200), PhaseConfig("natural-gradient", 30)), **base),
                  progress=False)
    report = ng.phases[-1]
    assert report.name == "natural-gradient" and report.steps >= 1
    assert ng.metrics["rel_l2"] < adam.metrics["rel_l2"] / 20, (ng.metrics["rel_l2"], adam.metrics["rel_l2"])
