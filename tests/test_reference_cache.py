"""Tests of the reference disk cache (pinnsight.reference.cached)."""

import io
import os
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

try:
    import pinnsight.reference  # noqa: F401
except ModuleNotFoundError:  # package not installed: use the src/ layout directly
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pinnsight.errors import PinnsightError
from pinnsight.reference import cache as cache_mod
from pinnsight.reference import cache_dir, cache_path, cached


@pytest.fixture
def cdir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("PINNSIGHT_CACHE", str(d))
    return d


class Counter:
    def __init__(self, value):
        self.calls = 0
        self.value = value

    def __call__(self):
        self.calls += 1
        return self.value


def test_miss_then_hit(cdir):
    arr = np.arange(12.0).reshape(3, 4) / 7
    comp = Counter(arr)
    key = {"problem": "burgers", "nu": 0.01 / np.pi, "n": 256}
    a = cached("burgers", key, comp)
    assert comp.calls == 1
    np.testing.assert_array_equal(a, arr)
    files = list(cdir.iterdir())
    assert len(files) == 1 and re.fullmatch(r"burgers-[0-9a-f]{16}\.npy", files[0].name)
    assert files[0] == cache_path("burgers", key)
    b = cached("burgers", dict(reversed(list(key.items()))), comp)  # key order irrelevant
    assert comp.calls == 1
    np.testing.assert_array_equal(b, arr)
    assert b.dtype == arr.dtype and b.shape == arr.shape


def test_key_sensitivity(cdir):
    base = {"nu": 0.1, "x": [0.0, 1.0], "n": 8}
    p = cache_path("r", base)
    assert cache_path("r", {"n": 8, "x": [0.0, 1.0], "nu": 0.1}) == p
    assert cache_path("r", {**base, "nu": np.float64(0.1)}) == p  # numpy scalars canonicalised
    # floats are compared exactly (repr round-trips): one ulp changes the file
    assert cache_path("r", {**base, "nu": np.nextafter(0.1, 1.0)}) != p
    assert cache_path("r", {**base, "n": 9}) != p
    assert cache_path("r", {**base, "x": [0.0, 1.0, 2.0]}) != p
    assert cache_path("s", base) != p
    # arrays in keys: by content, dtype and shape
    a = np.linspace(0, 1, 5)
    assert cache_path("r", {"x": a}) == cache_path("r", {"x": a.copy()})
    assert cache_path("r", {"x": a}) != cache_path("r", {"x": a + 1e-16 * (a > 0.5)})
    assert cache_path("r", {"x": a}) != cache_path("r", {"x": a.astype(np.float32)})


def test_solver_version_is_part_of_the_hash(cdir, monkeypatch):
    key = {"a": 1}
    p = cache_path("v", key)
    monkeypatch.setattr(cache_mod, "SOLVER_VERSION", cache_mod.SOLVER_VERSION + "-next")
    assert cache_path("v", key) != p


def test_cache_dir_default_and_env(tmp_path, monkeypatch):
    monkeypatch.delenv("PINNSIGHT_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "pinnsight" / "reference"
    monkeypatch.setenv("PINNSIGHT_CACHE", str(tmp_path / "elsewhere"))
    assert cache_dir() == tmp_path / "elsewhere"


def test_atomic_write_leaves_no_temp_files(cdir, monkeypatch):
    for i in range(3):
        cached("a", {"i": i}, lambda i=i: np.full(5, float(i)))
    assert sorted(f.name for f in cdir.iterdir()) == sorted(cache_path("a", {"i": i}).name for i in range(3))

    # a crash in the middle of writing: the temp file is removed, no final file appears
    real_save = np.save

    def broken_save(f, arr, **kw):
        real_save(f, arr[: arr.size // 2], **kw)  # half written ...
        raise OSError("disk full")  # ... then failure

    monkeypatch.setattr(cache_mod.np, "save", broken_save)
    with pytest.warns(UserWarning, match="could not write"):
        out = cached("a", {"i": 99}, lambda: np.arange(10.0))
    np.testing.assert_array_equal(out, np.arange(10.0))  # still returns the result
    assert not cache_path("a", {"i": 99}).exists()
    assert len(list(cdir.iterdir())) == 3  # no stray temp file


def test_failing_compute_writes_nothing(cdir):
    def boom():
        raise RuntimeError("solver failed")

    with pytest.raises(RuntimeError):
        cached("f", {}, boom)
    assert not cdir.exists() or not any(cdir.iterdir())


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not a numpy file at all", None],  # None: a truncated real .npy
    ids=["empty", "garbage", "truncated"],
)
def test_corrupted_file_is_recomputed_and_overwritten(cdir, garbage):
    key = {"k": 1}
    arr = np.random.default_rng(0).normal(size=(50, 20))
    path = cache_path("c", key)
    path.parent.mkdir(parents=True)
    if garbage is None:
        np.save(path, arr)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(garbage)
    comp = Counter(arr)
    out = cached("c", key, comp)
    assert comp.calls == 1
    np.testing.assert_array_equal(out, arr)
    np.testing.assert_array_equal(np.load(path), arr)  # overwritten with a good file
    cached("c", key, comp)
    assert comp.calls == 1  # and now it is a hit


def _concurrent_rewrites(path, arr, save, n_writes=150):
    """Rewrite ``path`` with ``save`` while readers go through ``cached``; return reader errors."""
    key, errors, stop = {"k": "same"}, [], threading.Event()

    def must_hit():
        raise AssertionError("reader saw a missing or partial file")

    def writer():
        try:
            for _ in range(n_writes):
                save(path, arr)
        finally:
            stop.set()

    def reader():
        try:
            while not stop.is_set():
                if not np.array_equal(cached("conc", key, must_hit), arr):
                    raise AssertionError("wrong content")
        except Exception as exc:
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return errors


def test_concurrent_rewrites_never_expose_partial_files(cdir):
    arr = np.random.default_rng(1).normal(size=(400, 100))
    path = cache_path("conc", {"k": "same"})
    cached("conc", {"k": "same"}, lambda: arr)
    assert _concurrent_rewrites(path, arr, cache_mod._atomic_save) == []
    assert [f.name for f in cdir.iterdir()] == [path.name]  # no stray temp files


def test_concurrency_test_detects_non_atomic_writes(cdir):
    """Control: writing in place to the final path (here with a 2 ms pause half-way, as a
    slow disk would) is caught by the same readers."""
    arr = np.random.default_rng(1).normal(size=(400, 100))
    path = cache_path("conc", {"k": "same"})
    cached("conc", {"k": "same"}, lambda: arr)

    def slow_in_place(p, a):
        buf = io.BytesIO()
        np.save(buf, a)
        data = buf.getvalue()
        with open(p, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(0.002)
            f.write(data[len(data) // 2 :])

    assert _concurrent_rewrites(path, arr, slow_in_place, n_writes=100) != []


def test_bad_names_and_keys_rejected(cdir):
    for name in ["", "../escape", "a/b", ".hidden", "sp ace"]:
        with pytest.raises(PinnsightError):
            cache_path(name, {})
    with pytest.raises(PinnsightError):
        cache_path("ok", {1: "non-str key"})
    with pytest.raises(PinnsightError):
        cache_path("ok", {"f": lambda: 0})
    with pytest.raises(PinnsightError):
        cache_path("ok", [("not", "a dict")])


def test_nonfinite_floats_in_keys_are_distinct(cdir):
    paths = {cache_path("n", {"v": v}) for v in (float("nan"), float("inf"), -float("inf"), 0.0)}
    assert len(paths) == 4
    assert os.fspath(cache_path("n", {"v": float("nan")})).endswith(".npy")
