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
