"""Decimation to a triangle budget (quadric, fast-simplification) keeping UVs, and the
geometric error against the original (Hausdorff distance, sampled).

fast-simplification drops vertex attributes; it does report its collapses, and the
surviving vertices keep their order, so each output vertex takes the UV of the input
vertex it survived as.
"""

from __future__ import annotations

import numpy as np

from lgcraft.eyewear.mesh import Part

MIN_PART_TRIANGLES = 48  # a temple or a nose pad never vanishes below this


def allocate_budget(counts: list[int], budget: int) -> list[int]:
    """Split ``budget`` over parts in proportion to their triangles, with a floor.

    >>> allocate_budget([1000, 100], 550)
    [478, 71]
    """
    total = sum(counts)
    if total <= budget:
        return list(counts)
    floor = [min(c, MIN_PART_TRIANGLES) for c in counts]
    spare = max(budget - sum(floor), 0)
    above = [c - f for c, f in zip(counts, floor, strict=True)]
    total_above = sum(above) or 1
    return [f + int(spare * a / total_above) for f, a in zip(floor, above, strict=True)]


def decimate_part(part: Part, target: int) -> Part:
    """Quadric decimation of one part to about ``target`` triangles, UVs carried over."""
    import fast_simplification

    if target >= len(part.faces) or len(part.faces) < 4:
        return part
    points, faces, collapses = fast_simplification.simplify(
        part.vertices, part.faces.astype(np.int64), target_count=max(int(target), 4),
        return_collapses=True)
    uv = None
    if part.uv is not None:
        removed = np.zeros(len(part.vertices), dtype=bool)
        removed[collapses[:, 1]] = True
        survivors = np.flatnonzero(~removed)
        if len(survivors) == len(points):
            uv = part.uv[survivors]
        else:  # fall back to the nearest input vertex
            from scipy.spatial import cKDTree

            uv = part.uv[cKDTree(part.vertices).query(points)[1]]
    return part.copy(vertices=np.asarray(points, np.float64), faces=np.asarray(faces, np.int64), uv=uv)


def _closest_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distance from points p to triangles (a, b, c), row by row (Ericson's regions)."""
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = np.einsum("ij,ij->i", ab, ap), np.einsum("ij,ij->i", ac, ap)
    bp = p - b
    d3, d4 = np.einsum("ij,ij->i", ab, bp), np.einsum("ij,ij->i", ac, bp)
    cp = p - c
    d5, d6 = np.einsum("ij,ij->i", ab, cp), np.einsum("ij,ij->i", ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    denom = va + vb + vc
    denom = np.where(np.abs(denom) < 1e-30, 1e-30, denom)
    v = vb / denom
    w = vc / denom
    closest = a + ab * v[:, None] + ac * w[:, None]
    # edge and vertex regions
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ab = np.clip(d1 / (d1 - d3), 0, 1)
        t_ac = np.clip(d2 / (d2 - d6), 0, 1)
        t_bc = np.clip((d4 - d3) / ((d4 - d3) + (d5 - d6)), 0, 1)
    on_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    on_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    on_bc = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
    closest = np.where(on_bc[:, None], b + (c - b) * np.nan_to_num(t_bc)[:, None], closest)
    closest = np.where(on_ac[:, None], a + ac * np.nan_to_num(t_ac)[:, None], closest)
    closest = np.where(on_ab[:, None], a + ab * np.nan_to_num(t_ab)[:, None], closest)
    closest = np.where(((d1 <= 0) & (d2 <= 0))[:, None], a, closest)
    closest = np.where(((d3 >= 0) & (d4 <= d3))[:, None], b, closest)
    closest = np.where(((d6 >= 0) & (d5 <= d6))[:, None], c, closest)
    return np.linalg.norm(p - closest, axis=1)


def point_to_mesh(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, k: int = 4,
                  ) -> np.ndarray:
    """Distance of each point to the surface: exact over the triangles around its ``k``
    nearest vertices (an upper bound that is tight for meshes like these)."""
    from scipy.spatial import cKDTree

    if len(points) == 0 or len(faces) == 0:
        return np.zeros(len(points))
    k = min(k, len(vertices))
    _, near = cKDTree(vertices).query(points, k=k)
    near = near.reshape(len(points), -1)
    # vertex -> incident faces (CSR)
    flat = faces.ravel()
    order = np.argsort(flat, kind="stable")
    start = np.searchsorted(flat[order], np.arange(len(vertices) + 1))
    cand_v = near.ravel()
    counts = start[cand_v + 1] - start[cand_v]
    owner = np.repeat(np.repeat(np.arange(len(points)), near.shape[1]), counts)
    offs = np.repeat(start[cand_v], counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    cand_f = order[offs] // 3
    # a face reached from several of the k vertices is measured once
    pair = np.unique(owner.astype(np.int64) * len(faces) + cand_f)
    owner, cand_f = pair // len(faces), pair % len(faces)
    tri = vertices[faces[cand_f]]
    d = _closest_on_triangles(points[owner], tri[:, 0], tri[:, 1], tri[:, 2])
    best = np.full(len(points), np.inf)
    np.minimum.at(best, owner, d)
    return best


def hausdorff(a_vertices: np.ndarray, a_faces: np.ndarray, b_vertices: np.ndarray,
              b_faces: np.ndarray, samples: int = 8000, seed: int = 0) -> tuple[float, float]:
    """Symmetric Hausdorff distance (max) and mean distance between two surfaces, from
    surface samples of each against the other."""
    rng = np.random.default_rng(seed)

    def sample(v, f, n):
        tri = v[f]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        pick = rng.choice(len(f), size=n, p=area / area.sum()) if area.sum() > 0 else rng.integers(0, len(f), n)
        r1, r2 = rng.random(n), rng.random(n)
        flip = r1 + r2 > 1
        r1[flip], r2[flip] = 1 - r1[flip], 1 - r2[flip]
        t = tri[pick]
        pts = t[:, 0] + (t[:, 1] - t[:, 0]) * r1[:, None] + (t[:, 2] - t[:, 0]) * r2[:, None]
        return np.vstack([pts, v[rng.choice(len(v), size=min(len(v), n // 4), replace=False)]])

    pa = sample(a_vertices, a_faces, samples)
    pb = sample(b_vertices, b_faces, samples)
    dab = point_to_mesh(pa, b_vertices, b_faces)
    dba = point_to_mesh(pb, a_vertices, a_faces)
    both = np.concatenate([dab, dba])
    return float(both.max()), float(both.mean())
