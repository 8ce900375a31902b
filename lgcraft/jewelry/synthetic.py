"""Generated rings and earrings of known dimensions (tests, examples), in millimetres,
ring axis +Z, earrings hanging down -Y.

>>> make_ring(inner_diameter=17.35).truth["inner_diameter_mm"]
17.35
"""

from __future__ import annotations

import numpy as np

from lgcraft.meshes.synthetic import (  # noqa: F401  (random_rotation: re-exported)
    SyntheticModel,
    circle_section,
    ellipsoid,
    merge,
    plate,
    random_rotation,
    rectangle_section,
    sweep,
)


def make_ring(inner_diameter: float = 17.3, band_width: float = 4.0, thickness: float = 1.8,
              head: bool = True, detail: int = 64) -> SyntheticModel:
    """A ring band of exact inner diameter (mm), axis +Z, optional head at +Y."""
    r = inner_diameter / 2 + thickness / 2
    n = max(32, detail * 2)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    path = np.column_stack([r * np.cos(t), r * np.sin(t), np.zeros(n)])
    # section in (u, w): u = tangent x Z (radial), w = Z; radial thickness, axial width
    section = rectangle_section(thickness, band_width, max(2, detail // 16))
    band = sweep(path, section, np.array([0.0, 0.0, 1.0]), closed=True)
    parts = {"band": band}
    if head:
        top = inner_diameter / 2 + thickness
        parts["head"] = ellipsoid(np.array([0.0, top + 2.0, 0.0]), np.array([3.5, 2.5, 3.5]), 3)
    truth = {"inner_diameter_mm": inner_diameter, "axis": [0.0, 0.0, 1.0], "centre": [0.0, 0.0, 0.0]}
    return SyntheticModel(parts, truth)


def make_stud_earring(diameter: float = 10.0, post_length: float = 11.0,
                      detail: int = 32) -> SyntheticModel:
    """A stud: a decorative disc facing +Z and a post going back along -Z from its centre."""
    disc = plate(circle_section(diameter / 2, max(24, detail * 2)), -1.0, 1.0, 3)
    post_path = np.column_stack([np.zeros(16), np.zeros(16), np.linspace(-1.0, -1.0 - post_length, 16)])
    post = sweep(post_path, circle_section(0.4, 12), np.array([1.0, 0.0, 0.0]), closed=False)
    return SyntheticModel({"ornament": disc, "post": post},
                          {"anchor": [0.0, 0.0, -1.0], "kind": "post"})


def make_hook_earring(hook_radius: float = 7.0, drop: float = 25.0, detail: int = 32,
                      ) -> SyntheticModel:
    """A French hook: a wire arc over the top, a drop (ellipsoid) hanging below."""
    t = np.linspace(np.radians(-60), np.radians(200), max(48, detail * 3))
    # hook arc in the YZ plane, apex at (0, hook_radius, 0) above the arc centre
    path = np.column_stack([np.zeros_like(t), hook_radius * np.sin(t), hook_radius * np.cos(t)])
    wire = sweep(path, circle_section(0.4, 10), np.array([1.0, 0.0, 0.0]), closed=False)
    start = path[-1] if path[-1, 1] < path[0, 1] else path[0]
    stem_path = np.linspace(start, start + np.array([0.0, -6.0, 0.0]), 12)
    stem = sweep(stem_path, circle_section(0.4, 10), np.array([1.0, 0.0, 0.0]), closed=False)
    gem_centre = stem_path[-1] + np.array([0.0, -drop / 2, 0.0])
    gem = ellipsoid(gem_centre, np.array([5.0, drop / 2, 3.0]), 3)
    return SyntheticModel({"hook": merge(wire, stem), "drop": gem},
                          {"anchor": [0.0, hook_radius, 0.0], "kind": "hook"})
