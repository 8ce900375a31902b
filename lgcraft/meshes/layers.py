"""Coincident layered surfaces: two pieces whose surfaces lie on each other, facing the
same way (a rim lying on a lens, two lens layers at the same depth, a logo decal on a
temple). Every renderer's depth test then picks either one pixel by pixel: the surface
flickers and looks speckled, before and after decimation alike.

Found by sampling every connected piece's surface (area-weighted), and flagging samples
that have a sample of another piece within `LATERAL` sample spacings whose surface is
within `SEPARATION_MM` of theirs along the normal and faces the same way (normals within
18°). Separations below 0.02 mm fight in a 24-bit depth buffer: with the near plane at
1 cm, depth steps are ~z²/(near·2²⁴), 0.024 mm at 2 m. Pairs covering less than
`MIN_AREA_MM2` are left out (pieces that merely touch or cross meet on lines, not areas).

The fix, when asked for (`separate_layers`), moves the coincident faces of the piece
with the smaller area (the decal, the coating, the rim) `OFFSET_MM` out along its own
normals, so it is drawn on top everywhere; 0.05 mm is far below what anyone sees on a
frame and over twice the flicker threshold.

>>> found = coincident_layers(parts)                  # doctest: +SKIP
>>> found[0].parts, round(found[0].area_mm2)            # doctest: +SKIP
(('front_2', 'front_3'), 1331)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lgcraft.meshes.part import Part, cross3

SEPARATION_MM = 0.02
MIN_AREA_MM2 = 10.0
OFFSET_MM = 0.05
LATERAL = 2.0  # neighbour search radius, in sample spacings
SAMPLES = 20_000
PARALLEL = 0.95  # cos 18°


@dataclass
class Layers:
    """Two parts (possibly the same part's two pieces) with coincident surfaces."""

    parts: tuple[str, str]
    area_mm2: float  # coincident area (of the thinner piece), mm²
    thinner: str  # the part whose faces a fix would move
    # faces of the thinner part that lie on the other (indices into that part's faces)
    faces: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def as_dict(self) -> dict:
        return {"parts": list(self.parts), "area_mm2": round(self.area_mm2, 1),
                "thinner": self.thinner}


def _face_normals(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tri = vertices[faces]
    cross = cross3(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.sqrt(np.einsum("ij,ij->i", cross, cross))
    return cross / np.maximum(length, 1e-30)[:, None], 0.5 * length


def _face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Each face's area (the C kernel when built: one pass, no (m, 3, 3) gather)."""
    from lgcraft.meshes import _native

    if _native.MODULE is not None:
        out = np.empty(len(faces))
        _native.MODULE.face_areas(_native.float64(vertices), _native.int64(faces), out)
        return out
    return _face_normals(vertices, faces)[1]


def coincident_layers(parts: list[Part], *, separation: float = SEPARATION_MM,
                      min_area: float = MIN_AREA_MM2, samples: int = SAMPLES,
                      seed: int = 0) -> list[Layers]:
    """Pairs of pieces with coincident same-facing surfaces (``parts`` in mm), largest
    area first."""
    from lgcraft.meshes.kdtree import kdtree, nearest
    from lgcraft.meshes.repair import face_components

    rng = np.random.default_rng(seed)
    per_part = []
    total_area = 0.0
    for part in parts:
        if not len(part.faces):
            per_part.append(None)
            continue
        areas = _face_areas(part.vertices, part.faces)
        per_part.append((areas, face_components(part)))
        total_area += float(areas.sum())
    if total_area <= 0:
        return []
    points, normals_s, piece, owner_face = [], [], [], []
    piece_area: list[float] = []
    piece_part: list[int] = []
    for index, (part, data) in enumerate(zip(parts, per_part, strict=True)):
        if data is None:
            continue
        areas, labels = data
        base = len(piece_area)
        counts = np.bincount(labels, weights=areas)
        piece_area += counts.tolist()
        piece_part += [index] * len(counts)
        # area-weighted faces by inverse CDF: the part's share of the samples, drawn
        # with one binary search each (not one Poisson draw per face)
        cdf = np.cumsum(areas)
        count = rng.poisson(cdf[-1] * (samples / total_area))
        faces = np.minimum(np.searchsorted(cdf, rng.random(count) * cdf[-1]), len(areas) - 1)
        if not len(faces):
            continue
        tri = part.vertices[part.faces[faces]]
        r1, r2 = rng.random(len(faces)), rng.random(len(faces))
        flip = r1 + r2 > 1
        r1[flip], r2[flip] = 1 - r1[flip], 1 - r2[flip]
        points.append(tri[:, 0] + (tri[:, 1] - tri[:, 0]) * r1[:, None] + (tri[:, 2] - tri[:, 0]) * r2[:, None])
        normals_s.append(_face_normals(part.vertices, part.faces[faces])[0])
        piece.append(base + labels[faces])
        owner_face.append(faces)
    if not points:
        return []
    p, n = np.vstack(points), np.vstack(normals_s)
    label, face = np.concatenate(piece), np.concatenate(owner_face)
    spacing = (total_area / len(p)) ** 0.5
    tree = kdtree(p)
    dist, idx = nearest(tree, p, k=8, bound=LATERAL * spacing)
    found = np.isfinite(dist)
    idx = np.where(found, idx, 0)
    other = found & (label[idx] != label[:, None])
    facing = np.einsum("ij,ikj->ik", n, n[idx]) > PARALLEL
    offset = np.abs(np.einsum("ij,ikj->ik", n, p[idx] - p[:, None]))
    hit = other & facing & (offset < separation)
    flagged = np.flatnonzero(hit.any(axis=1))
    if not len(flagged):
        return []
    first = hit[flagged].argmax(axis=1)
    partner = label[idx[flagged, first]]
    sample_area = total_area / len(p)
    pairs: dict[tuple[int, int], list] = {}
    for s, mine, theirs in zip(flagged, label[flagged], partner, strict=True):
        key = (min(mine, theirs), max(mine, theirs))
        pairs.setdefault(key, []).append(s)
    merged: dict[tuple[int, int, int], list] = {}  # by part pair and thinner part
    for (a, b), hits in pairs.items():
        thin = a if piece_area[a] <= piece_area[b] else b
        key = (*sorted((piece_part[a], piece_part[b])), piece_part[thin])
        merged.setdefault(key, []).extend(s for s in hits if label[s] == thin)
    out = []
    for (a, b, thin), mine in merged.items():
        area = len(mine) * sample_area
        if area < min_area:
            continue
        out.append(Layers((parts[a].name, parts[b].name), area, parts[thin].name,
                          np.unique(face[np.asarray(mine, dtype=np.int64)])))
    return sorted(out, key=lambda layer: -layer.area_mm2)


def separate_layers(parts: list[Part], layers: list[Layers], offset: float = OFFSET_MM,
                    ) -> list[Part]:
    """``parts`` with each thinner layer's coincident faces (and the faces around them,
    one ring, so the step lands where nothing else lies) moved ``offset`` mm out along
    that part's vertex normals. Other parts are returned as they are."""
    by_name = {p.name: i for i, p in enumerate(parts)}
    out = list(parts)
    for layer in layers:
        i = by_name.get(layer.thinner)
        if i is None or not len(layer.faces):
            continue
        part = out[i]
        moved = np.zeros(len(part.vertices), dtype=bool)
        moved[part.faces[layer.faces].ravel()] = True
        moved[part.faces[moved[part.faces].any(axis=1)].ravel()] = True  # one ring more
        normals, areas = _face_normals(part.vertices, part.faces)
        vertex_normals = np.zeros_like(part.vertices)
        for corner in range(3):
            np.add.at(vertex_normals, part.faces[:, corner], normals * areas[:, None])
        length = np.linalg.norm(vertex_normals, axis=1)
        vertex_normals /= np.maximum(length, 1e-30)[:, None]
        vertices = part.vertices.copy()
        vertices[moved] += offset * vertex_normals[moved]
        out[i] = part.copy(vertices=vertices)
    return out

