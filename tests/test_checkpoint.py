"""Issue 22, class 8: a long run survives a kill. The training state is checkpointed at chunk boundaries and a
resumed run reaches the same final parameters, bit for bit, as an uninterrupted one with the same seed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import equinox as eqx
import jax
import numpy as np
import pytest

from pinnsight import trainer, training
from pinnsight.config import PhaseConfig, TrainConfig
from pinnsight.errors import PinnsightError, TrainingInterrupted
from pinnsight.runs import CHECKPOINT, is_unfinished
from pinnsight.trainer.checkpoint import Checkpointer

from _cli import one_error_line, run_cli


def small(*remedies, adam=200, lbfgs=30):
    return TrainConfig(problem="convection", params={"beta": 5.0}, model="mlp",
                       model_options={"width": 16, "depth": 2},
                       phases=(PhaseConfig("adam", adam), PhaseConfig("lbfgs", lbfgs)),
                       points={"res": 128, "ic": 32, "bc": 32}, log_every=25, eval_every=50, remedies=remedies)


def leaves(model):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))]


def interrupt_at(monkeypatch, boundary: int) -> list[int]:
    """Make the checkpointer behave as if SIGTERM arrived just before chunk boundary number ``boundary``."""
    original, seen = Checkpointer.boundary, []

    def boundary_hook(self, run, position):
        seen.append(run.step)
        if len(seen) == boundary:
            self.signal = signal.SIGTERM
        return original(self, run, position)

    monkeypatch.setattr(Checkpointer, "boundary", boundary_hook)
    return seen


@pytest.mark.parametrize("remedies, boundary", [
    ((), 9),  # in the L-BFGS phase: Adam's report, L-BFGS state and the guard restored
    (("curriculum:stages=2,keep_optimizer=1",), 12),  # second stage: the driver replayed, Adam state carried
    (("seq2seq:windows=2", "rar"), 4),  # a window batch, points added by RAR, remedy state
    (("lra",), 5),  # adapted weights
], ids=["plain", "curriculum", "seq2seq+rar", "lra"])
def test_a_resumed_run_ends_with_the_parameters_of_an_uninterrupted_one(tmp_path, monkeypatch, remedies, boundary):
    config = small(*remedies)
    whole = trainer.train(config, progress=False)
    path = tmp_path / "state.pkl"
    seen = interrupt_at(monkeypatch, boundary)
    with pytest.raises(TrainingInterrupted) as stopped:
        trainer.train(config, progress=False, checkpoint=path, checkpoint_every=0)
    assert stopped.value.path == path and f"at step {seen[-1]}" in str(stopped.value)
    assert 0 < seen[-1] < whole.metrics["steps"]
    monkeypatch.undo()
    resumed = trainer.train(config, progress=False, checkpoint=path, resume=True)
    for a, b in zip(leaves(whole.model), leaves(resumed.model), strict=True):
        np.testing.assert_array_equal(a, b)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731
    assert strip(resumed.history) == strip(whole.history)
    assert [(p.name, p.steps, p.stop_reason) for p in resumed.phases] == \
        [(p.name, p.steps, p.stop_reason) for p in whole.phases]
    assert resumed.metrics["rel_l2"] == whole.metrics["rel_l2"]


def test_checkpoints_are_written_at_the_start_and_every_interval_without_changing_the_run(tmp_path, monkeypatch):
    config = small(adam=150, lbfgs=0)
    written = []
    original = Checkpointer.save
    monkeypatch.setattr(Checkpointer, "save", lambda self, run, pos: (written.append(run.step),
                                                                      original(self, run, pos)))
    clock = iter(range(0, 10_000, 7))  # every boundary is 7 "seconds" after the last
    monkeypatch.setattr(Checkpointer, "clock", staticmethod(lambda: next(clock)))
    checked = trainer.train(config, progress=False, checkpoint=tmp_path / "c.pkl", checkpoint_every=10)
    assert written == [0, 50, 100, 150]  # step 0, then the first boundary ≥ 10 s after the last save
    plain = trainer.train(config, progress=False)
    for a, b in zip(leaves(plain.model), leaves(checked.model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_checkpoint_of_another_configuration_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "c.pkl"
    interrupt_at(monkeypatch, 1)
    with pytest.raises(TrainingInterrupted):
        trainer.train(small(), progress=False, checkpoint=path)
    monkeypatch.undo()
    with pytest.raises(PinnsightError, match="another configuration"):
        trainer.train(small(adam=300), progress=False, checkpoint=path, resume=True)


# ------------------------------------------------------------------------------------ run directories, CLI
def unfinished_run(tmp_path, monkeypatch, config, boundary=3, extra=None) -> Path:
    out = tmp_path / "run"
    interrupt_at(monkeypatch, boundary)
    with pytest.raises(TrainingInterrupted):
        training.train_into(config, out, progress=False, checkpoint_every=1e9, extra=extra)
    monkeypatch.undo()
    assert is_unfinished(out) and sorted(p.name for p in out.iterdir()) == [CHECKPOINT]
    return out


def test_an_unfinished_run_directory_is_named_as_such_and_resumed_by_the_cli(tmp_path, monkeypatch, capsys):
    config = small(adam=100, lbfgs=0)
    out = unfinished_run(tmp_path, monkeypatch, config)
    code, _, err = run_cli(capsys, "show", out)
    assert code == 2
    one_error_line(err, "unfinished run", f"--resume {out}")
    code, _, err = run_cli(capsys, "train", "convection", "--out", out)
    assert code == 2
    one_error_line(err, "holds an unfinished run", "--resume")
    assert sorted(p.name for p in out.iterdir()) == [CHECKPOINT]  # nothing overwritten
    code, _, err = run_cli(capsys, "train", "--resume", out, "--steps", "5", "-p", "beta=1")
    assert code == 2
    one_error_line(err, "--steps", "-p")
    code, text, _ = run_cli(capsys, "train", "--resume", out, "--no-progress")
    assert code == 0 and f"run directory: {out}" in text
    assert not is_unfinished(out) and not (out / CHECKPOINT).exists()
    assert json.loads((out / "metrics.json").read_text())["rel_l2"] == \
        trainer.train(config, progress=False).metrics["rel_l2"]
    code, _, err = run_cli(capsys, "train", "--resume", out)
    assert code == 2
    one_error_line(err, "finished; nothing to resume")


@pytest.mark.parametrize("setup, fragment", [
    (lambda d: None, "no such directory"),
    (lambda d: d.mkdir(), f"no {CHECKPOINT}"),
    (lambda d: (d.mkdir(), (d / CHECKPOINT).write_bytes(b"\x80\x04garbage")), "unreadable"),
    (lambda d: (d.mkdir(), (d / CHECKPOINT).write_text("")), "unreadable"),
])
def test_resume_of_something_that_is_no_unfinished_run_is_one_error_line(tmp_path, capsys, setup, fragment):
    target = tmp_path / "x"
    setup(target)
    code, _, err = run_cli(capsys, "train", "--resume", target)
    assert code == 2
    one_error_line(err, fragment)


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_bad_checkpoint_intervals_are_refused_before_training(tmp_path, capsys, value):
    code, _, err = run_cli(capsys, "train", "convection", "--checkpoint-every", value, "--out", tmp_path / "r")
    assert code == 2
    one_error_line(err, "--checkpoint-every")
    assert not (tmp_path / "r").exists()


def test_the_bench_worker_resumes_its_unfinished_run(tmp_path, monkeypatch):
    from pinnsight.bench.worker import run_task

    config = small(adam=100, lbfgs=0)
    spec = {"config": config.to_dict(), "run_dir": str(tmp_path / "run"), "config_hash": "h1", "suite": "s",
            "case": "c"}
    out = unfinished_run(tmp_path, monkeypatch, config, extra={"bench": {"suite": "s", "case": "c",
                                                                           "config_hash": "h1"}})
    result = run_task(spec)
    assert result["status"] == "ok" and result.get("resumed") and result["run_dir"] == str(out), result
    assert json.loads((out / "config.json").read_text())["bench"]["config_hash"] == "h1"
    assert result["rel_l2"] == trainer.train(config, progress=False).metrics["rel_l2"]


def test_sigterm_to_a_training_process_saves_a_checkpoint_that_resumes(tmp_path):
    """The real thing: a `pinnsight train` process gets SIGTERM mid-training, exits 143 with one line that says
    how to resume, and `--resume` finishes it to the uninterrupted result."""
    out = tmp_path / "run"
    args = ["convection", "-p", "beta=5", "--steps", "6000", "--lbfgs-steps", "0", "--log-every", "50",
            "--eval-every", "1000", "--model", "mlp:width=8,depth=2", "--points", "res=64", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "pinnsight.cli", "train", *args, "--out", str(out),
                             "--checkpoint-every", "0.2"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    first = None
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / CHECKPOINT).is_file():
            first = first or (out / CHECKPOINT).stat().st_mtime_ns
            if (out / CHECKPOINT).stat().st_mtime_ns != first:  # a periodic checkpoint after the first
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1].startswith("pinnsight: training interrupted by SIGTERM at step ")
    assert f"--resume {out}" in err and is_unfinished(out)
    done = subprocess.run([sys.executable, "-m", "pinnsight.cli", "train", "--resume", str(out), "--no-progress",
                           "--checkpoint-every", "0"], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert (out / "metrics.json").is_file() and not (out / CHECKPOINT).exists()
