"""Issue 22, the input/output classes: destinations proven writable before any work (1), cached references
verified on every read (4), run files validated by every reader (5), output other tools can read (7): strict
JSON, no progress bar off a terminal, no temporary folder left by a kill."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from pinnsight import runs
from pinnsight.cli import main
from pinnsight.errors import PinnsightError

from _cli import one_error_line, run_cli

TINY = ["--steps", "40", "--lbfgs-steps", "0", "--log-every", "10", "--eval-every", "20",
        "--model", "mlp:width=8,depth=2", "--points", "res=128"]


def strict_loads(text: str):
    """A strict JSON reader: NaN, Infinity and -Infinity tokens are errors (as in JavaScript, jq, ...)."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run directory written by ``pinnsight train`` (progress left at its default), and what it printed
    on stderr (not a terminal here)."""
    out = tmp_path_factory.mktemp("hardening") / "run"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["train", "reaction", "-p", "rho=1", "--out", str(out), *TINY])
    assert code == 0, err.getvalue()
    return out, err.getvalue()


@pytest.fixture
def no_work(monkeypatch):
    """Every training or sweep entry point fails the test if called: a destination error must come first."""
    import pinnsight.bench.report as bench_report
    import pinnsight.bench.runner as runner
    import pinnsight.hard.family as family
    import pinnsight.planner as planner

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the destination was checked")

    monkeypatch.setattr(planner, "train", forbidden)
    monkeypatch.setattr(family, "train_family", forbidden)
    monkeypatch.setattr(runner, "run_suite", forbidden)
    monkeypatch.setattr(bench_report, "write_report", forbidden)


# ------------------------------------------------------------------------------ 1. destinations checked first
@pytest.mark.parametrize("kind", ["run", "dir", "file"])
def test_check_destination_refuses_a_path_under_a_file(tmp_path, kind):
    (tmp_path / "FILE").write_text("x")
    for target in (tmp_path / "FILE" / "sub", tmp_path / "FILE" / "a" / "b" / "c"):
        with pytest.raises(PinnsightError, match=r"FILE is a file, not a directory"):
            runs.check_destination(target, "--out", kind=kind)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"]  # no probe, no folder left behind


def test_check_destination_members(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("keep")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    cases = [
        (tmp_path / "file", "run", "is a file, not a directory"),
        (tmp_path / "file", "dir", "is a file, not a directory"),
        (tmp_path / "full", "run", "already exists and is not empty"),
        (tmp_path / "run", "run", "already exists and holds another run"),
        (tmp_path / "empty", "file", "is a directory, not a file"),
        (tmp_path / "dangling", "run", "broken symbolic link"),
        (tmp_path / "dangling" / "sub", "dir", "broken symbolic link"),
        (tmp_path / ("n" * 300), "run", "longer than"),
        (tmp_path / ("n" * 300) / "sub", "file", "longer than"),
    ]
    for path, kind, message in cases:
        with pytest.raises(PinnsightError, match=message):
            runs.check_destination(path, "--out", kind=kind)
    # accepted: new paths (deep ones too, nothing created), an empty folder, a kept folder, a file to replace
    for path, kind in [(tmp_path / "new" / "deeper" / "run", "run"), (tmp_path / "empty", "run"),
                       (tmp_path / "full", "dir"), (tmp_path / "file", "file"), (tmp_path / "x" / "db.sqlite", "file")]:
        assert runs.check_destination(path, "--out", kind=kind) == path
    assert not (tmp_path / "new").exists() and not (tmp_path / "x").exists()
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["notes.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere: permissions cannot be tested as root")
def test_check_destination_refuses_an_unwritable_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for path, kind in [(locked / "run", "run"), (locked / "a" / "b", "dir"), (locked / "db.sqlite", "file"),
                           (locked, "dir")]:
            with pytest.raises(PinnsightError, match="cannot write in"):
                runs.check_destination(path, "--out", kind=kind)
    finally:
        locked.chmod(0o700)


def test_check_destination_reports_a_refused_probe(tmp_path, monkeypatch):
    """What a non-root user meets in a folder without write permission (root is never refused, so simulated)."""
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(runs.tempfile, "mkstemp", refused)
    for path, kind in [(tmp_path / "run", "run"), (tmp_path / "a" / "b", "dir"), (tmp_path / "db.sqlite", "file")]:
        with pytest.raises(PinnsightError, match=f"cannot write in {tmp_path} \\(Permission denied\\)"):
            runs.check_destination(path, "--out", kind=kind)


def test_check_destination_refuses_a_read_only_filesystem(tmp_path):
    # writable to root too: /proc is never a place for a run
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc")
    with pytest.raises(PinnsightError, match="--out /proc/pinnsight-run: cannot write in /proc"):
        runs.check_destination(Path("/proc/pinnsight-run"), "--out")


def destination_cases(tmp: Path):
    f = tmp / "FILE"
    return {
        "train": (["train", "reaction", *TINY, "--out", f / "sub"], "--out"),
        "train-deep": (["train", "reaction", *TINY, "--out", f / "a" / "b"], "--out"),
        "train-non-empty": (["train", "reaction", *TINY, "--out", tmp / "full"], "--out"),
        "demo": (["demo", "--out", f / "sub"], "--out"),
        "train-family": (["train-family", "diffusion", "--param-range", "nu=1:5", "--steps", "10",
                          "--out", f / "sub"], "--out"),
        "diagnose-probe": (["diagnose", "reaction", "--steps", "10", "--out", f / "sub"], "--out"),
        "diagnose-run-dir-is-a-file": (["diagnose", f], "RUN_DIR"),
        "bench-runs-dir": (["bench", "smoke", "--runs-dir", f / "sub", "--db", tmp / "ok.sqlite"], "--runs-dir"),
        "bench-db": (["bench", "smoke", "--db", f / "sub" / "r.sqlite", "--runs-dir", tmp / "runs"], "--db"),
        "bench-db-is-a-dir": (["bench", "smoke", "--db", tmp / "full", "--runs-dir", tmp / "runs"], "--db"),
        "report-out": (["report", "smoke", "--db", tmp / "r.sqlite", "--out", f / "sub" / "b.md"], "--out"),
        "report-out-is-a-dir": (["report", "smoke", "--db", tmp / "r.sqlite", "--out", tmp / "full"], "--out"),
    }


@pytest.mark.parametrize("case", list(destination_cases(Path("/x"))))
def test_every_command_checks_its_destinations_before_any_work(tmp_path, capsys, no_work, case):
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("keep")
    args, option = destination_cases(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    t0 = time.perf_counter()
    code, out, err = run_cli(capsys, *args)
    assert code == 2, err
    one_error_line(err, option)
    assert time.perf_counter() - t0 < 30  # nothing trained (the train functions would also fail the test)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


# ------------------------------------------------------------------------------ 4. cached references verified
def _entry(path: Path) -> tuple[bytes, bytes]:
    """(the .npy bytes, the trailer) of a cache entry."""
    from pinnsight.reference import cache as C

    data = path.read_bytes()
    n = C._LEN.unpack(data[-len(C.END) - C._LEN.size:-len(C.END)])[0]
    cut = len(data) - len(C.END) - C._LEN.size - n
    return data[:cut], data[cut:]


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _scaled(path, arr):
    payload, trailer = _entry(path)
    path.write_bytes(_npy(arr * 1.5) + trailer)  # readable, plausible, wrong


def _flipped(path, arr):
    data = bytearray(path.read_bytes())
    data[200] ^= 0x10  # a byte in the values
    path.write_bytes(bytes(data))


def _one_nan(path, arr):
    payload, trailer = _entry(path)
    bad = arr.copy()
    bad[3, 4] = np.nan
    path.write_bytes(_npy(bad) + trailer)


def _nan_with_valid_checksum(path, arr):
    from pinnsight.reference import cache as C

    bad = arr.copy()
    bad[0, 0] = np.nan
    path.write_bytes(C._encode(path, bad))


def _wrong_shape_with_valid_checksum(path, arr):
    from pinnsight.reference import cache as C

    path.write_bytes(C._encode(path, arr[:, :-1]))


def _another_entry(path, arr):
    from pinnsight.reference import cache as C

    path.write_bytes(C._encode(path.with_name("other-0123456789abcdef.npy"), arr))  # copied over from elsewhere


def _plain_npy(path, arr):
    np.save(path, arr * 2)  # no checksum: an older pinnsight or not pinnsight


def _garbled_trailer(path, arr):
    payload, trailer = _entry(path)
    path.write_bytes(payload + b"{not json" + trailer[-24:])


def _transposed(path, arr):
    from pinnsight.reference import cache as C

    path.write_bytes(C._encode(path, np.ascontiguousarray(arr.T)))


CORRUPTIONS = [_scaled, _flipped, _one_nan, _nan_with_valid_checksum, _wrong_shape_with_valid_checksum,
               _another_entry, _plain_npy, _garbled_trailer, _transposed]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.strip("_"))
def test_a_bad_cache_entry_is_recomputed_with_a_warning(tmp_path, monkeypatch, corrupt):
    from pinnsight.reference import CorruptCacheWarning, cache_path, cached

    monkeypatch.setenv("PINNSIGHT_CACHE", str(tmp_path / "cache"))
    arr = np.random.default_rng(0).normal(size=(16, 9))
    calls = []

    def compute():
        calls.append(1)
        return arr

    key = {"nu": 0.1, "grid": [[16, 0.0, 1.0], [9, 0.0, 1.0]]}
    np.testing.assert_array_equal(cached("ref", key, compute, shape=(16, 9)), arr)
    path = cache_path("ref", key)
    corrupt(path, arr)
    with pytest.warns(CorruptCacheWarning, match="failed verification"):
        out = cached("ref", key, compute, shape=(16, 9))
    np.testing.assert_array_equal(out, arr)
    assert len(calls) == 2
    # rewritten atomically with a good entry: the next read is a silent hit, no temporary file remains
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(cached("ref", key, compute, shape=(16, 9)), arr)
    assert len(calls) == 2
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    np.testing.assert_array_equal(np.load(path), arr)  # still an ordinary .npy to NumPy


def test_hits_are_writable_copies_and_non_finite_results_are_not_stored(tmp_path, monkeypatch):
    from pinnsight.reference import CacheWarning, cache_path, cached

    monkeypatch.setenv("PINNSIGHT_CACHE", str(tmp_path / "cache"))
    cached("w", {"k": 1}, lambda: np.ones(4))
    hit = cached("w", {"k": 1}, lambda: pytest.fail("should hit"))
    hit[0] = 5.0  # writable, as np.load's arrays were
    with pytest.warns(CacheWarning, match="non-finite"):
        out = cached("n", {"k": 1}, lambda: np.array([1.0, np.nan]))
    assert np.isnan(out[1]) and not cache_path("n", {"k": 1}).exists()


def test_a_problem_reference_recovers_from_a_tampered_cache(tmp_path, monkeypatch):
    from pinnsight.problems import make_problem
    from pinnsight.reference import CorruptCacheWarning

    monkeypatch.setenv("PINNSIGHT_CACHE", str(tmp_path / "cache"))
    problem = make_problem("reaction-diffusion")
    good = np.asarray(problem.reference_solution().values)
    (entry,) = (tmp_path / "cache").iterdir()
    _scaled(entry, good)
    with pytest.warns(CorruptCacheWarning):
        again = np.asarray(problem.reference_solution().values)
    np.testing.assert_array_equal(again, good)


# ------------------------------------------------------------------------------ 5. run files validated
def _copy_run(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("diagnosis"))
    return dst


@pytest.mark.parametrize("file, text, message", [
    ("metrics.json", "[]", "metrics.json holds a JSON list, not an object"),
    ("metrics.json", '"done"', "metrics.json holds a JSON string, not an object"),
    ("metrics.json", "3.5", "metrics.json holds a JSON number, not an object"),
    ("metrics.json", "null", "metrics.json holds a JSON null, not an object"),
    ("metrics.json", '{"rel_l2": 0.1', "unreadable run files (metrics.json"),
    ("config.json", "[]", "config.json holds a JSON list, not an object"),
    ("config.json", '{"seed": 0}', "config.json has no 'config' entry"),
    ("config.json", '{"config": [1, 2]}', "'config' entry is a list, not an object"),
    ("config.json", '{"config": {"problem": "reaction", "phases": [{"nme": "adam"}]}}', "config.json"),
    ("config.json", b"\xff\xfe{", "unreadable run files (config.json"),
])
@pytest.mark.parametrize("command", ["show", "diagnose"])
def test_malformed_json_run_files_are_one_error_line(trained, tmp_path, capsys, file, text, message, command):
    run = _copy_run(trained[0], tmp_path / "r")
    if isinstance(text, bytes):
        (run / file).write_bytes(text)
    else:
        (run / file).write_text(text)
    code, out, err = run_cli(capsys, command, run)
    assert code == 2
    one_error_line(err, message)
    assert not (run / "diagnosis").exists()


def test_read_run_files_names_the_file(tmp_path):
    for name in runs.RUN_FILES:
        (tmp_path / name).write_text("{}")
    (tmp_path / "metrics.json").write_text("[]")
    with pytest.raises(PinnsightError, match=r"metrics\.json holds a JSON list"):
        runs.read_run_files(tmp_path)


HEADER = "step,phase,wall_s,loss,res_loss,rel_l2\r\n"


@pytest.mark.parametrize("body, message", [
    (HEADER + "0,adam,0.1,1.0,1.0,\r\n10,adam,0.2,0.5,0.5,0.9\r\n20,adam,0.3,0.4", "line 4 has 4 cells, expected 6"),
    (HEADER + "0,adam,0.1,1.0,1.0,,7\r\n", "line 2 has 7 cells, expected 6"),
    (HEADER + "0,adam,0.1\r\n", "line 2 has 3 cells, expected 6"),
    (HEADER + "0,adam,0.1,1.0,1.0,0.9\r\n10,adam,0.2,lots,0.5,0.8\r\n",
     "line 3, column 'loss': 'lots' is not a number"),
    (HEADER + "0,adam,0.1,1.0,1.0,0.9\r\nten,adam,0.2,0.5,0.5,0.8\r\n", "line 3, column 'step'"),
    (HEADER + "0,adam,0.1,1.0,1.0,0.9\r\n10,adam,0.2,0.5,0.5,0.8x\r\n", "column 'rel_l2': '0.8x'"),
    ("step,step,loss\r\n0,0,1.0\r\n", "line 1 is not a history header"),
    ("step,,loss\r\n0,0,1.0\r\n", "line 1 is not a history header"),
    (b"step,loss\r\n0,\xff\xfe\r\n", "is unreadable"),
])
def test_read_history_refuses_malformed_files(tmp_path, body, message):
    path = tmp_path / "history.csv"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    with pytest.raises(PinnsightError, match="history.csv") as e:
        runs.read_history(path)
    assert message in str(e.value)


def test_read_history_accepts_words_gaps_and_nan(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HEADER + "0,adam,0.1,1.0,1.0,\r\n10,lbfgs,0.2,nan,nan,0.5\r\n\r\n")
    rows = runs.read_history(path)
    assert [r["phase"] for r in rows] == ["adam", "lbfgs"] and rows[0]["rel_l2"] is None
    assert rows[1]["step"] == 10 and math.isnan(rows[1]["loss"])
    path.write_text("")
    assert runs.read_history(path) == []


@pytest.mark.parametrize("body", [
    "truncated",  # cut in the middle of the last row
    "ragged",
    "non-numeric",
])
def test_diagnose_on_a_malformed_history_is_one_error_line(trained, tmp_path, capsys, body):
    run = _copy_run(trained[0], tmp_path / "r")
    text = (run / "history.csv").read_text()
    if body == "truncated":
        text = text[: len(text) - len(text.splitlines()[-1]) // 2 - 2]
    elif body == "ragged":
        text = text.replace("\n", ",9\n", 2).replace(",9\n", "\n", 1)  # the second line gets one cell more
    else:
        lines = text.splitlines()
        cells = lines[2].split(",")
        cells[0] = "oops"
        text = "\n".join(lines[:2] + [",".join(cells)] + lines[3:]) + "\n"
    (run / "history.csv").write_text(text)
    code, out, err = run_cli(capsys, "diagnose", run)
    assert code == 2
    one_error_line(err, "history.csv", "line ")


def test_diagnose_on_a_non_finite_network_says_so(trained, tmp_path, capsys):
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    run = _copy_run(trained[0], tmp_path / "r")
    _, model, _ = runs.load_run(run)
    for poison in (jnp.nan, jnp.inf):
        bad = jax.tree.map(lambda x: jnp.full_like(x, poison) if eqx.is_inexact_array(x) else x, model)
        eqx.tree_serialise_leaves(run / "params.eqx", bad)
        code, out, err = run_cli(capsys, "diagnose", run)
        assert code == 2
        one_error_line(err, "the network holds non-finite values")
        assert not (run / "diagnosis").exists()
    assert run_cli(capsys, "show", run)[0] == 0  # the record itself is still readable


def _family_run(path: Path) -> Path:
    from pinnsight.hard.family import FAMILY_FILES, KIND

    path.mkdir()
    for name in FAMILY_FILES:
        (path / name).write_text("{}")
    (path / "config.json").write_text(json.dumps({"kind": KIND, "family": {"problem": "diffusion"}}))
    (path / "history.csv").write_text("step,loss\n0,1.0\n")
    return path


@pytest.mark.parametrize("command", ["show", "diagnose"])
def test_show_and_diagnose_on_a_family_run_point_to_solve(tmp_path, capsys, command):
    from pinnsight.hard import family

    assert runs.FAMILY_KIND == family.KIND
    run = _family_run(tmp_path / "fam")
    code, out, err = run_cli(capsys, command, run)
    assert code == 2
    one_error_line(err, "is a train-family run; use `pinnsight solve")
    with pytest.raises(PinnsightError, match="train-family run"):
        runs.load_run(run)


@pytest.mark.parametrize("address, message", [
    ("notanaddress", "is not a Dask scheduler address"),
    ("tcp://", "is not a Dask scheduler address"),
    ("tcp://host:port", "is not a Dask scheduler address"),
    ("tcp://:8786", "has no host"),
    ("tcp://host:99999", "is not in 1..65535"),
    ("ftp://host:21", "unknown protocol 'ftp'"),
])
def test_bench_refuses_a_bad_scheduler_address_at_once(tmp_path, capsys, no_work, address, message):
    t0 = time.perf_counter()
    code, out, err = run_cli(capsys, "bench", "smoke", "--scheduler", address, "--db", tmp_path / "r.sqlite",
                             "--runs-dir", tmp_path / "runs")
    assert code == 2 and time.perf_counter() - t0 < 20
    one_error_line(err, "--scheduler", message)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_scheduler_is_one_line(tmp_path):
    from pinnsight.bench.runner import dask_client

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PinnsightError, match="cannot reach the Dask scheduler"):
        with dask_client(scheduler=f"tcp://127.0.0.1:{port}"):
            pass


class XlaRuntimeError(RuntimeError):
    """Stands for jaxlib's error type (matched by name and status, as the CLI does)."""


@pytest.mark.parametrize("error", [
    XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 160000000000 bytes."),
    MemoryError(),
    "wrapped",
])
def test_out_of_memory_is_one_line_saying_what_to_reduce(tmp_path, capsys, monkeypatch, error):
    import pinnsight.planner as planner

    def oom(*args, **kwargs):
        if error == "wrapped":
            try:
                raise XlaRuntimeError("RESOURCE_EXHAUSTED: failed to allocate request for 9.3GiB on device")
            except XlaRuntimeError as inner:
                raise ValueError("while tracing the loss") from inner
        raise error

    monkeypatch.setattr(planner, "train", oom)
    code, out, err = run_cli(capsys, "train", "reaction", *TINY, "--out", tmp_path / "r")
    assert code == 2
    one_error_line(err, "out of memory", "reduce", "--model", "--points")
    assert not (tmp_path / "r").exists()


def test_other_errors_still_propagate(tmp_path, monkeypatch):
    import pinnsight.planner as planner

    def bug(*args, **kwargs):
        raise RuntimeError("a bug, not a memory problem")

    monkeypatch.setattr(planner, "train", bug)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["train", "reaction", *TINY, "--out", str(tmp_path / "r")])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space limit: Linux")
def test_a_huge_network_is_one_out_of_memory_line(tmp_path):
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (48 << 30, 48 << 30))  # never the whole machine
        from pinnsight.cli import main
        sys.exit(main(["train", "reaction", "--steps", "1", "--lbfgs-steps", "0", "--no-progress",
                       "--model", "mlp:width=200000", "--out", {str(tmp_path / "r")!r}]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert proc.returncode == 2, proc.stderr[-2000:]
    one_error_line(proc.stderr, "out of memory", "reduce")
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------------------ 7. output for other tools
def test_strict_json_members():
    from pinnsight.jsonio import dumps, strict_json

    obj = {"a": float("nan"), "b": [1.0, float("inf"), -float("inf")], "c": (np.float32(np.nan), np.float64(2.5)),
           "d": np.array([1.0, np.nan]), "e": {"f": np.int64(3), "g": np.bool_(True), "h": None, "i": "nan"},
           "j": np.array(np.inf), 1: "int key"}
    assert strict_json(obj) == {"a": None, "b": [1.0, None, None], "c": [None, 2.5], "d": [1.0, None],
                                "e": {"f": 3, "g": True, "h": None, "i": "nan"}, "j": None, "1": "int key"}
    text = dumps(obj)
    assert "NaN" not in text and "Infinity" not in text
    assert strict_loads(text)["a"] is None
    with pytest.raises(TypeError):
        strict_json({"x": object()})


def test_run_json_files_are_standard_json(trained, tmp_path):
    out, _ = trained
    for name in ("config.json", "metrics.json"):
        strict_loads((out / name).read_text())
    runs._write_json(tmp_path / "m.json", {"rel_l2": float("nan"), "phases": [{"end_loss": np.float32("inf")}]})
    assert strict_loads((tmp_path / "m.json").read_text()) == {"rel_l2": None, "phases": [{"end_loss": None}]}


def test_findings_json_is_standard_json(trained, tmp_path, capsys):
    run = _copy_run(trained[0], tmp_path / "r")
    code, out, err = run_cli(capsys, "diagnose", run, "--ntk-points", "16")
    assert code == 0, err
    strict_loads((run / "diagnosis" / "findings.json").read_text())


def test_results_database_holds_standard_json(tmp_path):
    from pinnsight.bench.db import COLUMNS, ResultsDB

    row = {c: None for c in COLUMNS}
    row.update(config_hash="h", suite="s", case_name="c", problem="p", coefficients={"beta": float("nan")},
               remedies=[], seed=np.int64(0), config={"lr": float("inf"), "weights": [np.float32("nan")]},
               status="ok", rel_l2=float("nan"), wall_s=np.float32(1.5), steps=np.int64(3), stop_reason="nan",
               version="v", machine={"gpu": None, "cores": np.int64(2)}, command="pinnsight bench",
               finished_at="now")
    with ResultsDB(tmp_path / "r.sqlite") as db:
        db.record(row)
        back = db.rows()["h"]
    assert back["coefficients"] == {"beta": None} and back["config"] == {"lr": None, "weights": [None]}
    assert back["rel_l2"] is None and back["wall_s"] == 1.5 and back["steps"] == 3 and back["seed"] == 0
    conn = sqlite3.connect(tmp_path / "r.sqlite")
    raw = conn.execute("SELECT coefficients, remedies, config, machine, typeof(steps), typeof(wall_s) FROM runs")
    values = raw.fetchone()
    conn.close()
    for text in values[:4]:
        strict_loads(text)
    assert values[4:] == ("integer", "real")


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        if self.tty is None:
            raise ValueError("I/O operation on closed file")
        return self.tty


def test_progress_enabled(monkeypatch):
    from pinnsight.progress import progress_enabled

    for stream, shown in [(_Stream(True), True), (_Stream(False), False), (_Stream(None), False), (None, False)]:
        monkeypatch.setattr(sys, "stderr", stream)
        assert progress_enabled(None) is shown
        assert progress_enabled(True) is True and progress_enabled(False) is False


@pytest.mark.parametrize("args, expected", [([], None), (["--no-progress"], False)])
@pytest.mark.parametrize("command", ["train", "demo", "diagnose"])
def test_commands_leave_the_bar_to_the_terminal_rule(tmp_path, monkeypatch, command, args, expected):
    import pinnsight.planner as planner

    seen = []

    class Stop(Exception):
        pass

    def spy(config, progress="unset", **kwargs):
        seen.append(progress)
        raise Stop

    monkeypatch.setattr(planner, "train", spy)
    argv = {"train": ["train", "reaction", *TINY], "demo": ["demo"],
            "diagnose": ["diagnose", "reaction", "--steps", "10"]}[command]
    with pytest.raises(Stop):
        main([*argv, "--out", str(tmp_path / "r"), *args])
    assert seen == [expected]


def test_no_progress_bar_off_a_terminal(trained):
    _, err = trained
    assert "step/s" not in err and "it/s" not in err and "%|" not in err, err


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_dead_writers_are_cleaned(tmp_path):
    host = runs._host()
    dead = tmp_path / f".old-run.{host}.p{_dead_pid()}.abcd1234.tmp"
    alive = tmp_path / f".busy-run.{host}.p{os.getppid()}.abcd1234.tmp"
    mine = tmp_path / f".mine.{host}.p{os.getpid()}.abcd1234.tmp"
    remote = tmp_path / f".remote.otherhost.p{_dead_pid()}.abcd1234.tmp"
    legacy = tmp_path / ".legacy.abc.tmp"
    hidden = tmp_path / ".git"
    for d in (dead, alive, mine, remote, legacy, hidden):
        d.mkdir()
        (d / "config.json").write_text("{}")
    with runs.new_run_dir(tmp_path / "new") as tmp:
        assert _owner_pid(tmp) == os.getpid()
        (tmp / "x").write_text("1")
    assert (tmp_path / "new" / "x").is_file()
    assert not dead.exists()
    for kept in (alive, mine, remote, legacy, hidden):
        assert kept.exists(), kept


def _owner_pid(tmp: Path) -> int:
    m = runs._TEMP_RE.match(tmp.name)
    assert m is not None, tmp.name
    return int(m["pid"])


WRITER = """
import os, signal, sys, time
from pathlib import Path
from pinnsight import runs

{setup}
with runs.new_run_dir(Path(sys.argv[1])) as tmp:
    (tmp / "config.json").write_text("{{}}")
    print("ready", flush=True)
    time.sleep(60)
"""


def _writer(out: Path, setup: str = "") -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(setup=setup), str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def test_sigterm_during_the_write_removes_the_temporary(tmp_path):
    proc = _writer(tmp_path / "run")
    assert len(list(tmp_path.iterdir())) == 1  # the temporary folder
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == -signal.SIGTERM  # still ends as a SIGTERM would
    assert list(tmp_path.iterdir()) == []


def test_sigterm_hands_on_to_a_previous_handler(tmp_path):
    setup = 'signal.signal(signal.SIGTERM, lambda s, f: (print("handler", flush=True), sys.exit(7)))'
    proc = _writer(tmp_path / "run", setup)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 7
    assert proc.stdout.read().strip() == "handler"
    assert list(tmp_path.iterdir()) == []


def test_a_killed_writers_temporary_is_cleaned_by_the_next_run(tmp_path):
    proc = _writer(tmp_path / "run")
    proc.kill()  # SIGKILL: nothing can clean up
    proc.wait(30)
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".run.") and left.name.endswith(".tmp")
    with runs.new_run_dir(tmp_path / "next") as tmp:
        (tmp / "config.json").write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["next"]
