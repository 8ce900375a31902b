"""Stone settings: the stone's solid, its cutter (the seat) and the head that holds it.

Ring pose (mm): finger axis Z, the head toward +Y; a stone's table faces +Y, its length
(for elongated cuts) runs along the finger. Proportions of the stone as a share of its
width: crown 16 %, girdle 3 %, table 57 % (GIA's excellent-cut round brilliant), the
pavilion takes the rest of the cut's total depth.

Heads:

- 4-prong / 6-prong: round-tipped prongs from the shank up past the girdle, each
  notched by the seat (the cutter) ``seat_depth`` deep, joined by a gallery rail under
  the girdle;
- bezel: a metal collar ``bezel_wall`` thick around the girdle and down the pavilion,
  cut by the same cutter so its lip rolls over the crown.

The cutter, as in JewelCraft's cutters, is the stone grown by a fit clearance, plus the
table's prism upwards; subtracting it from the head leaves the seat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CROWN, GIRDLE, TABLE = 0.16, 0.03, 0.57
FIT_CLEARANCE_MM = 0.02
SETTINGS = ("4-prong", "6-prong", "bezel")


@dataclass(frozen=True)
class Seat:
    """Where the stone sits: heights (Y, mm) of culet, girdle bottom/top and table."""

    culet_y: float
    girdle_bottom_y: float
    girdle_top_y: float
    table_y: float


def outline(cut_outline: str, length: float, width: float, n: int = 48) -> np.ndarray:
    """The girdle outline in (x, z): x across the finger (width), z along it (length)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    a, b = width / 2, length / 2
    if cut_outline in ("round", "oval"):
        return np.column_stack([a * np.cos(t), b * np.sin(t)])
    if cut_outline in ("square", "cushion", "octagon"):
        # superellipse: exponent 8 ~ a square with small corners, 4 a cushion
        p = {"square": 10.0, "cushion": 3.5, "octagon": 10.0}[cut_outline]
        c, s = np.cos(t), np.sin(t)
        pts = np.column_stack([a * np.sign(c) * np.abs(c) ** (2 / p), b * np.sign(s) * np.abs(s) ** (2 / p)])
        if cut_outline == "octagon":  # cut corners: clip |x|/a + |z|/b <= 1.7
            k = np.abs(pts[:, 0]) / a + np.abs(pts[:, 1]) / b
            pts = pts * np.minimum(1.0, 1.7 / np.maximum(k, 1e-9))[:, None]
        return pts
    if cut_outline == "marquise":  # two circular arcs meeting in points at +-z
        x = a * np.cos(t)
        z = b * np.sin(t)
        return np.column_stack([x * np.abs(np.cos(t)) ** 0.35, z])
    if cut_outline == "pear":  # round at -z, point at +z
        x = a * np.cos(t)
        z = b * np.sin(t)
        taper = 1.0 - 0.55 * np.clip(z / b, 0.0, None) ** 1.5
        return np.column_stack([x * taper, z])
    raise ValueError(cut_outline)


def seat_for(stone, shank_top_y: float, gap_mm: float = 0.3) -> Seat:
    width = stone.width_mm
    pavilion = stone.depth_mm - (CROWN + GIRDLE) * width
    culet = shank_top_y + gap_mm
    bottom = culet + pavilion
    top = bottom + GIRDLE * width
    return Seat(culet, bottom, top, top + CROWN * width)


def _ring_points(xz: np.ndarray, y: float) -> np.ndarray:
    return np.column_stack([xz[:, 0], np.full(len(xz), y), xz[:, 1]])


def stone_solid(stone, seat: Seat):
    """The stone as a faceted solid (the convex hull of table, girdle and culet)."""
    from manifold3d import Manifold

    shape = stone.shape
    girdle = outline(shape.outline, stone.length_mm, stone.width_mm, n=16 if shape.outline == "round" else 32)
    points = np.vstack([_ring_points(girdle * TABLE, seat.table_y),
                        _ring_points(girdle, seat.girdle_top_y),
                        _ring_points(girdle, seat.girdle_bottom_y),
                        _ring_points(girdle * 0.03, seat.culet_y)])
    return Manifold.hull_points(points)


def stone_cutter(stone, seat: Seat, clearance_mm: float = FIT_CLEARANCE_MM, above_mm: float = 6.0,
                 straight: bool = False):
    """The seat cutter: the stone grown by ``clearance_mm``, the table's prism above.
    ``straight`` (bezels): the girdle's own prism above the girdle instead of the crown's
    slope, so the bezel's wall rises straight (it is pushed over the crown when set)
    rather than ending in a thin wedge."""
    from manifold3d import Manifold

    shape = stone.shape
    w, length = stone.width_mm + 2 * clearance_mm, stone.length_mm + 2 * clearance_mm
    girdle = outline(shape.outline, length, w, n=96)
    if straight:
        crown = Manifold.hull_points(np.vstack([_ring_points(girdle, seat.girdle_bottom_y),
                                                _ring_points(girdle, seat.table_y + above_mm)]))
    else:
        crown = Manifold.hull_points(np.vstack([_ring_points(girdle, seat.girdle_bottom_y),
                                                _ring_points(girdle, seat.girdle_top_y),
                                                _ring_points(girdle * TABLE, seat.table_y + clearance_mm)]))
    pavilion = Manifold.hull_points(np.vstack([_ring_points(girdle, seat.girdle_bottom_y + 1e-3),
                                               _ring_points(girdle * 0.05, seat.culet_y - clearance_mm)]))
    top = Manifold.hull_points(np.vstack([_ring_points(girdle * TABLE, seat.table_y),
                                          _ring_points(girdle * TABLE, seat.table_y + above_mm)]))
    return Manifold.batch_boolean([crown, pavilion, top], _add())


def _add():
    from manifold3d import OpType

    return OpType.Add


def _subtract():
    from manifold3d import OpType

    return OpType.Subtract


def _capsule(a, b, radius: float, segments: int = 20):
    from manifold3d import Manifold

    sa = Manifold.sphere(radius, segments).translate(tuple(a))
    sb = Manifold.sphere(radius, segments).translate(tuple(b))
    return Manifold.batch_hull([sa, sb])


def prong_angles(setting: str, cut_outline: str) -> list[float]:
    """Prong directions in the (x, z) plane: corners for square cuts, the points of a
    marquise or pear held by their own prongs."""
    count = 6 if setting == "6-prong" else 4
    if count == 4 and cut_outline in ("marquise", "pear"):
        return [math.pi / 2, 0.0, -math.pi / 2, math.pi]
    start = math.pi / 4 if count == 4 else math.pi / 6
    return [start + 2 * math.pi * k / count for k in range(count)]


def outline_radius(xz: np.ndarray, angle: float) -> float:
    """Distance from the centre to the outline along direction ``angle`` (x = cos, z = sin)."""
    ang = np.arctan2(xz[:, 1], xz[:, 0])
    r = np.hypot(xz[:, 0], xz[:, 1])
    order = np.argsort(ang)
    ang, r = ang[order], r[order]
    return float(np.interp(angle, np.r_[ang - 2 * np.pi, ang, ang + 2 * np.pi], np.r_[r, r, r]))


@dataclass
class Head:
    """The head's named solids (before the seat is cut) and where its prongs are."""

    solids: list[tuple[str, object]]
    prong_tops: list[tuple[float, float, float]]
    prong_axes: list[tuple[tuple[float, float, float], tuple[float, float, float]]]


def prong_head(stone, seat: Seat, setting: str, prong_diameter: float, seat_depth: float,
               band) -> Head:
    """Prongs that stand upright beside the stone from a knee below the girdle up past
    it (seated ``seat_depth`` into the girdle), then run down and in to the shank; a
    gallery rail joins the knees. Upright at the stone, the prongs clear the pavilion
    except at the seat itself."""
    from manifold3d import Manifold

    shape = stone.shape
    girdle = outline(shape.outline, stone.length_mm, stone.width_mm, n=96)
    radius = prong_diameter / 2
    reach = radius - seat_depth  # prong centre beyond the girdle outline
    r_mid = band.inner_radius_mm + band.thickness_mm * 0.55
    tip_y = seat.girdle_top_y + CROWN * stone.width_mm * 0.45
    knee_y = seat.girdle_bottom_y - 0.45 * (seat.girdle_bottom_y - seat.culet_y)
    half = max(band.width_mm / 2 - radius * 0.9, 0.0)
    solids, tops, axes = [], [], []
    for k, angle in enumerate(prong_angles(setting, shape.outline)):
        direction = np.array([math.cos(angle), math.sin(angle)])
        top_xz = direction * (outline_radius(girdle, angle) + reach)
        bottom_xz = top_xz * 0.3
        bottom_xz[1] = float(np.clip(bottom_xz[1], -half, half))
        bottom = np.array([bottom_xz[0], math.sqrt(max(r_mid ** 2 - bottom_xz[0] ** 2, 0.0)), bottom_xz[1]])
        knee = np.array([top_xz[0], knee_y, top_xz[1]])
        top = np.array([top_xz[0], tip_y, top_xz[1]])
        prong = Manifold.batch_boolean([_capsule(bottom, knee, radius), _capsule(knee, top, radius)], _add())
        solids.append((f"prong {k + 1}", prong))
        tops.append(tuple(top))
        axes.append((tuple(knee), tuple(top)))
    # the rail: a flat ring of wire following the girdle outline through the knees
    from manifold3d import CrossSection, FillRule

    loop = outline(shape.outline, stone.length_mm, stone.width_mm, n=64)
    r = np.hypot(loop[:, 0], loop[:, 1])
    loop = loop * ((r + reach) / r)[:, None]
    wire = max(0.85, 0.8 * prong_diameter)  # square wire, as thick as a slim prong
    path = CrossSection([np.column_stack([loop[:, 0], -loop[:, 1]])], FillRule.NonZero)
    ring = CrossSection.batch_boolean([path.offset(wire / 2), path.offset(-wire / 2)], _subtract())
    # extruded along Z, turned so Z becomes Y (and the -z drawn above becomes +z)
    rail = Manifold.extrude(ring, wire).rotate((-90.0, 0.0, 0.0)).translate((0.0, knee_y - wire / 2, 0.0))
    solids.append(("gallery rail", rail))
    return Head(solids, tops, axes)


def bezel_head(stone, seat: Seat, wall_mm: float, band) -> Head:
    """A collar ``wall_mm`` thick around the girdle and down the pavilion (the stone's
    outline grown by the wall at each height), narrowing into the shank."""
    from manifold3d import Manifold

    shape = stone.shape

    def ring(scale: float, y: float) -> np.ndarray:
        xz = outline(shape.outline, stone.length_mm * scale + 2 * wall_mm, stone.width_mm * scale + 2 * wall_mm,
                     n=96)
        return _ring_points(xz, y)

    lip_y = seat.girdle_top_y + 0.35 * CROWN * stone.width_mm
    pavilion = seat.girdle_bottom_y - seat.culet_y
    base_y = band.inner_radius_mm + band.thickness_mm * 0.6
    narrow = outline(shape.outline, min(stone.length_mm * 0.55, band.width_mm * 0.9),
                     stone.width_mm * 0.55, n=96)
    collar = Manifold.hull_points(np.vstack([ring(1.0, lip_y), ring(1.0, seat.girdle_bottom_y),
                                             ring(0.5, seat.girdle_bottom_y - 0.5 * pavilion),
                                             ring(0.1, seat.culet_y), _ring_points(narrow, base_y)]))
    return Head([("bezel", collar)], [], [])
