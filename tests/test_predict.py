"""``pinnsight predict RUN --points FILE`` and ``pinnsight.predict``: every field of a trained run at given points
(csv or npz in and out), equal to the loaded model evaluated point by point; one error line for bad input."""

from __future__ import annotations

import csv
import io
import math

import jax.numpy as jnp
import numpy as np
import pytest

from pinnsight import predict as pred
from pinnsight.cli import main
from pinnsight.errors import PinnsightError
from pinnsight.observations import read_points
from pinnsight.precision import dtype_of, precision
from pinnsight.runs import load_run

from _cli import one_error_line, run_cli

TWO_PI = 2 * math.pi  # convection: x in [0, 2π], t in [0, 1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("predict") / "run"
    code = main(["train", "convection", "--steps", "40", "--lbfgs-steps", "0", "--model", "mlp:width=8,depth=2",
                 "--points", "res=128", "--log-every", "10", "--eval-every", "20", "--no-progress",
                 "--checkpoint-every", "0", "--out", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(1)
    pts = rng.uniform((0.0, 0.0), (TWO_PI, 1.0), size=(25, 2))
    return np.concatenate([pts, [[0.0, 0.0], [TWO_PI, 1.0]]])  # the box's corners are inside


def direct(run_dir, points) -> np.ndarray:
    """The loaded equinox model called on each point alone."""
    config, model, _ = load_run(run_dir)
    with precision(config.x64):
        dtype = dtype_of(config.x64)
        return np.array([float(jnp.reshape(model(jnp.asarray(p, dtype)), (-1,))[0]) for p in points])


def write_points_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def parse_csv(text: str) -> tuple[list[str], np.ndarray]:
    header, *rows = list(csv.reader(io.StringIO(text)))
    return header, np.array(rows, dtype=np.float64)


# --- the predictions -------------------------------------------------------------------------------------------

def test_cli_csv_to_stdout_equals_the_model(run_dir, points, tmp_path, capsys):
    src = write_points_csv(tmp_path / "pts.csv", ["x", "t"], [[repr(float(a)) for a in p] for p in points])
    code, out, err = run_cli(capsys, "predict", run_dir, "--points", src)
    assert code == 0, err
    header, table = parse_csv(out)
    assert header == ["x", "t", "u"] and table.shape == (len(points), 3)
    assert np.array_equal(table[:, :2], points)
    np.testing.assert_allclose(table[:, 2], direct(run_dir, points), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("suffix_in, suffix_out", [(".npz", ".npz"), (".csv", ".npz"), (".npz", ".csv")])
def test_cli_files_in_and_out_equal_python_predict(run_dir, points, tmp_path, capsys, suffix_in, suffix_out):
    src = tmp_path / f"pts{suffix_in}"
    if suffix_in == ".npz":
        np.savez(src, t=points[:, 1], x=points[:, 0])  # column order in the file does not matter
    else:
        write_points_csv(src, ["t", "x"], [[repr(float(p[1])), repr(float(p[0]))] for p in points])
    dest = tmp_path / "sub" / f"pred{suffix_out}"
    code, out, err = run_cli(capsys, "predict", run_dir, "--points", src, "--out", dest)
    assert code == 0, err
    assert str(dest) in out and not list(dest.parent.glob(".*.tmp"))
    if suffix_out == ".npz":
        with np.load(dest) as data:
            assert list(data.files) == ["x", "t", "u"]
            got = {k: data[k] for k in data.files}
    else:
        header, table = parse_csv(dest.read_text())
        assert header == ["x", "t", "u"]
        got = dict(zip(header, table.T))
    assert np.array_equal(np.stack([got["x"], got["t"]], axis=1), points)
    run = pred.load(run_dir)
    values = pred.predict(run, points)
    assert set(values) == {"u"} and values["u"].dtype == np.float64 and values["u"].shape == (len(points),)
    assert np.array_equal(got["u"], values["u"])  # the same numbers, written exactly
    np.testing.assert_allclose(values["u"], direct(run_dir, points), rtol=1e-5, atol=1e-6)


def test_python_api(run_dir, points, tmp_path):
    run = pred.load(run_dir)
    assert run.coords == ("x", "t") and run.fields == ("u",) and run.config.problem_name == "convection"
    first = run.predict(points)["u"]
    assert np.array_equal(run.predict(points.tolist())["u"], first)
    np.testing.assert_allclose(run.predict(points[:1])["u"], first[:1], rtol=1e-5, atol=1e-6)  # float32 batches
    for suffix in (".csv", ".npz"):
        path = pred.write_predictions(tmp_path / f"p{suffix}", points, {"u": first}, run.coords)
        back = read_points(path, coords=("x", "t", "u"), bounds=((0, TWO_PI), (0, 1), (-1e9, 1e9)))
        assert np.array_equal(back[:, :2], points) and np.array_equal(back[:, 2], first)


def test_long_inputs_run_in_chunks(run_dir, monkeypatch):
    run = pred.load(run_dir)
    pts = np.random.default_rng(2).uniform((0, 0), (TWO_PI, 1), size=(23, 2))
    whole = run.predict(pts)["u"]
    monkeypatch.setattr(pred, "CHUNK", 5)
    np.testing.assert_allclose(run.predict(pts)["u"], whole, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("bad, fragment", [
    (np.zeros((3, 3)), "shape (n, 2)"),
    (np.zeros(4), "shape (n, 2)"),
    (np.zeros((0, 2)), "zero rows"),
    ([[1.0, float("nan")]], "NaN"),
    ([[1.0, 0.5], [7.0, 0.5]], "outside the domain box"),
    ([["a", "b"]], "not numeric"),
])
def test_python_predict_refuses_bad_points(run_dir, bad, fragment):
    run = pred.load(run_dir)
    with pytest.raises(PinnsightError) as e:
        run.predict(bad)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_write_predictions_refuses(tmp_path):
    pts, vals = np.zeros((2, 2)), {"u": np.zeros(2)}
    with pytest.raises(PinnsightError, match="unsupported suffix '.txt'"):
        pred.write_predictions(tmp_path / "p.txt", pts, vals, ("x", "t"))
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(PinnsightError, match="is a directory"):
        pred.write_predictions(tmp_path / "d.csv", pts, vals, ("x", "t"))
    with pytest.raises(PinnsightError, match="2 point"):
        pred.write_predictions(tmp_path / "p.csv", pts, {"u": np.zeros(3)}, ("x", "t"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


# --- read_points -----------------------------------------------------------------------------------------------

BOX = dict(coords=("x", "t"), bounds=((0.0, 1.0), (0.0, 2.0)))


def test_read_points_round_trip_and_errors(tmp_path):
    pts = np.array([[0.0, 0.0], [0.5, 1.5], [1.0, 2.0]])
    np.savez(tmp_path / "p.npz", x=pts[:, 0], t=pts[:, 1])
    got = read_points(tmp_path / "p.npz", **BOX)
    assert got.dtype == np.float64 and np.array_equal(got, pts)
    cases = {
        "missing.csv": (None, "file not found"),
        "extra.csv": ("x,t,u\n0,0,1\n", "unexpected column(s) 'u'"),
        "nocoord.csv": ("x\n0\n", "missing coordinate column(s) 't'"),
        "cell.csv": ("x,t\n0,abc\n", "'abc' is not a number"),
        "nan.csv": ("x,t\n0,nan\n", "NaN or infinite"),
        "empty.csv": ("x,t\n", "zero rows"),
        "out.csv": ("x,t\n0.5,2.5\n", "outside the domain box"),
        "p.txt": ("x,t\n0,0\n", "unsupported suffix"),
    }
    for name, (text, fragment) in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(PinnsightError) as e:
            read_points(tmp_path / name, **BOX)
        msg = str(e.value)
        assert msg.startswith(f"{tmp_path / name}: ") and fragment in msg and "\n" not in msg, msg
    np.savez(tmp_path / "uneq.npz", x=np.zeros(3), t=np.zeros(2))
    with pytest.raises(PinnsightError, match="has 2 entries"):
        read_points(tmp_path / "uneq.npz", **BOX)
    edge = np.array([[1.0 + 1e-12, 2.0]])  # within the tolerance of the box
    np.savez(tmp_path / "edge.npz", x=edge[:, 0], t=edge[:, 1])
    assert read_points(tmp_path / "edge.npz", **BOX).shape == (1, 2)


# --- the command's errors --------------------------------------------------------------------------------------

@pytest.fixture
def good_points(tmp_path):
    return write_points_csv(tmp_path / "good.csv", ["x", "t"], [["1.0", "0.5"]])


def test_cli_bad_points_files(run_dir, tmp_path, capsys):
    cases = {
        "missing.csv": (None, "file not found"),
        "extra.csv": ("x,t,u\n1,0.5,2\n", "unexpected column(s) 'u'"),
        "nocoord.csv": ("x\n1\n", "missing coordinate column(s) 't'"),
        "nan.csv": ("x,t\n1,nan\n", "NaN"),
        "outside.csv": ("x,t\n7.5,0.5\n", "outside the domain box"),
        "points.txt": ("x,t\n1,0.5\n", "unsupported suffix"),
    }
    for name, (text, fragment) in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        code, out, err = run_cli(capsys, "predict", run_dir, "--points", path)
        assert code == 2 and out == "", (name, out, err)
        one_error_line(err, str(path), fragment)


def test_cli_bad_out(run_dir, good_points, tmp_path, capsys):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    code, out, err = run_cli(capsys, "predict", run_dir, "--points", good_points, "--out", folder)
    assert code == 2 and out == ""
    one_error_line(err, "--out", str(folder), "directory")
    code, out, err = run_cli(capsys, "predict", run_dir, "--points", good_points, "--out", tmp_path / "p.txt")
    assert code == 2 and out == ""
    one_error_line(err, "--out", "unsupported suffix '.txt'")
    assert not (tmp_path / "p.txt").exists()


def test_cli_bad_run(good_points, tmp_path, capsys):
    for not_a_run in (tmp_path / "absent", tmp_path):
        code, out, err = run_cli(capsys, "predict", not_a_run, "--points", good_points)
        assert code == 2 and out == ""
        one_error_line(err, str(not_a_run), "run directory")


def test_cli_points_option_is_required(run_dir, capsys):
    code, out, err = run_cli(capsys, "predict", run_dir)
    assert code == 2
    one_error_line(err, "--points")
