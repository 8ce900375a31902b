"""Mesh repair in vectorised numpy: weld, drop bad faces, coherent outward
winding, fill small holes. Every step is O(n log n) (sorts), no per-face Python loops.

Winding: faces sharing a manifold edge must traverse it in opposite directions. We
build the dual graph (faces linked across manifold edges) with a parity per link (1 =
the pair disagrees), grow a spanning forest by union-find hooking, and get each
face's flip bit as the XOR of parities up to its root by pointer jumping (log depth
numpy passes). Each connected component is then flipped outward by signed volume.

The compiled kernels in `_meshcore.c` do the same per-face passes (bad faces, winding,
components) in O(n) without numpy's temporaries, a few times faster; this module uses
them when they were built and keeps the numpy path for installs without a C compiler.
The tests hold both paths to the same results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from lgcraft.meshes import _native
from lgcraft.meshes.part import Part, cross3


@dataclass
class Topology:
    """Edge statistics of a triangle soup over welded positions."""

    boundary_edges: int
    nonmanifold_edges: int
    inconsistent_edges: int  # manifold edges traversed in the same direction by both faces
    components: int

    @property
    def watertight(self) -> bool:
        return self.boundary_edges == 0 and self.nonmanifold_edges == 0

    @property
    def winding_consistent(self) -> bool:
        return self.inconsistent_edges == 0


@dataclass
class RepairReport:
    vertices_welded: int = 0
    degenerate_faces_removed: int = 0
    duplicate_faces_removed: int = 0
    faces_flipped: int = 0
    components_flipped_outward: int = 0
    holes_filled: int = 0
    holes_left: int = 0
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    def add(self, other: RepairReport) -> None:
        for name in ("vertices_welded", "degenerate_faces_removed", "duplicate_faces_removed",
                     "faces_flipped", "components_flipped_outward", "holes_filled", "holes_left"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _pack(keys: tuple[np.ndarray, ...]) -> np.ndarray | None:
    """One int64 key ordering like the tuple of non-negative int keys, if 63 bits hold it."""
    if len(keys) == 1:
        return keys[0]
    spans = [int(k.max(initial=0)) + 1 for k in keys]
    bits = [max(span - 1, 1).bit_length() for span in spans]
    if sum(bits) > 63 or any(int(k.min(initial=0)) < 0 for k in keys):
        return None
    packed = keys[0].astype(np.int64, copy=True)
    for key, width in zip(keys[1:], bits[1:], strict=True):
        packed <<= width
        packed |= key
    return packed


def _group_ids(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids of equal key tuples: returns (inverse ids, lowest index of each group).

    Group ids follow the sorted order of the keys. One packed int64 key and numpy's
    default (SIMD) sort when the keys fit, else a lexsort.
    """
    packed = _pack(keys)
    order = np.argsort(packed) if packed is not None else np.lexsort(keys[::-1])
    n = len(order)
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
        if packed is not None:
            k = packed[order]
            change[1:] = k[1:] != k[:-1]
        else:
            for key in keys:
                k = key[order]
                change[1:] |= k[1:] != k[:-1]
    group = np.cumsum(change) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group
    starts = np.flatnonzero(change)
    first = np.minimum.reduceat(order, starts) if n else order[:0]
    return inverse, first


def _quantize(values: np.ndarray, tol: float) -> np.ndarray:
    """Pack quantized 3-D coordinates into one int64 key when they fit in 21 bits."""
    q = np.floor((values - values.min(axis=0)) / tol + 0.5).astype(np.int64)
    if q.max(initial=0) < (1 << 21):
        return q[:, 0] << 42 | q[:, 1] << 21 | q[:, 2]
    return q  # caller handles the 2-D fallback


def weld_groups(vertices: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """(id of each vertex after merging positions closer than ``tol`` by grid snapping,
    lowest vertex index of each id)."""
    key = _quantize(vertices, tol)
    if key.ndim == 1:
        return _group_ids(key)
    return _group_ids(key[:, 0], key[:, 1], key[:, 2])


def weld_positions(vertices: np.ndarray, tol: float) -> np.ndarray:
    """Id of each vertex after merging positions closer than ``tol`` (grid snapping)."""
    return weld_groups(vertices, tol)[0]


def edge_table(faces: np.ndarray, n_vertices: int):
    """Directed half-edges grouped by undirected edge.

    Returns (directed (E,2), order, group_start, group_count), with the half-edges
    sorted so equal undirected edges are adjacent; half-edge h belongs to face h // 3.
    """
    directed = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    lo = np.minimum(directed[:, 0], directed[:, 1])
    hi = np.maximum(directed[:, 0], directed[:, 1])
    key = lo * np.int64(n_vertices) + hi
    order = np.argsort(key)  # the order within an edge's group does not matter
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    counts = np.diff(np.r_[starts, len(sorted_key)])
    return directed, order, starts, counts


def _manifold_pairs(faces: np.ndarray, n_vertices: int):
    directed, order, starts, counts = edge_table(faces, n_vertices)
    two = starts[counts == 2]
    e1, e2 = order[two], order[two + 1]
    fa, fb = e1 // 3, e2 // 3
    # same direction on both faces means one of them is flipped relative to the other
    parity = (directed[e1, 0] == directed[e2, 0]).astype(np.int8)
    keep = fa != fb
    return (fa[keep], fb[keep], parity[keep], int((counts == 1).sum()),
            int((counts > 2).sum()), directed, order, starts, counts)


def connected_labels(n: int, a: np.ndarray, b: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the graph on ``n`` nodes with edges (a, b): (count,
    label per node), labels numbered in order of each component's lowest node, as
    scipy's ``connected_components`` numbers them.

    Union-find in numpy: every root hooks to the smallest root it touches, then paths
    are compressed completely; each round at least halves the components of every
    still-split piece, so O(log n) rounds of O(edges) work."""
    parent = np.arange(n)
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    while len(a):
        pa, pb = parent[a], parent[b]
        split = pa != pb
        if not split.any():
            break
        a, b, pa, pb = a[split], b[split], pa[split], pb[split]
        np.minimum.at(parent, np.maximum(pa, pb), np.minimum(pa, pb))
        while True:  # compress: every node straight to its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    roots, labels = np.unique(parent, return_inverse=True)
    return len(roots), labels.astype(np.int64)


def topology(vertices: np.ndarray, faces: np.ndarray, tol: float | None = None) -> Topology:
    """Boundary / non-manifold / inconsistent edge counts and component count."""
    if len(faces) == 0:
        return Topology(0, 0, 0, 0)
    tol = tol or _default_tol(vertices)
    ids = weld_positions(vertices, tol)
    f = ids[faces]
    good = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    f = f[good]
    if len(f) == 0:
        return Topology(0, 0, 0, 0)
    if _native.MODULE is not None:
        found = _native_orient(_native.int64(faces[good]), _native.int64(ids), _native.float64(vertices),
                               int(ids.max()) + 1)
        return Topology(found.boundary_edges, found.nonmanifold_edges, found.inconsistent_edges,
                        found.components)
    fa, fb, parity, boundary, nonmanifold, *_ = _manifold_pairs(f, int(ids.max()) + 1)
    n_comp, _ = connected_labels(len(f), fa, fb)
    return Topology(boundary, nonmanifold, int(parity.sum()), int(n_comp))


def _default_tol(vertices: np.ndarray) -> float:
    extent = (vertices.max(axis=0) - vertices.min(axis=0)).max() if len(vertices) else 1.0
    return max(float(extent) * 1e-6, 1e-12)


def _flip_bits(m: int, fa: np.ndarray, fb: np.ndarray, parity: np.ndarray, labels: np.ndarray,
               ) -> np.ndarray:
    """Per-face flip bit making every manifold edge consistent: the union-find of
    `connected_labels`, each hook carrying the parity that keeps its edge consistent,
    then path compression XOR-ing parities up to the root. The hooks form a spanning
    forest, so a consistent component comes out fully consistent (as from a BFS forest);
    an inconsistent one (Moebius-like) keeps its forest's edges consistent."""
    del labels  # the roots found here are the components
    parent = np.arange(m)
    bit = np.zeros(m, dtype=np.int8)  # parity of each face relative to its parent
    a, b = np.asarray(fa, dtype=np.int64), np.asarray(fb, dtype=np.int64)
    p = np.asarray(parity, dtype=np.int8)
    while len(a):
        ra, rb = parent[a], parent[b]
        split = ra != rb
        if not split.any():
            break
        a, b, p, ra, rb = a[split], b[split], p[split], ra[split], rb[split]
        big, small = np.maximum(ra, rb), np.minimum(ra, rb)
        np.minimum.at(parent, big, small)
        # any one edge reaching the chosen root will do: all of them join the same roots
        chosen = parent[big] == small
        bit[big[chosen]] = (bit[a] ^ bit[b] ^ p)[chosen]
        while True:  # compress, each face's parity becoming relative to its new root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            bit = bit ^ bit[parent]
            parent = grand
    return bit


def orient_faces(faces: np.ndarray, vertices: np.ndarray, pos_ids: np.ndarray,
                 ) -> tuple[np.ndarray, int, int, np.ndarray]:
    """Coherent winding with outward normals.

    Returns (faces, flipped, components_flipped, component label per face)."""
    out, flipped, inward, labels, _ = _orient(faces, vertices, pos_ids)
    return out, int(flipped.sum()), inward, labels


class _Oriented(NamedTuple):
    """What `_meshcore.orient` finds: per face the flip and component, per half-edge its
    partner (-1 boundary, -2 non-manifold), and the counts."""

    flip: np.ndarray  # bool, final (consistent and outward)
    labels: np.ndarray
    components: int
    inward: int  # components turned over as a whole
    partner: np.ndarray
    boundary_edges: int
    nonmanifold_edges: int
    inconsistent_edges: int  # in the input's winding


def _native_orient(faces: np.ndarray, pos_ids: np.ndarray, vertices: np.ndarray, n_pos: int,
                   ) -> _Oriented:
    m = len(faces)
    flip = np.empty(m, dtype=np.uint8)
    labels = np.empty(m, dtype=np.int64)
    partner = np.empty(3 * m, dtype=np.int64)
    components, inward, boundary, nonmanifold, inconsistent = _native.MODULE.orient(
        faces, pos_ids, vertices, n_pos, flip, labels, partner)
    return _Oriented(flip.view(bool), labels, components, inward, partner, boundary, nonmanifold,
                     inconsistent)


def _orient(faces: np.ndarray, vertices: np.ndarray, pos_ids: np.ndarray):
    """`orient_faces`, plus the flip mask and the boundary half-edges (over position
    ids, in the final winding), so hole filling needs no second edge sort."""
    m = len(faces)
    if m == 0:
        return faces, np.zeros(0, bool), 0, np.zeros(0, dtype=np.int64), np.zeros((0, 2), np.int64)
    if _native.MODULE is not None:
        return _orient_native(faces, vertices, pos_ids)
    topo = pos_ids[faces]
    n_v = int(pos_ids.max()) + 1
    fa, fb, parity, _, _, directed, order, starts, counts = _manifold_pairs(topo, n_v)
    n_comp, labels = connected_labels(m, fa, fb)
    flip = np.zeros(m, dtype=np.int8)
    if parity.any():  # only then is a spanning-forest pass needed
        flip = _flip_bits(m, fa, fb, parity, labels)
    out = faces.copy()
    flipped_mask = flip.astype(bool)
    out[flipped_mask] = out[flipped_mask][:, ::-1]
    # outward: signed volume per component (relative to its centroid)
    tri = vertices[out]
    centroids = (tri[:, 0] + tri[:, 1] + tri[:, 2]) / 3.0
    weights = np.bincount(labels, minlength=n_comp).astype(float)
    comp_centre = np.stack([np.bincount(labels, centroids[:, k], n_comp) for k in range(3)], -1)
    comp_centre /= np.maximum(weights, 1)[:, None]
    rel = tri - comp_centre[labels][:, None, :]
    vol = np.einsum("ij,ij->i", rel[:, 0], cross3(rel[:, 1], rel[:, 2]))
    comp_vol = np.bincount(labels, vol, n_comp)
    inward = comp_vol < 0
    if inward.any():
        mask = inward[labels]
        out[mask] = out[mask][:, ::-1]
        flipped_mask ^= mask
    # boundary half-edges: a face turned over walks its edges the other way
    single = order[starts[counts == 1]]
    boundary = directed[single]
    turned = flipped_mask[single // 3]
    boundary[turned] = boundary[turned][:, ::-1]
    return out, flipped_mask, int(inward.sum()), labels, boundary


def _orient_native(faces: np.ndarray, vertices: np.ndarray, pos_ids: np.ndarray):
    """`_orient` by the compiled kernel; the boundary comes out in the numpy path's order
    (by undirected edge), so holes are filled the same way."""
    faces, pos_ids = _native.int64(faces), _native.int64(pos_ids)
    n_v = int(pos_ids.max()) + 1
    found = _native_orient(faces, pos_ids, _native.float64(vertices), n_v)
    flipped_mask = found.flip
    out = faces.copy()
    out[flipped_mask] = out[flipped_mask][:, ::-1]
    single = np.flatnonzero(found.partner == -1)
    face, corner = single // 3, single % 3
    boundary = pos_ids[np.stack([faces[face, corner], faces[face, (corner + 1) % 3]], axis=1)]
    key = boundary.min(axis=1) * np.int64(n_v) + boundary.max(axis=1)
    order = np.argsort(key)
    boundary, face = boundary[order], face[order]
    turned = flipped_mask[face]
    boundary[turned] = boundary[turned][:, ::-1]
    return out, flipped_mask, int(found.inward), found.labels, boundary


def _boundary_loops(edges: np.ndarray, n_v: int, max_edges: int) -> list[np.ndarray | None]:
    """Closed loops of boundary half-edges (position ids) of at most ``max_edges``."""
    if len(edges) == 0:
        return []
    # vertices with more than one outgoing boundary edge are ambiguous: skip their loops
    out_deg = np.bincount(edges[:, 0], minlength=n_v)
    nxt = np.full(n_v, -1, dtype=np.int64)
    nxt[edges[:, 0]] = edges[:, 1]
    visited = np.zeros(n_v, dtype=bool)
    loops = []
    for start in edges[:, 0]:
        if visited[start]:
            continue
        loop = [start]
        visited[start] = True
        ok = out_deg[start] == 1
        cur = nxt[start]
        while cur != start and cur >= 0 and not visited[cur]:
            visited[cur] = True
            ok &= out_deg[cur] == 1
            loop.append(cur)
            cur = nxt[cur]
        closed = cur == start
        if ok and closed and 3 <= len(loop) <= max_edges:
            loops.append(np.asarray(loop))
        else:
            loops.append(None)  # a hole we leave open (too big, or not a simple loop)
    return loops


def _good_faces(f: np.ndarray, pos_ids: np.ndarray, v: np.ndarray, min_area: float,
                report: RepairReport) -> np.ndarray:
    """Mask of the faces to keep: not degenerate (a repeated welded vertex, or twice the
    area at most ``min_area``) and not a duplicate (the same three welded vertices in
    any order as an earlier face); the counts go to ``report``."""
    if _native.MODULE is not None:
        keep = np.empty(len(f), dtype=np.uint8)
        report.degenerate_faces_removed, report.duplicate_faces_removed = _native.MODULE.clean_faces(
            _native.int64(f), _native.int64(pos_ids), _native.float64(v), float(min_area), keep)
        return keep.view(bool)
    t = pos_ids[f]
    tri = v[f]
    area2 = np.linalg.norm(cross3(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    good = (t[:, 0] != t[:, 1]) & (t[:, 1] != t[:, 2]) & (t[:, 0] != t[:, 2]) & (area2 > min_area)
    report.degenerate_faces_removed = int((~good).sum())
    # duplicates: the same three welded vertices in any order, the first one kept
    good_index = np.flatnonzero(good)
    t = np.sort(t[good_index], axis=1)
    _, first_face = _group_ids(t[:, 0], t[:, 1], t[:, 2])
    report.duplicate_faces_removed = int(len(good_index) - len(first_face))
    keep = np.zeros(len(f), dtype=bool)
    keep[good_index[first_face]] = True
    return keep


def face_components(part: Part) -> np.ndarray:
    """Connected-component label of each face (over welded positions)."""
    m = len(part.faces)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    if part.components is not None and len(part.components) == m:
        return part.components
    ids = weld_positions(part.vertices, _default_tol(part.vertices))
    topo = ids[part.faces]
    # link faces through any shared edge (also non-manifold ones) via shared vertices
    fa, fb, *_ = _manifold_pairs(topo, int(ids.max()) + 1)
    return connected_labels(m, fa, fb)[1]


def repair_part(part: Part, *, fill_holes_up_to: int = 32, tol: float | None = None,
                ) -> tuple[Part, RepairReport]:
    """Weld, drop degenerate/duplicate faces, orient outward, fill small holes.

    UV seams are kept: vertices are merged only where position and UV agree; topology
    (winding, holes) uses positions alone.
    """
    report = RepairReport()
    v, f, uv = part.vertices, part.faces, part.uv
    tol = tol or _default_tol(v)
    pos_ids, first = weld_groups(v, tol)
    if uv is not None:
        uvq = np.floor(uv / 1e-6 + 0.5).astype(np.int64)
        uvq -= uvq.min(axis=0, initial=0)
        attr_ids, first = _group_ids(pos_ids, uvq[:, 0], uvq[:, 1])
        pos_ids = pos_ids[first]  # every position keeps at least one vertex: ids stay dense
    else:
        attr_ids, pos_ids = pos_ids, np.arange(len(first))
    report.vertices_welded = int(len(v) - len(first))
    v = v[first]
    uv = None if uv is None else uv[first]
    f = attr_ids[f]
    f = f[_good_faces(f, pos_ids, v, tol * tol * 1e-6, report)]
    f, flipped, report.components_flipped_outward, labels, boundary = _orient(f, v, pos_ids)
    report.faces_flipped = int(flipped.sum())
    # small holes: fan-fill boundary loops of at most `fill_holes_up_to` edges
    if fill_holes_up_to > 0 and len(f):
        n_v = int(pos_ids.max()) + 1
        loops = _boundary_loops(boundary, n_v, fill_holes_up_to)
        rep = np.zeros(n_v, dtype=np.int64)
        rep[pos_ids[::-1]] = np.arange(len(pos_ids))[::-1]
        new, new_labels = [], []
        vertex_label = np.zeros(len(v), dtype=np.int64)
        vertex_label[f.ravel()] = np.repeat(labels, 3)
        for loop in loops:
            if loop is None:
                report.holes_left += 1
                continue
            k = len(loop)
            fan = np.stack([np.full(k - 2, loop[0]), loop[2:], loop[1:-1]], -1)
            new.append(rep[fan])
            new_labels.append(np.full(k - 2, vertex_label[rep[loop[0]]]))
            report.holes_filled += 1
        if new:
            f = np.vstack([f, *new])
            labels = np.concatenate([labels, *new_labels])
    used = np.zeros(len(v), dtype=bool)
    used[f.ravel()] = True
    remap = np.cumsum(used) - 1
    out = part.copy(vertices=v[used], faces=remap[f], uv=None if uv is None else uv[used],
                    components=np.asarray(labels, dtype=np.int64))
    return out, report
