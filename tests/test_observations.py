"""Observations for inverse problems: arrays and files in, one validated object out, one clear error line for every
bad input; deterministic split into training and held-out rows; relative noise as in Raissi et al. 2019."""

from __future__ import annotations

import numpy as np
import pytest

from pinnsight.errors import PinnsightError
from pinnsight.observations import Observations, make_observations, read_observations

COORDS = ("x", "t")
FIELDS = ("u", "v", "p")
BOX = ((0.0, 1.0), (0.0, 2.0))
PROBLEM = dict(coords=COORDS, fields=FIELDS, bounds=BOX)


def _arrays(n=50, seed=0):
    rng = np.random.default_rng(seed)
    points = rng.uniform((0, 0), (1, 2), size=(n, 2))
    return points, {"u": np.sin(points[:, 0]) * points[:, 1], "p": rng.normal(size=n)}


def _one_line_error(excinfo, prefix: str) -> str:
    msg = str(excinfo.value)
    assert type(excinfo.value) is PinnsightError
    assert "\n" not in msg and msg.startswith(f"{prefix}: "), msg
    assert excinfo.value.__cause__ is None and (excinfo.value.__context__ is None
                                                or excinfo.value.__suppress_context__), "a chained traceback"
    return msg


# --- valid inputs ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_save_and_read_round_trip(tmp_path, suffix):
    points, values = _arrays()
    obs = make_observations(points, values, **PROBLEM)
    path = tmp_path / f"obs{suffix}"
    obs.save(path)
    back = read_observations(path, **PROBLEM)
    assert back.source == str(path) and back.coords == COORDS and back.fields == ("u", "p") and len(back) == 50
    assert back.points.dtype == np.float64 and np.array_equal(back.points, points)
    assert all(np.array_equal(back.values[f], values[f]) for f in ("u", "p"))


def test_csv_columns_are_coords_then_fields(tmp_path):
    points, values = _arrays(n=3)
    make_observations(points, values, **PROBLEM).save(tmp_path / "o.csv")
    header, *rows = (tmp_path / "o.csv").read_text().splitlines()
    assert header == "x,t,u,p" and len(rows) == 3


def test_mapping_and_array_inputs_agree():
    points, values = _arrays()
    from_array = make_observations(points, values, **PROBLEM)
    from_mapping = make_observations({"t": points[:, 1], "x": points[:, 0]}, values, **PROBLEM)
    assert np.array_equal(from_array.points, from_mapping.points) and from_array.source == "arrays"
    assert from_mapping.fields == from_array.fields == ("u", "p")
    one = make_observations(points.tolist(), values["u"], coords=COORDS, fields=("u",), bounds=BOX)
    assert one.fields == ("u",) and np.array_equal(one.values["u"], values["u"])


def test_arrays_are_read_only_copies():
    points, values = _arrays()
    obs = make_observations(points, values, **PROBLEM)
    points[0, 0] = 0.5
    assert obs.points[0, 0] != 0.5
    with pytest.raises(ValueError):
        obs.values["u"][0] = 1.0


def test_a_file_may_hold_a_subset_of_the_fields(tmp_path):
    path = tmp_path / "only_v.csv"
    path.write_text("t,x,v\n0.5,0.25,1.5\n2.0,1.0,-3\n")
    obs = read_observations(path, **PROBLEM)
    assert obs.fields == ("v",) and obs.coords == COORDS
    assert np.array_equal(obs.points, [[0.25, 0.5], [1.0, 2.0]]) and np.array_equal(obs.values["v"], [1.5, -3.0])


def test_points_on_the_box_within_tolerance_are_kept():
    eps = 1e-10  # below 1e-9 of the box size
    obs = make_observations([[1 + eps, 0.0], [-eps, 2 + 2 * eps]], [0.0, 1.0], coords=COORDS, fields=("u",),
                            bounds=BOX)
    assert len(obs) == 2


# --- split -----------------------------------------------------------------------------------------------------

def _numbered(n):
    return make_observations(np.column_stack([np.linspace(0, 1, n), np.zeros(n)]), np.arange(n, dtype=float),
                             coords=COORDS, fields=("u",), bounds=BOX)


def test_split_is_deterministic_disjoint_and_complete():
    obs = _numbered(100)
    train, held = obs.split(0.2, seed=3)
    again_train, again_held = obs.split(0.2, seed=3)
    assert len(train) == 80 and len(held) == 20
    ids_train, ids_held = train.values["u"].astype(int), held.values["u"].astype(int)
    assert set(ids_train).isdisjoint(ids_held) and set(ids_train) | set(ids_held) == set(range(100))
    assert np.array_equal(train.points, again_train.points) and np.array_equal(held.values["u"],
                                                                                again_held.values["u"])
    assert np.array_equal(held.points[:, 0], obs.points[ids_held, 0])  # rows stay together
    assert not np.array_equal(obs.split(0.2, seed=4)[1].values["u"], held.values["u"])


def test_split_zero_and_small():
    obs = _numbered(5)
    train, held = obs.split(0.0, seed=0)
    assert train is obs and held is None
    train, held = obs.split(0.01, seed=0)  # a positive fraction holds out at least one row
    assert (len(train), len(held)) == (4, 1)


@pytest.mark.parametrize("n, held_out, words", [
    (5, 1.0, "held_out"), (5, -0.1, "held_out"), (5, "0.2", "held_out"), (1, 0.5, "no training point"),
])
def test_split_rejects(n, held_out, words):
    with pytest.raises(PinnsightError) as excinfo:
        _numbered(n).split(held_out, seed=0)
    assert words in _one_line_error(excinfo, "observations")


# --- noise -----------------------------------------------------------------------------------------------------

def test_noise_level_matches_raissi_definition_and_is_deterministic():
    n, level = 20000, 0.05
    rng = np.random.default_rng(1)
    points = rng.uniform((0, 0), (1, 2), size=(n, 2))
    values = {"u": 3.0 * np.sin(6 * points[:, 0]), "v": 10.0 + 0.1 * points[:, 1]}
    obs = make_observations(points, values, **PROBLEM)
    noisy = obs.with_noise(level, seed=7)
    for f in ("u", "v"):
        diff = noisy.values[f] - values[f]
        target = level * np.std(values[f])
        assert abs(np.std(diff) / target - 1) < 0.03 and abs(np.mean(diff)) < 4 * target / np.sqrt(n)
    assert np.array_equal(noisy.points, obs.points) and noisy.fields == obs.fields
    assert np.array_equal(obs.with_noise(level, seed=7).values["u"], noisy.values["u"])
    assert not np.array_equal(obs.with_noise(level, seed=8).values["u"], noisy.values["u"])
    assert np.array_equal(obs.with_noise(0.0, seed=7).values["v"], values["v"])


@pytest.mark.parametrize("level, seed", [(-0.1, 0), (float("nan"), 0), ("0.1", 0), (0.1, -1), (0.1, 1.5)])
def test_noise_rejects(level, seed):
    with pytest.raises(PinnsightError) as excinfo:
        _numbered(5).with_noise(level, seed)
    assert ("level" if seed == 0 else "seed") in _one_line_error(excinfo, "observations")


# --- bad files -------------------------------------------------------------------------------------------------

def _npz(**cols):
    return lambda path: np.savez(path, **cols)


def _text(text):
    return lambda path: path.write_text(text)


GOOD = dict(x=np.array([0.1, 0.2]), t=np.array([0.0, 1.0]))
BAD_FILES = [
    ("missing.csv", None, ["not found"]),
    ("obs.txt", _text("x,t,u\n0,0,1\n"), ["unsupported suffix", ".npz", ".csv"]),
    ("obs.csv", lambda path: path.mkdir(), ["not a file"]),
    ("obs.npz", _text("x,t,u\n0,0,1\n"), ["not a valid .npz"]),
    ("obs.npz", lambda path: np.save(open(path, "wb"), np.zeros(3)), ["not a valid .npz"]),
    ("obs.npz", _npz(**GOOD, u=np.array([{}, {}], dtype=object)), ["not a valid .npz"]),
    ("obs.csv", lambda path: path.write_bytes(b"x,t,u\n\xff\xfe,0,1\n"), ["not a valid .csv"]),
    ("obs.csv", _text(""), ["empty file"]),
    ("obs.csv", _text("x,x,u\n0,0,1\n"), ["header"]),
    ("obs.csv", _text("x,u\n0,1\n"), ["missing coordinate", "'t'"]),
    ("obs.npz", _npz(u=np.ones(2)), ["missing coordinate", "'x'", "'t'"]),
    ("obs.csv", _text("x,t\n0,0\n"), ["no field column", "u, v, p"]),
    ("obs.csv", _text("x,t,u,w\n0,0,1,2\n"), ["unexpected column", "'w'", "allowed columns: x, t, u, v, p"]),
    ("obs.npz", _npz(**GOOD, u=np.ones(2), T=np.ones(2)), ["'T'", "allowed"]),
    ("obs.csv", _text("x,t,u\n0,0,1\n0.5,1,abc\n"), ["row 2", "column 'u'", "'abc'"]),
    ("obs.csv", _text("x,t,u\n0,0,1\n0.5,1\n"), ["row 2", "2 cell"]),
    ("obs.csv", _text("x,t,u\n0,0,nan\n0.5,1,NaN\n0.2,1,3\n"), ["column 'u'", "2 NaN or infinite"]),
    ("obs.npz", _npz(**GOOD, u=np.array([np.inf, 1.0])), ["column 'u'", "1 NaN or infinite"]),
    ("obs.npz", _npz(**GOOD, u=np.ones(3)), ["column 'u' has 3 entries", "'x' has 2"]),
    ("obs.npz", _npz(**GOOD, u=np.ones((2, 1))), ["column 'u' must be 1-D"]),
    ("obs.npz", _npz(x=np.float64(0.1), t=np.float64(0.0), u=np.float64(1)), ["must be 1-D"]),
    ("obs.npz", _npz(**GOOD, u=np.array(["a", "b"])), ["column 'u' is not numeric"]),
    ("obs.csv", _text("x,t,u\n"), ["zero rows"]),
    ("obs.npz", _npz(x=np.zeros(0), t=np.zeros(0), u=np.zeros(0)), ["zero rows"]),
    ("obs.csv", _text("x,t,u\n0.5,1,0\n1.5,1,0\n0.5,2.5,0\n"),
     ["2 point(s) outside", "row 2: (x=1.5, t=1)", "t in [0, 2]"]),
    ("obs.csv", _text("x,t,u\n1.00000001,0,0\n"), ["1 point(s) outside", "(x=1.00000001, t=0)"]),
]


@pytest.mark.parametrize("name, write, words", BAD_FILES, ids=[f"{i}-{c[2][0]}" for i, c in enumerate(BAD_FILES)])
def test_bad_file_gives_one_line_naming_the_file(tmp_path, name, write, words):
    path = tmp_path / name
    if write is not None:
        write(path)
    with pytest.raises(PinnsightError) as excinfo:
        read_observations(path, **PROBLEM)
    msg = _one_line_error(excinfo, str(path))
    assert all(w in msg for w in words), msg


def test_save_rejects_unsupported_suffix(tmp_path):
    with pytest.raises(PinnsightError) as excinfo:
        _numbered(3).save(tmp_path / "obs.json")
    assert "supported: .npz, .csv" in _one_line_error(excinfo, str(tmp_path / "obs.json"))


# --- bad arrays ------------------------------------------------------------------------------------------------

P2 = np.array([[0.1, 0.0], [0.2, 1.0]])
BAD_ARRAYS = [
    (P2, {"w": [1, 2]}, FIELDS, ["unknown field", "'w'", "u, v, p"]),
    (P2, {}, FIELDS, ["no field values"]),
    (P2, [1.0, 2.0], FIELDS, ["mapping"]),
    (P2, {"u": [1.0, 2.0, 3.0]}, FIELDS, ["column 'u' has 3 entries", "has 2"]),
    (np.zeros((2, 3)), {"u": [1, 2]}, FIELDS, ["shape (n, 2)", "(2, 3)"]),
    (np.zeros(2), {"u": [1, 2]}, FIELDS, ["shape (n, 2)"]),
    ({"x": [0.1, 0.2]}, {"u": [1, 2]}, FIELDS, ["missing t"]),
    ({"x": [0.1], "t": [0.0], "y": [0.0]}, {"u": [1]}, FIELDS, ["unexpected y"]),
    ([[0.1, 0.0], [0.2]], {"u": [1, 2]}, FIELDS, ["points is not a numeric array"]),
    (P2, {"u": ["a", "b"]}, FIELDS, ["column 'u' is not numeric"]),
    (P2, {"u": np.ones((2, 1))}, FIELDS, ["column 'u' must be 1-D"]),
    (P2, {"u": [1.0, np.nan]}, FIELDS, ["column 'u'", "1 NaN or infinite"]),
    (np.array([[np.inf, 0.0], [0.1, 0.0]]), {"u": [1, 2]}, FIELDS, ["column 'x'", "1 NaN or infinite"]),
    (np.zeros((0, 2)), {"u": np.zeros(0)}, FIELDS, ["zero rows"]),
    (np.array([[0.1, -0.5], [0.2, 1.0]]), [1.0, 2.0], ("u",), ["1 point(s) outside", "row 1: (x=0.1, t=-0.5)"]),
]


@pytest.mark.parametrize("points, values, fields, words", BAD_ARRAYS,
                         ids=[f"{i}-{c[3][0]}" for i, c in enumerate(BAD_ARRAYS)])
def test_bad_arrays_give_one_line_naming_observations(points, values, fields, words):
    with pytest.raises(PinnsightError) as excinfo:
        make_observations(points, values, coords=COORDS, fields=fields, bounds=BOX)
    msg = _one_line_error(excinfo, "observations")
    assert all(w in msg for w in words), msg


@pytest.mark.parametrize("coords, fields, bounds, words", [
    (COORDS, FIELDS, ((0, 1),), ["1 (lo, hi) pair(s) for 2 coordinate(s)"]),
    (COORDS, FIELDS, ((0, 1), (2, 2)), ["bounds of 't'", "lo < hi"]),
    (COORDS, FIELDS, (0, 1), ["(lo, hi) pairs"]),
    (("x", "x"), FIELDS, BOX, ["coords must be distinct"]),
    (COORDS, "u", BOX, ["fields must be a sequence"]),
    (COORDS, ("u", "x"), BOX, ["both a coordinate and a field"]),
])
def test_bad_problem_description(coords, fields, bounds, words):
    with pytest.raises(PinnsightError) as excinfo:
        make_observations(P2, [1.0, 2.0], coords=coords, fields=fields, bounds=bounds)
    msg = _one_line_error(excinfo, "observations")
    assert all(w in msg for w in words), msg


def test_observations_is_the_returned_type():
    assert isinstance(_numbered(2), Observations) and _numbered(2).fields == ("u",)
