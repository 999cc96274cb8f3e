"""``adam:fresh=1``: a fresh uniform batch every Adam step (the stochastic mini-batches of Wang, Teng & Perdikaris
2021 and Wang, Yu & Perdikaris 2022), drawn inside the jitted chunk."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pinnsight as ps
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.errors import PinnsightError
from pinnsight import keys
from pinnsight.sampling import sample_batch
from pinnsight.trainer import PhaseCompiler, PhaseRun, initial_state


def _poisson(fresh: int, seed: int = 0, steps: int = 3000) -> TrainConfig:
    return TrainConfig(problem="poisson", params={"k": 2.0}, model="mlp", model_options={"width": 20, "depth": 2},
                       phases=(PhaseConfig("adam", steps, {"fresh": fresh, "lr": 3e-3}),),
                       points={"res": 4, "bc": 20}, seed=seed)


def test_chunk_draws_each_step_from_its_own_key_without_retracing():
    """Step s of the phase draws from fold_in(phase key, s): chunks of 5 are one trace, the batch a chunk ends on
    is its last step's draw, and a second run of the phase (the next segment) goes on counting, never repeating."""
    config = _poisson(1)
    problem = config.build_problem()
    static, state = initial_state(config, problem)
    draws = []

    def sampler(key):
        draws.append(1)  # counts traces, not calls
        return sample_batch(problem, key, config.points)

    from pinnsight.losses import make_objective

    compiler = PhaseCompiler(problem, static, make_objective(problem, static), sum_of_squares=True, sample=sampler,
                             seed=config.seed)
    run = PhaseRun(compiler, config.phases[0], state, warm=False)
    key = keys.derive(config.seed, "phase", "adam", "steps")
    ends = []
    for _ in range(3):
        run.chunk(5)
        ends.append(run.batch)
    assert len(draws) == 1  # traced once; the step counter lives in the state
    for s, batch in zip((5, 10, 15), ends):
        expected = sample_batch(problem, jax.random.fold_in(key, s - 1), config.points)
        np.testing.assert_array_equal(batch["res"], expected["res"])
        assert not np.array_equal(batch["res"], state.batch["res"])
    later = PhaseRun(compiler, config.phases[0], state, warm=False)  # the next segment's run of the phase
    later.chunk(1)
    np.testing.assert_array_equal(later.batch["res"],
                                  sample_batch(problem, jax.random.fold_in(key, 15), config.points)["res"])


def test_fresh_points_generalise_where_four_fixed_points_overfit():
    """−u'' = f, u = sin(2πx) with 4 residual points: fixed points are fitted exactly by a wrong function (measured
    rel L2 0.76 at seed 0, loss 8e-9; 0.22–2.0 at seeds 1–3); 4 fresh points per step reach 1.6e-2–7.3e-2 over seeds
    0–3 (seed 0: 1.6e-2 with the draws of the old integer-offset keys, 6.4e-2 with the name-derived keys of
    issue 17). Asserted: below 0.1 (the spread over seeds, not one seed's value) and 5× below the fixed points."""
    fixed = ps.train(_poisson(0), progress=False)
    fresh = ps.train(_poisson(1), progress=False)
    assert fixed.metrics["final_losses"]["res"] < 1e-5 and fixed.metrics["rel_l2"] > 0.3
    assert fresh.metrics["rel_l2"] < 0.1 and fresh.metrics["rel_l2"] < fixed.metrics["rel_l2"] / 5
    again = ps.train(_poisson(1), progress=False)  # reproducible: the draws come from the seed
    assert again.metrics["rel_l2"] == fresh.metrics["rel_l2"]
    other = ps.train(_poisson(1, seed=1, steps=200), progress=False)
    short = ps.train(_poisson(1, steps=200), progress=False)
    assert other.metrics["rel_l2"] != short.metrics["rel_l2"]


def test_fresh_batches_feed_the_weighting_remedies():
    """lra reads its gradient statistics from the state's batch, which is the last fresh draw."""
    config = TrainConfig(problem="helmholtz", params={"a2": 2.0}, model_options={"width": 20, "depth": 2},
                         phases=(PhaseConfig("adam", 40, {"fresh": 1}),), points={"res": 32, "bc": 32},
                         remedies=("lra:weighted=1,alpha=0.1,every=10",), log_every=10, eval_every=20)
    result = ps.train(config, progress=False)
    weights = [r["bc_weight"] for r in result.history]
    assert len(set(weights)) > 2 and all(np.isfinite(weights))


def test_fresh_conflicts_and_bad_values_are_clear_errors():
    with pytest.raises(PinnsightError, match="fresh=1 draws its own points.*rad"):
        TrainConfig(problem="poisson", phases=(PhaseConfig("adam", 10, {"fresh": 1}),), remedies=("rad",))
    with pytest.raises(PinnsightError, match="fresh=1 draws its own points.*seq2seq"):
        TrainConfig(problem="convection", phases=(PhaseConfig("adam", 10, {"fresh": 1}),), remedies=("time-marching",))
    with pytest.raises(PinnsightError, match="fresh=2"):
        PhaseConfig("adam", 10, {"fresh": 2})
    TrainConfig(problem="poisson", phases=(PhaseConfig("adam", 10, {"fresh": 1}),), remedies=("lra",))  # fine
