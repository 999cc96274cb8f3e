"""The one spec grammar and coercion rule set (``pinnsight.spec``), and issue 22's class 2 — non-finite and mistyped
values — through the Python API (a PinnsightError in the one form) and the command line (one ``pinnsight: error:``
line, exit 2, raised while the configuration is built: nothing trains)."""

import math

import numpy as np
import pytest

import pinnsight as ps
from pinnsight import spec
from pinnsight.cli import main
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.remedies import RemedyConfig, remedy_config, validate_specs


# ------------------------------------------------------------------------------------------------- grammar
def test_parse_spec_strips_and_splits():
    assert spec.parse_spec(" adam : lr = 1e-3 , b1=0.5,", "optimizer") == ("adam", {"lr": "1e-3", "b1": "0.5"})
    assert spec.parse_spec("mlp", "--model") == ("mlp", {})


@pytest.mark.parametrize("text, message", [
    (":lr=1", "has no name"),
    ("  ", "has no name"),
    ("adam:lr", "option 'lr' is not of the form key=value"),
    ("adam:=1", "is not of the form key=value"),
    ("adam:lr=", "is not of the form key=value"),
    ("adam:lr=1,lr=2", "optimizer adam: option 'lr' given twice"),
    ("adam:lr=1, lr =2", "option 'lr' given twice"),
    (3, "must be a string"),
])
def test_parse_spec_errors(text, message):
    with pytest.raises(ps.PinnsightError, match=message):
        spec.parse_spec(text, "optimizer")


def test_parse_pairs_refuses_duplicates_and_malformed_items():
    assert spec.parse_pairs(["ic=1", " bc = 2 "], "--weight") == {"ic": "1", "bc": "2"}
    for items, message in ((["ic=1", "ic=2"], "--weight 'ic' given twice"), (["ic"], "not of the form NAME=VALUE"),
                           (["=1"], "not of the form"), (["ic="], "not of the form")):
        with pytest.raises(ps.PinnsightError, match=message):
            spec.parse_pairs(items, "--weight")


def test_format_spec_round_trips():
    text = spec.format_spec("curriculum", {"start": 2.0, "stages": 3, "spacing": "geometric", "x": True, "e": 1e-10})
    assert text == "curriculum:start=2,stages=3,spacing=geometric,x=1,e=1e-10"
    assert spec.parse_spec(text, "remedy")[1]["e"] == "1e-10"


# ------------------------------------------------------------------------------------------------ coercion
@pytest.mark.parametrize("raw, expected", [(3, 3), ("3", 3), ("3.0", 3), (3.0, 3), (" 7 ", 7), (np.int64(4), 4),
                                           (np.float32(5.0), 5), ("1e3", 1000), (-2, -2)])
def test_int_accepts_integers_in_any_spelling(raw, expected):
    out = spec.coerce(raw, int, "w", "k")
    assert out == expected and type(out) is int


@pytest.mark.parametrize("raw, reason", [
    (1.5, "is not an integer"), ("1.5", "is not an integer"), (np.float64(2.5), "is not an integer"),
    (True, "booleans are not numbers"), (False, "booleans are not numbers"), (np.bool_(True), "booleans"),
    ("x", "is not an integer"), (None, "is not an integer"), ([1], "is not an integer"),
    (float("nan"), "must be finite"), ("inf", "must be finite"), (float("-inf"), "must be finite"),
    (10**30, "below 2\\*\\*63"), ("1e300", "below 2\\*\\*63"),
])
def test_int_refuses_non_integers(raw, reason):
    with pytest.raises(ps.PinnsightError, match=f"^w: k=.*{reason}"):
        spec.coerce(raw, int, "w", "k")


@pytest.mark.parametrize("raw, expected", [(1, 1.0), ("2.5", 2.5), (" 1e-3 ", 1e-3), (np.float32(0.5), 0.5), (-4, -4.0)])
def test_float_accepts_finite_numbers(raw, expected):
    out = spec.coerce(raw, float, "w", "k")
    assert out == expected and type(out) is float


@pytest.mark.parametrize("raw, reason", [
    (float("nan"), "must be finite"), ("nan", "must be finite"), ("NaN", "must be finite"), (float("inf"), "must be finite"),
    ("inf", "must be finite"), (float("-inf"), "must be finite"), ("-Infinity", "must be finite"),
    (np.float32("nan"), "must be finite"), (10**400, "must be finite"), (True, "booleans are not numbers"),
    ("fast", "is not a number"), (None, "is not a number"), ({"a": 1}, "is not a number"),
])
def test_float_refuses_non_finite_and_non_numbers(raw, reason):
    with pytest.raises(ps.PinnsightError, match=f"^w: k=.*{reason}"):
        spec.coerce(raw, float, "w", "k")


@pytest.mark.parametrize("raw, expected", [(True, True), (False, False), (1, True), (0, False), ("1", True),
                                           ("0", False), ("true", True), ("FALSE", False), (" True ", True),
                                           (np.bool_(False), False)])
def test_bool_accepts_only_the_documented_spellings(raw, expected):
    assert spec.coerce(raw, bool, "w", "k") is expected


@pytest.mark.parametrize("raw", ["yes", "no", "on", "off", "", 2, -1, 1.0, 0.0, None, "2", "t"])
def test_bool_refuses_everything_else(raw):
    with pytest.raises(ps.PinnsightError, match=r"^w: k=.* is not a valid bool"):
        spec.coerce(raw, bool, "w", "k")


def test_str_and_unknown_kinds():
    assert spec.coerce(" a/b ", str, "w", "k") == "a/b" and spec.coerce(2.0, str, "w", "k") == "2"
    for raw in (True, None, [1]):
        with pytest.raises(ps.PinnsightError, match="is not a string"):
            spec.coerce(raw, str, "w", "k")
    with pytest.raises(ps.PinnsightError, match="unsupported type"):
        spec.coerce(1, list, "w", "k")


def test_the_one_error_form():
    with pytest.raises(ps.PinnsightError) as e:
        spec.coerce(float("nan"), float, "optimizer adam", "lr")
    assert str(e.value) == "optimizer adam: lr=nan must be finite"
    with pytest.raises(ps.PinnsightError) as e:
        spec.value("2", float, "optimizer adam", "b1", spec.between(0, 1, high_open=True))
    assert str(e.value) == "optimizer adam: b1='2' is out of range (must be in [0, 1))"
    with pytest.raises(ps.PinnsightError) as e:
        spec.value(10**30, int, "config", "seed", spec.all_of(spec.non_negative, spec.below(2**32, "2**32")))
    assert str(e.value) == "config: seed=1000000000000000000000000000000 is out of range (must be < 2**32)"


def test_options_from_defaults_types_from_the_defaults():
    defaults = {"lr": 1e-3, "steps": 10, "flag": False, "name": "a"}
    out = spec.options_from_defaults(defaults, {"lr": "0.5", "steps": "3.0", "flag": "true"}, "thing x",
                                     checks={"lr": spec.positive})
    assert out == {"lr": 0.5, "steps": 3, "flag": True, "name": "a"} and type(out["steps"]) is int
    with pytest.raises(ps.PinnsightError, match=r"thing x: unknown option 'bogus' \(options: extra, lr, steps"):
        spec.options_from_defaults(defaults, {"bogus": 1}, "thing x", also=("extra",))
    with pytest.raises(ps.PinnsightError, match=r"thing x: lr='-1' is out of range \(must be positive\)"):
        spec.options_from_defaults(defaults, {"lr": "-1"}, "thing x", checks={"lr": spec.positive})
    with pytest.raises(ps.PinnsightError, match="thing x: lr=nan must be finite"):
        spec.options_from_defaults(defaults, {"lr": math.nan}, "thing x")


# ----------------------------------------------------------------------------- the Python API, each class
@pytest.mark.parametrize("kwargs, message", [
    # non-finite floats
    ({"phases": (PhaseConfig("adam", 10),), "weights": {"ic": math.inf}}, "weights: ic=inf must be finite"),
    ({"weights": {"ic": "nan"}}, "weights: ic='nan' must be finite"),
    ({"weights": {"bc": -1.0}}, "weights: bc=-1.0 is out of range"),
    ({"target_rel_l2": math.nan}, "config: target_rel_l2=nan must be finite"),
    ({"target_rel_l2": math.inf}, "config: target_rel_l2=inf must be finite"),
    ({"target_rel_l2": 0}, "target_rel_l2=0 is out of range"),
    ({"stall_rtol": math.nan}, "config: stall_rtol=nan must be finite"),
    ({"params": {"beta": math.inf}}, "convection: beta=inf must be finite"),
    ({"params": {"beta": "-inf"}}, "convection: beta='-inf' must be finite"),
    ({"model": "fourier", "model_options": {"sigma": math.inf}}, "model fourier: sigma=inf must be finite"),
    ({"model": "fourier", "model_options": {"sigma": "nan"}}, "model fourier: sigma='nan' must be finite"),
    ({"model": "hard-constraint", "model_options": {"ridge": math.nan}}, "model hard-constraint: ridge=nan must be finite"),
    ({"remedies": ("causal:eps=inf",)}, "remedy causal: eps='inf' must be finite"),
    ({"remedies": ({"name": "curriculum", "options": {"start": math.nan}},)}, "remedy curriculum: start=nan must be"),
    # integers must be integers
    ({"points": {"res": 1.5}}, "points: res=1.5 is not an integer"),
    ({"points": {"res": True}}, "points: res=True is not an integer"),
    ({"points": {"res": 0}}, "points: res=0 is out of range"),
    ({"log_every": 2.5}, "config: log_every=2.5 is not an integer"),
    ({"eval_every": "x"}, "config: eval_every='x' is not an integer"),
    ({"stall_steps": -1}, "config: stall_steps=-1 is out of range"),
    ({"model_options": {"width": 1.5}}, "model mlp: width=1.5 is not an integer"),
    ({"remedies": ("rar:every=2.5",)}, "remedy rar: every='2.5' is not an integer"),
    # booleans are booleans, and not numbers
    ({"seed": True}, "config: seed=True is not an integer"),
    ({"x64": "yes"}, "config: x64='yes' is not a valid bool"),
    ({"x64": 2}, "config: x64=2 is not a valid bool"),
    ({"params": {"beta": True}}, "convection: beta=True is not a number"),
    ({"model_options": {"normalize": "maybe"}}, "model mlp: normalize='maybe' is not a valid bool"),
    # huge integers: the allowed range
    ({"seed": 10**30}, r"config: seed=1000000000000000000000000000000 is out of range \(must be < 2\*\*32\)"),
    ({"seed": 2**32}, r"must be < 2\*\*32"),
    ({"seed": -1}, "config: seed=-1 is out of range"),
    ({"points": {"res": 10**30}}, r"points: res=.* is out of range"),
])
def test_train_config_refuses_bad_values(kwargs, message):
    with pytest.raises(ps.PinnsightError, match=message.replace("(", r"\(").replace(")", r"\)")
                       if "\\" not in message else message):
        TrainConfig(**kwargs)


@pytest.mark.parametrize("name, options, message", [
    ("adam", {"lr": math.nan}, "optimizer adam: lr=nan must be finite"),
    ("adam", {"lr": "inf"}, "optimizer adam: lr='inf' must be finite"),
    ("adam", {"lr": 0}, "optimizer adam: lr=0 is out of range (must be positive)"),
    ("adam", {"b1": 2}, "optimizer adam: b1=2 is out of range (must be in [0, 1))"),
    ("adam", {"b2": 1.0}, "optimizer adam: b2=1.0 is out of range (must be in [0, 1))"),
    ("adam", {"b1": -0.1}, "optimizer adam: b1=-0.1 is out of range"),
    ("adam", {"decay_steps": 1.5}, "optimizer adam: decay_steps=1.5 is not an integer"),
    ("adam", {"fresh": True}, "optimizer adam: fresh=True is not an integer"),
    ("adam", {"fresh": 2}, "optimizer adam: fresh=2 is out of range (must be 0 or 1)"),
    ("lbfgs", {"memory": "ten"}, "optimizer lbfgs: memory='ten' is not an integer"),
    ("lbfgs", {"gtol": -math.inf}, "optimizer lbfgs: gtol=-inf must be finite"),
    ("gauss-newton", {"damping": math.nan}, "optimizer gauss-newton: damping=nan must be finite"),
    ("gauss-newton", {"marquardt": "true"}, "optimizer gauss-newton: marquardt='true' is not an integer"),
    ("natural-gradient", {"woodbury": 2}, "optimizer natural-gradient: woodbury=2 is out of range (must be 0 or 1)"),
    ("natural-gradient", {"rcond": -1e-3}, "optimizer natural-gradient: rcond=-0.001 is out of range"),
])
def test_phase_config_refuses_bad_values(name, options, message):
    with pytest.raises(ps.PinnsightError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        PhaseConfig(name, 10, options)


@pytest.mark.parametrize("steps, message", [(1.5, "steps=1.5 is not an integer"), (True, "steps=True is not an integer"),
                                            (-1, "steps=-1 is out of range"), ("many", "steps='many' is not an integer")])
def test_phase_steps_are_non_negative_integers(steps, message):
    with pytest.raises(ps.PinnsightError, match=f"optimizer adam: {message}"):
        PhaseConfig("adam", steps)


def test_values_are_typed_after_coercion():
    c = TrainConfig(x64="false", seed="3", points={"res": "200", "ic": 50.0}, weights={"ic": "10"},
                    log_every="10.0", eval_every=20, stall_steps="0", stall_rtol="1e-4", target_rel_l2="1e-3",
                    phases=({"name": "adam", "steps": "5", "options": {"lr": "1e-2", "fresh": "0"}},))
    assert c.x64 is False and c.seed == 3 and type(c.seed) is int
    assert c.points["res"] == 200 and type(c.points["ic"]) is int and c.weights["ic"] == 10.0
    assert c.log_every == 10 and type(c.log_every) is int and c.stall_rtol == 1e-4 and c.target_rel_l2 == 1e-3
    assert c.phases[0].steps == 5 and c.phases[0].options["lr"] == 1e-2
    assert TrainConfig(x64="true").x64 is True and TrainConfig(x64=1).x64 is True and TrainConfig(x64=0).x64 is False


def test_model_problem_and_family_options():
    with pytest.raises(ps.PinnsightError, match="model fourier: sigma=inf must be finite"):
        ps.models.resolve_model_options("fourier", {"sigma": math.inf})
    with pytest.raises(ps.PinnsightError, match="model hard-constraint: ridge='nan' must be finite"):
        ps.models.resolve_model_options("hard-constraint", {"ridge": "nan"})
    assert ps.models.resolve_model_options("mlp", {"normalize": "1"})["normalize"] is True
    with pytest.raises(ps.PinnsightError, match="reaction: rho=True is not a number"):
        ps.problems.resolve_params("reaction", {"rho": True})
    from pinnsight.hard.family import FamilyConfig

    for kwargs, message in (({"lr": math.inf}, "train-family: lr=inf must be finite"),
                            ({"lr": math.nan}, "train-family: lr=nan must be finite"),
                            ({"decay_rate": 0}, "train-family: decay_rate=0 is out of range"),
                            ({"steps": 1.5}, "train-family: steps=1.5 is not an integer"),
                            ({"seed": 10**30}, r"train-family: seed=.* is out of range \(must be < 2\*\*32\)"),
                            ({"x64": "no"}, "train-family: x64='no' is not a valid bool"),
                            ({"weights": {"ic": math.inf}}, "weights: ic=inf must be finite"),
                            ({"points": {"res": 2.5}}, "points: res=2.5 is not an integer"),
                            ({"validate": {"nu": (math.nan,)}}, "validate: nu=nan must be finite")):
        with pytest.raises(ps.PinnsightError, match=message):
            FamilyConfig(problem="diffusion", ranges={"nu": (1.0, 5.0)}, **kwargs)


# ---------------------------------------------------------------------------------------- typed remedies
def test_remedy_config_is_typed_and_prints_its_spec():
    rc = remedy_config("curriculum:start=2,stages=3")
    assert isinstance(rc, RemedyConfig) and rc.name == "curriculum"
    assert rc.options["start"] == 2.0 and type(rc.options["stages"]) is int and rc.options["spacing"] == "linear"
    assert str(rc) == "curriculum:start=2,stages=3" and str(remedy_config("causal")) == "causal"
    assert remedy_config({"name": "curriculum", "options": {"start": 2, "stages": "3"}}) == rc
    assert remedy_config(rc) == rc and remedy_config(str(rc)) == rc
    assert remedy_config("time-marching:windows=2").name == "seq2seq"  # aliases resolve to the canonical name
    for bad, message in (("curriculum:start=1,start=2", "remedy curriculum: option 'start' given twice"),
                         ({"name": "causal", "opts": {}}, "expected the fields name and options"),
                         ({"name": "nope"}, "unknown remedy 'nope'"), (3, "must be a spec string")):
        with pytest.raises(ps.PinnsightError, match=message):
            remedy_config(bad)


def test_train_config_stores_remedy_configs_and_reads_the_old_string_form():
    c = TrainConfig(remedies=["curriculum:start=2,stages=3", {"name": "causal", "options": {"eps": 0.1}}])
    assert all(isinstance(r, RemedyConfig) for r in c.remedies)
    d = c.to_dict()
    assert d["remedies"][0] == {"name": "curriculum", "options": dict(c.remedies[0].options)}
    assert TrainConfig.from_dict(d) == c
    old = {**d, "remedies": ["curriculum:start=2,stages=3", "causal:eps=0.1"]}  # config.json before typed remedies
    assert TrainConfig.from_dict(old) == c
    assert validate_specs(("rad",)) == (remedy_config("rad"),)
    with pytest.raises(ps.PinnsightError, match="unknown field 'remedy'"):
        TrainConfig.from_dict({"remedy": ["rad"]})


# ------------------------------------------------------------------------------ the command line, each class
@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if anything starts training or writing."""
    import pinnsight.cli as cli
    import pinnsight.hard.family as family

    def refuse(*a, **k):
        raise AssertionError("training started before the bad value was refused")

    monkeypatch.setattr(cli, "_train_and_write", refuse)
    monkeypatch.setattr(family, "train_family", refuse)


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "adam:lr=nan"], "optimizer adam: lr='nan' must be finite"),
    (["--optimizer", "adam:lr=inf"], "optimizer adam: lr='inf' must be finite"),
    (["--optimizer", "adam:lr=-inf"], "optimizer adam: lr='-inf' must be finite"),
    (["--optimizer", "adam:b1=2"], "optimizer adam: b1='2' is out of range (must be in [0, 1))"),
    (["--optimizer", "adam:lr=1,lr=2"], "optimizer adam: option 'lr' given twice"),
    (["--optimizer", "adam:steps=1.5"], "optimizer adam: steps='1.5' is not an integer"),
    (["--optimizer", "lbfgs:memory=true"], "optimizer lbfgs: memory='true' is not an integer"),
    (["--weight", "ic=inf"], "weights: ic='inf' must be finite"),
    (["--weight", "ic=nan"], "weights: ic='nan' must be finite"),
    (["--weight", "ic=1", "--weight", "ic=2"], "--weight 'ic' given twice"),
    (["--points", "res=1.5"], "points: res='1.5' is not an integer"),
    (["--points", "res=100", "--points", "res=200"], "--points 'res' given twice"),
    (["-p", "beta=inf"], "convection: beta='inf' must be finite"),
    (["-p", "beta=1", "-p", "beta=2"], "-p 'beta' given twice"),
    (["--model", "fourier:sigma=inf"], "model fourier: sigma='inf' must be finite"),
    (["--model", "mlp:width=1.5"], "model mlp: width='1.5' is not an integer"),
    (["--model", "mlp:width=8,width=9"], "--model mlp: option 'width' given twice"),
    (["--model", "mlp:normalize=yes"], "model mlp: normalize='yes' is not a valid bool"),
    (["--model", "hard-constraint:ridge=nan"], "model hard-constraint: ridge='nan' must be finite"),
    (["--remedy", "causal:eps=nan"], "remedy causal: eps='nan' must be finite"),
    (["--remedy", "curriculum:stages=2,stages=3"], "remedy curriculum: option 'stages' given twice"),
    (["--seed", "1000000000000000000000000000000"], "config: seed='1000000000000000000000000000000' is out of range "
                                                     "(must be < 2**32)"),
    (["--seed", "true"], "config: seed='true' is not an integer"),
    (["--seed", "1.5"], "config: seed='1.5' is not an integer"),
    (["--steps", "1e400"], "optimizer adam: steps='1e400' is not an integer"),
    (["--log-every", "0"], "config: log_every='0' is out of range"),
    (["--target", "nan"], "config: target_rel_l2='nan' must be finite"),
    (["--target", "inf"], "config: target_rel_l2='inf' must be finite"),
    (["--stall-steps", "2.5"], "config: stall_steps='2.5' is not an integer"),
])
def test_cli_bad_values_are_one_line_before_training(args, message, capsys, no_training, tmp_path):
    code = main(["train", "convection", *args, "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("pinnsight: error: "), err
    assert message in lines[0], lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, message", [
    (["--lr", "inf"], "train-family: lr=inf must be finite"),
    (["--lr", "nan"], "train-family: lr=nan must be finite"),
    (["--steps", "1.5"], "command line: --steps='1.5' is not an integer"),
    (["--seed", str(10**30)], "is out of range"),
    (["--weight", "ic=inf"], "weights: ic='inf' must be finite"),
    (["--model", "hard-constraint:ridge=nan"], "model hard-constraint: ridge='nan' must be finite"),
    (["-p", "nu=2", "-p", "nu=3"], "-p 'nu' given twice"),
])
def test_cli_train_family_bad_values(args, message, capsys, no_training, tmp_path):
    code = main(["train-family", "diffusion", "--param-range", "nu=1:5", *args, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("pinnsight: error: "), err
    assert message in lines[0], lines[0]
