"""One custom piece from order to files: build, measure, check, weigh, price, write.

Outputs (``NAME`` = the order's name): ``NAME.stl`` and ``NAME.3mf`` (the metal, mm,
scaled by the casting shrinkage), ``NAME.glb`` (try-on conventions as `jewelry prep`
writes them: metres, finger axis Z, head +Y, origin at the centre of the inside, nodes
``anchor_ring_centre`` and ``anchor_ring_top``; the stone as its own node),
``NAME.front.png``, ``NAME.three_quarter.png`` and, when engraved, ``NAME.engraving.png``;
the report (``NAME.report.json``) is written last by the caller.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lgcraft.jewelry.custom.checks import Limits

ENGINE = "custom-1"
COLOURS = {"yellow": (222, 184, 92), "rose": (222, 158, 132), "white": (205, 207, 212)}
STONE_COLOUR = (196, 222, 242)


@dataclass(frozen=True)
class CustomOptions:
    """What applies to every order of a run (pickles into batch workers)."""

    limits: Limits = field(default_factory=Limits)
    previews: bool = True
    currency: str | None = None

    def key(self) -> str:
        import json

        data = json.dumps({**asdict(self), "engine": ENGINE}, sort_keys=True, default=str)
        return hashlib.sha256(data.encode()).hexdigest()[:16]


def _metal_colour(metal: str) -> tuple[int, int, int]:
    family = "yellow" if "yellow" in metal else "rose" if "rose" in metal else "white"
    return COLOURS[family]


def _gltf_material(name: str, colour, metallic: float, roughness: float, alpha: float = 1.0):
    from lgcraft.meshes.gltf import GltfMaterial

    spec = {"name": name, "pbrMetallicRoughness": {
        "baseColorFactor": [c / 255 for c in colour] + [alpha], "metallicFactor": metallic,
        "roughnessFactor": roughness}}
    if alpha < 1:
        spec["alphaMode"] = "BLEND"
    return GltfMaterial(spec)


def measured_inner_diameter(vertices: np.ndarray, section) -> float:
    """Twice the smallest distance from the finger axis of the band's inside within its
    width, from the mesh's vertices (the same points `jewelry prep` fits)."""
    within = np.abs(vertices[:, 2]) <= section.width_mm / 2 + 1e-6
    r = np.hypot(vertices[within, 0], vertices[within, 1])
    return float(2 * r.min())


def make_piece(order, out_dir: Path, options: CustomOptions) -> dict[str, Any]:
    """Build ``order``, check it, write its files into ``out_dir``; returns the report
    (without writing it: the batch runner writes it last, or `write_piece_report`)."""
    from lgcraft.files import write_atomic
    from lgcraft.jewelry.custom import render
    from lgcraft.jewelry.custom.checks import checks_json, run_checks
    from lgcraft.jewelry.custom.metals import weight_g
    from lgcraft.jewelry.custom.pieces import build_piece, mesh_arrays
    from lgcraft.jewelry.custom.printfiles import shrink_scale, stl_bytes, threemf_bytes
    from lgcraft.jewelry.custom.sizes import sizes_for_diameter
    from lgcraft.meshes.gltf import glb_from_parts
    from lgcraft.meshes.part import Part

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 3)
        clock = now

    piece = build_piece(order)
    vertices, faces, face_region = mesh_arrays(piece.metal)
    lap("build")
    checks = run_checks(piece, vertices, faces, face_region, options.limits)
    lap("checks")
    name = order.name
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, str] = {}
    scale = shrink_scale(order.shrink_pct)
    printed = vertices * scale
    write_atomic(out_dir / f"{name}.stl", stl_bytes(printed, faces, name))
    outputs["stl"] = str(out_dir / f"{name}.stl")
    write_atomic(out_dir / f"{name}.3mf", threemf_bytes(
        printed, faces, name, {"Title": name, "Designer": "lgcraft jewelry custom",
                               "Description": f"{order.piece_type}, {order.metal}, "
                                              f"shrink {order.shrink_pct:g} %"}))
    outputs["3mf"] = str(out_dir / f"{name}.3mf")
    metal_colour = _metal_colour(order.metal)
    parts = [Part("ring", vertices, faces, material=_gltf_material(order.alloy.name, metal_colour, 1.0, 0.25),
                  role="ring")]
    stone_v = stone_f = None
    if piece.stone is not None:
        stone_v, stone_f, _ = mesh_arrays(piece.stone)
        parts.append(Part("stone", stone_v, stone_f, role="stone",
                          material=_gltf_material(order.stone.kind, STONE_COLOUR, 0.0, 0.05, 0.85)))
    top = max(float(p.vertices[:, 1].max()) for p in parts)
    anchors = {"ring_centre": [0.0, 0.0, 0.0], "ring_top": [0.0, top, 0.0]}
    write_atomic(out_dir / f"{name}.glb", glb_from_parts(parts, anchors, scale=0.001))
    outputs["glb"] = str(out_dir / f"{name}.glb")
    lap("export")
    if options.previews:
        all_v = vertices if stone_v is None else np.vstack([vertices, stone_v])
        all_f = faces if stone_f is None else np.vstack([faces, stone_f + len(vertices)])
        colours = np.tile(np.asarray(metal_colour, float), (len(all_f), 1))
        if stone_f is not None:
            colours[len(faces):] = STONE_COLOUR
        for view, (yaw, pitch) in {"front": (0.0, 0.0), "three_quarter": (40.0, 12.0)}.items():
            image = render.render_perspective(all_v, all_f, colours, yaw_deg=yaw, pitch_deg=pitch)
            write_atomic(out_dir / f"{name}.{view}.png", render.png_bytes(image))
            outputs[f"preview_{view}"] = str(out_dir / f"{name}.{view}.png")
        if order.engrave:
            image = engraving_preview(vertices, faces, metal_colour, order, piece)
            write_atomic(out_dir / f"{name}.engraving.png", render.png_bytes(image))
            outputs["preview_engraving"] = str(out_dir / f"{name}.engraving.png")
        lap("previews")
    volume = float(piece.metal.volume())
    inner = measured_inner_diameter(vertices, order.band)
    metal_g = weight_g(volume, order.alloy.density_g_cm3)
    status = "fail" if any(c.status == "fail" for c in checks) else \
        "warn" if any(c.status == "warn" for c in checks) else "pass"
    report: dict[str, Any] = {
        "name": name, "engine": ENGINE, "order": order.parameters(), "order_key": order.key(),
        "type": order.piece_type,
        "ring": {"inner_diameter_mm": round(inner, 3),
                 "inner_diameter_ordered_mm": round(order.size.inner_diameter_mm, 4),
                 "inner_circumference_mm": round(inner * math.pi, 2),
                 "size_ordered": f"{order.size.system.upper()} {order.size.label}",
                 "sizes": sizes_for_diameter(inner)},
        "volume_mm3": round(volume, 2),
        "metal": {"term": order.metal, "alloy": order.alloy.name, "fineness": order.alloy.fineness,
                  "density_g_cm3": order.alloy.density_g_cm3, "density_source": order.alloy.source},
        "metal_weight_g": round(metal_g, 3),
        "stone": None, "quote": None,
        "checks": checks_json(checks), "status": status,
        "mesh": {"triangles": int(len(faces)), "vertices": int(len(vertices)),
                 "sha256_stl": hashlib.sha256(Path(outputs["stl"]).read_bytes()).hexdigest()},
        "print": {"shrink_pct": order.shrink_pct, "scale": round(scale, 6)},
        "limits": asdict(options.limits), "limit_sources": Limits.SOURCES,
        "outputs": outputs, "timings_s": timings,
    }
    if order.stone is not None:
        carat = order.stone.carat
        report["stone"] = {"kind": order.stone.kind, "cut": order.stone.cut, "size": order.stone.size_label,
                           "length_mm": round(order.stone.length_mm, 3), "width_mm": round(order.stone.width_mm, 3),
                           "depth_mm": round(order.stone.depth_mm, 3), "carat": round(carat, 3),
                           "weight_g": round(carat * 0.2, 4), "setting": order.setting}
    if order.metal_price_per_g is not None:
        report["quote"] = {"metal_price_per_g": order.metal_price_per_g, "currency": options.currency,
                           "metal_cost": round(metal_g * order.metal_price_per_g, 2)}
    if piece.font is not None:
        report["engraving"] = {"text": order.engrave, "side": order.engrave_side,
                               "depth_mm": order.engrave_depth_mm, "letter_height_mm": piece.engrave_height_mm,
                               "length_mm": round(piece.layout.length_mm, 2),
                               "font": {"name": piece.font.name, "file": str(piece.font.path),
                                        "face": piece.font.face, "licence": piece.font.licence}}
    return report


def engraving_preview(vertices, faces, colour, order, piece) -> np.ndarray:
    """The engraving seen square-on: the band's inside or outside unrolled, or the
    signet's face from above."""
    from lgcraft.jewelry.custom import render

    colours = np.tile(np.asarray(colour, float), (len(faces), 1))
    layout = piece.layout
    # cavity shading: the deeper below the untouched surface, the darker (as the grooves
    # look under a loupe, where floors and surface face the eye alike)
    centres = vertices[faces].mean(axis=1)
    section = order.band
    if order.engrave_side == "top":
        below = piece.signet_top_y - centres[:, 1]
    elif order.engrave_side == "inside":
        below = np.hypot(centres[:, 0], centres[:, 1]) - section.inner_r(centres[:, 2])
    else:
        below = section.outer_r(centres[:, 2]) - np.hypot(centres[:, 0], centres[:, 1])
    colours *= (1.0 - 0.6 * np.clip(below / max(order.engrave_depth_mm, 0.05), 0.0, 1.0))[:, None]
    if order.engrave_side == "top":
        rotation = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, -1.0, 0]])  # look down -Y, up = -Z
        across, along = order.face_mm
        px = 0.02
        w, h = int(across * 1.15 / px), int(along * 1.15 / px)
        cam = vertices @ rotation.T
        screen = np.column_stack([w / 2 + cam[:, 0] / px, h / 2 - cam[:, 1] / px, cam[:, 2]])
        ids = render.zbuffer(screen[faces], w, h)
        return render.shade(vertices, faces, colours, ids, np.array([0.0, 0.0, -1.0]), rotation)
    radius = section.inner_radius_mm if order.engrave_side == "inside" else float(section.outer_r(0.0))
    span = (layout.length_mm + 2.0, section.width_mm + 0.6)
    return render.render_unrolled(vertices, faces, colours, radius=radius, side=order.engrave_side,
                                  span_mm=span)
