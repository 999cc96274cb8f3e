"""Initial data that is periodic in value but not in slope, under a model periodic with every derivative: the seam
check (problems.seams), the model's declared property and the warning a run prints (issue 20: reaction ρ = 5's
error sat at x = 0, 2π with the periodic embedding, 1.16e-4; a plain network reached 7.4e-7)."""

import math
import warnings

import jax
import numpy as np
import pytest

import pinnsight as ps
from pinnsight.cli import _show_warning
from pinnsight.models import make_model, smooth_periodic_coords
from pinnsight.problems import make_problem
from pinnsight.problems.seams import diffusivity, seam_jump, undeclared_seam_jumps
from pinnsight.trainer.setup import warn_seams

pytestmark = pytest.mark.usefixtures("x64")
SIGMA = math.pi / 4


def test_gaussian_slope_jump_matches_its_formula():
    """u0 = exp(−(x−π)²/2σ²): u0' = −(x−π)/σ² u0, so the jump is 2π/σ² e^{−π²/2σ²} over max |u0'| on the grid."""
    problem = make_problem("reaction")
    x = 2 * math.pi * (np.arange(64) + 0.5) / 64
    slope = -(x - math.pi) / SIGMA**2 * np.exp(-((x - math.pi) ** 2) / (2 * SIGMA**2))
    expected = 2 * math.pi / SIGMA**2 * math.exp(-(math.pi**2) / (2 * SIGMA**2)) / np.abs(slope).max()
    assert seam_jump(problem, 0, 1) == pytest.approx(expected, rel=1e-10)
    assert seam_jump(problem, 0, 0) < 1e-14  # symmetric about π: equal values
    assert seam_jump(make_problem("reaction", u0="sin"), 0, 1) < 1e-12
    assert seam_jump(problem, 1, 1) is None  # the time is not a seam


def test_only_orders_the_periodic_constraint_leaves_free_count():
    assert [(n, k) for n, k, _ in undeclared_seam_jumps(make_problem("reaction"), [0])] == [("x", 1)]
    # Allen–Cahn's u0 = x² cos πx jumps in slope (±2 at x = ±1) but its constraint declares the slope periodic:
    assert seam_jump(make_problem("allen-cahn"), 0, 1) > 1.0
    assert undeclared_seam_jumps(make_problem("allen-cahn"), [0]) == []
    assert undeclared_seam_jumps(make_problem("convection"), [0]) == []


def _host_sine(x):
    """A value computed on the host (traceable, not differentiable)."""
    return jax.pure_callback(lambda a: np.sin(2 * np.pi * a), jax.ShapeDtypeStruct(x.shape, x.dtype), x)


def test_a_value_jax_cannot_differentiate_skips_the_check():
    problem = ps.Problem(
        name="np-ic", coords=("x", "t"), bounds=((0.0, 1.0), (0.0, 1.0)),
        residual=lambda u, x, t, c: jax.grad(u, 1)(x, t),
        constraints=(ps.Initial(_host_sine), ps.Periodic("x")),
    )
    assert seam_jump(problem, 0, 1) is None


@pytest.mark.parametrize("name,params,coef", [
    ("allen-cahn", {"eps2": 3e-4}, "eps2"), ("burgers", {}, "nu"), ("reaction-diffusion", {"nu": 2.0}, "nu"),
    ("diffusion", {}, "nu"), ("heat-disk", {"kappa": 0.25}, "kappa"),
])
def test_diffusivity_is_read_from_the_residual(name, params, coef):
    """κ of u_t = κ u_xx + … from the residual's response to a quadratic and a linear-in-t probe: each problem's
    own diffusion coefficient, whatever its reaction (Allen–Cahn, reaction–diffusion) or transport (Burgers)."""
    with jax.enable_x64(True):
        problem = make_problem(name, **params)
        assert math.isclose(diffusivity(problem, 0), float(problem.coefficients[coef]), rel_tol=1e-9)


@pytest.mark.parametrize("name", ["convection", "reaction", "kdv", "wave", "helmholtz", "klein-gordon"])
def test_no_diffusivity_without_a_first_order_in_time_diffusion(name):
    """No u_xx (convection, reaction, KdV's u_xxx), second order in time (wave, Klein–Gordon: u_t's response is
    0) or no time (Helmholtz): None, never a made-up number."""
    with jax.enable_x64(True):
        assert diffusivity(make_problem(name), 0) is None


def test_models_declare_where_they_are_smoothly_periodic():
    problem, key = make_problem("reaction"), jax.random.PRNGKey(0)
    periodic = make_model("periodic", 2, key=key, problem=problem, width=8, depth=2)
    plain = make_model("mlp", 2, key=key, width=8, depth=2)
    assert smooth_periodic_coords(periodic) == (0,)
    assert smooth_periodic_coords(plain) == ()
    with pytest.warns(UserWarning, match=r"periodic in x .* initial slope differs across the seam by 4\.4e-03"):
        warn_seams(problem, periodic)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_seams(problem, plain)
        warn_seams(make_problem("convection"), make_model("periodic", 2, key=key, problem=make_problem("convection"),
                                                          width=8, depth=2))


def test_the_cli_prints_a_warning_as_one_line(capsys):
    _show_warning(UserWarning("the seam"), UserWarning, "/x/src/pinnsight/trainer/setup.py", 1)
    _show_warning(RuntimeWarning("overflow"), RuntimeWarning, "/x/numpy/core.py", 7)
    err = capsys.readouterr().err.splitlines()
    assert err == ["pinnsight: warning: the seam", "pinnsight: warning: overflow (RuntimeWarning, core.py:7)"]


def test_recipes_take_the_plain_network_where_the_embedding_cannot_represent_the_data():
    from pinnsight.diagnostics.signatures import make_context, second_order

    reaction, convection = make_problem("reaction"), make_problem("convection")
    assert make_context(reaction, {}, ()).periodic is False
    assert make_context(convection, {}, ()).periodic is True
    model = lambda p: second_order(make_context(p, {}, ()), "unbalanced-terms")[0].args  # noqa: E731
    assert model(reaction)[model(reaction).index("--model") + 1].startswith("mlp:")
    assert model(convection)[model(convection).index("--model") + 1].startswith("periodic:")
    lm = lambda p: second_order(make_context(p, {"rho": 5.0}, ("curriculum",)), "stall")[0].args  # noqa: E731
    assert "mlp:width=20,depth=3" in lm(make_problem("reaction", rho=5.0))
    assert "periodic:width=20,depth=3" in second_order(
        make_context(make_problem("convection", beta=50.0), {}, ("curriculum",)), "stall")[0].args


def _seam_field(n=256, nt=50, edge=1e-4, middle=1e-7):
    err = middle * np.ones((n, nt))
    err[:2], err[-2:] = edge, edge
    return err


def test_seam_error_finding_reads_the_error_at_the_ends_of_a_periodic_axis():
    from pinnsight.diagnostics.signatures import Context, seam_error, suggest

    f = seam_error(_seam_field(), [True, False], ("x", "t"), undeclared=("x",))
    assert f.name == "seam-error" and f.evidence["lines"] == 4 and f.evidence["undeclared_kink"]
    # 4 lines at each end: 2 of them at 1e-4, 2 at 1e-7; the other 248 at 1e-7
    edge = 4 * 1e-8 + 4 * 1e-14
    assert f.evidence["share"] == pytest.approx(edge / (edge + 248 * 1e-14), rel=1e-12)
    assert f.evidence["ratio"] == pytest.approx(math.sqrt((edge / 8) / 1e-14), rel=1e-12)
    sug = suggest(f, Context("reaction"))
    assert [s.args for s in sug] == [("--model", "mlp:width=30,depth=3")]
    declared = seam_error(_seam_field(), [True, False], ("x", "t"))
    assert declared is not None and not declared.evidence["undeclared_kink"] and suggest(declared, Context("ac")) == ()
    assert seam_error(_seam_field(), [False, False], ("x", "t")) is None  # not a periodic axis
    assert seam_error(_seam_field(edge=3e-7), [True, False], ("x", "t")) is None  # spread out: no seam signature
    system = np.stack([_seam_field(), np.zeros((256, 50))], axis=-1)  # a field axis is summed over
    assert seam_error(system, [True, False], ("x", "t")).evidence["share"] == pytest.approx(f.evidence["share"])
