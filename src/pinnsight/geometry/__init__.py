"""Constructive geometry for domains that are not boxes.

Shapes (``Box``, ``Ball``/``Disk``, ``Polygon``, ``Annulus``) and their ``Union`` (``a | b``), ``Intersection``
(``a & b``) and ``Difference`` (``a - b``), each with

- ``sdf(x)`` — signed distance (negative inside; exact for primitives, the min/max bound for composites),
  ``contains(x, tol)``, ``bbox``, ``measure`` and ``perimeter``;
- ``sample_interior(key, n, dtype)`` and ``sample_boundary(key, n, dtype, part=None)`` (points, unit outward
  normals) — uniform, jit-able with a static ``n``;
- named boundary parts: box faces ``left``/``right``/``bottom``/``top`` (``back``/``front`` in 3-D), ``circle``
  (``sphere``), the annulus's ``inner``/``outer``, polygon edges ``edge{i}`` or the given ``names``, and parts
  given by predicates (``with_parts(inlet=lambda x, y: x < -0.99)``); ``part_names``, ``part_fraction(part)``;
- ``adf(x, parts=None)`` — an approximate distance function of the boundary or of some parts (Sukumar &
  Srivastava, CMAME 2022), the φ of exact Dirichlet conditions u = g + φ·N; ``distance_pieces(parts)`` the
  pieces (``project`` to each) for the transfinite interpolation of their data.
"""

from .pieces import (Face, Segment, Sphere, blend_vector, join_vector,
                     piece_distances, piece_projections)
from .shapes import Annulus, Ball, Box, Difference, Disk, Intersection, Polygon, Shape, Union

__all__ = ["Annulus", "Ball", "Box", "Difference", "Disk", "Face", "Intersection", "Polygon", "Segment", "Shape",
           "Sphere", "Union", "blend_vector", "join_vector", "piece_distances",
           "piece_projections"]
