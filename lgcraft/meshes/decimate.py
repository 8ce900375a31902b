"""Decimation to a triangle budget keeping UVs, and the geometric error against the
original (Hausdorff distance, sampled).

The simplifier is meshoptimizer's (the one gltf-transform uses): quadric edge collapse
that keeps a subset of the original vertices, so UVs, seams and thin tubes (temples)
survive exactly. Without it, fast-simplification is the fallback: it drops vertex
attributes, so each output vertex takes the UV of the input vertex it survived as.
"""

from __future__ import annotations

import numpy as np

from lgcraft.meshes.part import Part, triangle_areas

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


def _compact(source: Part, faces: np.ndarray, like: Part | None = None, to_pose=None) -> Part:
    """``faces`` (indices into ``source``'s vertices) with only the vertices they use,
    mapped by ``to_pose`` if given; named, placed and dressed like ``like``."""
    mask = np.zeros(len(source.vertices), dtype=bool)
    mask[faces.ravel()] = True
    remap = np.cumsum(mask) - 1
    vertices = source.vertices[mask]
    return (like or source).copy(vertices=vertices if to_pose is None else to_pose(vertices),
                                 faces=remap[faces], components=None, source=None,
                                 uv=None if source.uv is None else source.uv[mask])


def decimate_part(part: Part, target: int, max_error: float = 1.0) -> Part:
    """Quadric decimation of one part toward ``target`` triangles, UVs carried over.

    ``max_error`` bounds the geometric error relative to the part's size (meshoptimizer's
    scale); the result may stay above ``target`` when the bound stops it. The default
    tries ever looser bounds until the target is met.
    """
    if target >= len(part.faces) or len(part.faces) < 4:
        return part
    try:
        import meshoptimizer
    except ImportError:
        return _decimate_fqms(part, target)
    indices = np.ascontiguousarray(part.faces, dtype=np.uint32).ravel()
    positions = np.ascontiguousarray(part.vertices, dtype=np.float32)
    dest = np.zeros_like(indices)
    # Tightest bound that still meets the target: unbounded collapse can swallow a small
    # screw or pad, or eat into the border of a single-sheet lens.
    for bound in (0.002, 0.01, 0.05, 1.0):
        if bound > max_error:
            break
        count = meshoptimizer.simplify(dest, indices, positions,
                                       target_index_count=int(target) * 3, target_error=bound)
        if count <= int(target * 1.05) * 3:
            break
    faces = dest[:count].reshape(-1, 3).astype(np.int64)
    if len(faces) == 0:
        return part
    return _compact(part, faces)


def decimate_model(parts: list[Part], budget: int, max_error: float = 0.01) -> list[Part]:
    """Decimate every part so the model meets ``budget`` with the least error.

    One meshoptimizer pass over all parts at once (`simplify_faces`), then a part that
    fell under its floor (a temple or a nose pad never vanishes) is decimated alone to
    that floor.
    """
    total = sum(p.triangles for p in parts)
    if total <= budget:
        return list(parts)
    try:
        import meshoptimizer  # noqa: F401
    except ImportError:
        targets = allocate_budget([p.triangles for p in parts], budget)
        return [decimate_part(p, t) for p, t in zip(parts, targets, strict=True)]
    kept = simplify_faces(parts, budget, max_error)
    return [keep_faces(part, mine, part) for part, mine in zip(parts, kept, strict=True)]


def simplify_faces(parts: list[Part], budget: int, max_error: float = 0.01) -> list[np.ndarray]:
    """The faces of each part that survive one meshoptimizer pass over all parts at
    once, in the part's own vertex indices (meshoptimizer keeps a subset of them).

    The parts' index ranges are disjoint, so no collapse joins two parts; collapses run
    in order of error across the whole model, so the budget goes where the shape needs
    it (a flat lens gives up more than a curved temple) and the largest error is as
    small as the budget allows. ``max_error`` (a fraction of the model's size) stops the
    pass early; only when it stops short of the budget is a second, unbounded pass run.
    Positions are centred before they become float32, so a model far from its origin
    keeps its precision; with the compiled kernels, vertices and triangles are also laid
    out breadth-first over the mesh (far fewer cache misses on large models). That order
    follows topology and the file's numbering, not positions, so two layers of one shape
    (a lens and its coating) still collapse alike instead of crossing each other.
    """
    if sum(p.triangles for p in parts) <= budget:
        return [p.faces for p in parts]
    import meshoptimizer

    from lgcraft.meshes import _native

    offsets = np.cumsum([0] + [len(p.vertices) for p in parts])
    stacked = np.vstack([p.vertices for p in parts])
    indices = np.concatenate([(p.faces + o).ravel() for p, o in zip(parts, offsets, strict=False)])
    vertex_order = None
    if _native.MODULE is not None:  # breadth-first over the mesh: far fewer cache misses
        positions = np.empty((len(stacked), 3), dtype=np.float32)
        layout = np.empty(len(indices), dtype=np.uint32)
        vertex_order = np.empty(len(stacked), dtype=np.int64)
        _native.MODULE.cache_layout(stacked, indices.reshape(-1, 3), positions, layout, vertex_order)
        indices = layout
    else:
        centre = 0.5 * (stacked.min(axis=0) + stacked.max(axis=0))
        positions = np.ascontiguousarray(stacked - centre, dtype=np.float32)
        indices = np.ascontiguousarray(indices, dtype=np.uint32)
    dest = np.zeros_like(indices)
    count = 0
    for bound in (max_error, 1.0):
        count = meshoptimizer.simplify(dest, indices, positions,
                                       target_index_count=int(budget) * 3, target_error=bound)
        if count <= int(budget) * 3:
            break
    faces = dest[:count].reshape(-1, 3).astype(np.int64)
    if vertex_order is not None:
        faces = vertex_order[faces]
    owner = np.searchsorted(offsets, faces[:, 0], side="right") - 1
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(parts) + 1))
    faces = faces[order]
    return [faces[bounds[i]:bounds[i + 1]] - offsets[i] for i in range(len(parts))]


def keep_faces(source: Part, faces: np.ndarray, original: Part, to_pose=None) -> Part:
    """The part ``original`` after simplification: ``faces`` (indices into ``source``'s
    vertices), compacted, vertices mapped by ``to_pose`` (default: as they are). Below
    its floor (a temple or a nose pad never vanishes) ``original`` is decimated alone to
    that floor instead; untouched (all of ``source``'s faces kept), it is returned as it
    is."""
    floor = min(original.triangles, MIN_PART_TRIANGLES)
    if len(faces) < floor:
        return decimate_part(original, floor)
    whole = source is original or (original.source is not None and original.source[1] is None)
    if whole and len(faces) == original.triangles:
        return original
    return _compact(source, faces, original, to_pose)


TWIN_TOLERANCE = 0.10  # twins leave within 10% of each other's triangle count


def mirror_twins(parts: list[Part]) -> list[tuple[int, int]]:
    """Pairs of parts that are mirror images across the YZ plane (X across, as in the
    canonical try-on pose): left/right lenses, temples, nose pads. Twins come in with
    the same triangle count and, mirrored in X, the same bounding box (to 3% of their
    size)."""
    boxes = []
    for p in parts:
        if len(p.vertices) == 0:
            boxes.append(None)
            continue
        boxes.append((p.vertices.min(axis=0), p.vertices.max(axis=0)))
    pairs, used = [], set()
    for i, a in enumerate(parts):
        if i in used or boxes[i] is None or a.triangles < 2 * MIN_PART_TRIANGLES:
            continue
        lo, hi = boxes[i]
        mirrored_lo = np.array([-hi[0], lo[1], lo[2]])
        mirrored_hi = np.array([-lo[0], hi[1], hi[2]])
        size = float(np.linalg.norm(hi - lo)) or 1.0
        if abs(lo[0] + hi[0]) < 0.05 * size:
            continue  # centred on the YZ plane: its own mirror image (a front, a bridge)
        for j in range(i + 1, len(parts)):
            b = parts[j]
            if j in used or boxes[j] is None or b.triangles != a.triangles:
                continue
            if (np.abs(boxes[j][0] - mirrored_lo).max() < 0.03 * size
                    and np.abs(boxes[j][1] - mirrored_hi).max() < 0.03 * size):
                pairs.append((i, j))
                used.update((i, j))
                break
    return pairs


def _simplify_to(part: Part, target: int, max_error: float = 0.01) -> Part:
    """One part toward ``target`` triangles as the shared pass treats the model: a pass
    bounded at ``max_error`` of the part's size, an unbounded one only if that stops
    short (`decimate_part` tries four bounds, for parts decimated alone from scratch)."""
    if target >= part.triangles or part.triangles < 4:
        return part
    try:
        import meshoptimizer
    except ImportError:
        return decimate_part(part, target)
    indices = np.ascontiguousarray(part.faces, dtype=np.uint32).ravel()
    centre = 0.5 * (part.vertices.min(axis=0) + part.vertices.max(axis=0))
    positions = np.ascontiguousarray(part.vertices - centre, dtype=np.float32)
    dest = np.zeros_like(indices)
    count = 0
    for bound in (max_error, 1.0):
        count = meshoptimizer.simplify(dest, indices, positions,
                                       target_index_count=int(target) * 3, target_error=bound)
        if count <= int(target * 1.05) * 3:
            break
    faces = dest[:count].reshape(-1, 3).astype(np.int64)
    return _compact(part, faces) if len(faces) else part


_MIRROR = np.array([-1.0, 1.0, 1.0])


def _rigid_fit(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R (proper) and shift t with ``src @ R.T + t`` closest to ``dst`` (Kabsch)."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    u, _, vt = np.linalg.svd((src - cs).T @ (dst - cd))
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rotation, cd - cs @ rotation.T


def _tolerance(part: Part) -> float:
    """How close a mapped vertex must land on one of ``part``'s: 5% of its median edge."""
    faces = part.faces[::max(1, len(part.faces) // 4000)]  # a sample's median is enough
    edges = np.linalg.norm(part.vertices[faces[:, 1]] - part.vertices[faces[:, 0]], axis=1)
    return 0.05 * float(np.median(edges))


class TwinMaps:
    """The mirror twins of ``originals`` (see `mirror_twins`), each pair's fitted map and
    both parts' KD-trees, built lazily: `prepare` builds them ahead (prep does, on the
    core that waits for the simplifier), so balancing after the simplifier only queries.

    Twins are rarely exact mirrors across X = 0 in the estimated pose (a pose a tenth of
    a degree off moves a temple's tip by a quarter millimetre), so each pair's map is
    fitted (see `_fit_twin`): X flipped, then the rigid motion that lays one part on the
    other; a twin that is a congruent copy rather than a mirror image (lenses copied
    across) is mapped without the flip."""

    def __init__(self, originals: list[Part], pairs: list[tuple[int, int]] | None = None) -> None:
        self.originals = originals
        self.pairs = mirror_twins(originals) if pairs is None else pairs
        self._trees: dict[int, tuple] = {}
        self._fits: dict[tuple[int, int], tuple | None] = {}

    def tree(self, k: int):
        """(KD-tree, tolerance) of part ``k``."""
        from lgcraft.meshes.kdtree import kdtree

        if k not in self._trees:
            part = self.originals[k]
            self._trees[k] = (kdtree(part.vertices), _tolerance(part))
        return self._trees[k]

    def fit(self, i: int, j: int):
        """(flip, rotation, shift) laying part ``i`` on its twin ``j`` (None: no fit)."""
        if (i, j) not in self._fits:
            if (j, i) in self._fits:
                self._fits[(i, j)] = _inverse(self._fits[(j, i)])
            else:
                tree, tolerance = self.tree(j)
                self._fits[(i, j)] = _fit_twin(self.originals[i], self.originals[j], tree, tolerance)
        return self._fits[(i, j)]

    def prepare(self) -> TwinMaps:
        for i, j in self.pairs:
            self.fit(i, j)
            self.fit(j, i)
            self.tree(i)
        return self

    def mirror_onto(self, simplified: Part, large: int, small: int) -> Part | None:
        """``simplified`` (a simplification of part ``large``) mapped onto its twin
        ``small``'s own vertices (UVs and material ``small``'s), when every kept vertex
        lands on a distinct vertex of the twin; None otherwise. The simplifier keeps a
        subset of the original vertices, so on twins this is the same simplification,
        at the cost of one KD-tree query instead of another pass over the whole part."""
        from lgcraft.meshes.kdtree import nearest

        twin = self.originals[small]
        if not len(simplified.faces) or not len(twin.faces):
            return None
        tree, tolerance = self.tree(small)
        flip, rotation, shift = self.fit(large, small) or (_MIRROR, np.eye(3), np.zeros(3))
        distance, index = nearest(tree, (simplified.vertices * flip) @ rotation.T + shift)
        if not np.all(distance <= tolerance) or len(np.unique(index)) != len(index):
            return None
        faces = index[simplified.faces]
        return _compact(twin, faces[:, ::-1] if flip[0] < 0 else faces)  # a mirror flips the winding


def _inverse(fit):
    """The inverse of a map x -> R (F x) + t given as (F, R, t): y -> F R^T F (F y) - F R^T t."""
    if fit is None:
        return None
    flip, rotation, shift = fit
    back = flip[:, None] * rotation.T  # F R^T
    return flip, back * flip[None, :], -(back @ shift)


def _mirror_onto(simplified: Part, twin: Part, original: Part | None = None) -> Part | None:
    """``simplified`` (a simplification of ``original``) mapped onto ``twin``'s own
    vertices; see `TwinMaps.mirror_onto` (without ``original``: a plain mirror in X)."""
    maps = TwinMaps([original if original is not None else simplified, twin], pairs=[(0, 1)])
    if original is None:
        maps._fits[(0, 1)] = None
    return maps.mirror_onto(simplified, 0, 1)


def _fit_twin(original: Part, twin: Part, tree, tolerance: float):
    """(flip, rotation, shift) laying ``original`` on ``twin``: mirrored in X and fitted
    by vertex index (a mirror copy keeps the order; 90% of a sample of the vertices
    must fit, the caller checks every vertex it maps), the same unmirrored (a lens copied
    across instead of mirrored: a symmetric shape, its tessellation not), or mirrored
    and fitted by closest points (ICP, a few rounds on a sample); None if none fits."""
    from lgcraft.meshes.kdtree import nearest

    if len(original.vertices) < 3:
        return None
    step = max(1, len(original.vertices) // 4000)
    if len(original.vertices) == len(twin.vertices):
        target = twin.vertices[::step]
        for flip in (_MIRROR, np.ones(3)):
            source = original.vertices[::step] * flip
            rotation, shift = _rigid_fit(source, target)
            close = np.abs(source @ rotation.T + shift - target).max(axis=1) <= tolerance
            if close.mean() > 0.9:  # repair may have moved a few; refit on the rest
                rotation, shift = _rigid_fit(source[close], target[close])
                return flip, rotation, shift
    sample = original.vertices[::step] * _MIRROR
    rotation, shift = np.eye(3), np.zeros(3)
    for _ in range(6):
        distance, index = nearest(tree, sample @ rotation.T + shift)
        if float(distance.max()) <= tolerance:
            return _MIRROR, rotation, shift
        rotation, shift = _rigid_fit(sample, twin.vertices[index])
    return None


def balance_twins(originals: list[Part], decimated: list[Part], maps: TwinMaps | None = None,
                  ) -> tuple[list[Part], list[tuple[int, int]]]:
    """Mirror twins (see `mirror_twins`) whose simplified triangle counts differ by more
    than `TWIN_TOLERANCE` are brought to the mean of the two counts (so the model's total
    stays the same): the larger simplified further, the smaller its mirror image (see
    `TwinMaps`; ``maps`` of ``originals`` if built ahead), or, when the twins do not
    map onto each other, simplified again from its original. One simplifier pass over
    the whole model shares its budget by error, and on two mirror-image parts numbered differently it
    can keep twice as much of one as of the other. Returns the parts and the pairs that
    were balanced."""
    out = list(decimated)
    balanced = []
    maps = maps or TwinMaps(originals)
    for i, j in maps.pairs:
        a, b = out[i].triangles, out[j].triangles
        if max(a, b) <= (1 + TWIN_TOLERANCE) * min(a, b) or a >= originals[i].triangles \
                and b >= originals[j].triangles:
            continue
        target = (a + b) // 2
        # the larger goes down from its own simplified version (cheap: a few thousand
        # faces), the smaller is its image (or, failing that, one pass over its original)
        large, small = (i, j) if a > b else (j, i)
        out[large] = _simplify_to(out[large], target)
        mirrored = maps.mirror_onto(out[large], large, small)
        out[small] = mirrored if mirrored is not None else _simplify_to(originals[small], target)
        if out[large].triangles > (1 + TWIN_TOLERANCE) * out[small].triangles:
            out[large] = _simplify_to(out[large], out[small].triangles)
        balanced.append((i, j))
    return out, balanced


def _decimate_fqms(part: Part, target: int) -> Part:
    import fast_simplification

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
            from lgcraft.meshes.kdtree import kdtree, nearest

            uv = part.uv[nearest(kdtree(part.vertices), points)[1]]
    out = part.copy(vertices=np.asarray(points, np.float64), faces=np.asarray(faces, np.int64), uv=uv)
    if len(out.faces) > 1.2 * target and len(out.faces) < 0.9 * len(part.faces):
        # quadric collapse can stall on fans of sliver triangles; a second pass on the
        # now better-shaped mesh gets to the budget
        return _decimate_fqms(out, target)
    return out


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


def _points_in(tri: np.ndarray, rng) -> np.ndarray:
    """One uniform random point in each triangle (m, 3, 3)."""
    r1, r2 = rng.random(len(tri)), rng.random(len(tri))
    flip = r1 + r2 > 1
    r1[flip], r2[flip] = 1 - r1[flip], 1 - r2[flip]
    a = tri[:, 0]
    return a + (tri[:, 1] - a) * r1[:, None] + (tri[:, 2] - a) * r2[:, None]


def _pick_faces(area: np.ndarray, count: int, rng) -> np.ndarray:
    total = area.sum()
    if total <= 0:
        return rng.integers(0, len(area), count)
    # inverse-CDF sampling: O(n) once, then O(log n) per sample
    cdf = np.cumsum(area)
    return np.minimum(np.searchsorted(cdf, rng.random(count) * cdf[-1]), len(area) - 1)


_SUBDIVISION_CAP = 48  # a sliver longer than this many sample spacings keeps a wider radius
_WIDE_FACES = 128  # faces with the widest sample gaps, checked by bounding spheres instead


def _grid_samples(tri: np.ndarray, target: int):
    """Points on every face, each face cut into n x n similar sub-triangles (n from its
    longest edge, so about ``target`` points in all) and sampled at their centroids.

    Returns (points, owner face, coverage radius per face): every point of a face lies
    within its radius of one of that face's samples (2/3 of a sub-triangle's longest
    median, at most 2/3 of its longest edge)."""
    edge_sq = [np.einsum("ij,ij->i", e, e) for e in
               (tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 1], tri[:, 0] - tri[:, 2])]
    longest = np.sqrt(np.maximum(np.maximum(edge_sq[0], edge_sq[1]), edge_sq[2]))
    m = len(tri)
    # spacing h with sum(ceil(longest / h)^2) near the target: start from the continuous
    # estimate, then a few corrections (the count falls as h grows)
    h = max(float(longest.max()), 1e-12)
    if m < target:
        h = max(float(np.sqrt((longest * longest).sum() / target)), 1e-12)
        for _ in range(6):
            n = np.minimum(np.ceil(longest / h), _SUBDIVISION_CAP)
            count = float((n * n).sum())
            if abs(count - target) < 0.1 * target:
                break
            h *= (count / target) ** 0.5
    # but never coarser than most faces: a dense mesh past the target keeps a coverage
    # radius of its typical edge, not of its longest one (which would widen every search)
    if m:
        h = min(h, max(float(np.percentile(longest, 90)), 1e-12))
    n = np.clip(np.ceil(longest / h), 1, _SUBDIVISION_CAP).astype(np.int64)
    radius = (2.0 / 3.0) * longest / n
    points, owners = [], []
    for k in np.unique(n):
        faces = np.flatnonzero(n == k)
        if k == 1:  # most faces of a dense mesh: just the centroid (as the formula below)
            t = tri if len(faces) == m else tri[faces]
            a = t[:, 0]
            points.append(a + (t[:, 1] - a) * (1 / 3) + (t[:, 2] - a) * (1 / 3))
            owners.append(faces)
            continue
        i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        up = i + j <= k - 1
        down = i + j <= k - 2
        u = np.r_[(i[up] + 1 / 3) / k, (i[down] + 2 / 3) / k]
        w = np.r_[(j[up] + 1 / 3) / k, (j[down] + 2 / 3) / k]
        t = tri[faces]
        a = t[:, None, 0]
        pts = a + (t[:, None, 1] - a) * u[None, :, None] + (t[:, None, 2] - a) * w[None, :, None]
        points.append(pts.reshape(-1, 3))
        owners.append(np.repeat(faces, len(u)))
    return np.vstack(points), np.concatenate(owners), radius


class Surface:
    """A triangle surface prepared for area-weighted sampling and exact closest-point
    queries: one index (the compiled kernel's grid, or the numpy path's KD-tree of
    surface samples), built by `prepare` or on first use, and reused."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, sample_budget: int | None = None):
        from lgcraft.meshes import _native

        self.vertices, self.faces = vertices, faces
        self._tri = None
        self._grid = self._arrays = None
        if _native.MODULE is not None:  # no (m, 3, 3) corner array: the kernels need none
            self._arrays = (_native.float64(vertices), _native.int64(faces))
            self.area = np.empty(len(faces))
            _native.MODULE.face_areas(*self._arrays, self.area)
        else:
            self.area = triangle_areas(self.tri)
        # dense meshes: about their centroids; coarse ones: about 4 points a face, <= 250k
        self.sample_budget = sample_budget or int(np.clip(4 * len(faces), len(faces), 250_000))
        self._tree = None
        self._owners = None
        self._samples = 0
        self._reach = 0.0
        self._wide = np.zeros(0, dtype=np.int64)

    @property
    def tri(self) -> np.ndarray:
        """The corners of every face, (m, 3, 3), gathered on first use."""
        if self._tri is None:
            self._tri = self.vertices[self.faces]
        return self._tri

    def sample(self, count: int, rng) -> np.ndarray:
        """Area-weighted random surface points: a vertex of a zero-area needle face is
        no surface a viewer sees, and the simplifier rightly drops such needles."""
        picked = _pick_faces(self.area, count, rng)
        corners = self.vertices[self.faces[picked]] if self._tri is None else self._tri[picked]
        return _points_in(corners, rng)

    def prepare(self) -> Surface:
        """Build the closest-point index now (it is built on first use otherwise): the
        compiled kernel's grid of the faces, or the KD-tree of the numpy path."""
        from lgcraft.meshes import _native

        if _native.MODULE is None:
            self._index()
        elif self._grid is None and self._arrays is not None and len(self.faces):
            self._grid = _native.MODULE.build_grid(*self._arrays)
        return self

    def _index(self):
        if self._tree is None:
            from lgcraft.meshes.kdtree import kdtree

            points, owners, radius = _grid_samples(self.tri, self.sample_budget)
            # the few faces whose samples leave the widest gaps (long slivers) are
            # checked apart, by bounding spheres, so one sliver cannot widen every search
            m = len(radius)
            if m > _WIDE_FACES:
                cut = float(np.partition(radius, m - _WIDE_FACES - 1)[m - _WIDE_FACES - 1])
                self._wide = np.flatnonzero(radius > cut)
                self._reach = cut
            else:
                self._wide = np.zeros(0, dtype=np.int64)
                self._reach = float(radius.max(initial=0.0))
            # a candidate sample matters only within its own face's radius of the best
            # answer (the wide faces, tested apart, need no more than the common reach)
            self._radius = np.minimum(radius, self._reach)
            tri = self.tri[self._wide]
            self._wide_centre = tri.mean(axis=1)
            self._wide_radius = np.sqrt(((tri - self._wide_centre[:, None]) ** 2).sum(axis=2)).max(axis=1)
            # a neighbour the tree did not find comes back as index len(points): it
            # points at a stand-in face, at infinite distance, which no test keeps
            self._owners = np.append(owners, 0)
            self._tree = kdtree(points)
            self._samples = len(points)
        return self._tree, self._owners

    def _query(self, points: np.ndarray, k: int, bound: float | None = None):
        """(distances, owner faces) of each point's ``k`` nearest samples, as (n, k)."""
        from lgcraft.meshes.kdtree import nearest

        tree, owners = self._index()
        dist, near = nearest(tree, points, k, bound)
        return dist.reshape(len(points), -1), owners[near.reshape(len(points), -1)]

    def _exact(self, points: np.ndarray, owner: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """Distances of points[owner] to faces, row by row (corners taken relative to
        the point, which keeps the region tests well conditioned)."""
        rel = self.tri[faces] - points[owner][:, None, :]
        return _closest_on_triangles(np.zeros((len(rel), 3)), rel[:, 0], rel[:, 1], rel[:, 2])

    def distance(self, points: np.ndarray, k: int = 16) -> np.ndarray:
        """Exact distance of each point to the surface.

        By the compiled kernel where it was built (a grid of the faces, searched in
        growing shells around each point). Otherwise: the faces owning the ``k`` nearest
        samples give a first answer d. A closer face would have a sample within d + r of
        the point (r: the largest coverage radius, leaving out the few widest faces,
        which are tested by bounding sphere), so where the k-th sample is nearer than
        that, ever more neighbours (up to every sample in that ball) are tested too.
        Among the neighbours, a face is tested only if one of its samples lies within its
        own coverage radius of an upper bound on the answer (the nearest sample's
        distance: a sample lies on its face), as only then can it be nearer.
        """
        if len(points) == 0 or len(self.faces) == 0:
            return np.zeros(len(points))
        from lgcraft.meshes import _native

        if _native.MODULE is not None and self._arrays is not None:
            out = np.empty(len(points))
            points = _native.float64(points)
            if self._grid is not None:
                _native.MODULE.grid_distances(self._grid, *self._arrays, points, out)
            else:  # queried once: a grid for this call only
                _native.MODULE.distances(*self._arrays, points, out)
            return out
        self._index()
        total = self._samples
        k = min(k, total)
        dist, cand = self._query(points, k)
        best = self._min_over(points, cand, dist, dist[:, 0])
        reach = self._reach * (1 + 1e-9)
        unsure = np.flatnonzero(dist[:, -1] < best + reach)
        while len(unsure) and k < total:  # rarely more than one round
            k = min(4 * k, total)
            pts = points[unsure]
            dist, cand = self._query(pts, k, bound=float((best[unsure] + reach).max()))
            best[unsure] = np.minimum(best[unsure], self._min_over(pts, cand, dist, best[unsure]))
            unsure = unsure[dist[:, -1] < best[unsure] + reach]
        if len(self._wide):
            best = self._check_wide(points, best)
        return best

    def _check_wide(self, points: np.ndarray, best: np.ndarray) -> np.ndarray:
        """Test the wide faces wherever their bounding sphere comes nearer than ``best``.

        The sphere test is only a filter: squared gaps come from one matrix product
        (|p|^2 + |c|^2 - 2 p.c, about the spheres' mean to keep the terms small), and a
        margin well above that form's rounding error keeps every face it could miss."""
        origin = self._wide_centre.mean(axis=0)
        centre = self._wide_centre - origin
        centre_sq = np.einsum("ij,ij->i", centre, centre)
        for at in range(0, len(points), 4096):
            p = points[at:at + 4096]
            shifted = p - origin
            p_sq = np.einsum("ij,ij->i", shifted, shifted)
            gap_sq = p_sq[:, None] + centre_sq[None] - 2.0 * (shifted @ centre.T)
            reach = best[at:at + 4096, None] + self._wide_radius[None]
            margin = 1e-9 * (p_sq[:, None] + centre_sq[None]) + 1e-300
            rows, cols = np.nonzero(gap_sq < reach * reach + margin)
            if len(rows):
                found = np.full(len(p), np.inf)
                np.minimum.at(found, rows, self._exact(p, rows, self._wide[cols]))
                best[at:at + 4096] = np.minimum(best[at:at + 4096], found)
        return best

    def _min_over(self, points: np.ndarray, cand: np.ndarray, dist: np.ndarray,
                  bound: np.ndarray) -> np.ndarray:
        """Least distance of each point to its candidate faces ``cand`` (n, k), those
        owning its k nearest samples (at ``dist``), skipping any whose sample is farther
        than ``bound`` (an upper bound on the answer) plus the face's coverage radius:
        such a sample vouches for no point of its face nearer than ``bound``. A point's
        nearest sample always passes, and any face nearer than ``bound`` passes through
        the sample nearest its closest point."""
        keep = dist <= (bound[:, None] + self._radius[cand]) * (1 + 1e-9)
        keep[:, 0] = True  # found in every query: it is within any bound given
        # several of a point's nearest samples often lie on one face: test each pair once
        cand = np.sort(np.where(keep, cand, -1), axis=1)
        new = np.ones(cand.shape, dtype=bool)
        new[:, 1:] = cand[:, 1:] != cand[:, :-1]
        new &= cand >= 0
        per_point = new.sum(axis=1)
        d = self._exact(points, np.repeat(np.arange(len(points)), per_point), cand[new])
        return np.minimum.reduceat(d, np.cumsum(per_point) - per_point)


def point_to_mesh(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, k: int = 16,
                  ) -> np.ndarray:
    """Exact distance of each point to the surface (vertices, faces); see `Surface.distance`."""
    return Surface(vertices, faces).distance(points, k)


def hausdorff(a_vertices: np.ndarray, a_faces: np.ndarray, b_vertices: np.ndarray,
              b_faces: np.ndarray, samples: int = 8000, seed: int = 0) -> tuple[float, float]:
    """Symmetric Hausdorff distance (max) and mean distance between two surfaces, from
    ``samples`` area-weighted surface points of each against the other."""
    return surface_hausdorff(Surface(a_vertices, a_faces), Surface(b_vertices, b_faces),
                             samples, seed)


def surface_hausdorff(a: Surface, b: Surface, samples: int = 8000, seed: int = 0,
                      ) -> tuple[float, float]:
    """`hausdorff` of two prepared surfaces (an original's index can be built while the
    simplifier runs)."""
    rng = np.random.default_rng(seed)
    pa, pb = a.sample(samples, rng), b.sample(samples, rng)
    both = np.concatenate([b.distance(pa), a.distance(pb)])
    return float(both.max()), float(both.mean())
