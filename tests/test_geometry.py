"""Constructive geometry (issue 19): signed distances against closed forms, sampled points inside / on the boundary,
outward unit normals, areas by Monte Carlo, named parts, distance functions that vanish on the boundary, bad
shapes."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnsight.errors import PinnsightError
from pinnsight.geometry import Annulus, Ball, Box, Difference, Disk, Polygon

KEY = jax.random.PRNGKey(0)
L_SHAPE = ((0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2))


def _boundary(shape, n, part=None):
    return jax.jit(lambda k: shape.sample_boundary(k, n, part=part))(KEY)


def _interior(shape, n):
    return jax.jit(lambda k: shape.sample_interior(k, n))(KEY)


def _pts(*rows):
    return jnp.asarray(rows, jnp.float32)


def test_signed_distances_match_closed_forms():
    box = Box((0, 0), (2, 1))
    np.testing.assert_allclose(box.sdf(_pts((1, 0.5), (3, 0.5), (3, 2), (1, 0.9))), [-0.5, 1, math.sqrt(2), -0.1],
                               atol=1e-6)
    disk = Disk((1, 1), 0.5)
    np.testing.assert_allclose(disk.sdf(_pts((1, 1), (2, 1))), [-0.5, 0.5], atol=1e-6)
    ring = Annulus((0, 0), 0.5, 1.0)
    np.testing.assert_allclose(ring.sdf(_pts((0, 0), (0.75, 0), (2, 0))), [0.5, -0.25, 1.0], atol=1e-6)
    ell = Polygon(L_SHAPE)
    # inside, nearest the re-entrant corner (1, 1); outside in the missing square, nearest an edge
    np.testing.assert_allclose(ell.sdf(_pts((0.9, 0.9), (1.5, 1.5), (1.2, 1.1))),
                               [-math.sqrt(0.02), 0.5, 0.1], atol=1e-6)
    plate = Box((0, 0), (2, 1)) - Disk((1, 0.5), 0.25)
    np.testing.assert_allclose(plate.sdf(_pts((1, 0.5), (1.5, 0.5), (0.1, 0.5))), [0.25, -0.25, -0.1], atol=1e-6)
    ball = Ball((0, 0, 0), 2.0)
    np.testing.assert_allclose(ball.sdf(_pts((0, 0, 3))), [1.0], atol=1e-6)


SHAPES = {
    "l-shape": Polygon(L_SHAPE),
    "annulus": Annulus((0, 0), 0.5, 1.0),
    "plate-with-holes": Box((0, 0), (2, 1)) - Disk((0.5, 0.5), 0.2) - Disk((1.5, 0.5), 0.2),
    "two-disks": Disk((0, 0), 1.0) | Disk((1, 0), 1.0),
    "lens": Disk((0, 0), 1.0) & Disk((1, 0), 1.0),
    "box-3d": Box((0, 0, 0), (1, 2, 1)),
}


@pytest.mark.parametrize("name", SHAPES)
def test_samples_lie_inside_and_on_the_boundary_with_outward_unit_normals(name):
    shape = SHAPES[name]
    inner = jax.jit(lambda k: shape.sample_interior(k, 2000))(KEY)
    assert inner.shape == (2000, shape.dim) and float(jnp.max(shape.sdf(inner))) <= 1e-6
    sampler = jax.jit(lambda k: shape.sample_boundary(k, 2000))
    pts, normals = sampler(KEY)
    assert pts.shape == normals.shape == (2000, shape.dim)
    assert float(jnp.max(jnp.abs(shape.sdf(pts)))) < 1e-5
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    h = 1e-3 * shape.size
    assert bool(jnp.all(shape.sdf(pts + h * normals) > 0)) and bool(jnp.all(shape.sdf(pts - h * normals) < 0))
    again = sampler(KEY)[0]
    np.testing.assert_array_equal(pts, again)  # same key, same points


def test_unions_keep_no_inner_boundary():
    two = SHAPES["two-disks"]
    pts, _ = _boundary(two, 3000)
    assert float(jnp.min(jnp.minimum(jnp.linalg.norm(pts, axis=1), jnp.linalg.norm(pts - jnp.array([[1.0, 0]]), axis=1)))) \
        > 1 - 1e-5  # on a circle, never inside the other disk
    strip = Box((0, 0), (1, 1)) | Box((1, 0), (2, 1))  # one rectangle: the shared edge x = 1 is not boundary
    pts, _ = _boundary(strip, 4000)
    on_edge = (jnp.abs(pts[:, 0] - 1) < 1e-6) & (pts[:, 1] > 1e-6) & (pts[:, 1] < 1 - 1e-6)
    assert int(jnp.sum(on_edge)) == 0
    assert strip.perimeter == pytest.approx(6.0, rel=0.03)


@pytest.mark.parametrize("name, area", [("l-shape", 3.0), ("annulus", math.pi * 0.75),
                                        ("plate-with-holes", 2 - 2 * math.pi * 0.04)])
def test_areas_by_monte_carlo_match_the_exact_areas(name, area):
    shape = SHAPES[name]
    lo, hi = np.array(shape.bbox).T
    pts = lo + (hi - lo) * np.random.default_rng(1).random((200_000, 2))
    mc = float(np.mean(np.asarray(shape.contains(jnp.asarray(pts))))) * float(np.prod(hi - lo))
    assert mc == pytest.approx(area, rel=0.01)
    assert shape.measure == pytest.approx(area, rel=0.01)


def test_perimeters_and_uniformity():
    ell = SHAPES["l-shape"]
    assert ell.perimeter == pytest.approx(8.0) and Disk((0, 0), 2.0).perimeter == pytest.approx(4 * math.pi)
    angles = np.arctan2(*np.asarray(_boundary(Disk((0, 0), 1.0), 4000)[0]).T[::-1])
    counts = np.histogram(angles, bins=8, range=(-math.pi, math.pi))[0]
    chi2 = float(np.sum((counts - 500) ** 2 / 500))
    assert chi2 < 24.3  # 7 degrees of freedom, p ≈ 0.001
    inner = np.asarray(_interior(ell, 6000))
    share = np.mean((inner[:, 0] < 1) & (inner[:, 1] < 1))
    assert abs(share - 1 / 3) < 3 * math.sqrt(2 / 9 / 6000)


def test_named_parts_sample_their_piece_only():
    box = Box((0, 0), (2, 1))
    assert set(box.part_names) == {"left", "right", "bottom", "top"}
    for part, axis, value, normal in (("left", 0, 0, (-1, 0)), ("top", 1, 1, (0, 1))):
        pts, nrm = _boundary(box, 300, part)
        np.testing.assert_allclose(pts[:, axis], value, atol=1e-6)
        np.testing.assert_allclose(nrm, np.broadcast_to(normal, nrm.shape), atol=1e-6)
    assert box.part_fraction("left") == pytest.approx(1 / 6, abs=0.02)
    ring = SHAPES["annulus"]
    pts, nrm = _boundary(ring, 300, "inner")
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 0.5, atol=1e-6)
    np.testing.assert_allclose(np.sum(np.asarray(pts) * np.asarray(nrm), axis=1), -0.5, atol=1e-6)  # toward the centre
    channel = Box((-1, -0.5), (1, 0.5)).with_parts(inlet=lambda x, y: x < -1 + 1e-6)
    pts, nrm = _boundary(channel, 200, "inlet")
    np.testing.assert_allclose(pts[:, 0], -1.0, atol=1e-6)
    np.testing.assert_allclose(nrm, np.broadcast_to((-1.0, 0.0), nrm.shape), atol=1e-6)
    assert "inlet" not in Box((-1, -0.5), (1, 0.5)).part_names  # with_parts made a new shape
    named = Polygon(((0, 0), (1, 0), (1, 1), (0, 1)), names=("wall", "outlet", "wall", "inlet"))
    assert named.part_names == ("wall", "outlet", "inlet")
    pts, _ = _boundary(named, 200, "wall")
    assert bool(jnp.all((jnp.abs(pts[:, 1]) < 1e-6) | (jnp.abs(pts[:, 1] - 1) < 1e-6)))


def test_clockwise_polygon_keeps_its_edge_names_and_points_normals_out():
    square = Polygon(((0, 0), (0, 1), (1, 1), (1, 0)), names=("left", "top", "right", "bottom"))
    for part, axis, value in (("left", 0, 0.0), ("top", 1, 1.0), ("right", 0, 1.0), ("bottom", 1, 0.0)):
        pts, nrm = _boundary(square, 50, part)
        np.testing.assert_allclose(pts[:, axis], value, atol=1e-6)
        assert bool(jnp.all(square.sdf(pts + 1e-3 * nrm) > 0))


@pytest.mark.parametrize("part, message", [("nope", "has no boundary part 'nope'"),
                                           ("inlet", "part 'inlet' .* matches no boundary points")])
def test_unknown_and_empty_parts_are_refused(part, message):
    channel = Box((-1, -0.5), (1, 0.5)).with_parts(inlet=lambda x, y: x < -2)
    with pytest.raises(PinnsightError, match=message):
        channel.part_fraction(part)


@pytest.mark.parametrize("name", ["disk", "l-shape", "annulus", "plate"])
def test_distance_functions_vanish_on_the_boundary_are_positive_inside_with_the_inward_normal_as_gradient(name):
    shape = {"disk": Disk((0, 0), 1.0), "l-shape": SHAPES["l-shape"], "annulus": SHAPES["annulus"],
             "plate": Box((0, 0), (2, 1)) - Disk((1, 0.5), 0.25)}[name]
    pts, nrm = _boundary(shape, 500)
    assert float(jnp.max(jnp.abs(shape.adf(pts)))) < 1e-5
    inner = _interior(shape, 500)
    assert float(jnp.min(shape.adf(inner))) > 0
    # first-order normalisation: at a point h inside along the normal, φ ≈ h (away from corners)
    h = 1e-3
    corner_free = np.asarray(jnp.min(jnp.linalg.norm(pts[:, None, :] - _vertices(shape)[None], axis=2), axis=1)) > 0.05 \
        if _vertices(shape).shape[0] else np.ones(len(pts), bool)
    phi_in = np.asarray(jax.jit(shape.adf)(pts - h * nrm))[corner_free]
    np.testing.assert_allclose(phi_in, h, rtol=0.02)
    grad = jax.jit(jax.vmap(jax.grad(lambda z: shape.adf(z[None])[0])))(inner)
    hess = jax.jit(jax.vmap(jax.hessian(lambda z: shape.adf(z[None])[0])))(inner)
    assert bool(jnp.all(jnp.isfinite(grad))) and bool(jnp.all(jnp.isfinite(hess)))


def _vertices(shape):
    verts = [p for leaf in shape.leaves() for piece in leaf.pieces() for p in (getattr(piece, "p", None),)
             if p is not None]
    return jnp.asarray(verts, jnp.float32).reshape(-1, 2)


def test_a_part_given_by_a_predicate_is_resolved_to_the_whole_pieces_it_covers():
    channel = (Box((0, 0), (2, 1)) - Disk((0.5, 0.5), 0.1)).with_parts(
        inlet=lambda x, y: x < 0.01, hole=lambda x, y: (x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.2**2,
        lower=lambda x, y: y < 0.5)
    assert channel._predicate_pieces("inlet") == {"left"}  # its slack at the two corners is ignored
    assert channel._predicate_pieces("hole") == {"circle"}
    pts, _ = _boundary(Disk((0.5, 0.5), 0.1), 200)
    assert float(jnp.max(jnp.abs(channel.adf(pts, parts="hole")))) < 1e-6
    with pytest.raises(PinnsightError, match="covers only some of piece"):
        channel.adf(pts, parts="lower")  # half the circle and of the side edges


def test_a_distance_function_of_a_union_is_refused():
    with pytest.raises(PinnsightError, match="union"):
        SHAPES["two-disks"].adf(_pts((0.5, 0)))


@pytest.mark.parametrize("build, message", [
    (lambda: Disk((0, 0), 0.0), "radius must be > 0"),
    (lambda: Disk((0, 0), -1.0), "radius must be > 0"),
    (lambda: Box((0, 0), (1, 0)), "lo must be below its hi"),
    (lambda: Polygon(((0, 0), (1, 1), (1, 0), (0, 1))), "not simple"),
    (lambda: Polygon(((0, 0), (1, 0))), "at least 3 vertices"),
    (lambda: Polygon(((0, 0), (1, 0), (2, 0))), "area is zero"),
    (lambda: Difference(Disk((0, 0), 1.0), Box((-2, -2), (2, 2))), "is empty"),
    (lambda: Annulus((0, 0), 1.0, 0.5), "0 < inner < outer"),
    (lambda: Disk((0, 0), 1.0) | Ball((0, 0, 0), 1.0), "2-D and a 3-D"),
    (lambda: Disk((0, float("nan")), 1.0), "finite"),
])
def test_degenerate_shapes_are_refused_in_one_line(build, message):
    with pytest.raises(PinnsightError, match=message) as e:
        build()
    assert "\n" not in str(e.value)
