"""Repair: weld, degenerate/duplicate faces, coherent outward winding, small holes."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.meshes import _native
from lgcraft.meshes.part import Part
from lgcraft.meshes.repair import repair_part, topology

KERNELS = _native.MODULE


@pytest.fixture(autouse=True, scope="module", params=["compiled", "numpy"])
def kernels(request):
    """Every test here runs on both paths: the compiled kernels and the numpy fallback."""
    with _native.path(request.param):
        yield request.param


def _soup(mesh: trimesh.Trimesh) -> Part:
    v = np.asarray(mesh.vertices)[np.asarray(mesh.faces)].reshape(-1, 3)
    return Part("soup", v, np.arange(len(v)).reshape(-1, 3))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), fraction=st.floats(0.0, 1.0))
def test_random_flips_come_out_coherent_and_outward(seed, fraction):
    rng = np.random.default_rng(seed)
    sphere = trimesh.creation.icosphere(subdivisions=2)
    box = trimesh.creation.box(extents=(1, 2, 3))
    box.apply_translation([4, 0, 0])
    mesh = trimesh.util.concatenate([sphere, box])
    faces = np.asarray(mesh.faces).copy()
    flip = rng.random(len(faces)) < fraction
    faces[flip] = faces[flip][:, ::-1]
    fixed, report = repair_part(Part("p", np.asarray(mesh.vertices), faces))
    result = trimesh.Trimesh(fixed.vertices, fixed.faces, process=False)
    assert result.is_winding_consistent
    assert result.volume > 0  # outward
    assert abs(result.volume - mesh.volume) < 1e-9
    parts = [trimesh.Trimesh(fixed.vertices, fixed.faces[fixed.components == c])
             for c in np.unique(fixed.components)]
    assert all(p.volume > 0 for p in parts)
    assert report.faces_flipped >= 0


def test_inside_out_mesh_is_turned_outward():
    sphere = trimesh.creation.icosphere(subdivisions=1)
    part = Part("p", np.asarray(sphere.vertices), np.asarray(sphere.faces)[:, ::-1].copy())
    fixed, report = repair_part(part)
    assert trimesh.Trimesh(fixed.vertices, fixed.faces).volume > 0
    assert report.components_flipped_outward == 1
    assert report.faces_flipped == len(sphere.faces)


def test_soup_is_welded_and_degenerate_and_duplicate_faces_dropped():
    box = trimesh.creation.box()
    part = _soup(box)
    faces = np.vstack([part.faces, part.faces[:2], [[0, 0, 1]]])  # 2 duplicates, 1 degenerate
    fixed, report = repair_part(Part("p", part.vertices, faces))
    assert len(fixed.vertices) == 8
    assert len(fixed.faces) == 12
    assert report.duplicate_faces_removed == 2
    assert report.degenerate_faces_removed == 1
    assert topology(fixed.vertices, fixed.faces).watertight


def test_small_hole_is_filled_and_big_one_left():
    sphere = trimesh.creation.icosphere(subdivisions=3)
    faces = np.asarray(sphere.faces)
    # one small hole: drop the faces around one vertex (a loop of 5-6 edges)
    around = np.flatnonzero((faces == 0).any(axis=1))
    holed = np.delete(faces, around, axis=0)
    fixed, report = repair_part(Part("p", np.asarray(sphere.vertices), holed))
    assert report.holes_filled == 1
    assert topology(fixed.vertices, fixed.faces).watertight
    # a big hole (a whole hemisphere cap) stays open
    cap = np.flatnonzero(sphere.triangles_center[:, 2] > 0.3)
    fixed, report = repair_part(Part("p", np.asarray(sphere.vertices), np.delete(faces, cap, axis=0)))
    assert report.holes_filled == 0 and report.holes_left == 1


def test_uv_seams_survive_welding():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], float)
    uv = np.array([[0, 0], [1, 0], [0, 1], [0.5, 0], [0, 0.5], [0.5, 0.5]])
    part = Part("p", v, np.array([[0, 1, 2], [3, 5, 4]]), uv=uv)
    fixed, _ = repair_part(part)
    assert len(fixed.vertices) == 6  # different UVs on the shared edge: kept apart
    assert topology(fixed.vertices, fixed.faces).inconsistent_edges == 0


def test_topology_counts():
    box = trimesh.creation.box()
    faces = np.asarray(box.faces).copy()
    faces[0] = faces[0][::-1]
    topo = topology(np.asarray(box.vertices), faces)
    assert topo.inconsistent_edges == 3 and topo.boundary_edges == 0
    topo = topology(np.asarray(box.vertices), faces[1:])
    assert topo.boundary_edges == 3 and not topo.watertight


@settings(max_examples=30, deadline=None)
@given(columns=st.lists(st.lists(st.integers(-5, 40), min_size=30, max_size=30), min_size=1,
                        max_size=3))
def test_group_ids_packed_and_lexsorted_agree(columns):
    from lgcraft.meshes import repair

    keys = tuple(np.asarray(c, dtype=np.int64) for c in columns)
    inverse, first = repair._group_ids(*keys)
    rows = list(zip(*columns, strict=True))
    expected = {row: i for i, row in enumerate(sorted(set(rows)))}
    assert inverse.tolist() == [expected[r] for r in rows]
    assert first.tolist() == [rows.index(r) for r in sorted(set(rows))]  # lowest index
    shifted = tuple(k - k.min() for k in keys)  # non-negative: the packed path
    assert repair._pack(shifted) is not None or len(keys) == 1
    assert repair._group_ids(*shifted)[0].tolist() == inverse.tolist()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), fraction=st.floats(0.0, 1.0))
def test_small_hole_is_filled_whatever_the_flips(seed, fraction):
    rng = np.random.default_rng(seed)
    sphere = trimesh.creation.icosphere(subdivisions=2)
    faces = np.asarray(sphere.faces).copy()
    faces = np.delete(faces, rng.integers(len(faces)), axis=0)  # a triangular hole
    flip = rng.random(len(faces)) < fraction
    faces[flip] = faces[flip][:, ::-1]
    fixed, report = repair_part(Part("p", np.asarray(sphere.vertices), faces))
    result = trimesh.Trimesh(fixed.vertices, fixed.faces, process=False)
    assert report.holes_filled == 1 and report.holes_left == 0
    assert result.is_watertight and result.is_winding_consistent and result.volume > 0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(0, 50))
def test_cross3_matches_numpy(seed, rows):
    from lgcraft.meshes.part import cross3

    rng = np.random.default_rng(seed)
    tri = rng.normal(size=(rows, 3, 3))  # strided views, as the callers pass them
    a, b = tri[:, 1] - tri[:, 0], tri[:, 2]
    np.testing.assert_allclose(cross3(a, b), np.cross(a, b), atol=1e-12)
    axis = rng.normal(size=3)
    np.testing.assert_allclose(cross3(a, axis), np.cross(a, axis), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), edges=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)),
                                            max_size=120))
def test_connected_labels_match_scipy(n, edges):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from lgcraft.meshes.repair import connected_labels

    pairs = np.asarray([(a, b) for a, b in edges if a < n and b < n], dtype=np.int64).reshape(-1, 2)
    count, labels = connected_labels(n, pairs[:, 0], pairs[:, 1])
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    expected_count, expected = connected_components(graph, directed=False)
    assert count == expected_count
    assert labels.tolist() == expected.tolist()  # same numbering, by lowest node


def _bfs_flip_bits(m, fa, fb, parity):
    """The flip bits from scipy's BFS spanning forest (the implementation this replaced)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    from lgcraft.meshes.repair import connected_labels

    _, labels = connected_labels(m, fa, fb)
    roots = np.unique(labels, return_index=True)[1]
    rows, cols = np.r_[fa, np.full(len(roots), m)], np.r_[fb, roots]
    forest = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(m + 1, m + 1)).tocsr()
    order, pred = breadth_first_order(forest, m, directed=False, return_predecessors=True)
    link = {}
    for a, b, p in zip(fa.tolist(), fb.tolist(), parity.tolist(), strict=True):
        link[(min(a, b), max(a, b))] = p
    flip = np.zeros(m, dtype=np.int8)
    for node in order[1:]:  # BFS order: a parent's bit is set before its children's
        parent = pred[node]
        if parent != m:
            flip[node] = flip[parent] ^ link[(min(node, parent), max(node, parent))]
    return flip, labels


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), edges=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)),
                                            max_size=120),
       hidden=st.lists(st.integers(0, 1), min_size=60, max_size=60),
       noise=st.lists(st.integers(0, 1), min_size=120, max_size=120), consistent=st.booleans())
def test_flip_bits_match_a_bfs_forest(n, edges, hidden, noise, consistent):
    from lgcraft.meshes.repair import _flip_bits

    seen, pairs = set(), []
    for a, b in edges:  # a manifold edge links two distinct faces once
        if a < n and b < n and a != b and (min(a, b), max(a, b)) not in seen:
            seen.add((min(a, b), max(a, b)))
            pairs.append((a, b))
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    fa, fb = pairs[:, 0], pairs[:, 1]
    truth = np.asarray(hidden[:n], dtype=np.int8)
    parity = (truth[fa] ^ truth[fb]).astype(np.int8)
    if not consistent:
        parity = parity ^ np.asarray(noise[:len(fa)], dtype=np.int8)
    flip = _flip_bits(n, fa, fb, parity, None)
    expected, labels = _bfs_flip_bits(n, fa, fb, parity)
    if consistent:
        # the answer is unique up to turning a whole component over: same as the BFS's
        # once each component's first face is fixed, and every link satisfied
        first = np.unique(labels, return_index=True)[1]
        assert ((flip ^ flip[first][labels]) == (expected ^ expected[first][labels])).all()
        assert ((flip[fa] ^ flip[fb]) == parity).all()
    else:
        # some spanning forest's links are all satisfied: a forest has n - components
        # links, so at least that many links are satisfied, as with the BFS forest
        satisfied = int(((flip[fa] ^ flip[fb]) == parity).sum())
        assert satisfied >= n - len(np.unique(labels))


def test_the_install_built_the_compiled_kernels():
    # scripts/install.sh has a C compiler; without one the numpy path above still runs
    assert KERNELS is not None


def _compiled_only(kernels: str) -> None:
    """Tests of the compiled kernels themselves run once, under the compiled parameter
    (their numpy twins are deselected in conftest.py; the install test above fails where
    the kernels were not built)."""
    if KERNELS is None:
        pytest.skip("the compiled kernels were not built (no C compiler)")


def _messy_soup(rng) -> Part:
    """Closed shapes as an unwelded soup with UV seams, random flips, duplicate and
    degenerate faces, a punched hole, and shuffled faces."""
    sphere = trimesh.creation.icosphere(subdivisions=2)
    box = trimesh.creation.box(extents=(1, 2, 3))
    box.apply_translation([4, 0, 0])
    cyl = trimesh.creation.cylinder(radius=0.5, height=2, sections=int(rng.integers(5, 20)))
    cyl.apply_translation([0, 4, 0])
    mesh = trimesh.util.concatenate([sphere, box, cyl])
    faces = np.asarray(mesh.faces)
    faces = faces[rng.permutation(len(faces))][int(rng.integers(0, 3)):]  # maybe a hole
    flip = rng.random(len(faces)) < rng.random()
    faces = faces.copy()
    faces[flip] = faces[flip][:, ::-1]
    v = np.asarray(mesh.vertices)[faces].reshape(-1, 3)
    f = np.arange(len(v)).reshape(-1, 3)
    dup = rng.integers(0, len(f), 5)
    f = np.vstack([f, f[dup][:, [1, 2, 0]], [[0, 0, 1], [3, 4, 3]]])
    uv = np.round(v[:, :2] * 4) / 4 if rng.random() < 0.5 else None  # seams where uv jumps
    return Part("p", v + rng.normal(0, 1e-9, v.shape), f, uv)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_compiled_kernels_repair_exactly_like_numpy(kernels, seed):
    _compiled_only(kernels)
    part = _messy_soup(np.random.default_rng(seed))
    fast, fast_report = repair_part(part)
    with _native.path("numpy"):
        slow, slow_report = repair_part(part)
        slow_topology = topology(part.vertices, part.faces)
    assert fast_report == slow_report
    np.testing.assert_array_equal(fast.faces, slow.faces)
    np.testing.assert_array_equal(fast.vertices, slow.vertices)
    np.testing.assert_array_equal(fast.components, slow.components)
    assert topology(part.vertices, part.faces) == slow_topology


@pytest.mark.parametrize("call", [
    lambda k: k.orient(np.zeros((1, 3), np.int32), np.zeros(3, np.int64), np.zeros((3, 3)), 1,
                       np.zeros(1, np.uint8), np.zeros(1, np.int64), np.zeros(3, np.int64)),
    lambda k: k.orient(np.array([[0, 1, 5]]), np.zeros(3, np.int64), np.zeros((3, 3)), 1,
                       np.zeros(1, np.uint8), np.zeros(1, np.int64), np.zeros(3, np.int64)),
    lambda k: k.orient(np.array([[0, 1, 2]]), np.arange(3), np.zeros((3, 3)), 2,
                       np.zeros(1, np.uint8), np.zeros(1, np.int64), np.zeros(3, np.int64)),
    lambda k: k.clean_faces(np.array([[0, 1, 2]]), np.arange(3), np.zeros((3, 3)), 0.0,
                            np.zeros(2, np.uint8)),
])
def test_compiled_kernels_refuse_bad_arrays(kernels, call):
    _compiled_only(kernels)
    with pytest.raises(ValueError):
        call(KERNELS)


def test_compiled_kernels_match_numpy_around_a_high_valence_vertex(kernels):
    """A cone of 3000 sections: its apex and base centre each touch thousands of edges
    (the kernel sorts such a bucket instead of scanning it), with flips and a hole."""
    _compiled_only(kernels)
    rng = np.random.default_rng(5)
    cone = trimesh.creation.cone(radius=1.0, height=2.0, sections=3000)
    faces = np.asarray(cone.faces).copy()
    flip = rng.random(len(faces)) < 0.3
    faces[flip] = faces[flip][:, ::-1]
    part = Part("cone", np.asarray(cone.vertices), faces[1:])
    fast, fast_report = repair_part(part)
    with _native.path("numpy"):
        slow, slow_report = repair_part(part)
    assert fast_report == slow_report and fast_report.holes_filled == 1
    np.testing.assert_array_equal(fast.faces, slow.faces)
    assert trimesh.Trimesh(fast.vertices, fast.faces).is_winding_consistent
