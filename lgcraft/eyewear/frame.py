"""Frame anatomy in the canonical pose: which faces are front, temples, lenses, nose
pads; boxing measurements (ISO 8624) and the try-on anchors.

All inputs here are in millimetres, +Y up, +Z front, X across (wearer's left = +X).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lgcraft.meshes.part import Part, cross3, triangle_areas
from lgcraft.meshes.repair import face_components

GROOVE_ALLOWANCE_MM = 0.5  # typical lens bevel depth hidden in the rim's groove, per side


@dataclass
class Boxing:
    lens_width_mm: float | None  # A
    lens_height_mm: float | None  # B
    bridge_mm: float | None  # DBL
    total_width_mm: float
    temple_length_mm: float | None
    method: str  # "lens meshes" or "rim openings (+0.5 mm groove allowance per side)"
    marking: str | None = None  # 52□18-140

    def __post_init__(self) -> None:
        if self.lens_width_mm and self.bridge_mm is not None:
            temple = f"-{round(self.temple_length_mm)}" if self.temple_length_mm else ""
            self.marking = f"{round(self.lens_width_mm)}\u25a1{round(self.bridge_mm)}{temple}"


@dataclass
class FrameAnatomy:
    parts: list[Part]  # re-grouped by role, canonical mm
    boxing: Boxing
    anchors: dict[str, list[float]]  # mm, canonical
    origin_shift: np.ndarray  # subtracted from every vertex (already applied)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Piece:
    part_index: int
    faces: np.ndarray  # indices into the part's faces
    lo: np.ndarray
    hi: np.ndarray
    centroid: np.ndarray
    area: float
    xy_cover: float  # projected XY area / box area (plates ~1, rims low)
    role: str = "front"


def _pieces(parts: list[Part]) -> list[_Piece]:
    pieces = []
    for index, part in enumerate(parts):
        labels = face_components(part)
        if len(labels) == 0:
            continue
        if labels.min() == labels.max():  # one piece: no regrouping
            order = np.arange(len(labels))
            starts = np.zeros(1, dtype=np.int64)
        else:
            order = np.argsort(labels, kind="stable")
            starts = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0])
        stats = _component_stats(part, labels, order, starts)
        ends = np.r_[starts[1:], len(order)]
        for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
            lo, hi, a = stats[k, 0:3], stats[k, 3:6], float(stats[k, 6])
            box = max((hi[0] - lo[0]) * (hi[1] - lo[1]), 1e-12)
            cent = stats[k, 7:10] / max(a, 1e-12)
            # projected area of the faces looking +Z and of those looking -Z: a closed
            # plate has both about its outline's area, a single-sheet lens one of them
            cover = max(stats[k, 10], stats[k, 11]) / box
            pieces.append(_Piece(index, order[s:e], lo, hi, cent, a, float(cover)))
    return pieces


def _component_stats(part: Part, labels: np.ndarray, order: np.ndarray, starts: np.ndarray,
                     ) -> np.ndarray:
    """Per component, in label order: box low xyz, box high xyz, area, area-weighted
    centroid sum xyz, projected XY area looking +Z and looking -Z, as (components, 12).
    ``order`` sorts the faces by label; ``starts`` marks each label's first face."""
    from lgcraft.meshes import _native

    if _native.MODULE is not None:
        stats = np.empty((len(starts), 12))
        dense = np.empty(len(labels), dtype=np.int64)  # labels renumbered 0..k-1
        dense[order] = np.cumsum(np.r_[0, np.diff(labels[order]) != 0])
        _native.MODULE.component_stats(_native.float64(part.vertices), _native.int64(part.faces),
                                       dense, stats)
        return stats
    tri = part.vertices[part.faces][order]
    cross = cross3(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    areas = 0.5 * np.sqrt(np.einsum("ij,ij->i", cross, cross))
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]  # (elementwise beats reducing axis 1)
    return np.hstack([
        np.minimum.reduceat(np.minimum(np.minimum(a, b), c), starts),
        np.maximum.reduceat(np.maximum(np.maximum(a, b), c), starts),
        np.add.reduceat(areas, starts)[:, None],
        np.add.reduceat((a + b + c) * (areas / 3.0)[:, None], starts),
        np.add.reduceat(0.5 * np.clip(cross[:, 2], 0, None), starts)[:, None],
        np.add.reduceat(0.5 * np.clip(-cross[:, 2], 0, None), starts)[:, None],
    ])


def _classify(pieces: list[_Piece], width: float, halfdepth: float) -> None:
    for p in pieces:
        ext = p.hi - p.lo
        side = 1 if p.centroid[0] > 0 else -1
        one_side = p.lo[0] * p.hi[0] >= -(0.02 * width) ** 2
        if ext[2] > 0.35 * width and abs(p.centroid[0]) > 0.2 * width and p.centroid[2] < -halfdepth:
            p.role = "temple_left" if side > 0 else "temple_right"
        elif (one_side and 0.2 * width < ext[0] < 0.5 * width and 0.1 * width < ext[1] < 0.45 * width
              and ext[2] < 0.3 * width and p.xy_cover > 0.6):
            p.role = "lens_left" if side > 0 else "lens_right"
        elif (not one_side and ext[0] > 0.55 * width and ext[1] < 0.45 * width
              and ext[2] < 0.3 * width and p.xy_cover > 0.6):
            p.role = "lens_shield"  # one lens across both eyes: boxed from the rims
        elif ext.max() < 0.15 * width and abs(p.centroid[0]) < 0.15 * width and p.centroid[2] < 0 \
                and p.centroid[1] < 0.1 * width:
            p.role = "nose_pads"
        else:
            p.role = "front"


def assign_roles(parts: list[Part], width: float, halfdepth: float) -> list[Part]:
    """Regroup faces into role parts (front, temple_left/right, lens_left/right, nose_pads).

    Temples merged into the front are split off behind the front (faces whose centroid is
    more than 12% of the width behind it, on the outer thirds).
    """
    pieces = _pieces(parts)
    _classify(pieces, width, halfdepth)
    roles_found = {p.role for p in pieces}
    extra: list[tuple[int, np.ndarray, str]] = []
    for side, sign in (("temple_left", 1), ("temple_right", -1)):
        if side in roles_found:
            continue
        for p in pieces:
            if p.role != "front":
                continue
            part = parts[p.part_index]
            cent = part.vertices[part.faces[p.faces]].sum(axis=1) / 3.0
            cut = (cent[:, 2] < -max(0.12 * width, 2 * halfdepth)) & (sign * cent[:, 0] > 0.25 * width)
            if cut.sum() > 10:
                extra.append((p.part_index, p.faces[cut], side))
                p.faces = p.faces[~cut]
    groups: dict[tuple[str, int], list[np.ndarray]] = {}
    for p in pieces:
        if len(p.faces):
            groups.setdefault((p.role, p.part_index), []).append(p.faces)
    for index, faces, role in extra:
        groups.setdefault((role, index), []).append(faces)
    out: list[Part] = []
    counts: dict[str, int] = {}
    order = ["front", "lens_left", "lens_right", "lens_shield", "temple_left", "temple_right", "nose_pads"]
    for (role, index), face_lists in sorted(groups.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        src = parts[index]
        sub = np.concatenate(face_lists)
        counts[role] = counts.get(role, 0) + 1
        name = role if counts[role] == 1 else f"{role}_{counts[role]}"
        part = _subpart(src, sub, name, role)
        part.source = (index, sub)
        out.append(part)
    return out


def _subpart(src: Part, face_index: np.ndarray, name: str, role: str) -> Part:
    faces = src.faces[face_index]
    mask = np.zeros(len(src.vertices), dtype=bool)
    mask[faces.ravel()] = True
    remap = np.cumsum(mask) - 1
    comps = None if src.components is None else src.components[face_index]
    return Part(name, src.vertices[mask], remap[faces], None if src.uv is None else src.uv[mask],
                src.material, role, src.original_name, comps)


def _lens_boxes_from_meshes(parts: list[Part]):
    boxes = {}
    for side in ("lens_left", "lens_right"):
        verts = [p.vertices for p in parts if p.role == side]
        if verts:
            v = np.vstack(verts)
            boxes[side] = (v[:, 0].min(), v[:, 0].max(), v[:, 1].min(), v[:, 1].max())
    return boxes if len(boxes) == 2 else None


def _lens_boxes_from_rims(parts: list[Part], width: float):
    """Lens openings of the front, from a raster of its XY projection (full rims only)."""
    fronts = [p for p in parts if p.role == "front"]
    if not fronts:
        return None
    tri = np.vstack([p.vertices[p.faces] for p in fronts])
    cell = max(width / 600.0, 0.05)
    # sample each triangle densely enough for the cell size
    edge = np.maximum(np.linalg.norm(tri[:, 1] - tri[:, 0], axis=1),
                      np.linalg.norm(tri[:, 2] - tri[:, 0], axis=1))
    steps = np.clip(np.ceil(edge / cell).astype(int), 1, 40)
    pts = []
    for k in np.unique(steps):
        sel = tri[steps == k]
        g = np.linspace(0, 1, k + 1)
        u, w = np.meshgrid(g, g)
        keep = (u + w) <= 1
        u, w = u[keep], w[keep]
        pts.append((sel[:, None, 0] * (1 - u - w)[None, :, None] + sel[:, None, 1] * u[None, :, None]
                    + sel[:, None, 2] * w[None, :, None]).reshape(-1, 3))
    p = np.vstack(pts)
    lo = p[:, :2].min(axis=0) - 3 * cell
    ij = np.floor((p[:, :2] - lo) / cell).astype(int)
    shape = ij.max(axis=0) + 4
    grid = np.zeros(shape, dtype=bool)
    grid[ij[:, 0], ij[:, 1]] = True
    grid = _closing(grid, 2)
    holes = sorted(_openings(~grid), key=lambda h: -h[0])
    boxes = {}
    for _, (i0, i1, j0, j1) in holes[:4]:
        # a pixel the rim only touches counts as rim: widen by one cell per side
        pad = GROOVE_ALLOWANCE_MM + cell
        x0 = lo[0] + i0 * cell - pad
        x1 = lo[0] + i1 * cell + pad
        y0 = lo[1] + j0 * cell - pad
        y1 = lo[1] + j1 * cell + pad
        if (x1 - x0) < 0.15 * width:
            continue
        side = "lens_left" if (x0 + x1) > 0 else "lens_right"
        boxes.setdefault(side, (x0, x1, y0, y1))
    return boxes if len(boxes) == 2 else None


def _surface_points(vertices: np.ndarray, faces: np.ndarray, count: int, seed: int = 0,
                    ) -> tuple[np.ndarray, float]:
    """``count`` area-weighted random surface points plus every vertex; and the area."""
    rng = np.random.default_rng(seed)
    tri = vertices[faces]
    area = triangle_areas(tri)
    total = area.sum()
    pick = rng.choice(len(faces), size=count, p=area / total) if total > 0 else rng.integers(0, len(faces), count)
    r1, r2 = rng.random(count), rng.random(count)
    flip = r1 + r2 > 1
    r1[flip], r2[flip] = 1 - r1[flip], 1 - r2[flip]
    t = tri[pick]
    return np.vstack([t[:, 0] + (t[:, 1] - t[:, 0]) * r1[:, None] + (t[:, 2] - t[:, 0]) * r2[:, None],
                      vertices]), float(total)


def _closing(grid: np.ndarray, steps: int) -> np.ndarray:
    """Morphological closing by the 4-neighbour cross, ``steps`` times each way (what
    is outside the raster counts as empty, so nothing grows in from its border)."""
    def dilate(g):
        out = g.copy()
        out[1:] |= g[:-1]
        out[:-1] |= g[1:]
        out[:, 1:] |= g[:, :-1]
        out[:, :-1] |= g[:, 1:]
        return out

    def erode(g):
        out = g.copy()
        out[1:] &= g[:-1]
        out[:-1] &= g[1:]
        out[:, 1:] &= g[:, :-1]
        out[:, :-1] &= g[:, 1:]
        out[[0, -1]] = False
        out[:, [0, -1]] = False
        return out

    for _ in range(steps):
        grid = dilate(grid)
    for _ in range(steps):
        grid = erode(grid)
    return grid


def _openings(free: np.ndarray) -> list[tuple[int, tuple[int, int, int, int]]]:
    """4-connected regions of ``free`` cells that do not touch the raster's border:
    (cell count, (row start, row stop, column start, column stop)) each."""
    from lgcraft.meshes.repair import connected_labels

    rows, cols = free.shape
    index = np.full(free.shape, -1, dtype=np.int64)
    cells = np.flatnonzero(free)
    index.flat[cells] = np.arange(len(cells))
    down = free[:-1] & free[1:]
    right = free[:, :-1] & free[:, 1:]
    a = np.r_[index[:-1][down], index[:, :-1][right]]
    b = np.r_[index[1:][down], index[:, 1:][right]]
    count, labels = connected_labels(len(cells), a, b)
    r, c = np.divmod(cells, cols)
    edge = (r == 0) | (r == rows - 1) | (c == 0) | (c == cols - 1)
    inner = np.ones(count, dtype=bool)
    inner[labels[edge]] = False
    sizes = np.bincount(labels, minlength=count)
    r0 = np.full(count, rows)
    c0 = np.full(count, cols)
    r1 = np.zeros(count, dtype=np.int64)
    c1 = np.zeros(count, dtype=np.int64)
    np.minimum.at(r0, labels, r)
    np.minimum.at(c0, labels, c)
    np.maximum.at(r1, labels, r + 1)
    np.maximum.at(c1, labels, c + 1)
    return [(int(sizes[k]), (int(r0[k]), int(r1[k]), int(c0[k]), int(c1[k])))
            for k in np.flatnonzero(inner)]


def _edges_of(row: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Indices of every edge leaving ``nodes``, in a graph whose edges are sorted by
    source with node n's edges at ``row[n]:row[n + 1]``."""
    counts = row[nodes + 1] - row[nodes]
    return np.repeat(row[nodes] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())


_NEIGHBOURS = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)
                        if (i, j, k) > (0, 0, 0)])  # half of the 26: each pair once


def geodesic_distances(points: np.ndarray, sources: np.ndarray, cell: float) -> np.ndarray:
    """Distance from the ``sources`` (a mask) to every point, travelling through the
    cubic cells of side ``cell`` the cloud fills (26-connected, steps between the cells'
    centroids); inf where unreachable.

    Shortest paths by label-correcting: each round relaxes only the edges of cells
    whose distance fell in the previous one, so the rounds number about the longest
    path in cells, each a few numpy operations."""
    from lgcraft.meshes.repair import _group_ids

    q = np.floor((points - points.min(axis=0)) / cell).astype(np.int64) + 1
    span = int(q.max(initial=0)) + 2
    key = (q[:, 0] * span + q[:, 1]) * span + q[:, 2]
    voxel, first = _group_ids(key)
    n = len(first)
    keys = key[first]  # sorted: group ids follow the key order
    centre = np.stack([np.bincount(voxel, points[:, k], n) for k in range(3)], -1)
    centre /= np.bincount(voxel, minlength=n)[:, None]
    steps = (_NEIGHBOURS[:, 0] * span + _NEIGHBOURS[:, 1]) * span + _NEIGHBOURS[:, 2]
    near = keys[:, None] + steps[None]
    at = np.minimum(np.searchsorted(keys, near), n - 1)
    a, b = np.nonzero(keys[at] == near)
    b = at[a, b]
    src, dst = np.r_[a, b], np.r_[b, a]
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    weight = np.linalg.norm(centre[src] - centre[dst], axis=1)
    row = np.searchsorted(src, np.arange(n + 1))
    best = np.full(n, np.inf)
    best[voxel[sources]] = 0.0
    active = np.unique(voxel[sources])
    while len(active):
        edge = _edges_of(row, active)
        reach = best[src[edge]] + weight[edge]
        before = best[dst[edge]]
        better = reach < before
        np.minimum.at(best, dst[edge][better], reach[better])
        active = np.unique(dst[edge][better])
    # each point: through its own cell or a neighbouring one, whichever is shorter
    own = best[voxel] + np.linalg.norm(points - centre[voxel], axis=1)
    pair = np.repeat(np.arange(len(points)), row[voxel + 1] - row[voxel])
    edge = _edges_of(row, voxel)
    via = best[dst[edge]] + np.linalg.norm(points[pair] - centre[dst[edge]], axis=1)
    np.minimum.at(own, pair, via)
    own[sources] = 0.0
    return own


def temple_centreline(part_vertices: np.ndarray, faces: np.ndarray, bin_mm: float = 4.0):
    """Centreline polyline of a temple from its hinge end (largest Z) to its tip.

    Distances run through the cells the temple's surface samples fill, so a temple made
    of several touching pieces (core, tip sleeve, hinge cover) is measured as one.
    """
    v, area = _surface_points(part_vertices, faces, 6000)
    if len(v) > 12000:
        v = v[np.random.default_rng(1).choice(len(v), 12000, replace=False)]
    # cells a few sample spacings wide: the samples fill them without gaps
    cell = max(2.5 * np.sqrt(area / 6000.0), 0.5)
    zmax = v[:, 2].max()
    start_mask = v[:, 2] > zmax - 1.0
    dist = geodesic_distances(v, start_mask, cell)
    finite = np.isfinite(dist)
    dist, vv = dist[finite], v[finite]
    dmax = dist.max()
    bins = np.floor(dist / bin_mm).astype(int)
    cents = np.stack([np.bincount(bins, vv[:, k]) for k in range(3)], -1)
    counts = np.bincount(bins)
    ok = counts > 0
    cents = cents[ok] / counts[ok, None]
    if len(cents) > 4:  # damp the zigzag of unevenly filled bins
        kernel = np.array([0.25, 0.5, 0.25])
        inner = np.stack([np.convolve(cents[:, k], kernel, mode="valid") for k in range(3)], -1)
        cents = np.vstack([cents[:1], inner, cents[-1:]])
    # the ends: the averaged bands sit about half a band inside the temple's ends
    start = v[start_mask].mean(axis=0)
    start[2] = zmax
    tip_band = dist > dmax - 1.0
    tip = vv[tip_band].mean(axis=0)
    inner = cents[-2] if len(cents) > 1 else start
    heading = tip - inner
    length = np.linalg.norm(heading)
    if length > 0:
        tip = tip + heading / length * (dmax - float(dist[tip_band].mean()))
    return np.vstack([start, cents[1:-1] if len(cents) > 2 else cents, tip])


def _polyline_length(line: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(line, axis=0), axis=1).sum())


def _ear_rest(line: np.ndarray) -> np.ndarray:
    chord = line[-1] - line[0]
    chord_len = np.linalg.norm(chord) or 1.0
    rel = line - line[0]
    dev = np.linalg.norm(cross3(rel, chord / chord_len), axis=1)
    if dev.max() > 0.03 * _polyline_length(line):
        return line[int(dev.argmax())]
    seg = np.r_[0, np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))]
    return line[int(np.searchsorted(seg, 0.7 * seg[-1]))]


def measure_frame(parts: list[Part], width_hint: float, halfdepth: float) -> FrameAnatomy:
    """Roles, boxing measurements and anchors; moves the origin to the bridge centre at
    lens-centre height. ``parts`` are canonical, in mm."""
    warnings: list[str] = []
    parts = assign_roles(parts, width_hint, halfdepth)
    boxes = _lens_boxes_from_meshes(parts)
    method = "lens meshes"
    if boxes is None:
        boxes = _lens_boxes_from_rims(parts, width_hint)
        method = f"rim openings (+{GROOVE_ALLOWANCE_MM} mm groove allowance per side)"
    front_v = np.vstack([p.vertices for p in parts if not p.role.startswith("temple")] or
                        [np.vstack([p.vertices for p in parts])])
    if boxes:
        left, right = boxes["lens_left"], boxes["lens_right"]
        a = 0.5 * ((left[1] - left[0]) + (right[1] - right[0]))
        b = 0.5 * ((left[3] - left[2]) + (right[3] - right[2]))
        dbl = left[0] - right[1]
        ox = 0.5 * (left[0] + right[1])
        oy = 0.25 * (left[2] + left[3] + right[2] + right[3])
    else:
        warnings.append("no lens meshes or closed rims found: lens width, height and bridge not measured")
        a = b = dbl = None
        ox = 0.5 * (front_v[:, 0].min() + front_v[:, 0].max())
        oy = 0.5 * (front_v[:, 1].min() + front_v[:, 1].max())
    # the bridge: front material between the lenses
    gap = max(abs(dbl) if dbl else 0.1 * width_hint, 2.0)
    central = front_v[np.abs(front_v[:, 0] - ox) < 0.3 * gap]
    oz = float(np.median(central[:, 2])) if len(central) else float(np.median(front_v[:, 2]))
    shift = np.array([ox, oy, oz])
    for p in parts:
        p.vertices = p.vertices - shift
    front_v = front_v - shift
    central = central - shift if len(central) else central
    total_width = None
    anchors: dict[str, list[float]] = {}
    if len(central):
        above = central[central[:, 1] > -0.25 * (b or 40)]
        pick = above if len(above) else central
        anchors["bridge"] = [0.0, float(pick[:, 1].min()), float(np.median(pick[:, 2]))]
    else:
        anchors["bridge"] = [0.0, 0.0, 0.0]
    temple_lengths = []
    for side in ("left", "right"):
        temples = [p for p in parts if p.role == f"temple_{side}"]
        if not temples:
            warnings.append(f"no {side} temple found")
            continue
        verts = np.vstack([p.vertices for p in temples])
        offsets = np.cumsum([0] + [len(p.vertices) for p in temples])
        faces = np.vstack([p.faces + o for p, o in zip(temples, offsets[:-1], strict=False)])
        line = temple_centreline(verts, faces)
        temple_lengths.append(_polyline_length(line))
        anchors[f"hinge_{side}"] = line[0].tolist()
        anchors[f"ear_rest_{side}"] = _ear_rest(line).tolist()
    temple = float(np.mean(temple_lengths)) if temple_lengths else None
    hinge_z = [anchors[k][2] for k in ("hinge_left", "hinge_right") if k in anchors]
    ahead = front_v[front_v[:, 2] >= min(hinge_z) - 1.0] if hinge_z else front_v
    total_width = float(np.ptp((ahead if len(ahead) else front_v)[:, 0]))
    boxing = Boxing(a and float(a), b and float(b), None if dbl is None else float(dbl),
                    total_width, temple, method if boxes else "none")
    return FrameAnatomy(parts, boxing, anchors, shift, warnings)
