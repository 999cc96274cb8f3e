"""A phase that trains on some loss terms only (``terms=``): the sequential training of Maddu et al. (2022), data
first and physics after. Its effect is exactly that of weight 0 on the other terms during that phase."""

from __future__ import annotations

import json

import equinox as eqx
import jax
import numpy as np
import pytest

from pinnsight import trainer
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.errors import PinnsightError

from _cli import one_error_line, run_cli

SMALL = dict(problem="convection", params={"beta": 1.0}, model_options={"width": 8, "depth": 2},
             points={"res": 64, "ic": 16, "bc": 16}, log_every=10, eval_every=10)


def _params(config):
    return np.concatenate([np.ravel(a) for a in jax.tree_util.tree_leaves(eqx.filter(trainer.train(config).model, eqx.is_array))])


def test_a_phase_on_some_terms_equals_zero_weights_on_the_others_and_the_next_phase_trains_on_all():
    masked = TrainConfig(**SMALL, phases=(PhaseConfig("adam", 20, terms=("ic", "bc")),))
    zero = TrainConfig(**SMALL, phases=(PhaseConfig("adam", 20),), weights={"res": 0.0})
    np.testing.assert_array_equal(_params(masked), _params(zero))
    plain = TrainConfig(**SMALL, phases=(PhaseConfig("adam", 20),))
    assert not np.array_equal(_params(plain), _params(zero))
    # sequential: the second phase has the residual back (it differs from a run that keeps it at 0 throughout)
    seq = TrainConfig(**SMALL, phases=(PhaseConfig("adam", 20, terms=("ic", "bc")), PhaseConfig("lbfgs", 5)))
    zero2 = TrainConfig(**SMALL, phases=(PhaseConfig("adam", 20), PhaseConfig("lbfgs", 5)), weights={"res": 0.0})
    assert not np.array_equal(_params(seq), _params(zero2))


def test_terms_from_a_spec_string_and_config_round_trip():
    phase = PhaseConfig.from_value("adam:steps=30,terms=ic+bc,lr=0.002")
    assert phase.terms == ("ic", "bc") and phase.options["lr"] == 0.002 and phase.steps == 30
    config = TrainConfig(**SMALL, phases=(phase, PhaseConfig("lbfgs", 5)))
    d = json.loads(json.dumps(config.to_dict()))
    assert d["phases"][0]["terms"] == ["ic", "bc"] and "terms" not in d["phases"][1]  # old files unchanged
    assert TrainConfig.from_dict(d) == config


@pytest.mark.parametrize("terms, message", [
    (("data",), "'data' is not a loss term of the problem (terms: res, ic, bc)"),
    (("",), "must name loss terms"),
])
def test_a_phase_naming_a_term_the_problem_lacks_is_refused(terms, message):
    with pytest.raises(PinnsightError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**SMALL, phases=(PhaseConfig("adam", 5, terms=terms),))


def test_the_command_line_names_the_bad_term_in_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "convection", "--optimizer", "adam:steps=5,terms=ic+nope",
                           "--out", tmp_path / "run")
    assert code == 2
    one_error_line(err, "'nope' is not a loss term")
    assert not (tmp_path / "run").exists()
