"""PRNG keys come from names and purposes (issue 17): no two parts of a run draw from the same key."""

import jax
import numpy as np
import pytest

import pinnsight as ps
from pinnsight import keys
from pinnsight.config import PhaseConfig, TrainConfig


def _bits(key):
    return tuple(np.asarray(key).ravel())


def test_derive_is_stable_and_separates_names_and_counters():
    assert _bits(keys.derive(0, "remedy", "rad", 1)) == _bits(keys.derive(0, "remedy", "rad", 1))
    seen = {_bits(keys.derive(s, *path)) for s in (0, 1) for path in
            [("remedy", "rad", 0), ("remedy", "rad", 1), ("remedy", "rar", 0), ("phase", "adam", "steps")]}
    assert len(seen) == 8
    with pytest.raises(ValueError):
        keys.derive(0, -1)


def test_the_old_collision_is_gone():
    """Adam's fresh batch at step 4000 drew from the NTK weighting's key of segment 0 (both 4000 + index)."""
    adam = jax.random.fold_in(keys.derive(0, "phase", "adam", "steps"), 4000)
    ntk = keys.derive(keys.derive(0, "remedy"), "ntk", "subsample", 0)
    assert _bits(adam) != _bits(ntk)


@pytest.mark.parametrize("remedies", [
    ("seq2seq:windows=2", "causal:slices=4", "adaptive-sampling:every=20", "rar:every=20", "rad:every=20",
     "lra:every=20", "ntk:every=20,points=8", "inverse-dirichlet:every=20", "grad-stats:every=20"),
    ("curriculum:stages=2", "causal:slices=4", "lra:every=20"),
])
def test_a_run_with_every_remedy_derives_no_key_twice(remedies):
    config = TrainConfig(problem="convection", params={"beta": 2.0}, model_options={"width": 8, "depth": 2},
                         points={"res": 64, "ic": 16, "bc": 16}, phases=(PhaseConfig("adam", 40),),
                         log_every=20, eval_every=20, remedies=remedies)
    with keys.collecting() as record:
        ps.train(config, progress=False)
    by_bits = {}
    for path, bits in record:
        by_bits.setdefault(bits, set()).add(path)
    shared = {b: p for b, p in by_bits.items() if len(p) > 1}
    assert not shared, shared
    assert len({p for p, _ in record}) >= 5  # the run did derive keys for its parts
