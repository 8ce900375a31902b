"""A model's named pieces (`Part`) and the small geometry every step shares.

>>> Part("lens", np.zeros((3, 3)), np.array([[0, 1, 2]])).triangles
1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (n, 3) arrays; faster than `np.cross` on strided views."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    np.subtract(ay * bz, az * by, out=out[..., 0])
    np.subtract(az * bx, ax * bz, out=out[..., 1])
    np.subtract(ax * by, ay * bx, out=out[..., 2])
    return out


def triangle_areas(tri: np.ndarray) -> np.ndarray:
    """Area of each triangle of (m, 3, 3) corners."""
    cross = cross3(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return 0.5 * np.sqrt(np.einsum("ij,ij->i", cross, cross))


@dataclass
class Part:
    """One named piece of a model: triangles, optional UVs and material."""

    name: str
    vertices: np.ndarray  # (n, 3) float64
    faces: np.ndarray  # (m, 3) int64
    uv: np.ndarray | None = None  # (n, 2) or None
    material: Any = None  # a trimesh material, kept for export
    role: str = "part"  # front, temple_left, lens_right, nose_pads, band, ...
    original_name: str = ""
    components: np.ndarray | None = None  # connected-component label per face, when known
    # where an analysis took this part from: (index of the part it analysed, indices of
    # that part's faces, or None for all of them)
    source: tuple[int, np.ndarray | None] | None = None

    @property
    def triangles(self) -> int:
        return int(len(self.faces))

    def copy(self, **changes) -> Part:
        """A copy with ``changes``; arrays not replaced are copied, not shared."""
        data = dict(name=self.name, material=self.material, role=self.role,
                    original_name=self.original_name, components=self.components,
                    source=self.source)
        for name in ("vertices", "faces", "uv"):
            if name not in changes:
                value = getattr(self, name)
                data[name] = None if value is None else value.copy()
        data.update(changes)
        return Part(**data)



def face_samples(parts, limit: int = 40000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Face centroids and areas of all parts (a random subset of at most ``limit``)."""
    total = sum(len(p.faces) for p in parts)
    rng = np.random.default_rng(seed)
    cents, areas = [], []
    for part in parts:
        faces = part.faces
        if total > limit:  # subsample before the arithmetic
            keep = max(1, int(round(limit * len(faces) / total)))
            faces = faces[rng.choice(len(faces), min(keep, len(faces)), replace=False)]
        tri = part.vertices[faces]
        cents.append((tri[:, 0] + tri[:, 1] + tri[:, 2]) / 3.0)
        areas.append(triangle_areas(tri))
    return np.vstack(cents), np.concatenate(areas)


def weighted_axes(points: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = np.average(points, axis=0, weights=weights)
    d = points - c
    cov = (d * weights[:, None]).T @ d / weights.sum()
    vals, vecs = np.linalg.eigh(cov)
    return vals, vecs.T  # ascending


