"""Generated frames, rings and earrings of known dimensions (tests, examples, benchmarks).

Everything is built in millimetres in the canonical try-on pose (+Y up, +Z front, X
across, origin at the bridge centre at lens-centre height), then scaled and rotated on
request, so a test knows the truth it must recover.

>>> frame = make_frame(lens_width=52, bridge=18, temple_length=140)  # doctest: +SKIP
>>> sorted(frame)  # doctest: +SKIP
['front', 'lens_left', 'lens_right', 'nose_pads', 'temple_left', 'temple_right']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SyntheticMesh:
    vertices: np.ndarray
    faces: np.ndarray


@dataclass
class SyntheticModel:
    """Named parts plus the truth they were built from (all in mm, canonical pose)."""

    parts: dict[str, SyntheticMesh]
    truth: dict[str, object] = field(default_factory=dict)

    def faces(self) -> int:
        return sum(len(p.faces) for p in self.parts.values())

    def transformed(self, matrix: np.ndarray, scale: float = 1.0) -> SyntheticModel:
        """A copy with vertices scaled by ``scale`` then rotated/translated by ``matrix`` (4x4)."""
        parts = {}
        for name, part in self.parts.items():
            v = part.vertices * scale
            v = v @ matrix[:3, :3].T + matrix[:3, 3]
            parts[name] = SyntheticMesh(v, part.faces.copy())
        return SyntheticModel(parts, dict(self.truth))

    def to_scene(self):
        """A trimesh Scene with one named node per part (for writing any format)."""
        import trimesh

        scene = trimesh.Scene()
        for name, part in self.parts.items():
            mesh = trimesh.Trimesh(part.vertices, part.faces, process=False)
            scene.add_geometry(mesh, node_name=name, geom_name=name)
        return scene

    def save(self, path) -> None:
        """Write as OBJ/STL/PLY/OFF/GLB/GLTF (by suffix); STL/PLY/OFF hold one merged mesh."""
        from pathlib import Path

        path = Path(path)
        suffix = path.suffix.lower()
        scene = self.to_scene()
        if suffix in (".stl", ".ply", ".off"):
            data = scene.to_mesh().export(file_type=suffix[1:])
        elif suffix == ".obj":
            data = scene.export(file_type="obj", include_texture=False)
        else:
            data = scene.export(file_type=suffix[1:])
        if isinstance(data, dict):  # glTF: the JSON plus its buffer files
            for name, blob in data.items():
                target = path if name.endswith(".gltf") else path.parent / name
                target.write_bytes(blob)
            return
        path.write_bytes(data if isinstance(data, bytes) else data.encode())


def _orient_outward(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = vertices[faces]
    c = vertices.mean(axis=0)
    vol = np.einsum("ij,ij->i", tri[:, 0] - c, np.cross(tri[:, 1] - c, tri[:, 2] - c)).sum()
    return faces[:, ::-1].copy() if vol < 0 else faces


def sweep(path: np.ndarray, section: np.ndarray, reference: np.ndarray, closed: bool,
          ) -> SyntheticMesh:
    """Sweep a closed 2-D ``section`` (k,2) along ``path`` (m,3); caps when not closed."""
    m, k = len(path), len(section)
    if closed:
        tangent = np.roll(path, -1, axis=0) - np.roll(path, 1, axis=0)
    else:
        tangent = np.gradient(path, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    ref = np.broadcast_to(np.asarray(reference, float), path.shape)
    u = np.cross(tangent, ref)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    w = np.cross(u, tangent)
    verts = (path[:, None, :] + section[None, :, 0, None] * u[:, None, :]
             + section[None, :, 1, None] * w[:, None, :]).reshape(-1, 3)
    rings = m if closed else m - 1
    i = np.arange(rings)[:, None]
    j = np.arange(k)[None, :]
    a = i * k + j
    b = i * k + (j + 1) % k
    c = ((i + 1) % m) * k + (j + 1) % k
    d = ((i + 1) % m) * k + j
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                            np.stack([a, c, d], -1).reshape(-1, 3)])
    if not closed:
        start = len(verts)
        verts = np.vstack([verts, path[0], path[-1]])
        jj = np.arange(k)
        cap0 = np.stack([np.full(k, start), (jj + 1) % k, jj], -1)
        cap1 = np.stack([np.full(k, start + 1), (m - 1) * k + jj, (m - 1) * k + (jj + 1) % k], -1)
        faces = np.concatenate([faces, cap0, cap1])
    return SyntheticMesh(verts, _orient_outward(verts, faces))


def superellipse(a: float, b: float, n: int, power: float = 4.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = a * np.sign(c) * np.abs(c) ** (2 / power)
    y = b * np.sign(s) * np.abs(s) ** (2 / power)
    return np.stack([x, y], -1)


def rectangle_section(width: float, height: float, per_side: int) -> np.ndarray:
    """A closed rectangle outline with ``per_side`` points per side."""
    t = np.linspace(0, 1, per_side, endpoint=False)
    hw, hh = width / 2, height / 2
    sides = [np.stack([-hw + 2 * hw * t, np.full_like(t, -hh)], -1),
             np.stack([np.full_like(t, hw), -hh + 2 * hh * t], -1),
             np.stack([hw - 2 * hw * t, np.full_like(t, hh)], -1),
             np.stack([np.full_like(t, -hw), hh - 2 * hh * t], -1)]
    return np.concatenate(sides)


def circle_section(radius: float, n: int) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([radius * np.cos(t), radius * np.sin(t)], -1)


def plate(outline: np.ndarray, z0: float, z1: float, rings: int) -> SyntheticMesh:
    """A filled flat plate (lens): Delaunay-triangulated faces, side wall on ``outline``.

    ``outline`` must run counter-clockwise; the interior gets a grid at about the
    outline's point spacing.
    """
    from scipy.spatial import Delaunay

    n = len(outline)
    spacing = float(np.linalg.norm(np.diff(outline, axis=0), axis=1).mean())
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    gx = np.arange(lo[0] + spacing, hi[0], spacing)
    gy = np.arange(lo[1] + spacing, hi[1], spacing * 0.866)
    xx, yy = np.meshgrid(gx, gy)
    xx = xx + (np.arange(len(gy))[:, None] % 2) * spacing / 2
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    # keep grid points well inside the outline (radial test against the outline)
    centre = outline.mean(axis=0)
    ang_o = np.arctan2(outline[:, 1] - centre[1], outline[:, 0] - centre[0])
    rad_o = np.linalg.norm(outline - centre, axis=1)
    order = np.argsort(ang_o)
    ang_g = np.arctan2(grid[:, 1] - centre[1], grid[:, 0] - centre[0])
    limit = np.interp(ang_g, ang_o[order], rad_o[order], period=2 * np.pi)
    grid = grid[np.linalg.norm(grid - centre, axis=1) < limit - 0.7 * spacing]
    pts2 = np.vstack([outline, grid])
    tri = Delaunay(pts2).simplices
    cent = pts2[tri].mean(axis=1)
    ang_c = np.arctan2(cent[:, 1] - centre[1], cent[:, 0] - centre[0])
    lim_c = np.interp(ang_c, ang_o[order], rad_o[order], period=2 * np.pi)
    tri = tri[np.linalg.norm(cent - centre, axis=1) < lim_c]
    # counter-clockwise triangles face +Z
    a, b, c = pts2[tri[:, 0]], pts2[tri[:, 1]], pts2[tri[:, 2]]
    ccw = ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])) > 0
    tri[~ccw] = tri[~ccw][:, ::-1]
    m = len(pts2)
    vertices = np.vstack([np.column_stack([pts2, np.full(m, z1)]),
                          np.column_stack([pts2, np.full(m, z0)])])
    j = np.arange(n)
    lower, upper = m, 0
    side = [np.stack([lower + j, upper + (j + 1) % n, upper + j], -1),
            np.stack([lower + j, lower + (j + 1) % n, upper + (j + 1) % n], -1)]
    faces = np.concatenate([tri, tri[:, ::-1] + m, *side])
    del rings
    return SyntheticMesh(vertices, _orient_outward(vertices, faces))


def ellipsoid(centre, radii, subdivisions: int = 2) -> SyntheticMesh:
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    return SyntheticMesh(np.asarray(sphere.vertices) * radii + centre, np.asarray(sphere.faces))


def merge(*meshes: SyntheticMesh) -> SyntheticMesh:
    verts, faces, offset = [], [], 0
    for mesh in meshes:
        verts.append(mesh.vertices)
        faces.append(mesh.faces + offset)
        offset += len(mesh.vertices)
    return SyntheticMesh(np.vstack(verts), np.vstack(faces))


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


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 4x4 rotation matrix."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    rot = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    matrix = np.eye(4)
    matrix[:3, :3] = rot
    return matrix
