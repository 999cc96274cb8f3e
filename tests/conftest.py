"""Test-wide settings: strict rank promotion (catches (N,) vs (N,1) residual broadcasting), a private cache."""

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True, scope="session")
def _private_reference_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PINNSIGHT_CACHE", str(tmp_path_factory.mktemp("reference-cache")))
    yield
    mp.undo()


@pytest.fixture
def x64():
    """float64 for a test (files opt in with ``pytestmark = pytest.mark.usefixtures("x64")``); the flag is put
    back afterwards, so later test files see what they expect."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


@pytest.fixture
def convection_traces(monkeypatch):
    """See ``count_convection_traces``."""
    return count_convection_traces(monkeypatch)


def count_convection_traces(monkeypatch):
    """Every TrainConfig builds convection β = 2 whose residual counts its traces: returns the counter dict
    ``{"n": traces}`` (reset it before a run)."""
    import pinnsight as ps
    from pinnsight.config import TrainConfig
    from pinnsight.problems import failure_modes

    traces = {"n": 0}
    original = failure_modes.convection_residual

    def counting(u, x, t, c):
        traces["n"] += 1
        return original(u, x, t, c)

    problem = ps.make_problem("convection", beta=2.0)
    patched = ps.Problem(**{**problem.__dict__, "residual": counting})
    monkeypatch.setattr(TrainConfig, "build_problem", lambda self: patched)
    return traces
