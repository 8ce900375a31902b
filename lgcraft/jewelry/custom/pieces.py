"""Building a piece: the band swept from its profile, the head, the seat and the
engraving, joined and cut with manifold3d (so the metal stays one closed solid).

Every solid gets its own manifold3d original id, so each triangle of the final mesh
still says which part of the piece it came from (shank, prong 2, seat, engraving...):
the checks name the part where they fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lgcraft.errors import OperationError

BAND_SEGMENTS = 160


@dataclass
class Piece:
    """The built piece (ring pose, mm): the metal, the stone, and what each part is."""

    order: object
    metal: object                          # manifold3d.Manifold
    stone: object | None = None            # manifold3d.Manifold
    regions: dict[int, str] = field(default_factory=dict)   # original id -> part name
    seat: object | None = None
    head: object | None = None
    layout: object | None = None
    font: object | None = None
    signet_top_y: float | None = None
    engrave_height_mm: float | None = None


def _tagged(solid, name: str, regions: dict[int, str]):
    solid = solid.as_original()
    regions[solid.original_id()] = name
    return solid


def _band(section, segments: int = BAND_SEGMENTS):
    from manifold3d import CrossSection, Manifold

    return Manifold.revolve(CrossSection([section.polygon(20)]), segments)


def _signet_head(section, face: tuple[float, float], top_y: float):
    """A flat face ``face`` (across x along) at height ``top_y``, its sides falling to the
    shank, hollowed where the finger goes."""
    from manifold3d import CrossSection, Manifold, OpType

    from lgcraft.jewelry.custom.settings import outline

    across, along = face
    plate = outline("cushion", along, across, n=96)
    points = [np.column_stack([plate[:, 0], np.full(len(plate), y), plate[:, 1]])
              for y in (top_y, top_y - 1.2)]
    # the shank's outside where the head meets it
    z = np.linspace(-section.width_mm / 2, section.width_mm / 2, 9)
    for angle in np.radians(np.linspace(50, 130, 9)):
        r = section.outer_r(z) - 0.05
        points.append(np.column_stack([r * math.cos(angle), r * math.sin(angle), z]))
    head = Manifold.hull_points(np.vstack(points))
    # the finger: the band's own inside within its width, a cylinder beyond it
    h, big = section.width_mm / 2, along + 10.0
    zs = np.linspace(h, -h, 25)
    finger = np.vstack([[0.0, -big], [section.inner_radius_mm, -big], [section.inner_radius_mm, -h],
                        np.column_stack([section.inner_r(zs[::-1]), zs[::-1]])[1:-1],
                        [section.inner_radius_mm, h], [section.inner_radius_mm, big], [0.0, big]])
    hole = Manifold.revolve(CrossSection([finger]), BAND_SEGMENTS)
    return Manifold.batch_boolean([head, hole], OpType.Subtract)


def build_piece(order) -> Piece:
    """The order's piece as manifold3d solids (mm, finger axis Z, head +Y, origin at
    the centre of the inside at mid-band).

    >>> piece = build_piece(make_order({"size": "7", "type": "band"}))  # doctest: +SKIP
    >>> piece.metal.volume()                                            # doctest: +SKIP
    """
    from manifold3d import Manifold, OpType

    from lgcraft.jewelry.custom import engrave as engraving
    from lgcraft.jewelry.custom import settings as heads

    section = order.band
    regions: dict[int, str] = {}
    piece = Piece(order, None, regions=regions)
    solids = [_tagged(_band(section), "shank", regions)]
    cutters = []
    shank_top = section.inner_radius_mm + section.thickness_mm
    if order.piece_type == "solitaire":
        seat = heads.seat_for(order.stone, shank_top)
        if order.setting == "bezel":
            head = heads.bezel_head(order.stone, seat, order.bezel_wall_mm, section)
        else:
            head = heads.prong_head(order.stone, seat, order.setting, order.prong_diameter_mm,
                                    order.seat_depth_mm, section)
        solids += [_tagged(solid, name, regions) for name, solid in head.solids]
        cutters.append(_tagged(heads.stone_cutter(order.stone, seat, straight=order.setting == "bezel"),
                                "seat", regions))
        piece.stone = heads.stone_solid(order.stone, seat)
        piece.seat, piece.head = seat, head
    elif order.piece_type == "signet":
        piece.signet_top_y = shank_top + 2.5
        solids.append(_tagged(_signet_head(section, order.face_mm, piece.signet_top_y), "signet face", regions))
    if order.engrave:
        from lgcraft.jewelry.custom.fonts import load_font

        font = load_font(order.font)
        arc = 0.55 if order.piece_type != "band" and order.engrave_side == "outside" else 0.8
        if order.engrave_side == "top":
            height = order.engrave_height_mm or round(min(order.face_mm[1] * 0.45, 5.0), 2)
        else:
            height = order.engrave_height_mm or round(min(max(section.width_mm - 0.6, 1.0), 4.0), 2)
        layout = engraving.layout_text(order.engrave, font, height)
        if order.engrave_height_mm is None:  # a long text gets smaller letters, down to 1 mm
            if order.engrave_side == "top":
                room = 0.85 * order.face_mm[0]
            else:
                radius = section.inner_radius_mm if order.engrave_side == "inside" else float(section.outer_r(0.0))
                room = 2 * math.pi * radius * arc
            if layout.length_mm > room and height * room / layout.length_mm >= 1.0:
                height = round(height * room / layout.length_mm * 0.98, 2)
                layout = engraving.layout_text(order.engrave, font, height)
        engraving.check_fits(layout, order.engrave_side, section, arc_fraction=arc,
                             face_mm=order.face_mm)
        cutter = engraving.curved_cutter(layout, order.engrave_side, order.engrave_depth_mm, section,
                                         signet_top_y=piece.signet_top_y)
        cutters.append(_tagged(cutter, "engraving", regions))
        piece.layout, piece.font, piece.engrave_height_mm = layout, font, height
    metal = Manifold.batch_boolean(solids, OpType.Add) if len(solids) > 1 else solids[0]
    if cutters:
        metal = Manifold.batch_boolean([metal, *cutters], OpType.Subtract)
    status = metal.status()
    if metal.is_empty() or str(status) not in ("Error.NoError", "NoError"):
        raise OperationError(f"{order.name}: the boolean left no valid solid ({status})")
    piece.metal = metal
    return piece


def mesh_arrays(solid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices (n, 3) float64, faces (m, 3) int64, original id per face) of a solid."""
    mesh = solid.to_mesh()
    vertices = np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3]
    faces = np.asarray(mesh.tri_verts, dtype=np.int64)
    run_index = np.asarray(mesh.run_index, dtype=np.int64)
    run_ids = np.asarray(mesh.run_original_id, dtype=np.int64)
    ids = np.repeat(run_ids, np.diff(run_index) // 3) if len(run_ids) else np.zeros(len(faces), np.int64)
    if len(ids) != len(faces):
        raise OperationError("manifold3d mesh runs do not cover its faces")  # its contract broken
    return vertices, faces, ids
