"""Benchmark suites, the results database and the report (no Dask processes here: see test_bench_runner.py)."""

import math
import sqlite3
import statistics
from pathlib import Path

import pytest

from pinnsight import PinnsightError
from pinnsight.bench import ResultsDB, load_suite, parse_suite
from pinnsight.bench.db import COLUMNS
from pinnsight.bench.report import replace_section, write_report
from pinnsight.bench.runner import make_row, pending_tasks, run_suite
from pinnsight.bench.suites import _without_off, canonical_json, config_hash
from pinnsight.bench.worker import single_thread_env, time_to_thresholds

TINY = """
description = "tiny test suite"
seeds = [0, 1]
[sources]
paper = "A. Author. A paper. 2021."
[defaults]
model_options = { width = 8, depth = 2 }
phases = [{ name = "adam", steps = 20 }]
points = { res = 64, ic = 16, bc = 16 }
log_every = 10
eval_every = 10
[[case]]
problem = "convection"
params = { beta = 1.0 }
published = { rel_l2 = 0.5, source = "paper", where = "Table 9" }
[[case]]
problem = "reaction"
params = { rho = 1.0 }
"""


def tiny_suite(tmp_path, text=TINY, name="tiny"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return load_suite(path)


# ------------------------------------------------------------------------------------------------ suites
def test_builtin_suites_load_and_carry_the_paper_numbers():
    fm = load_suite("failure-modes")
    assert len(fm.cases) == 10 and len(fm.tasks()) == 30
    conv = {c.params["beta"]: c.published.rel_l2 for c in fm.cases if c.problem == "convection"}
    assert conv == {1.0: 7.8e-3, 10.0: 1.1e-2, 20.0: 0.75, 30.0: 0.90, 40.0: 0.96}
    assert all(c.published is None for c in fm.cases if c.problem != "convection")
    rd = {(c.params["nu"], c.params["rho"]) for c in fm.cases if c.problem == "reaction-diffusion"}
    assert rd == {(2, 5), (5, 5)}
    assert all(c.published.source in fm.sources for c in fm.cases if c.published)
    smoke = load_suite("smoke")
    assert sum(t.config.total_steps for t in smoke.tasks()) <= 4 * 600


def test_tasks_have_distinct_resolved_configs(tmp_path):
    suite = tiny_suite(tmp_path)
    tasks = suite.tasks()
    assert [(t.case.name, t.seed) for t in tasks] == [
        ("convection beta=1", 0), ("convection beta=1", 1), ("reaction rho=1", 0), ("reaction rho=1", 1)]
    assert len({t.config_hash for t in tasks}) == 4
    assert tasks[0].config.phases[0].steps == 20 and tasks[0].config.points["res"] == 64


@pytest.mark.parametrize("edit, message", [
    (('problem = "reaction"', 'problem = "nonsense"'), "unknown problem 'nonsense'"),
    (("rho = 1.0", "rho = 1.0, gamma = 2.0"), "unknown parameter 'gamma'"),
    (("rho = 1.0", "rho = -1.0"), "case 'reaction rho=-1', seed 0"),
    (('params = { rho = 1.0 }', 'params = { rho = 1.0 }\nremedies = ["no-such-remedy"]'), "no-such-remedy"),
    (('params = { rho = 1.0 }', 'params = { rho = 1.0 }\nstep = 3'), "case 2: unknown key 'step'"),
    (("seeds = [0, 1]", "seeds = [0, -1]"), "seeds=[0, -1] must be"),
    (("seeds = [0, 1]", "seeds = [1, 1]"), "duplicates"),
    (('source = "paper"', 'source = "other"'), "published source 'other' is not a key of [sources]"),
    (("rel_l2 = 0.5", "rel_l2 = -0.5"), "published rel_l2=-0.5"),
    (('{ name = "adam", steps = 20 }', '{ name = "adam", steps = 20, options = { lr = "x" } }'),
     "lr='x' is not a number"),
    (('{ name = "adam", steps = 20 }', '{ name = "sgd", steps = 20 }'), "unknown optimizer 'sgd'"),
    (("[[case]]", "[[case]"), "is not valid TOML"),
    (('problem = "reaction"\nparams = { rho = 1.0 }', 'problem = "convection"\nparams = { beta = 1.0 }'),
     "duplicate case name"),
])
def test_bad_suites_fail_at_load_time_with_a_clear_error(tmp_path, edit, message):
    old, new = edit
    text = TINY.replace(old, new, 1) if old != "[[case]]" else TINY.replace(old, new, 1)
    assert text != TINY
    with pytest.raises(PinnsightError) as err:
        tiny_suite(tmp_path, text)
    assert message in str(err.value)
    assert "tiny" in str(err.value)


def test_unknown_suite_and_empty_suite():
    with pytest.raises(PinnsightError, match="unknown suite .nope.*failure-modes, peers, records, smoke"):
        load_suite("nope")
    with pytest.raises(PinnsightError, match="no \\[\\[case\\]\\] entries"):
        parse_suite("empty", {"seeds": [0]})


def test_config_hash_is_canonical_and_stable_under_new_off_fields(tmp_path):
    suite = tiny_suite(tmp_path)
    t = suite.tasks()[0]
    assert config_hash(t.case.config(0)) == t.config_hash
    assert config_hash(t.case.config(5)) != t.config_hash
    d = t.config.to_dict()
    # key order does not matter; a new field at an "off" value (None, False, 0, empty) does not change the hash
    assert canonical_json(_without_off(dict(reversed(list(d.items()))))) == canonical_json(_without_off(d))
    assert _without_off({**d, "new_feature": [], "flag": False}) == _without_off(d)
    assert _without_off({**d, "new_feature": ["x"]}) != _without_off(d)


def test_time_to_thresholds_is_the_first_evaluation_at_or_below():
    history = [
        {"step": 0, "wall_s": 1.0, "rel_l2": 1.0},
        {"step": 10, "wall_s": 2.0, "rel_l2": None},
        {"step": 20, "wall_s": 3.0, "rel_l2": 0.01},
        {"step": 30, "wall_s": 4.0, "rel_l2": 0.02},
        {"step": 40, "wall_s": 5.0, "rel_l2": 5e-4},
    ]
    assert time_to_thresholds(history) == {1e-2: 3.0, 1e-3: 5.0}
    assert time_to_thresholds(history[:2]) == {1e-2: None, 1e-3: None}


def test_single_thread_flags_keep_existing_flags():
    assert single_thread_env(None) == "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    env = single_thread_env("--xla_cpu_multi_thread_eigen=true --xla_foo=1")
    assert env.startswith("--xla_cpu_multi_thread_eigen=true --xla_foo=1") and env.count("multi_thread_eigen") == 1


# ---------------------------------------------------------------------------------------------- database
def fake_result(rel_l2, wall=10.0, t2=None, t3=None, status="ok", error=None):
    return {"status": status, "error": error, "rel_l2": rel_l2, "wall_s": wall, "steps": 20,
            "stop_reason": "budget" if status == "ok" else None, "t_1e2_s": t2, "t_1e3_s": t3,
            "run_dir": None, "version": "0.1.0", "machine": {"host": "h", "cores": 2, "cpu": "CPU X", "gpu": None}}


def test_db_resume_skips_recorded_runs_and_retries_failed_ones_on_request(tmp_path):
    suite = tiny_suite(tmp_path)
    tasks = suite.tasks()
    with ResultsDB(tmp_path / "r.sqlite") as db:
        assert pending_tasks(suite, db) == (tasks, 0)
        db.record(make_row(suite, tasks[0], fake_result(0.1), "cmd"))
        db.record(make_row(suite, tasks[1], fake_result(None, status="failed", error="RuntimeError: boom"), "cmd"))
        todo, skipped = pending_tasks(suite, db)
        assert [t.config_hash for t in todo] == [t.config_hash for t in tasks[2:]] and skipped == 2
        todo, skipped = pending_tasks(suite, db, retry_failed=True)
        assert [t.config_hash for t in todo] == [t.config_hash for t in tasks[1:]] and skipped == 1
        rows = db.rows()
    row = rows[tasks[1].config_hash]
    assert row["status"] == "failed" and row["error"] == "RuntimeError: boom" and row["rel_l2"] is None
    assert rows[tasks[0].config_hash]["coefficients"] == {"beta": 1.0, "u0": "sin"}
    assert set(rows[tasks[0].config_hash]) == set(COLUMNS)


def test_db_refuses_incomplete_rows_and_stores_nan_as_null(tmp_path):
    suite = tiny_suite(tmp_path)
    t = suite.tasks()[0]
    with ResultsDB(tmp_path / "r.sqlite") as db:
        bad = make_row(suite, t, fake_result(0.1), "cmd")
        bad["stop_reason"] = None  # an "ok" run must say why it stopped
        with pytest.raises(sqlite3.IntegrityError):
            db.record(bad)
        with pytest.raises(sqlite3.IntegrityError):
            db.record({**make_row(suite, t, fake_result(None, status="failed"), "cmd"), "error": None})
        assert db.rows() == {}  # nothing half-written
        db.record(make_row(suite, t, fake_result(math.nan), "cmd"))
        assert db.rows()[t.config_hash]["rel_l2"] is None and db.integrity() == "ok"


def test_db_rejects_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "x.sqlite"
    path.write_text("not a database at all " * 100)
    with pytest.raises(PinnsightError, match="not a usable results database"):
        ResultsDB(path)


def test_a_crashing_run_is_recorded_as_failed_and_the_sweep_goes_on(tmp_path, monkeypatch):
    import importlib

    train_module = importlib.import_module("pinnsight.planner")  # the bench worker trains through the planner
    real_train = train_module.train

    def flaky(config, **kw):
        if config.problem == "reaction" and config.seed == 1:
            raise RuntimeError("simulated crash")
        return real_train(config, **kw)

    one_case = TINY.split("[[case]]")[0] + "[[case]]" + TINY.split("[[case]]")[2]  # reaction, seeds 0 and 1
    suite = tiny_suite(tmp_path, one_case)
    monkeypatch.setattr(train_module, "train", flaky)  # the in-process (threaded) workers see the patch
    lines = []
    s = run_suite(suite, tmp_path / "r.sqlite", tmp_path / "runs", workers=2, processes=False, command="cmd",
                  echo=lines.append)
    assert (s.ok, s.failed, s.skipped) == (1, 1, 0)
    assert any("reaction rho=1 seed=1: FAILED: RuntimeError: simulated crash" in line for line in lines)
    with ResultsDB(tmp_path / "r.sqlite") as db:
        rows = db.rows()
    assert sorted(r["status"] for r in rows.values()) == ["failed", "ok"]
    failed = next(r for r in rows.values() if r["status"] == "failed")
    assert failed["error"].startswith("RuntimeError: simulated crash\n") and "Traceback" in failed["error"]
    for r in rows.values():
        if r["status"] == "ok":
            assert Path(r["run_dir"], "history.csv").is_file() and 0 < r["rel_l2"] < 2 and r["wall_s"] > 0
    # re-running skips everything recorded; --retry-failed runs the failed one again
    monkeypatch.setattr(train_module, "train", real_train)
    assert run_suite(suite, tmp_path / "r.sqlite", tmp_path / "runs", processes=False, echo=lines.append).skipped == 2
    from distributed import LocalCluster

    # the retry goes to an existing cluster by address (the --scheduler path; threads, so the test is quick)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=":0") as cluster:
        s = run_suite(suite, tmp_path / "r.sqlite", tmp_path / "runs", scheduler=cluster.scheduler_address,
                      retry_failed=True, echo=lines.append)
    assert (s.ok, s.failed, s.skipped) == (1, 0, 1)
    assert f"on {cluster.scheduler_address}" in lines[-2]
    with ResultsDB(tmp_path / "r.sqlite") as db:
        assert {r["status"] for r in db.rows().values()} == {"ok"}


# ------------------------------------------------------------------------------------------------ report
def test_report_tabulates_seeds_against_the_paper_and_keeps_other_sections(tmp_path):
    suite = tiny_suite(tmp_path)
    t = suite.tasks()
    db_path = tmp_path / "r.sqlite"
    with ResultsDB(db_path) as db:
        db.record(make_row(suite, t[0], fake_result(0.2, wall=10.0, t2=4.0), "pinnsight bench tiny.toml"))
        db.record(make_row(suite, t[1], fake_result(0.4, wall=12.0, t2=6.0, t3=9.0), "pinnsight bench tiny.toml"))
        db.record(make_row(suite, t[2], fake_result(None, status="failed", error="ValueError: bad"), "cmd"))
    out = tmp_path / "docs" / "benchmarks.md"
    out.parent.mkdir()
    out.write_text("# Benchmarks\n\n## Speed\n\nhand-written text that must survive\n")
    write_report(suite, db_path, out, command="pinnsight report tiny")
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\n## Speed\n\nhand-written text that must survive\n")
    assert text.count("<!-- suite:tiny start -->") == 1 and text.rstrip().endswith("<!-- suite:tiny end -->")
    conv = next(line for line in text.splitlines() if line.startswith("| convection"))
    cells = [c.strip() for c in conv.strip("|").split("|")]
    assert cells[2] == "vanilla" and cells[3] == "2/2"
    assert cells[4] == f"{0.3:.2e} ± {statistics.stdev([0.2, 0.4]):.1e}"
    assert cells[5] == "2.00e-01 – 4.00e-01" and cells[6] == "5.00e-01 [paper]" and cells[7] == f"{0.3 / 0.5:.2f}"
    assert cells[8] == "5.0 s (2/2)" and cells[9] == "9.0 s (1/2)" and cells[10] == "11.0"
    react = next(line for line in text.splitlines() if line.startswith("| reaction"))
    assert "0/2 (1 failed)" in react
    assert "ValueError: bad" in text and "pinnsight report tiny" in text and "`pinnsight bench tiny.toml`" in text
    assert "h: 2 cores, CPU X, no GPU" in text and "[paper]: A. Author. A paper. 2021." in text
    assert (out.parent / "figures" / "bench-tiny-rel_l2.png").stat().st_size > 1000
    # a second report replaces only its own section
    out.write_text(out.read_text() + "\n## Later section\n\nmore text\n")
    write_report(suite, db_path, out, command="pinnsight report tiny")
    again = out.read_text()
    assert again.count("<!-- suite:tiny start -->") == 1 and again.endswith("## Later section\n\nmore text\n")


def test_replace_section_appends_replaces_and_refuses_malformed_markers():
    fresh = replace_section("", "a", "A1")
    assert fresh.startswith("# Benchmarks") and "<!-- suite:a start -->\nA1\n<!-- suite:a end -->" in fresh
    two = replace_section(fresh, "b", "B1")
    assert replace_section(two, "a", "A2") == two.replace("A1", "A2")
    with pytest.raises(PinnsightError, match="malformed markers"):
        replace_section("<!-- suite:a end -->\n<!-- suite:a start -->\n", "a", "x")


def test_report_without_results_is_a_clear_error(tmp_path):
    suite = tiny_suite(tmp_path)
    with pytest.raises(PinnsightError, match="no results database"):
        write_report(suite, tmp_path / "missing.sqlite", tmp_path / "b.md")
    ResultsDB(tmp_path / "empty.sqlite").close()
    with pytest.raises(PinnsightError, match="has no runs of suite tiny"):
        write_report(suite, tmp_path / "empty.sqlite", tmp_path / "b.md")


# ------------------------------------------------------------------------------------------ peer engine
@pytest.mark.parametrize("extra, message", [
    ('engine = "tensorflow"', "unknown engine 'tensorflow'"),
    ('engine = "deepxde"\nremedies = ["causal"]', "engine deepxde runs vanilla PINNs only"),
    ('engine = "deepxde"\nmodel = "modified-mlp"', "engine deepxde supports model mlp only"),
])
def test_bad_engine_cases_fail_at_load_time(tmp_path, extra, message):
    text = TINY.replace("params = { rho = 1.0 }", "params = { rho = 1.0 }\n" + extra)
    with pytest.raises(PinnsightError, match=message):
        tiny_suite(tmp_path, text)


def test_engine_is_part_of_the_config_hash_but_pinnsight_hashes_are_unchanged(tmp_path):
    pytest.importorskip("deepxde")
    plain = tiny_suite(tmp_path).tasks()
    peer = tiny_suite(tmp_path, TINY.replace("params = { rho = 1.0 }", 'params = { rho = 1.0 }\nengine = "deepxde"'),
                      name="peer").tasks()
    assert plain[0].config_hash == peer[0].config_hash == config_hash(plain[0].config)  # convection: pinnsight
    assert plain[2].config_hash != peer[2].config_hash and peer[2].case.remedy_label == "vanilla (deepxde)"
    assert load_suite("peers").cases[1].engine == "deepxde"


def test_deepxde_peer_runs_the_same_case_and_is_scored_on_the_same_grid(tmp_path):
    pytest.importorskip("deepxde")
    text = TINY.replace("seeds = [0, 1]", "seeds = [0]").replace(
        'phases = [{ name = "adam", steps = 20 }]',
        'phases = [{ name = "adam", steps = 20 }, { name = "lbfgs", steps = 5 }]')
    text = text.split("[[case]]")[0] + "[[case]]" + text.split("[[case]]")[2] + 'engine = "deepxde"\n'
    suite = tiny_suite(tmp_path, text, name="peer")
    s = run_suite(suite, tmp_path / "r.sqlite", tmp_path / "runs", processes=False, echo=lambda _: None)
    assert (s.ok, s.failed) == (1, 0)
    with ResultsDB(tmp_path / "r.sqlite") as db:
        (row,) = db.rows().values()
    assert row["config"]["engine"] == "deepxde" and row["steps"] == 25 and row["stop_reason"] in ("budget", "converged")
    import numpy as np

    saved = np.load(Path(row["run_dir"]) / "prediction.npz")
    ref = saved["reference"]
    assert ref.shape == (256, 100)
    assert row["rel_l2"] == pytest.approx(np.linalg.norm(saved["prediction"] - ref) / np.linalg.norm(ref), rel=1e-9)


def test_a_run_directory_finished_before_a_kill_is_recovered_not_retrained(tmp_path):
    import json

    from pinnsight.bench.runner import task_spec
    from pinnsight.bench.worker import run_task

    suite = tiny_suite(tmp_path)
    task = suite.tasks()[0]
    spec = task_spec(suite, task, tmp_path / "runs")
    run_dir = Path(spec["run_dir"])
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"bench": {"config_hash": task.config_hash}}))
    (run_dir / "metrics.json").write_text(json.dumps({"rel_l2": 0.123, "wall_s": 7.0, "steps": 20,
                                                      "stop_reason": "budget"}))
    (run_dir / "history.csv").write_text("step,wall_s,rel_l2\n0,1.0,0.5\n10,4.5,0.009\n20,7.0,0.123\n")
    stale = run_dir.parent / f".{run_dir.name}.abc.tmp"  # a killed worker's half-written temporary
    stale.mkdir()
    result = run_task(spec)
    assert result["status"] == "ok" and result["recovered"] and result["run_dir"] == str(run_dir)
    assert (result["rel_l2"], result["wall_s"], result["t_1e2_s"], result["t_1e3_s"]) == (0.123, 7.0, 4.5, None)
    assert stale.exists()  # only a fresh training clears temporaries
    # another config's directory at that path is not taken for this run: a fresh one is trained next to it
    (run_dir / "config.json").write_text(json.dumps({"bench": {"config_hash": "other"}}))
    result = run_task(spec)
    assert result["status"] == "ok" and not result["recovered"] and result["run_dir"] == f"{run_dir}-1"
    assert not stale.exists()


def test_cli_bench_and_report_errors_and_report_output(tmp_path, capsys, monkeypatch):
    from pinnsight.cli import main

    assert main(["bench", "nope"]) == 2
    assert "pinnsight: error: unknown suite 'nope'" in capsys.readouterr().err
    assert main(["bench", "smoke", "--workers", "0", "--db", str(tmp_path / "r.sqlite")]) == 2
    assert "--workers=0 must be at least 1" in capsys.readouterr().err
    suite = tiny_suite(tmp_path)
    with ResultsDB(tmp_path / "r.sqlite") as db:
        db.record(make_row(suite, suite.tasks()[0], fake_result(0.2), "pinnsight bench tiny.toml"))
    monkeypatch.chdir(tmp_path)
    assert main(["report", "tiny.toml", "--db", "r.sqlite", "--out", "out/b.md"]) == 0
    assert "| convection | beta=1 | vanilla | 1/2 |" in (tmp_path / "out" / "b.md").read_text()


def test_records_suite_carries_the_published_records_and_selects_cases_and_seeds(capsys, tmp_path):
    from pinnsight.cli import main

    rec = load_suite("records")
    published = {c.name: c.published.rel_l2 for c in rec.cases if c.published}
    assert published["burgers"] == 8.25e-9 and published["helmholtz"] == 5.83e-6 and published["kdv"] == 4.27e-4
    assert all(t.config.x64 for t in rec.tasks()) and all(c.published.source in rec.sources
                                                          for c in rec.cases if c.published)
    one = rec.select(("burgers-symmetric",), (1,))
    assert [(c.name, c.seeds) for c in one.cases] == [("burgers-symmetric", (1,))] and len(one.tasks()) == 1
    assert one.tasks()[0].config.symmetric and not rec.select(("burgers",), (1,)).tasks()[0].config.symmetric
    assert [c.name for c in rec.select(("burgers",)).cases] == ["burgers", "burgers-symmetric"]
    both = rec.select(("convection",))  # a problem name selects all its cases
    assert [c.name for c in both.cases] == ["convection-40", "convection-50"]
    with pytest.raises(PinnsightError, match="no case 'nope'"):
        rec.select(("nope",))
    with pytest.raises(PinnsightError, match="no selected case has seed"):
        rec.select(("burgers",), (7,))
    assert main(["bench", "records", "--case", "nope", "--db", str(tmp_path / "r.sqlite")]) == 2
    assert "pinnsight: error: suite records: no case 'nope'" in capsys.readouterr().err
