"""Command line end to end, and every bad-input case: one error line, exit code 2, no traceback, no damage."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pinnsight.cli import main

TINY = ["--steps", "60", "--lbfgs-steps", "5", "--log-every", "20", "--eval-every", "20", "--no-progress"]


def run_cli(*args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_problems_lists_coefficients_and_defaults(capsys):
    code, out, _ = run_cli("problems", capsys=capsys)
    assert code == 0
    for name in ("convection:", "reaction:", "reaction-diffusion:", "diffusion:"):
        assert name in out
    assert "beta = 30" in out and "nu = 3" in out and "rho = 5" in out


def test_train_writes_a_complete_run_directory(tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = run_cli("train", "convection", "-p", "beta=2", "--seed", "3", "--out", str(out_dir), *TINY,
                             capsys=capsys)
    assert code == 0, err
    assert "rel_l2 = " in out
    for f in ("config.json", "history.csv", "metrics.json", "params.eqx", "solution.png", "losses.png"):
        assert (out_dir / f).is_file(), f
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert {"rel_l2", "wall_s", "steps", "stop_reason"} <= set(metrics)
    assert metrics["steps"] == 65
    config = json.loads((out_dir / "config.json").read_text())
    assert config["seed"] == 3 and config["config"]["params"]["beta"] == 2.0
    assert config["versions"]["jax"] and config["device"]["platform"] == "cpu"
    header = (out_dir / "history.csv").read_text().splitlines()[0].split(",")
    assert {"step", "wall_s", "res_loss", "ic_loss", "bc_loss", "res_weight", "rel_l2"} <= set(header)
    code, shown, _ = run_cli("show", str(out_dir), capsys=capsys)
    assert code == 0 and json.loads(shown)["rel_l2"] == metrics["rel_l2"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "convecton"], "unknown problem 'convecton'"),
        (["train", "convection", "-p", "gamma=1"], "unknown parameter 'gamma'"),
        (["train", "convection", "-p", "beta=fast"], "is not a number"),
        (["train", "diffusion", "-p", "nu=-1"], "out of range"),
        (["train", "convection", "-p", "beta"], "not of the form NAME=VALUE"),
        (["train", "convection", "--steps", "many"], "is not an integer"),
        (["train", "convection", "--optimizer", "sgd:steps=5"], "unknown optimizer 'sgd'"),
        (["train", "convection", "--model", "mlp:width=-3"], "must be positive"),
        (["train", "convection", "--weight", "wall=2"], "unknown loss term 'wall'"),
        (["train", "convection", "--frobnicate"], "No such option"),
        (["show", "/nonexistent/run"], "not a run directory"),
    ],
)
def test_bad_input_is_one_clear_line(args, message, capsys):
    code, _, err = run_cli(*args, capsys=capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pinnsight: error: ") and message in lines[0]


def test_existing_run_is_never_overwritten(tmp_path, capsys):
    out_dir = tmp_path / "run"
    assert run_cli("train", "convection", "-p", "beta=1", "--out", str(out_dir), *TINY, capsys=capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    code, _, err = run_cli("train", "convection", "-p", "beta=5", "--out", str(out_dir), *TINY, capsys=capsys)
    assert code == 2 and "holds another run" in err
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no stray temporary directory


def test_incomplete_run_directory_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{not json")
    code, _, err = run_cli("show", str(tmp_path), capsys=capsys)
    assert code == 2 and "not a complete run directory" in err


def test_console_script_prints_no_traceback(tmp_path):
    exe = Path(sys.executable).with_name("pinnsight")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pinnsight.cli"]
    proc = subprocess.run([*cmd, "train", "diffusion", "-p", "nu=-2"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "pinnsight: error: diffusion: nu=-2 is out of range (must be ≥ 0)"


def test_every_command_runs_blas_on_one_thread_unless_the_user_chose(monkeypatch):
    """OpenBLAS reads OPENBLAS_NUM_THREADS when it loads (numpy is loaded before any command runs): the limit must
    be applied to the loaded library, and a variable the user set is kept."""
    from threadpoolctl import threadpool_info

    from pinnsight.threads import single_thread_blas

    blas = lambda: [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]  # noqa: E731
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert single_thread_blas() is None  # the user's choice: nothing changed
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    limiter = single_thread_blas()
    try:
        assert blas() and set(blas()) == {1}
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"  # worker processes inherit it
    finally:
        limiter.restore_original_limits()
