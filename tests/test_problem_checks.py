"""Issue 22, class 6: a problem is checked once, when it is built, and a bad part fails there with a
``PinnsightError`` naming the problem and the part — never inside training, never an anonymous TypeError."""

import dataclasses
import time

import jax
import jax.numpy as jnp
import pytest

import pinnsight as ps
from pinnsight.problems import Constraint, _base


def _residual(u, x, t, c):
    return jax.grad(u, 1)(x, t) + c["beta"] * jax.grad(u, 0)(x, t)


def make(**changes):
    """A valid two-coordinate problem (x periodic, t), with ``changes`` applied."""
    fields = dict(
        name="mine", coords=("x", "t"), bounds=((0.0, 1.0), (0.0, 2.0)), residual=_residual,
        constraints=(ps.Initial(jnp.sin), ps.Periodic("x")), coefficients={"beta": 1.0},
    )
    return ps.Problem(**{**fields, **changes})


def check_fails(match, **changes):
    with pytest.raises(ps.PinnsightError, match=match) as info:
        make(**changes)
    assert str(info.value).startswith("problem 'mine': ") and "\n" not in str(info.value)
    return str(info.value)


# ------------------------------------------------------------------------------------------- valid problems
def test_the_base_problem_and_valid_variants_build():
    assert make().term_names == ("res", "ic", "bc")
    assert make(residual=lambda u, *z: _residual(u, *z)).dim == 2  # *args
    assert make(residual=lambda u, x, t, c, extra=1.0: _residual(u, x, t, c)).name == "mine"  # a default argument
    assert make(residual=lambda u, x, t, c: jnp.reshape(_residual(u, x, t, c), (1,))).dim == 2  # (1,) per point
    p = make(constraints=(ps.Initial(jnp.sin), ps.Periodic("x", derivatives=1), ps.Dirichlet(coords=["x"], name="d")))
    assert p.term_names == ("res", "ic", "bc", "d")
    assert make(constraints=()).term_names == ("res",)  # a residual alone (data terms come later)


def test_sequences_are_normalised():
    p = make(coords=["x", "t"], bounds=[[0, 1], [0, 2]], constraints=[ps.Initial(jnp.sin), ps.Periodic("x")])
    assert p.coords == ("x", "t") and isinstance(p.constraints, tuple)
    assert p.bounds == ((0.0, 1.0), (0.0, 2.0)) and all(type(v) is float for b in p.bounds for v in b)
    rows = ps.problems.Initial(jnp.sin).sample(jax.random.PRNGKey(0), p, 8)  # integer bounds sampled as floats
    assert jnp.issubdtype(rows.dtype, jnp.floating)


def test_every_registered_problem_builds_fast_and_compiles_nothing():
    compiled = []

    def listen(name, _duration, **_):
        if name == "/jax/core/compile/backend_compile_duration":
            compiled.append(name)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        times = {}
        for name in ps.problem_specs():
            start = time.perf_counter()
            problem = ps.make_problem(name)
            times[name] = time.perf_counter() - start
            problem.with_coefficients()  # a rebuild is checked again
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert not compiled, "building a problem must not compile anything (eval_shape only)"
    assert max(times.values()) < 1.0, times  # measured 10-50 ms each on a laptop CPU


# ---------------------------------------------------------------------------------------------------- bounds
@pytest.mark.parametrize("bounds, match", [
    (((1.0, 0.0), (0.0, 2.0)), r"bounds of 'x': lo = 1 must be below hi = 0"),
    (((0.0, 1.0), (2.0, 2.0)), r"bounds of 't': lo = 2 must be below hi = 2"),
    (((float("nan"), 1.0), (0.0, 2.0)), r"bounds of 'x': .* must be finite"),
    (((0.0, float("inf")), (0.0, 2.0)), r"bounds of 'x': .* must be finite"),
    (((0.0, "1"), (0.0, 2.0)), r"bounds of 'x': expected a \(lo, hi\) pair of numbers"),
    (((0.0, True), (0.0, 2.0)), r"bounds of 'x': expected a \(lo, hi\) pair"),
    (((0.0, 1.0, 2.0), (0.0, 2.0)), r"bounds of 'x': expected a \(lo, hi\) pair"),
    (((0.0, 1.0),), r"bounds: 2 coords but 1 bounds"),
    (None, r"bounds: expected one \(lo, hi\) pair per coordinate"),
])
def test_bad_bounds(bounds, match):
    check_fails(match, bounds=bounds)


# ---------------------------------------------------------------------------------------------------- coords
@pytest.mark.parametrize("changes, match", [
    ({"coords": ("x", "x")}, r"coords: coordinate names must be unique, 'x' appears twice"),
    ({"coords": ("x", 1)}, r"coords: coordinate names are non-empty strings, got 1"),
    ({"coords": ("x", "")}, r"coords: coordinate names are non-empty strings"),
    ({"coords": "xt"}, r"coords: expected a tuple of coordinate names"),
    ({"coords": (), "bounds": ()}, r"coords: a problem needs at least one coordinate"),
    ({"time": "s"}, r"time: time coordinate 's' is not one of the coords"),
    ({"periodic": ("z",)}, r"periodic: 'z' is not a coordinate"),
    ({"periodic": "x"}, r"periodic: expected a tuple"),
])
def test_bad_coordinates(changes, match):
    check_fails(match, **changes)


def test_a_bad_name_is_refused():
    for name in ("", "  ", None, 3):
        with pytest.raises(ps.PinnsightError, match="non-empty string name"):
            make(name=name)


# -------------------------------------------------------------------------------------------- coefficients
@pytest.mark.parametrize("value, match", [
    (float("nan"), r"coefficient 'beta': nan must be finite"),
    (float("-inf"), r"coefficient 'beta': -inf must be finite"),
    ("fast", r"coefficient 'beta': 'fast' is not a real number"),
    (True, r"coefficient 'beta': True is not a real number"),
    (jnp.ones(2), r"coefficient 'beta': .* is not a real number"),
])
def test_bad_coefficients(value, match):
    check_fails(match, coefficients={"beta": value})


def test_with_coefficients_is_checked_too():
    with pytest.raises(ps.PinnsightError, match=r"problem 'convection': coefficient 'beta': nan must be finite"):
        ps.make_problem("convection").with_coefficients(beta=float("nan"))


# ----------------------------------------------------------------------------------------------- constraints
@pytest.mark.parametrize("constraints, match", [
    ((ps.Initial(jnp.sin), ps.Periodic("z")), r"constraint 'bc' \(Periodic\): 'z' is not a coordinate of the problem"),
    ((ps.Dirichlet(coords=("z",)),), r"constraint 'bc' \(Dirichlet\): 'z' is not a coordinate"),
    ((ps.Neumann(coords=("x", "y")),), r"constraint 'neumann' \(Neumann\): 'y' is not a coordinate"),
    ((ps.Dirichlet(coords="x"),), r"constraint 'bc' \(Dirichlet\): coords: expected a tuple"),
    ((ps.Dirichlet(coords=()),), r"constraint 'bc' \(Dirichlet\): coords=\(\) names no face"),
    ((ps.Periodic(1),), r"constraint 'bc' \(Periodic\): coord must be a coordinate name"),
    ((ps.Periodic("x", derivatives=-1),), r"derivatives must be an integer ≥ 0, got -1"),
    ((ps.Initial(jnp.sin, order=1.5),), r"constraint 'ic' \(Initial\): order must be an integer ≥ 0"),
    ((ps.Initial(jnp.sin), ps.Dirichlet(name="ic")), r"constraint 'ic' \(Dirichlet\): constraint names must be unique"),
    ((ps.Dirichlet(name="res"),), r"constraint 'res' \(Dirichlet\): the name 'res' is the PDE residual"),
    ((ps.Dirichlet(name=""),), r"constraint 0 \(Dirichlet\): needs a non-empty string name"),
    (("bc",), r"constraint 0: 'bc' is not a Constraint"),
    (ps.Periodic("x"), r"constraints: expected a tuple of constraints, got one"),
    (42, r"constraints: expected a tuple of constraints, got 42"),
])
def test_bad_constraints(constraints, match):
    check_fails(match, constraints=constraints)


@pytest.mark.parametrize("n", [0, -5, 1.5, True, "100", None])
def test_constraint_n_points_must_be_a_positive_integer(n):
    check_fails(r"constraint 'ic' \(Initial\): n_points must be a positive integer",
          constraints=(ps.Initial(jnp.sin, n_points=n),))


def test_an_initial_condition_needs_a_time_coordinate():
    check_fails(r"constraint 'ic' \(Initial\): an initial condition needs a time coordinate", time=None)


def test_boundary_faces_need_a_spatial_coordinate():
    check_fails(r"constraint 'bc' \(Dirichlet\): the problem has no spatial coordinate", coords=("t",),
          bounds=((0.0, 1.0),), residual=lambda u, t, c: jax.grad(u)(t), constraints=(ps.Dirichlet(),),
          coefficients={})


@pytest.mark.parametrize("constraint, match", [
    (ps.Dirichlet(value=lambda x: x, coords=("x",)),
     r"constraint 'bc' \(Dirichlet\) value: .* cannot be called as value\(x, t\)"),
    (ps.Neumann(value=lambda x, y, z: x),
     r"constraint 'neumann' \(Neumann\) value: .* cannot be called as value\(x, t\)"),
    (ps.Initial(value=lambda x, t: x), r"constraint 'ic' \(Initial\) value: .* cannot be called as value\(x\)"),
    (ps.Dirichlet(value=lambda x, t: jnp.ones(3) * x, coords=("x",)),
     r"constraint 'bc' \(Dirichlet\) sample: fails on a test point: TypeError"),
])
def test_bad_constraint_values(constraint, match):
    check_fails(match, constraints=(constraint,))


@dataclasses.dataclass(frozen=True)
class Custom(Constraint):
    """A user's constraint: u = 0 at random points; ``kind`` picks a broken variant."""

    kind: str = "good"
    name: str = "custom"
    n_points: int = 10

    def sample(self, key, problem, n):
        rows = jax.random.uniform(key, (n, problem.dim))
        return rows[:, 0] if self.kind == "flat-sample" else rows

    def residual(self, u, row, c, problem):
        value = u(*row)
        if self.kind == "bool":
            return value > 0
        if self.kind == "matrix":
            return jnp.ones((2, 3)) * value
        if self.kind == "tuple":
            return value, value
        return value


def test_a_custom_constraint_is_checked_abstractly():
    make(constraints=(Custom(),))
    check_fails(r"constraint 'custom' \(Custom\) residual: returns bool values per row", constraints=(Custom("bool"),))
    check_fails(r"constraint 'custom' \(Custom\) residual: returns shape \(2, 3\) per row \(6 values\)",
          constraints=(Custom("matrix"),))
    check_fails(r"constraint 'custom' \(Custom\) residual: returns a tuple of 2 values", constraints=(Custom("tuple"),))
    check_fails(r"constraint 'custom' \(Custom\) sample: sample\(key, problem, n\) must return n rows .* got shape \(2,\)",
          constraints=(Custom("flat-sample"),))


# -------------------------------------------------------------------------------------------------- residual
@pytest.mark.parametrize("residual, match", [
    (lambda u, x, c: u(x, x), r"residual: .*\(u, x, c\) cannot be called as residual\(u, x, t, c\): too many"),
    (lambda u, x, t, y, c: u(x, t), r"residual: .* cannot be called as residual\(u, x, t, c\): missing"),
    (lambda u, x, t, *, c: u(x, t), r"residual: .* cannot be called as residual\(u, x, t, c\)"),
    ("u_t + u_x", r"residual: 'u_t \+ u_x' is not callable"),
])
def test_a_residual_with_a_wrong_signature(residual, match):
    check_fails(match, residual=residual)


@pytest.mark.parametrize("residual, match", [
    (lambda u, x, t, c: jnp.stack([u(x, t)] * 3),
     r"residual: returns shape \(3,\) per point \(3 values\); it must return one scalar"),
    (lambda u, x, t, c: (u(x, t), u(x, t), u(x, t)), r"residual: returns a tuple of 3 values per point"),
    (lambda u, x, t, c: jnp.ones((2, 2)) * u(x, t), r"residual: returns shape \(2, 2\) per point"),
    (lambda u, x, t, c: u(x, t) > 0, r"residual: returns bool values per point \(a comparison\?\)"),
    (lambda u, x, t, c: jnp.int32(1) + jnp.round(u(x, t)).astype(jnp.int32), r"residual: returns int32 values"),
    (lambda u, x, t, c: u(x) - x,
     r"residual: fails on a test point: u takes the 2 coordinates \(x, t\), called with 1"),
    (lambda u, x, t, c: u(jnp.stack([x, t])), r"residual: fails on a test point: u takes the 2 coordinates"),
    (lambda u, x, t, c: u(x, t) - c["alpha"],
     r"residual: fails on a test point: KeyError: 'alpha' \(coefficients: beta\)"),
    (lambda u, x, t, c: u(x, t) + jnp.ones(3) @ jnp.ones(4), r"residual: fails on a test point: TypeError"),
])
def test_a_residual_with_wrong_values(residual, match):
    check_fails(match, residual=residual)


def test_a_residual_is_never_run_at_build_only_traced():
    calls = []

    def residual(u, x, t, c):
        calls.append(type(x).__name__)
        return _residual(u, x, t, c)

    make(residual=residual)
    assert len(calls) == 1 and all("Tracer" in name for name in calls)


# ------------------------------------------------------------------------------------------ exact, reference
@pytest.mark.parametrize("changes, match", [
    ({"exact": lambda x, c: x}, r"exact: .* cannot be called as exact\(x, t, c\)"),
    ({"exact": lambda x, t, c: jnp.stack([x, t])}, r"exact: returns shape \(2,\) per point"),
    ({"exact": 1.0}, r"exact: 1.0 is not callable"),
    ({"reference": lambda c: None}, r"reference: .* cannot be called as reference\(c, axes\)"),
    ({"reference_shape": (10,)}, r"reference_shape: expected 2 integers ≥ 2"),
    ({"reference_shape": (10, 1.5)}, r"reference_shape: expected 2 integers ≥ 2"),
    ({"options": ["u0"]}, r"options: expected a mapping"),
])
def test_bad_exact_reference_and_options(changes, match):
    check_fails(match, **changes)


def test_has_reference_and_reference_solution():
    assert not make().has_reference and make().reference_solution() is None
    exact = make(exact=lambda x, t, c: jnp.sin(x - c["beta"] * t), reference_shape=(5, 4))
    assert exact.has_reference and exact.reference_solution().values.shape == (5, 4)
    assert ps.make_problem("burgers").has_reference  # a reference solver, no exact solution


# -------------------------------------------------------------------------------------------------- registry
@pytest.fixture
def registry():
    """The registry as it was, put back after the test."""
    saved = dict(_base._REGISTRY)
    yield _base._REGISTRY
    _base._REGISTRY.clear()
    _base._REGISTRY.update(saved)


def _factory():
    return make()


@pytest.mark.parametrize("name", ["", " ", "my problem", "a:b", "a,b", "a=b", "-lead", "a/b", None, 3, ("x",)])
def test_register_problem_refuses_bad_names(registry, name):
    before = dict(registry)
    with pytest.raises(ps.PinnsightError, match="register_problem: a problem name is a non-empty string"):
        ps.register_problem(name, params={})(_factory)
    assert registry == before


def test_register_problem_refuses_to_replace_silently(registry):
    builtin = registry["convection"]
    with pytest.raises(ps.PinnsightError, match=r"'convection' is already registered .* pass replace=True"):
        @ps.register_problem("convection", params={})
        def convection():
            return make()
    assert registry["convection"] is builtin

    ps.register_problem("mine", params={})(_factory)
    with pytest.raises(ps.PinnsightError, match="'mine' is already registered"):
        ps.register_problem("mine", params={})(_factory)
    ps.register_problem("mine", params={}, summary="second", replace=True)(_factory)
    assert registry["mine"].summary == "second"
    assert ps.make_problem("mine").name == "mine"


def test_register_problem_checks_its_params(registry):
    with pytest.raises(ps.PinnsightError, match=r"parameter 'c' is 2.0, not a Param"):
        ps.register_problem("mine", params={"c": 2.0})
    with pytest.raises(ps.PinnsightError, match=r"factory arguments and params differ on \['c'\]"):
        ps.register_problem("mine", params={"c": ps.Param(1.0)})(_factory)
    with pytest.raises(ps.PinnsightError, match="decorates a factory function"):
        ps.register_problem("mine", params={})(None)
    assert "mine" not in registry
