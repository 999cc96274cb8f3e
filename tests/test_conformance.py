"""Conformance of every registered optimizer phase and every registered remedy (in the spirit of optax's tests):
it builds, compiles once (no retrace across chunks and updates, counted), keeps float32 and float64, holds its
state as a pytree of arrays, and composes in ``chain``. A new phase or remedy is covered by registering it."""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

import pinnsight as ps
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.errors import PinnsightError
from pinnsight.losses import make_objective
from pinnsight.optimizers import phase_specs
from pinnsight.precision import precision
from pinnsight.problems import grid_points
from pinnsight.sampling import sample_batch
from pinnsight.remedies import RemedySetup, Segment, StepInfo, build_remedies, chain, remedy_specs
from pinnsight.trainer import PhaseCompiler, PhaseRun, initial_state

PHASES = sorted(phase_specs())
#: a small valid option set per remedy where the defaults act too rarely for a 60-step run
QUICK = {"adaptive-sampling": "every=20", "rar": "every=20,add=8,max_add=8",  # one growth of the batch (a new shape), then fixed
         "rad": "every=20", "lra": "every=20",
         "ntk": "every=20,points=8", "inverse-dirichlet": "every=20", "grad-stats": "every=20",
         "curriculum": "stages=2", "seq2seq": "windows=2", "causal": "slices=4"}
REMEDIES = sorted(n for n in remedy_specs() if n != "auto")


def _config(x64=False, **kw):
    return TrainConfig(problem="convection", params={"beta": 2.0}, model_options={"width": 8, "depth": 2},
                       points={"res": 64, "ic": 16, "bc": 16}, x64=x64, log_every=20, eval_every=20, **kw)


def _float_dtypes(tree):
    return {x.dtype for x in jax.tree.leaves(tree) if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)}


def _phase_run(name, x64):
    cfg = _config(x64)
    problem = cfg.build_problem()
    static, state = initial_state(cfg, problem)
    sample = jax.jit(lambda key: sample_batch(problem, key, cfg.points, jnp.float64 if x64 else jnp.float32))
    compiler = PhaseCompiler(problem, static, make_objective(problem, static), sum_of_squares=True, sample=sample,
                             seed=0)
    return compiler, state


@pytest.mark.parametrize("name", PHASES)
def test_phase_conformance(name):
    """float32: chunks of 2, 3, 1, a resume with new coefficients and a restart are one trace; the iterate and the
    state stay float32 and are a pytree of arrays."""
    compiler, state = _phase_run(name, False)
    phase = PhaseConfig(name, 10)
    run = PhaseRun(compiler, phase, state, warm=False)
    for n in (2, 3, 1):
        _, reason, *_ = run.chunk(n)
        assert reason in ("", "gtol", "no-progress", "damping-limit", "linesearch"), reason
    run.resume(state._replace(coeffs={"beta": jnp.asarray(3.0, jnp.float32)}), restart=False)
    run.chunk(2)
    run.resume(state, restart=True)
    run.chunk(2)
    assert compiler.get(phase, state.params).chunk._cache_size() == 1  # one trace for every chunk and resume
    assert _float_dtypes(run.params) == {jnp.dtype(jnp.float32)} and _float_dtypes(run.state) <= {jnp.dtype(jnp.float32)}
    assert all(isinstance(x, jax.Array) for x in jax.tree.leaves(run.state))  # a pytree of arrays
    assert np.isfinite(run.value)


@pytest.mark.parametrize("name", PHASES)
def test_phase_keeps_float64(name):
    """float64: one step's iterate and state are float64 throughout (traced abstractly, nothing compiled)."""
    with precision(True):
        compiler, state = _phase_run(name, True)
        c = compiler.get(PhaseConfig(name, 10), state.params)
        x = jax.flatten_util.ravel_pytree(state.params)[0] if c.method.flat else state.params
        data = (state.batch, state.weights, state.coeffs)
        st = jax.eval_shape(c.method.init, x, data)
        x2, st2, _ = jax.eval_shape(c.method.step, x, st, data)
        assert _float_dtypes(x2) == {jnp.dtype(jnp.float64)} and _float_dtypes(st2) <= {jnp.dtype(jnp.float64)}


def _setup(cfg):
    problem = cfg.build_problem()
    static, state = initial_state(cfg, problem)
    setup = RemedySetup(cfg, problem, static, jnp.float32, jax.random.PRNGKey(0),
                        grid_points(problem.reference_axes()), lambda key: state.params)
    return setup, state


@pytest.mark.parametrize("name", REMEDIES)
def test_remedy_conformance_protocol(name):
    """init/update return Changes and a state of arrays and numbers; composes in chain with another remedy."""
    spec = f"{name}:{QUICK[name]}" if name in QUICK else name
    cfg = _config(remedies=(spec,))
    setup, state = _setup(cfg)
    (remedy,) = build_remedies(cfg.remedies, setup)
    other = "grad-stats:every=20" if name != "grad-stats" else "causal"
    both = chain(*build_remedies((spec, other), setup))
    segment = Segment(bounds=tuple(setup.problem.bounds))
    for r in (remedy, both):
        changes, rstate = r.init(segment)
        info = StepInfo(20, "adam", 20, 20, state.params, state, {"res": 1.0, "ic": 1.0, "bc": 1.0}, 3.0, segment,
                        True)
        changes, rstate = r.update(rstate, info)
        leaves = jax.tree.leaves(rstate)
        assert all(isinstance(x, (jax.Array, np.ndarray, int, float, np.number)) for x in leaves), (name, leaves)
        for part in (changes.batch, changes.weights, changes.coeffs):
            arrays = [v for v in (part or {}).values() if hasattr(v, "dtype")]  # host numbers are cast by the trainer
            assert all(v.dtype != jnp.float64 for v in arrays), (name, part)


def test_auto_is_for_the_planner_only():
    setup, _ = _setup(_config())
    with pytest.raises(PinnsightError, match="resolved"):
        build_remedies(("auto",), setup)


@pytest.mark.parametrize("name", REMEDIES)
def test_remedy_conformance_run_traces_once(name, convection_traces):
    """A short run with the remedy: the PDE residual is traced as often with 2 updates as with 6 (no retracing
    per update), and float32 stays float32."""
    spec = f"{name}:{QUICK[name]}" if name in QUICK else name
    traces = convection_traces
    counts = []
    for steps in (40, 120):
        traces["n"] = 0
        result = ps.train(_config(phases=(PhaseConfig("adam", steps),), remedies=(spec,)), progress=False)
        counts.append(traces["n"])
        assert _float_dtypes(result.model) == {jnp.dtype(jnp.float32)}
    assert counts[0] == counts[1] > 0, counts
