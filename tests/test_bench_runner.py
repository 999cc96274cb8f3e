"""The bench runner on real Dask worker processes: a 2-worker local cluster, and a sweep killed mid-way."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pinnsight.bench import ResultsDB, load_suite
from pinnsight.bench.runner import run_suite
from pinnsight.runs import RUN_FILES, is_unfinished

TINY = """
seeds = [0, 1]
[defaults]
model_options = { width = 8, depth = 2 }
phases = [{ name = "adam", steps = 20 }]
points = { res = 64, ic = 16, bc = 16 }
log_every = 10
eval_every = 10
[[case]]
problem = "convection"
params = { beta = 1.0 }
[[case]]
problem = "reaction"
params = { rho = 1.0 }
"""


def test_two_worker_local_cluster_runs_the_grid_and_a_rerun_skips_it(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY.replace("seeds = [0, 1]", "seeds = [0]"))  # one run per worker
    suite = load_suite(tmp_path / "tiny.toml")
    lines = []
    s = run_suite(suite, tmp_path / "r.sqlite", tmp_path / "runs", workers=2, command="test", echo=lines.append)
    assert (s.ok, s.failed, s.skipped) == (2, 0, 0), lines
    assert sum(line.startswith("[") for line in lines) == 2  # one progress line per finished run
    with ResultsDB(tmp_path / "r.sqlite") as db:
        rows = db.rows()
    assert set(rows) == {t.config_hash for t in suite.tasks()}
    for r in rows.values():
        assert r["status"] == "ok" and 0 < r["rel_l2"] < 2 and r["steps"] == 20 and r["stop_reason"] == "budget"
        assert all(Path(r["run_dir"], f).is_file() for f in RUN_FILES)
        assert r["machine"]["cores"] >= 1 and r["machine"]["cpu"] and r["version"]
        assert "--xla_cpu_multi_thread_eigen=false" in r["machine"]["xla_flags"]  # single-threaded workers
    assert len({r["run_dir"] for r in rows.values()}) == 2
    s = run_suite(suite, tmp_path / "r.sqlite", tmp_path / "runs", workers=2, echo=lines.append)
    assert (s.ok, s.skipped) == (0, 2) and lines[-1] == "suite tiny: nothing to run"


def _count(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_killing_the_runner_mid_sweep_loses_nothing_and_resumes(tmp_path):
    one_case = TINY.split("[[case]]")[0].replace("seeds = [0, 1]", "seeds = [0, 1, 2]") + \
        "[[case]]" + TINY.split("[[case]]")[2]
    (tmp_path / "kill.toml").write_text(one_case)
    db_path, runs = tmp_path / "r.sqlite", tmp_path / "runs"
    cmd = [sys.executable, "-m", "pinnsight.cli", "bench", "kill.toml", "--workers", "1", "--db", str(db_path),
           "--runs-dir", str(runs)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 100
        while _count(db_path) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stdout.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)  # the runner, its scheduler and its worker: the whole group
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    with ResultsDB(db_path) as db:
        assert db.integrity() == "ok"
        before = db.rows()
    assert 1 <= len(before) < 3  # killed mid-sweep
    for r in before.values():  # every recorded row is whole
        assert r["status"] == "ok" and r["rel_l2"] is not None and r["stop_reason"] and r["finished_at"]
    # run directories are complete, hidden temporaries, or the unfinished run the kill interrupted (a checkpoint)
    unfinished = [d for d in (runs / "kill").iterdir() if is_unfinished(d)]
    for d in (runs / "kill").iterdir():
        assert d.name.startswith(".") or d in unfinished or all((d / f).is_file() for f in RUN_FILES), d
    lines = []
    s = run_suite(load_suite(tmp_path / "kill.toml"), db_path, runs, processes=False, echo=lines.append)
    assert (s.ok, s.failed, s.skipped) == (3 - len(before), 0, len(before))
    assert sum("resumed" in line for line in lines) == len(unfinished)  # went on from their checkpoints
    assert all(all((d / f).is_file() for f in RUN_FILES) for d in unfinished)
    assert sorted(d.name for d in (runs / "kill").iterdir() if not d.name.startswith(".")) == \
        sorted({Path(r["run_dir"]).name for r in after_rows(db_path).values()})  # no second directory for a resumed run
    after = after_rows(db_path)
    assert len(after) == 3 and all(after[h] == row for h, row in before.items())  # finished rows untouched


def after_rows(db_path: Path) -> dict:
    with ResultsDB(db_path) as db:
        return db.rows()


@pytest.fixture(autouse=True)
def _no_dask_noise(monkeypatch):
    monkeypatch.setenv("DASK_DISTRIBUTED__LOGGING__DISTRIBUTED", "error")
