"""Building blocks for generated models of known dimensions (tests, examples,
benchmarks): sweeps, plates, ellipsoids, named parts with the truth they were built
from, written in any format, scaled and rotated on request. The trades build their
pieces from these (`lgcraft.eyewear.synthetic`, `lgcraft.jewelry.synthetic`).

>>> ball = SyntheticModel({"ball": ellipsoid(np.zeros(3), np.ones(3))})
>>> ball.faces() > 0
True
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
