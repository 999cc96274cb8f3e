"""Reflection symmetries (``Problem.symmetries``, ``--symmetric``): the group-averaged network has them exactly, with
its derivatives and its residual; the built-in claims hold for the package's own references; bad declarations and a
``--symmetric`` run of a problem without one are refused."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.errors import PinnsightError
from pinnsight.models import MLP, Symmetrized, make_model
from pinnsight.problems import Reflection, equation_values, make_problem

from _cli import one_error_line, run_cli

pytestmark = pytest.mark.usefixtures("x64")


def _net(key=0, in_size=2, out_size=None):
    kwargs = {} if out_size is None else {"out_size": out_size}
    return MLP(in_size, 8, 2, key=jax.random.PRNGKey(key), dtype=jnp.float64, **kwargs)


@pytest.mark.parametrize("name,sign", [("burgers", -1.0), ("allen-cahn", 1.0)])
def test_the_symmetric_network_is_odd_or_even_with_its_derivatives(name, sign):
    problem = make_problem(name)
    model_name, opts = ("mlp", {"width": 8, "depth": 2}) if name == "burgers" else \
        ("periodic", {"width": 8, "depth": 2, "harmonics": 3, "root_time": True})
    u = make_model(model_name, 2, key=jax.random.PRNGKey(1), dtype=jnp.float64, problem=problem, symmetric=True,
                   **opts)
    z = jax.random.uniform(jax.random.PRNGKey(2), (50, 2), jnp.float64, minval=-1.0, maxval=1.0).at[:, 1].set(
        jnp.linspace(0.01, 1.0, 50))
    mirror = z.at[:, 0].multiply(-1.0)
    np.testing.assert_allclose(jax.vmap(u)(mirror), sign * jax.vmap(u)(z), rtol=0, atol=1e-15)
    dx = jax.vmap(jax.grad(lambda p: u(p)))  # u_x flips with the mirror, u_t does not
    np.testing.assert_allclose(dx(mirror) * jnp.array([[-1.0, 1.0]]), sign * dx(z), rtol=0, atol=1e-14)
    net = lambda *c: u(jnp.stack(c))  # noqa: E731
    c = {k: jnp.asarray(v) for k, v in problem.coefficients.items()}
    res = lambda p: equation_values(problem, net, p, c)["res"]  # noqa: E731
    np.testing.assert_allclose(jax.vmap(res)(mirror), sign * jax.vmap(res)(z), rtol=0, atol=1e-12)


def test_the_group_average_of_two_mirrors_and_per_field_signs():
    net = _net(in_size=3, out_size=2)
    sym = Symmetrized(net, ((0, 0.5), (1, 0.0)), ((1.0, -1.0), (-1.0, -1.0)), False)
    z = jnp.array([0.2, 0.3, 0.7])
    assert sym(z).shape == (2,)
    np.testing.assert_allclose(sym(jnp.array([0.8, 0.3, 0.7])), jnp.array([1.0, -1.0]) * sym(z), atol=1e-15)
    np.testing.assert_allclose(sym(jnp.array([0.2, -0.3, 0.7])), -sym(z), atol=1e-15)
    manual = (net(z) + jnp.array([1.0, -1.0]) * net(jnp.array([0.8, 0.3, 0.7]))
              - net(jnp.array([0.2, -0.3, 0.7])) + jnp.array([-1.0, 1.0]) * net(jnp.array([0.8, -0.3, 0.7]))) / 4
    np.testing.assert_allclose(sym(z), manual, atol=1e-15)


def test_a_network_that_has_the_symmetry_is_unchanged():
    even = lambda z: jnp.cos(3.0 * z[0]) * z[1]  # noqa: E731
    sym = Symmetrized(even, ((0, 0.0),), ((1.0,),), True)
    z = jnp.array([0.4, 0.9])
    assert float(sym(z)) == pytest.approx(float(even(z)), abs=1e-15)


def test_the_built_in_claims_hold_for_the_references():
    burgers = make_problem("burgers")
    x, t = np.linspace(-1.0, 1.0, 41), np.array([0.1, 0.5, 0.9])
    values = burgers.reference(dict(burgers.coefficients), (x, t))
    np.testing.assert_allclose(values[::-1], -values, atol=1e-10)
    ac = make_problem("allen-cahn")
    x = np.linspace(-1.0, 1.0, 64, endpoint=False)  # periodic: the mirror of x_k is x_(64 − k) (x_0 = −1 ≡ 1)
    values = ac.reference(dict(ac.coefficients), (x, np.array([0.0, 0.3, 1.0])))
    np.testing.assert_allclose(values[(64 - np.arange(64)) % 64], values, atol=1e-10)


@pytest.mark.parametrize("reflection,message", [
    (Reflection("y"), "not a space coordinate"),
    (Reflection("t"), "not a space coordinate"),
    (Reflection("x", 0.5), "does not map"),
    (Reflection("x", 0.0, 2.0), "must be ±1"),
    ("x", "expected a sequence of Reflection"),
])
def test_bad_declarations_are_refused_when_the_problem_is_built(reflection, message):
    with pytest.raises(PinnsightError, match=message):
        dataclasses.replace(make_problem("burgers"), symmetries=(reflection,))


def test_a_non_box_domain_must_be_its_own_mirror_image():
    from pinnsight.geometry import Disk, Polygon
    from pinnsight.problems import Problem

    def square(domain, *symmetries):
        return Problem(name="sq", coords=("x", "y"), bounds=((-1.0, 1.0), (-1.0, 1.0)), time=None,
                       residual=lambda u, x, y, c: u(x, y), constraints=(), domain=domain,
                       symmetries=symmetries)

    assert square(Disk((0.0, 0.3), 0.5), Reflection("x")).symmetries == (Reflection("x"),)
    with pytest.raises(PinnsightError, match="does not map the domain Disk onto itself"):
        square(Disk((0.0, 0.3), 0.5), Reflection("y"))  # off-centre in y: the box is symmetric, the disk is not
    kite = Polygon(((-0.5, 0.0), (0.0, -0.5), (0.8, 0.0), (0.0, 0.5)))  # mirror in y only
    assert square(kite, Reflection("y")).symmetries
    with pytest.raises(PinnsightError, match="does not map the domain Polygon onto itself"):
        square(kite, Reflection("x"))


def test_symmetric_is_recorded_and_refused_without_a_declared_symmetry(capsys, tmp_path):
    config = TrainConfig(problem="burgers", symmetric=True, phases=(PhaseConfig("adam", 1),))
    assert config.to_dict()["symmetric"] is True
    assert TrainConfig.from_dict(config.to_dict()).symmetric
    assert "symmetric" not in dataclasses.replace(config, symmetric=False).to_dict()
    code, _, err = run_cli(capsys, "train", "convection", "--symmetric", "--steps", "1", "--out", tmp_path / "r")
    assert code == 2
    one_error_line(err, "declares no symmetry")
    assert not (tmp_path / "r").exists()


def test_the_report_offers_the_symmetric_network_once():
    from pinnsight.diagnostics.signatures import Finding, make_context, suggest, untried
    from pinnsight.remedies import remedy_specs

    finding = Finding("loss-low-error-high", "warning", "", {})
    burgers = make_context(make_problem("burgers"), {}, remedy_specs())
    assert burgers.mirrored
    assert ("--symmetric",) in [s.args for s in suggest(finding, burgers)]
    done = make_context(make_problem("burgers"), {}, remedy_specs(), tried=("symmetric",))
    assert ("--symmetric",) not in [s.args for s in untried(suggest(finding, done), done)]
    convection = make_context(make_problem("convection"), {}, remedy_specs())
    assert not convection.mirrored and ("--symmetric",) not in [s.args for s in suggest(finding, convection)]
    assert ("--symmetric",) not in [s.args for s in suggest(Finding("stall", "warning", "", {}), burgers)]
