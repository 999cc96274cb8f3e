"""Run directories: round trip of the trained model, and atomic writes that leave nothing behind on failure."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pinnsight as ps
from pinnsight import runs
from pinnsight.config import PhaseConfig


@pytest.fixture(scope="module")
def result():
    config = ps.TrainConfig(problem="reaction", params={"rho": 1.0}, phases=(PhaseConfig("adam", 50),),
                            log_every=25, eval_every=25)
    return ps.train(config, progress=False)


def test_written_run_loads_back_to_the_same_model(result, tmp_path):
    out = runs.write_run(tmp_path / "r", result)
    config, model, metrics = runs.load_run(out)
    assert config == result.config and metrics["rel_l2"] == result.metrics["rel_l2"]
    z = jnp.asarray(result.reference.points()[:100], jnp.float32)
    np.testing.assert_array_equal(jax.vmap(model)(z), jax.vmap(result.model)(z))
    history = runs.read_history(out / "history.csv")
    assert [r["step"] for r in history] == [r["step"] for r in result.history]
    assert history[-1]["rel_l2"] == pytest.approx(result.history[-1]["rel_l2"])


def test_failed_write_leaves_no_directory(result, tmp_path, monkeypatch):
    import pinnsight.plots as plots

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "plot_losses", broken)
    with pytest.raises(RuntimeError):
        runs.write_run(tmp_path / "r", result)
    assert list(tmp_path.iterdir()) == []


def test_refuses_files_and_non_empty_directories(result, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ps.PinnsightError, match="is a file"):
        runs.write_run(tmp_path / "file", result)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    with pytest.raises(ps.PinnsightError, match="is not empty"):
        runs.write_run(tmp_path / "other", result)
    assert (tmp_path / "other" / "notes.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    runs.write_run(tmp_path / "empty", result)  # an empty directory is fine
    assert (tmp_path / "empty" / "metrics.json").is_file()


def test_corrupt_parameters_are_a_clear_error(result, tmp_path):
    out = runs.write_run(tmp_path / "r", result)
    (out / "params.eqx").write_bytes(b"garbage")
    with pytest.raises(ps.PinnsightError, match="params.eqx is unreadable"):
        runs.load_run(out)
