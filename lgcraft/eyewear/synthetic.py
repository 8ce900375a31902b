"""Generated frames of known dimensions (tests, examples, benchmarks).

Built in millimetres in the canonical try-on pose (+Y up, +Z front, X across, origin at
the bridge centre at lens-centre height), then scaled and rotated on request, so a test
knows the truth it must recover.

>>> frame = make_frame(lens_width=52, bridge=18, temple_length=140)  # doctest: +SKIP
>>> sorted(frame.parts)  # doctest: +SKIP
['front', 'lens_left', 'lens_right', 'nose_pads', 'temple_left', 'temple_right']
"""

from __future__ import annotations

import numpy as np

from lgcraft.meshes.synthetic import (  # noqa: F401  (random_rotation, merge: re-exported)
    SyntheticMesh,
    SyntheticModel,
    circle_section,
    ellipsoid,
    merge,
    plate,
    random_rotation,
    rectangle_section,
    superellipse,
    sweep,
)


def _temple_path(hinge: np.ndarray, length: float, straight: float, drop_deg: float,
                 samples: int) -> np.ndarray:
    """Centreline: straight back along -Z, then bent down by ``drop_deg``; exact length."""
    s = np.linspace(0.0, length, samples)
    bend = 12.0  # mm of arc over which the temple turns down
    angle = np.clip((s - straight) / bend, 0, 1) * np.radians(drop_deg)
    # integrate the direction (0, -sin, -cos) over arc length
    ds = np.diff(s)
    mid = 0.5 * (angle[1:] + angle[:-1])
    steps = np.stack([np.zeros_like(mid), -np.sin(mid), -np.cos(mid)], -1) * ds[:, None]
    return hinge + np.vstack([np.zeros(3), np.cumsum(steps, axis=0)])


def make_frame(lens_width: float = 52.0, bridge: float = 18.0, temple_length: float = 140.0,
               lens_height: float = 40.0, detail: int = 64, lenses: bool = True,
               ) -> SyntheticModel:
    """A full-rim frame marked ``{lens_width}□{bridge}-{temple_length}`` in mm.

    ``detail`` scales the triangle count roughly linearly (64 -> about 30k faces).
    """
    a, b = lens_width / 2, lens_height / 2
    n = max(16, detail * 4)
    cx = bridge / 2 + a
    groove = 0.5
    rim_width, rim_depth = 3.0, 4.0
    parts: dict[str, SyntheticMesh] = {}
    per_side = max(2, detail // 16)
    rims = []
    for sign in (-1, 1):
        # rim: a rectangular section swept around an outline just outside the lens,
        # its inner face `groove` mm inside the lens edge (the lens sits in the groove)
        outline = superellipse(a - groove + rim_width / 2, b - groove + rim_width / 2, n)
        path = np.column_stack([outline[:, 0] + sign * cx, outline[:, 1], np.zeros(n)])
        rims.append(sweep(path, rectangle_section(rim_width, rim_depth, per_side),
                          np.array([0.0, 0.0, 1.0]), closed=True))
    # bridge: a round bar arching between the rims in the upper half
    bx = np.linspace(-(bridge / 2 + 1.5), bridge / 2 + 1.5, max(8, detail // 2))
    by = 0.30 * lens_height + 3.0 * (1 - (bx / bx[-1]) ** 2)
    bridge_mesh = sweep(np.column_stack([bx, by, np.zeros_like(bx)]),
                        circle_section(1.5, max(8, detail // 4)), np.array([0.0, 0.0, 1.0]),
                        closed=False)
    hinge_y = 0.25 * lens_height
    end_x = cx + a + rim_width - groove
    ends = []
    for sign in (-1, 1):
        # end piece: a bar from the rim back to the hinge
        ez = np.linspace(1.0, -7.0, max(4, detail // 4))
        path = np.column_stack([np.full_like(ez, sign * (end_x + 1.0)), np.full_like(ez, hinge_y), ez])
        ends.append(sweep(path, rectangle_section(6.0, 3.0, per_side),
                          np.array([1.0, 0.0, 0.0]), closed=False))
    parts["front"] = merge(*rims, bridge_mesh, *ends)
    hinge_z = -8.0
    temple_x = end_x + 1.0
    for sign, side in ((1, "left"), (-1, "right")):  # wearer's left is +X
        hinge = np.array([sign * temple_x, hinge_y, hinge_z])
        path = _temple_path(hinge, temple_length, temple_length - 35.0, 40.0, max(32, detail * 2))
        parts[f"temple_{side}"] = sweep(path, rectangle_section(4.0, 2.0, per_side),
                                        np.array([1.0, 0.0, 0.0]), closed=False)
    if lenses:
        for sign, side in ((1, "left"), (-1, "right")):
            outline = superellipse(a, b, n) + np.array([sign * cx, 0.0])
            local = outline - np.array([sign * cx, 0.0])
            lens = plate(local, -0.9, 0.9, max(2, detail // 16))
            lens.vertices[:, 0] += sign * cx
            parts[f"lens_{side}"] = lens
    pads = [ellipsoid(np.array([s * (bridge / 2 - 1.0), -0.1 * lens_height, -7.0]),
                      np.array([2.0, 4.0, 1.0]), 2) for s in (-1, 1)]
    parts["nose_pads"] = merge(*pads)
    truth = {
        "lens_width_mm": lens_width, "lens_height_mm": lens_height, "bridge_mm": bridge,
        "temple_length_mm": temple_length, "total_width_mm": 2 * (temple_x + 1.5),
        "hinge_left": [temple_x, hinge_y, hinge_z], "hinge_right": [-temple_x, hinge_y, hinge_z],
    }
    return SyntheticModel(parts, truth)


def frame_with_faces(target_faces: int, **kwargs) -> SyntheticModel:
    """A frame of about ``target_faces`` triangles (used by the benchmark)."""
    detail = 64
    for _ in range(3):  # faces grow about quadratically with detail
        probe = make_frame(detail=detail, **kwargs).faces()
        detail = max(16, int(round(detail * (target_faces / probe) ** 0.5)))
    return make_frame(detail=detail, **kwargs)
