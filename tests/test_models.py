"""Architectures: modified MLP (Wang, Teng, Perdikaris 2021, Eqs. 43–47), Fourier features, periodic embedding."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pinnsight import PinnsightError
from pinnsight.models import (
    Embedded,
    FourierFeatures,
    ModifiedMLP,
    PeriodicEmbedding,
    make_model,
    model_specs,
    resolve_model_options,
    smooth_periodic_coords,
)
from pinnsight.problems import make_problem

KEY = jax.random.PRNGKey(0)
NEW_MODELS = ("modified-mlp", "fourier", "periodic")
PERIODIC_OPTS = {"coords": "0", "period": "2.0"}


def _build(name, in_size=2, dtype=jnp.float32, **options):
    if name == "periodic":
        options = {**PERIODIC_OPTS, **options}
    return make_model(name, in_size, key=KEY, dtype=dtype, **options)


def test_new_models_are_registered():
    assert {"modified-mlp", "fourier", "periodic"} <= set(model_specs())
    assert resolve_model_options("fourier", {"sigma": "10", "features": "8"})["sigma"] == 10.0


# ---------------------------------------------------------------------------------------------- modified MLP
def _numpy_modified_mlp(m: ModifiedMLP, x: np.ndarray) -> np.ndarray:
    """Eqs. 43–47 in the paper's row convention, X of shape (N, d), float64 NumPy."""
    f = lambda a: np.asarray(a, np.float64)  # noqa: E731
    U = np.tanh(x @ f(m.u_weight).T + f(m.u_bias))  # (43)
    V = np.tanh(x @ f(m.v_weight).T + f(m.v_bias))
    H = np.tanh(x @ f(m.hidden_weights[0]).T + f(m.hidden_biases[0]))  # (44)
    for W, b in zip(m.hidden_weights[1:], m.hidden_biases[1:]):
        Z = np.tanh(H @ f(W).T + f(b))  # (45)
        H = (1.0 - Z) * U + Z * V  # (46)
    return (H @ f(m.out_weight).T + f(m.out_bias))[:, 0]  # (47)


@pytest.mark.parametrize("dtype,tol", [(jnp.float32, 1e-5), (jnp.float64, 1e-13)])
def test_modified_mlp_matches_equations_43_to_47(dtype, tol):
    with jax.enable_x64(dtype == jnp.float64):
        m = make_model("modified-mlp", 3, key=KEY, dtype=dtype, width=7, depth=4)
        # give the biases non-zero values so that every term of the equations is exercised
        leaves, tree = jax.tree.flatten(m)
        rng = np.random.default_rng(1)
        m = jax.tree.unflatten(tree, [jnp.asarray(rng.normal(0, 0.5, l.shape), dtype) for l in leaves])
        x = np.random.default_rng(0).uniform(-1, 1, (20, 3))
        got = np.asarray(jax.vmap(m)(jnp.asarray(x, dtype)), np.float64)
        want = _numpy_modified_mlp(m, np.asarray(jnp.asarray(x, dtype), np.float64))
        np.testing.assert_allclose(got, want, rtol=0, atol=tol * max(1.0, np.abs(want).max()))
        # the gates matter: swapping the encoders changes the output
        swapped = eqx.tree_at(lambda t: (t.u_weight, t.v_weight), m, (m.v_weight, m.u_weight))
        assert np.abs(np.asarray(jax.vmap(swapped)(jnp.asarray(x, dtype))) - got).max() > 1e-3


def test_modified_mlp_depth_counts_hidden_layers():
    m = make_model("modified-mlp", 2, key=KEY, width=5, depth=3)
    assert [w.shape for w in m.hidden_weights] == [(5, 2), (5, 5), (5, 5)]  # H¹ and L = 2 gates
    assert m.u_weight.shape == m.v_weight.shape == (5, 2) and m.out_weight.shape == (1, 5)
    with pytest.raises(PinnsightError, match="depth"):
        make_model("modified-mlp", 2, key=KEY, depth=1)


# ----------------------------------------------------------------------------------------- shapes / dtypes
@pytest.mark.parametrize("name", NEW_MODELS)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_shapes_and_dtypes(name, dtype):
    with jax.enable_x64(dtype == jnp.float64), jax.numpy_dtype_promotion("strict"):
        m = _build(name, 2, dtype, width=8, depth=2)
        params = eqx.filter(m, eqx.is_array)
        assert all(leaf.dtype == dtype for leaf in jax.tree.leaves(params))
        z = jnp.asarray([[0.1, 0.2], [0.3, -0.4], [0.0, 0.9]], dtype)

        @jax.jit
        def evaluate(z):  # values, and the second derivative that residuals use
            uxx = jax.grad(jax.grad(lambda x: m(jnp.stack([x, z[0, 1]]))))(z[0, 0])
            return jax.vmap(m)(z), uxx

        out, uxx = evaluate(z)
        assert out.shape == (3,) and out.dtype == dtype
        assert uxx.shape == () and uxx.dtype == dtype and jnp.isfinite(uxx)


# ------------------------------------------------------------------------------------------ periodic model
@pytest.mark.parametrize("dtype,tol", [(jnp.float32, 2e-5), (jnp.float64, 1e-12)])
def test_periodic_model_is_exactly_periodic(dtype, tol):
    with jax.enable_x64(dtype == jnp.float64):
        period = 2.0 * math.pi
        m = make_model("periodic", 2, key=KEY, dtype=dtype, coords="0", period=repr(period), harmonics=2)
        u_and_ux = jax.jit(jax.vmap(jax.value_and_grad(lambda p, q: m(jnp.stack([p, q])))))
        rng = np.random.default_rng(1)
        x, t = rng.uniform(0, period, 30), rng.uniform(0, 1, 30)
        f = lambda a, b: [np.asarray(v) for v in u_and_ux(jnp.asarray(a, dtype), jnp.asarray(b, dtype))]  # noqa: E731
        base, base_x = f(x, t)
        for shift in (period, -period, 3 * period):
            u, ux = f(x + shift, t)
            np.testing.assert_allclose(u, base, rtol=0, atol=tol * abs(shift))
            np.testing.assert_allclose(ux, base_x, rtol=0, atol=5 * tol * abs(shift))
        # not periodic in t (passed through) and not periodic with another period in x
        assert np.abs(f(x, t + 1.0)[0] - base).max() > 1e-3
        assert np.abs(f(x + 1.0, t)[0] - base).max() > 1e-3


def test_periodic_in_two_coordinates():
    a = make_model("periodic", 2, key=KEY, coords="0/1", period="2/4", width=8, depth=2)  # command-line lists
    b = make_model("periodic", 2, key=KEY, coords="0,1", period="2,4", width=8, depth=2)  # Python strings
    assert a.embedding == b.embedding and a.embedding.periods == (2.0, 4.0)
    z = jnp.asarray([0.3, -0.2])
    for shift in ([2.0, 0.0], [0.0, 4.0], [-2.0, 8.0]):
        assert abs(float(a(z + jnp.asarray(shift))) - float(a(z))) < 1e-5


def test_periodic_embedding_values():
    emb = PeriodicEmbedding(3, (0, 2), (2.0, 4.0), harmonics=2)
    z = jnp.asarray([0.3, -0.7, 1.1])
    w0, w2 = math.pi, math.pi / 2
    want = [math.cos(w0 * 0.3), math.cos(2 * w0 * 0.3), math.sin(w0 * 0.3), math.sin(2 * w0 * 0.3), -0.7,
            math.cos(w2 * 1.1), math.cos(2 * w2 * 1.1), math.sin(w2 * 1.1), math.sin(2 * w2 * 1.1)]
    assert emb.out_size == 9
    np.testing.assert_allclose(np.asarray(emb(z)), want, rtol=0, atol=1e-6)


def test_periodic_options_from_problem():
    allen_cahn = make_problem("allen-cahn")  # x ∈ [−1, 1] periodic: period 2
    m = make_model("periodic", 2, key=KEY, problem=allen_cahn, width=8, depth=2)
    assert m.embedding.coords == (0,) and m.embedding.periods == (2.0,)
    conv = make_problem("convection")
    m = make_model("periodic", 2, key=KEY, problem=conv, coords="x", width=8, depth=2)
    assert m.embedding.coords == (0,) and m.embedding.periods == (2.0 * math.pi,)
    # explicit options win over the problem's
    m = make_model("periodic", 2, key=KEY, problem=conv, coords="0", period="3", width=8, depth=2)
    assert m.embedding.periods == (3.0,)
    # mlp ignores the problem: identical parameters with or without it
    a = make_model("mlp", 2, key=KEY, problem=conv, width=8, depth=2)
    b = make_model("mlp", 2, key=KEY, width=8, depth=2)
    assert all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_root_time_feature_values_and_derivative():
    """√((t − t0)/T + δ²) − δ on the time coordinate after the periodic features; its t-derivative is
    1/(2T√(τ + δ²)) — finite (1/(2Tδ)) at the start time — and the model stays exactly periodic in x."""
    with jax.enable_x64(True):
        allen_cahn = make_problem("allen-cahn")  # coords (x, t), t ∈ [0, 1]
        m = make_model("periodic", 2, key=KEY, dtype=jnp.float64, problem=allen_cahn, width=8, depth=2,
                       harmonics=2, root_time=True)
        emb = m.embedding
        assert (emb.time, emb.start, emb.span) == (1, 0.0, 1.0) and emb.out_size == emb.inner.out_size + 1
        for t in (0.0, 1e-6, 0.01, 0.5):
            z = jnp.asarray([0.3, t])
            want = math.sqrt(t + 1e-6) - 1e-3
            assert abs(float(emb(z)[-1]) - want) < 1e-15
            dfeat = jax.grad(lambda s: emb(jnp.stack([0.3, s]))[-1])(jnp.asarray(t))
            assert abs(float(dfeat) - 0.5 / math.sqrt(t + 1e-6)) < 1e-9 * (1 + 0.5 / math.sqrt(t + 1e-6))
        z = jnp.asarray([0.3, 0.2])
        assert abs(float(m(z + jnp.asarray([2.0, 0.0]))) - float(m(z))) < 1e-12
        assert smooth_periodic_coords(m) == (0,)
        shifted = make_problem("allen-cahn")  # an explicit time= wins over the problem's
        m2 = make_model("periodic", 2, key=KEY, problem=shifted, width=8, depth=2, root_time=True, time="1:0.5:2.5")
        assert (m2.embedding.start, m2.embedding.span) == (0.5, 2.0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"root_time": True}, "needs time=index:start:end"),
        ({"root_time": True, "time": "1:0"}, "must be index:start:end"),
        ({"root_time": True, "time": "1:1:0"}, "start < end"),
        ({"root_time": True, "time": "0:0:1"}, "also a periodic coordinate"),
    ],
)
def test_root_time_bad_options(kwargs, match):
    with pytest.raises(PinnsightError, match=match):
        make_model("periodic", 2, key=KEY, coords="0", period="2", width=8, depth=2, **kwargs)


def test_seam_kink_feature_is_the_heat_smoothed_distance_to_the_seam():
    """g = E|d + σZ| (σ² = 2κt + δ²) against Gauss–Hermite quadrature of its definition; g_t = κ g_xx at the seam,
    where d = x − x0 to second order; g(x, 0) = |x − x0| to third order near the seam; the model stays periodic with its first
    two x-derivatives (the problem's periodic condition met exactly); seam_at and time come from the problem."""
    with jax.enable_x64(True):
        allen_cahn = make_problem("allen-cahn")  # x ∈ [−1, 1] periodic: the seam at x = −1 ≡ 1
        m = make_model("periodic", 2, key=KEY, dtype=jnp.float64, problem=allen_cahn, width=8, depth=2,
                       harmonics=2, seam=1e-4)
        emb = m.embedding
        assert (emb.origins, emb.time, emb.kappa) == ((-1.0,), 1, 1e-4) and emb.out_size == emb.inner.out_size + 1
        g = lambda x, t: emb(jnp.stack([x, t]))[-1]
        z = np.linspace(-12.0, 12.0, 480001)  # the trapezoid rule on a fine grid: |d + σz| has a kink in z
        density = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        for x, t in ((-0.998, 0.01), (0.9995, 0.3), (0.5, 1.0), (-1.0, 0.02)):
            d = (2 / math.pi) * math.sin(math.pi * (x + 1) / 2)
            sigma = math.sqrt(2e-4 * t + 4e-12)
            want = float(np.trapezoid(np.abs(d + sigma * z) * density, z))
            assert abs(float(g(jnp.asarray(x), jnp.asarray(t))) - want) < 1e-7 * want
        gt, gxx = jax.grad(g, 1), jax.grad(jax.grad(g, 0), 0)
        x0, t0 = jnp.asarray(-1.0), jnp.asarray(0.01)
        assert abs(float(gt(x0, t0) - 1e-4 * gxx(x0, t0))) < 1e-12 * float(gt(x0, t0))
        for x in (-0.999, -0.99, 0.99):  # d = s − (π²/24)s³ + …, s = 1 − |x| the distance to the seam
            s = 1 - abs(x)
            assert abs(float(g(jnp.asarray(x), jnp.asarray(0.0))) - s) < 1.01 * math.pi**2 / 24 * s**3
        u = lambda x, t: m(jnp.stack([x, t]))
        for f in (u, jax.grad(u, 0), jax.grad(jax.grad(u, 0), 0)):
            a, b = f(jnp.asarray(-1.0), jnp.asarray(0.3)), f(jnp.asarray(1.0), jnp.asarray(0.3))
            assert abs(float(a - b)) < 1e-9 * (1 + abs(float(a)))
        assert smooth_periodic_coords(m) == (0,)


@pytest.mark.parametrize("kwargs,match", [
    ({"seam": 1e-4, "seam_at": "0/1"}, "one number per periodic coordinate"),
    ({"seam": 1e-4, "seam_at": "nan"}, "one number per periodic coordinate"),
    ({"seam": -1e-4}, "must be ≥ 0"),
])
def test_seam_kink_bad_options(kwargs, match):
    with pytest.raises(PinnsightError, match=match):
        make_model("periodic", 2, key=KEY, coords="0", period="2", width=8, depth=2, **kwargs)


def test_root_time_needs_a_time_dependent_problem():
    with pytest.raises(PinnsightError, match="needs a time-dependent problem"):
        make_model("periodic", 2, key=KEY, problem=make_problem("helmholtz"), coords="0/1", width=8, depth=2,
                   root_time=True)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({}, "give coords= and period="),
        ({"coords": "0"}, "give coords= and period="),
        ({"coords": "5", "period": "1"}, "distinct indices"),
        ({"coords": "0,0", "period": "1"}, "distinct indices"),
        ({"coords": "x", "period": "1"}, "coordinate indices"),
        ({"coords": "0", "period": "-1"}, "positive"),
        ({"coords": "0/1", "period": "1/2/3"}, "one per coordinate"),
        ({"coords": "0", "period": "1", "net": "resnet"}, "net="),
    ],
)
def test_periodic_bad_options(kwargs, match):
    with pytest.raises(PinnsightError, match=match):
        make_model("periodic", 2, key=KEY, **kwargs)


def test_periodic_needs_periodic_problem_or_options():
    with pytest.raises(PinnsightError, match="no periodic coordinates"):
        make_model("periodic", 2, key=KEY, problem=make_problem("burgers"))
    with pytest.raises(PinnsightError, match="not a coordinate"):
        make_model("periodic", 2, key=KEY, problem=make_problem("burgers"), coords="z")


# ------------------------------------------------------------------------------------------ Fourier features
def test_fourier_features_formula_and_scale():
    emb = FourierFeatures(2, 2000, 3.0, key=KEY, dtype=jnp.float32)
    B = np.asarray(emb.B, np.float64)
    assert B.shape == (2000, 2) and emb.out_size == 4000
    assert abs(B.std() / 3.0 - 1.0) < 0.05 and abs(B.mean()) < 0.15  # B ~ N(0, σ²), 4000 draws
    z = np.array([0.25, -0.6])
    want = np.concatenate([np.cos(2 * np.pi * B @ z), np.sin(2 * np.pi * B @ z)])
    np.testing.assert_allclose(np.asarray(emb(jnp.asarray(z, jnp.float32))), want, rtol=0, atol=2e-3)


def test_fourier_features_are_not_trained():
    m = make_model("fourier", 2, key=KEY, width=8, depth=2, features=16, sigma=2.0)
    assert isinstance(m, Embedded) and m.embedding.B.shape == (16, 2)
    z = jax.random.uniform(jax.random.PRNGKey(2), (32, 2))

    def loss(model):  # value and input derivatives, like a PINN residual
        u = jax.vmap(model)(z)
        ux = jax.vmap(jax.grad(lambda p: model(p)))(z)
        return jnp.mean((u - 1.0) ** 2) + jnp.mean(ux**2)

    grads = eqx.filter_grad(loss)(m)
    assert np.all(np.asarray(grads.embedding.B) == 0.0)
    assert np.abs(np.asarray(grads.net.weights[0])).max() > 0.0
    # a few Adam steps move the network but not B
    params, static = eqx.partition(m, eqx.is_array)
    opt = optax.adam(1e-2)
    state = opt.init(params)
    step = jax.jit(lambda p, s: _adam_step(opt, lambda q: loss(eqx.combine(q, static)), p, s))
    for _ in range(5):
        params, state = step(params, state)
    assert np.array_equal(np.asarray(params.embedding.B), np.asarray(m.embedding.B))
    assert not np.array_equal(np.asarray(params.net.weights[0]), np.asarray(m.net.weights[0]))


def _adam_step(opt, f, params, state):
    g = jax.grad(f)(params)
    updates, state = opt.update(g, state, params)
    return optax.apply_updates(params, updates), state


def test_fourier_with_modified_mlp_backbone():
    m = make_model("fourier", 1, key=KEY, width=6, depth=3, features=4, net="modified-mlp")
    assert isinstance(m.net, ModifiedMLP) and m.net.u_weight.shape == (6, 8)
    assert jnp.isfinite(m(jnp.asarray([0.3])))
    with pytest.raises(PinnsightError, match="net="):
        make_model("fourier", 1, key=KEY, net="cnn")
    with pytest.raises(PinnsightError, match="positive"):
        make_model("fourier", 1, key=KEY, sigma=0.0)


# ------------------------------------------------------------------------------- input standardisation
@pytest.mark.parametrize("name", ["mlp", "modified-mlp"])
def test_normalize_standardises_on_the_problems_box(name):
    """normalize=1: the same network applied to (z − m)/s, m and s the uniform moments of the box (here the
    Klein–Gordon square [0, 1]²: m = 1/2, s = 1/√12), checked against those moments from samples."""
    kg = make_problem("klein-gordon")
    m = make_model(name, 2, key=KEY, problem=kg, width=8, depth=2, normalize=1)
    plain = make_model(name, 2, key=KEY, width=8, depth=2)
    assert isinstance(m, Embedded)
    samples = jax.random.uniform(jax.random.PRNGKey(3), (200_000, 2))
    np.testing.assert_allclose(m.embedding.mean, np.mean(samples, axis=0), atol=3e-3)
    np.testing.assert_allclose(m.embedding.std, np.std(samples, axis=0), atol=3e-3)
    z = jnp.array([0.25, 0.9])
    assert float(m(z)) == pytest.approx(float(plain((z - 0.5) * math.sqrt(12.0))), rel=1e-5)
    explicit = make_model(name, 2, key=KEY, width=8, depth=2, normalize="true", box="-1:1/0:2")
    assert explicit.embedding.mean == (0.0, 1.0) and explicit.embedding.std == pytest.approx((2 / math.sqrt(12),) * 2)


@pytest.mark.parametrize("kwargs, match", [
    ({"normalize": 1}, "needs the problem's box"),
    ({"normalize": 1, "box": "0:1"}, "each of the 2 input"),
    ({"normalize": 1, "box": "1:0/0:1"}, "lo < hi"),
    ({"normalize": 1, "box": "a:b/0:1"}, "lo:hi"),
    ({"normalize": "maybe"}, "not a valid bool"),
])
def test_normalize_bad_options(kwargs, match):
    with pytest.raises(PinnsightError, match=match):
        make_model("mlp", 2, key=KEY, width=8, depth=2, **kwargs)
