"""Helmholtz, Klein–Gordon, wave, Poisson (exact solutions) and Allen–Cahn, Burgers (package references)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnsight import PhaseConfig, PinnsightError, TrainConfig, train
from pinnsight.losses import pointwise_residuals
from pinnsight.problems import Dirichlet, Initial, Periodic, make_problem, problem_specs
from pinnsight.sampling import sample_batch

EXACT = [
    ("helmholtz", {}),
    ("helmholtz", {"a1": 1.5, "a2": 0.7, "k": 3.0}),  # non-integer frequencies: non-zero boundary values
    ("klein-gordon", {}),
    ("klein-gordon", {"alpha": -2.0, "beta": 0.5, "gamma": 3.0}),
    ("wave", {}),
    ("wave", {"c": 0.7}),
    ("poisson", {"k": 1.0}),
    ("poisson", {"k": 2.5}),
    ("poisson", {"k": 20.0, "variant": "multiscale", "amp": 0.3}),
]


def test_problems_are_registered():
    assert {"helmholtz", "klein-gordon", "wave", "poisson", "allen-cahn", "burgers"} <= set(problem_specs())


@pytest.mark.parametrize(
    "name,params,match",
    [
        ("helmholtz", {"a1": 0}, "out of range"),
        ("helmholtz", {"k": -1}, "out of range"),
        ("klein-gordon", {"alpha": 1}, "out of range"),
        ("wave", {"c": 0}, "out of range"),
        ("wave", {"c": "fast"}, "not a number"),
        ("poisson", {"k": 0}, "out of range"),
        ("poisson", {"variant": "triple"}, "not one of"),
        ("poisson", {"amp": -0.1}, "out of range"),
        ("allen-cahn", {"eps2": -1e-4}, "out of range"),
        ("allen-cahn", {"gamma": -5}, "out of range"),
        ("burgers", {"nu": 0}, "out of range"),
        ("burgers", {"mu": 1}, "unknown parameter"),
    ],
)
def test_parameter_validation(name, params, match):
    with pytest.raises(PinnsightError, match=match):
        make_problem(name, **params)


def test_problem_layouts():
    h = make_problem("helmholtz")
    assert h.coords == ("x", "y") and h.time is None and h.bounds == ((-1.0, 1.0), (-1.0, 1.0))
    assert h.coefficients == {"a1": 1.0, "a2": 4.0, "k": 1.0}
    assert [type(c) for c in h.constraints] == [Dirichlet]
    kg, w = make_problem("klein-gordon"), make_problem("wave")
    for p in (kg, w):
        assert p.coords == ("x", "t") and p.bounds == ((0.0, 1.0), (0.0, 1.0))
        assert [(c.name, getattr(c, "order", None)) for c in p.constraints] == [("ic", 0), ("ic_t", 1), ("bc", None)]
    assert w.coefficients == {"c": 2.0}
    po = make_problem("poisson", k=3)
    assert po.coords == ("x",) and po.time is None and po.reference_axes()[0].shape == (1001,)
    ac = make_problem("allen-cahn")
    assert ac.periodic == ("x",) and ac.reference_shape == (512, 201) and ac.bounds == ((-1.0, 1.0), (0.0, 1.0))
    assert [type(c) for c in ac.constraints] == [Initial, Periodic] and ac.constraints[1].derivatives == 1
    assert ac.coefficients == {"eps2": 1e-4, "gamma": 5.0}
    b = make_problem("burgers")
    # λ₁ (the convective factor, 1) is a coefficient so that it can be identified (--unknown lambda1=...)
    assert b.reference_shape == (256, 100) and b.coefficients == {"nu": 0.01 / math.pi, "lambda1": 1.0}
    with pytest.raises(PinnsightError, match="reference is for lambda1 = 1"):
        make_problem("burgers", lambda1=2.0)


# ------------------------------------------------------------------------------- exact solutions and forcing
def _exact_residuals(problem, perturbation=0.0):
    """Every term's residual of the exact solution + ``perturbation`` · Π zᵢ³, through the training autodiff
    path (``pointwise_residuals``), in float64."""
    c = {k: jnp.asarray(v, jnp.float64) for k, v in problem.coefficients.items()}
    model = lambda z: problem.exact(*z, c) + perturbation * jnp.prod(z**3)  # noqa: E731
    points = {"res": 200, **{con.name: 64 for con in problem.constraints}}
    batch = sample_batch(problem, jax.random.PRNGKey(3), points, jnp.float64)
    res = jax.jit(lambda b: pointwise_residuals(problem, model, b, c))(batch)
    return {k: np.abs(np.asarray(v)).max() for k, v in res.items()}


@pytest.mark.parametrize("name,params", EXACT)
def test_exact_solution_has_zero_residual_in_float64(name, params):
    with jax.enable_x64(True):
        problem = make_problem(name, **params)
        res = _exact_residuals(problem)
        # measured ≤ 6e-14 (terms up to ~4e3 in size); rounding, not truncation
        assert max(res.values()) < 1e-11, res
        # and the check can fail: a 1e-3 perturbation of the exact solution leaves a visible PDE residual
        assert _exact_residuals(problem, perturbation=1e-3)["res"] > 1e-4


def test_exact_solutions_are_the_stated_ones():
    with jax.enable_x64(True):
        x, y = jnp.asarray([0.3, -0.45]), jnp.asarray([0.2, 0.9])
        h = make_problem("helmholtz")
        np.testing.assert_allclose(h.exact(x, y, h.coefficients), np.sin(np.pi * x) * np.sin(4 * np.pi * y), atol=1e-15)
        kg = make_problem("klein-gordon")
        np.testing.assert_allclose(kg.exact(x, y, {}), x * np.cos(5 * np.pi * y) + (x * y) ** 3, atol=1e-15)
        w = make_problem("wave")
        want = np.sin(np.pi * x) * np.cos(2 * np.pi * y) + 0.5 * np.sin(4 * np.pi * x) * np.cos(8 * np.pi * y)
        np.testing.assert_allclose(w.exact(x, y, {"c": 2.0}), want, atol=1e-15)
        p = make_problem("poisson", k=3, variant="multiscale", amp=0.1)
        want = np.sin(np.pi * x) + 0.1 * np.sin(3 * np.pi * x)
        np.testing.assert_allclose(p.exact(x, p.coefficients), want, atol=1e-15)


def test_allen_cahn_and_burgers_residuals_on_closed_form_solutions():
    """The residual code against solutions known in closed form (float64, via the training path)."""
    with jax.enable_x64(True):
        pts = jax.random.uniform(jax.random.PRNGKey(0), (100, 2), jnp.float64, -1.0, 1.0)
        ac = make_problem("allen-cahn")
        c = {k: jnp.asarray(v, jnp.float64) for k, v in ac.coefficients.items()}
        a = math.sqrt(5.0 / (2 * 1e-4))  # stationary kink tanh(a x): ε² u_xx + γ(u − u³) = 0 for a² = γ / (2ε²)
        kink = lambda x, t: jnp.tanh(a * x)  # noqa: E731
        residual = jax.jit(jax.vmap(lambda p, gamma: ac.residual(kink, p[0], p[1], {**c, "gamma": gamma}), (0, None)))
        assert np.abs(np.asarray(residual(pts * 0.02, c["gamma"]))).max() < 1e-10  # x inside the front
        assert np.abs(np.asarray(residual(pts * 0.02, c["gamma"] * 1.01))).max() > 1e-3
        b = make_problem("burgers")
        c = {k: jnp.asarray(v, jnp.float64) for k, v in b.coefficients.items()}
        nu, amp, speed = b.coefficients["nu"], 0.8, 0.3  # travelling front s − A tanh(A (x − s t) / 2ν)
        front = lambda x, t: speed - amp * jnp.tanh(amp * (x - speed * t) / (2 * nu))  # noqa: E731
        pts = pts * jnp.asarray([[0.05, 1.0]])  # x near the front
        residual = jax.jit(jax.vmap(lambda p, nu: b.residual(front, p[0], p[1], {**c, "nu": nu}), (0, None)))
        assert np.abs(np.asarray(residual(pts, c["nu"]))).max() < 1e-9
        assert np.abs(np.asarray(residual(pts, c["nu"] * 1.01))).max() > 1e-2


# ----------------------------------------------------------------------------------------------- references
def test_allen_cahn_reference_grid_and_initial_value():
    ac = make_problem("allen-cahn")
    ref = ac.reference_solution()
    x, t = ref.axes
    assert ref.values.shape == (512, 201) and x[0] == -1.0 and x[-1] < 1.0 and t[0] == 0.0 and t[-1] == 1.0
    u0 = np.asarray(ac.constraints[0].value(jnp.asarray(x, jnp.float32)), np.float64)
    np.testing.assert_allclose(ref.values[:, 0], u0, atol=1e-6)  # float32 u0 vs float64 reference
    np.testing.assert_array_equal(ac.reference_solution().values, ref.values)  # cached: identical


def test_allen_cahn_reference_satisfies_the_problem_pde():
    """Spectral u_xx on the periodic grid, central differences (h = 1e-4) in t, at four times."""
    ac = make_problem("allen-cahn")
    c = dict(ac.coefficients)
    x = np.linspace(-1.0, 1.0, 512, endpoint=False)
    t0, h = np.array([0.1, 0.35, 0.6, 0.85]), 1e-4
    U = ac.reference(c, (x, (t0[:, None] + h * np.array([-1.0, 0.0, 1.0])).ravel())).reshape(512, 4, 3)
    k = 2 * np.pi * np.fft.rfftfreq(512, d=x[1] - x[0])
    u = U[:, :, 1]
    u_xx = np.fft.irfft(-(k**2)[:, None] * np.fft.rfft(u, axis=0), 512, axis=0)
    u_t = (U[:, :, 2] - U[:, :, 0]) / (2 * h)
    residual = lambda gamma: u_t - c["eps2"] * u_xx + gamma * (u**3 - u)  # noqa: E731
    assert np.abs(residual(c["gamma"])).max() < 2e-6  # measured 8.5e-7
    assert np.abs(residual(0.998 * c["gamma"])).max() > 1e-3  # a 0.2 % wrong coefficient is visible


def test_burgers_reference_boundary_initial_and_pde():
    b = make_problem("burgers")
    ref = b.reference_solution()
    x, t = ref.axes
    assert ref.values.shape == (256, 100) and x[0] == -1.0 and x[-1] == 1.0
    assert np.abs(ref.values[[0, -1], :]).max() < 1e-12  # u(±1, t) = 0
    u0 = np.asarray(b.constraints[0].value(jnp.asarray(x, jnp.float32)), np.float64)
    np.testing.assert_allclose(ref.values[:, 0], u0, atol=1e-6)
    # the PDE by central differences (h = 1e-4) away from the shock at x = 0
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0.2, 0.9, 8) * rng.choice([-1.0, 1.0], 8)
    t0, h = rng.uniform(0.05, 0.95, 8), 1e-4
    st = h * np.array([-1.0, 0.0, 1.0])
    V = b.reference(dict(b.coefficients), ((x0[:, None] + st).ravel(), (t0[:, None] + st).ravel()))

    def residual(nu):
        out = []
        for i in range(8):
            s = V[3 * i : 3 * i + 3, 3 * i : 3 * i + 3]
            u, u_t, u_x = s[1, 1], (s[1, 2] - s[1, 0]) / (2 * h), (s[2, 1] - s[0, 1]) / (2 * h)
            out.append(u_t + u * u_x - nu * (s[2, 1] - 2 * u + s[0, 1]) / h**2)
        return np.abs(out).max()

    nu = b.coefficients["nu"]
    assert residual(nu) < 2e-6  # measured 2.5e-7
    assert residual(1.01 * nu) > 1e-4


# -------------------------------------------------------------------------------------------- short trainings
def _train(problem, params, *, steps, lr, points, model="mlp", model_options=None, weights=None, seed=0,
           decay_steps=None):
    """Adam only (lr × 0.9 every ``decay_steps``, default steps/10), float32; rel L2 on the reference grid."""
    config = TrainConfig(
        problem=problem, params=params, model=model, model_options=model_options or {"width": 20, "depth": 2},
        phases=(PhaseConfig("adam", steps, {"lr": lr, "decay_steps": decay_steps or steps // 10}),), points=points,
        weights=weights or {}, seed=seed, log_every=steps, eval_every=steps,
    )
    return train(config, progress=False).metrics["rel_l2"]


P_IC_BC = {"res": 256, "ic": 64, "bc": 64}
P_WAVE = {"res": 256, "ic": 64, "ic_t": 64, "bc": 64}
TRAININGS = {
    # name: (params, training, rel L2 to reach). Easy settings; the errors measured for seeds 0, 1, 2 are in the
    # comments (shared 2-core machine); the test runs seed 0 and asserts with a margin of at least 2 over the worst.
    "poisson": ({"k": 1.0}, dict(steps=1000, lr=1e-2, points={"res": 64, "bc": 8}, decay_steps=200,
                                 model_options={"width": 16, "depth": 2}), 1e-2),  # 4.7e-4, 4.1e-4, 1.9e-3
    "helmholtz": ({"a2": 1.0}, dict(steps=2000, lr=1e-2, points={"res": 256, "bc": 128}, weights={"bc": 10.0}),
                  0.1),  # 4.2e-2, 3.7e-2, 2.0e-2
    "klein-gordon": ({}, dict(steps=3000, lr=5e-3, points=P_WAVE, model="modified-mlp",
                              model_options={"width": 20, "depth": 2}, weights={"res": 0.01}),
                     0.2),  # 7.7e-2, 6.1e-2, 2.9e-2
    "wave": ({"c": 0.25}, dict(steps=2000, lr=1e-2, points=P_WAVE, weights={"ic": 10.0, "ic_t": 10.0, "bc": 10.0}),
             0.25),  # 1.4e-2, 1.04e-1, 2.5e-2
    "burgers": ({"nu": 0.1}, dict(steps=2000, lr=1e-2, points=P_IC_BC), 0.1),  # 1.6e-2, 3.6e-2, 2.3e-2
    "allen-cahn": ({"eps2": 0.01, "gamma": 1.0}, dict(steps=1000, lr=1e-2, points=P_IC_BC, model="periodic",
                                                       decay_steps=200,
                                                       model_options={"width": 16, "depth": 2}),
                   0.1),  # 2.2e-2, 3.5e-2, 3.6e-2
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TRAININGS))
def test_short_training_reaches_error(name):
    params, kwargs, target = TRAININGS[name]
    rel_l2 = _train(name, params, **kwargs)
    assert rel_l2 < target, (name, rel_l2)


if __name__ == "__main__":  # the measurements quoted above: python3 tests/test_problems_more.py
    for name, (params, kwargs, target) in TRAININGS.items():
        print(name, target, [f"{_train(name, params, **kwargs, seed=s):.2e}" for s in (0, 1, 2)], flush=True)
