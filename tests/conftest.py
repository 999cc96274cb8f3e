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
