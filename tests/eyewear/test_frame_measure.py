"""Pose and boxing measurements of synthetic 52□18-140 frames in any unit and pose."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.eyewear.pose import guess_unit, resolve_scale
from lgcraft.eyewear.prep import analyse_frame
from lgcraft.eyewear.synthetic import make_frame, random_rotation
from lgcraft.meshes.part import Part
from lgcraft.meshes.prep import PrepSettings

UNITS = {"mm": 1.0, "cm": 0.1, "m": 0.001, "in": 1 / 25.4}
FRAME = make_frame(detail=16)
FRAME_NO_LENSES = make_frame(detail=16, lenses=False)
FRAME_OTHER = make_frame(lens_width=49, bridge=21, temple_length=135, detail=16)


def _analyse(model, rotation, scale, **kw):
    moved = model.transformed(rotation, scale)
    parts = [Part(name, p.vertices, p.faces) for name, p in moved.parts.items()]
    return analyse_frame(parts, PrepSettings(**kw), "synthetic")


def _rotation_error_deg(found: np.ndarray, applied: np.ndarray) -> float:
    residual = found @ applied[:3, :3]
    return float(np.degrees(np.arccos(np.clip((np.trace(residual) - 1) / 2, -1, 1))))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), unit=st.sampled_from(sorted(UNITS)))
def test_any_rotation_and_unit_recovers_pose_and_boxing(seed, unit):
    rotation = random_rotation(np.random.default_rng(seed))
    result = _analyse(FRAME, rotation, UNITS[unit])
    box = result.measurements["boxing"]
    assert result.unit == unit
    assert _rotation_error_deg(result.rotation, rotation) < 2.0
    assert abs(box["lens_width_mm"] - 52) <= 1.0
    assert abs(box["bridge_mm"] - 18) <= 1.0
    assert abs(box["temple_length_mm"] - 140) <= 3.0
    assert result.measurements["marking"] == "52\u25a118-140"


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_rim_openings_measure_without_lens_meshes(seed):
    rotation = random_rotation(np.random.default_rng(seed))
    result = _analyse(FRAME_NO_LENSES, rotation, 0.1)
    box = result.measurements["boxing"]
    assert box["method"].startswith("rim openings")
    assert abs(box["lens_width_mm"] - 52) <= 1.0
    assert abs(box["bridge_mm"] - 18) <= 1.0


def test_other_marking_and_canonical_anchors():
    result = _analyse(FRAME_OTHER, random_rotation(np.random.default_rng(3)), 1.0)
    box = result.measurements["boxing"]
    assert abs(box["lens_width_mm"] - 49) <= 1 and abs(box["bridge_mm"] - 21) <= 1
    assert abs(box["temple_length_mm"] - 135) <= 3
    anchors = result.anchors
    assert set(anchors) == {"bridge", "hinge_left", "hinge_right", "ear_rest_left", "ear_rest_right"}
    # wearer's left is +X; hinges sit behind the front and above lens centre
    assert anchors["hinge_left"][0] > 50 and anchors["hinge_right"][0] < -50
    assert anchors["hinge_left"][2] < 0 and anchors["hinge_left"][1] > 0
    # ear rests far back along the temples
    assert anchors["ear_rest_left"][2] < -80
    # origin at bridge centre, lens-centre height: lens boxes symmetric about it
    lens_left = next(p for p in result.parts if p.role == "lens_left")
    lens_right = next(p for p in result.parts if p.role == "lens_right")
    assert abs(lens_left.vertices[:, 0].min() + lens_right.vertices[:, 0].max()) < 0.1
    assert abs(lens_left.vertices[:, 1].max() + lens_left.vertices[:, 1].min()) < 0.1
    roles = {p.role for p in result.parts}
    assert {"front", "temple_left", "temple_right", "lens_left", "lens_right", "nose_pads"} <= roles


def test_temples_merged_into_front_are_split_off():
    from lgcraft.eyewear.synthetic import merge

    merged = merge(FRAME.parts["front"], FRAME.parts["temple_left"], FRAME.parts["temple_right"])
    parts = [Part("frame", merged.vertices, merged.faces),
             Part("lenses", *_lenses())]
    result = analyse_frame(parts, PrepSettings(), "merged")
    assert {"temple_left", "temple_right"} <= {p.role for p in result.parts}
    assert abs(result.measurements["boxing"]["temple_length_mm"] - 140) <= 3


def _lenses():
    from lgcraft.eyewear.synthetic import merge

    m = merge(FRAME.parts["lens_left"], FRAME.parts["lens_right"])
    return m.vertices, m.faces


def test_unit_guess_and_flags():
    assert guess_unit(14.0) == ("cm", 10.0)
    assert guess_unit(0.146) == ("m", 1000.0)
    assert guess_unit(5.5)[0] == "in"
    assert guess_unit(2.1) is None
    assert resolve_scale(2.1, "auto", 140.0) == ("frame-width", pytest.approx(140 / 2.1))
    assert resolve_scale(2.1, "cm", None) == ("cm", 10.0)
    from lgcraft.meshes.errors import UnitError

    with pytest.raises(UnitError, match="cannot tell the unit"):
        resolve_scale(2.1, "auto", None)


def test_frame_width_flag_rescales_an_unknown_unit():
    # 2.1 units wide front: no unit fits; --frame-width 132 gives real size
    scale = 2.1 / 132.0
    result = _analyse(FRAME, np.eye(4), scale, frame_width_mm=132.0)
    assert result.unit == "frame-width"
    assert abs(result.measurements["boxing"]["lens_width_mm"] - 52) <= 1


def test_report_pose_maps_the_output_back_onto_the_input(tmp_path):
    from lgcraft.eyewear.prep import prepare_frame
    from lgcraft.meshes.decimate import hausdorff
    from lgcraft.meshes.mesh import load_model

    src = tmp_path / "f.glb"
    make_frame(detail=16).transformed(random_rotation(np.random.default_rng(5)), 0.1).save(src)
    report = prepare_frame(src, tmp_path / "out", "f", PrepSettings(max_triangles=4000))
    rotation, origin = np.asarray(report["rotation"]), np.asarray(report["origin_input"])
    before = load_model(src)
    after = load_model(tmp_path / "out" / "f.glb")
    back = [p.vertices * 1000.0 / report["mm_per_unit"] @ rotation + origin for p in after.parts]
    v0, f0 = _stack([(p.vertices, p.faces) for p in before.parts])
    v1, f1 = _stack([(v, p.faces) for v, p in zip(back, after.parts, strict=True)])
    error_cm, _ = hausdorff(v0, f0, v1, f1, samples=3000)
    assert error_cm * 10 < 2 * report["hausdorff_mm"] + 0.05


def _stack(meshes):
    verts, faces, offset = [], [], 0
    for v, f in meshes:
        verts.append(v)
        faces.append(f + offset)
        offset += len(v)
    return np.vstack(verts), np.vstack(faces)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000), rows=st.integers(3, 40), cols=st.integers(3, 40),
       fill=st.floats(0.1, 0.9))
def test_rim_raster_closing_and_openings_match_scipy_ndimage(seed, rows, cols, fill):
    """The numpy closing and hole labelling give what scipy.ndimage's binary_closing,
    label and find_objects give (scipy stays out of the prep path: its import alone
    costs more than measuring a frame)."""
    from scipy import ndimage

    from lgcraft.eyewear.frame import _closing, _openings

    grid = np.random.default_rng(seed).random((rows, cols)) < fill
    closed = ndimage.binary_closing(grid, iterations=2)
    np.testing.assert_array_equal(_closing(grid, 2), closed)
    labels, _ = ndimage.label(~closed)
    border = set(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]].tolist())
    expected = [(int((labels[sl] == index).sum()), (sl[0].start, sl[0].stop, sl[1].start, sl[1].stop))
                for index, sl in enumerate(ndimage.find_objects(labels), start=1)
                if index not in border and sl is not None]
    assert _openings(~closed) == expected


def test_geodesic_distances_follow_a_bent_tube_and_stop_at_gaps():
    from lgcraft.eyewear.frame import geodesic_distances

    rng = np.random.default_rng(3)
    # a tube of radius 1.5 mm bent through a half circle of radius 30 mm (94.2 mm long)
    t = rng.random(20000) * np.pi
    ring = rng.normal(size=(20000, 3))
    ring /= np.linalg.norm(ring, axis=1, keepdims=True)
    points = np.stack([30 * np.cos(t), 30 * np.sin(t), np.zeros_like(t)], -1) + 1.5 * ring
    island = rng.random((300, 3)) * 3 + [0.0, -20.0, 0.0]  # 20 mm from the tube: unreachable
    cloud = np.vstack([points, island])
    sources = np.r_[t < 0.01, np.zeros(len(island), dtype=bool)]
    dist = geodesic_distances(cloud, sources, cell=1.2)
    assert np.isinf(dist[len(points):]).all() and np.isfinite(dist[:len(points)]).all()
    assert (dist[sources] == 0).all()
    # along the tube's surface, hugging the inside of the bend (radius 28.5 mm), not
    # across the 60 mm chord
    for angle in (np.pi, np.pi / 2):
        near = np.abs(t - angle) < 0.01
        found = float(np.median(dist[:len(points)][near]))
        assert 28.5 * angle - 1.0 < found < 30 * angle


@pytest.mark.parametrize("threads", [1, 2])
def test_simplifying_one_mesh_frame_regroups_its_faces_by_role(tmp_path, monkeypatch, threads):
    """The simplifier runs on the repaired input (beside the analysis, on another core);
    its faces then go to the roles the analysis found, in the canonical pose: a frame
    exported as one mesh still comes out as front, temples and lenses, each made of
    its own original vertices, the whole within the budget and within its error."""
    from lgcraft.eyewear.prep import analyse_frame, prepare_frame
    from lgcraft.eyewear.synthetic import SyntheticModel, merge
    from lgcraft.meshes import _threads
    from lgcraft.meshes.decimate import hausdorff
    from lgcraft.meshes.mesh import load_model
    from lgcraft.meshes.prep import repair_model

    monkeypatch.setattr(_threads, "FILE_THREADS", threads)
    model = SyntheticModel({"frame": merge(*FRAME.parts.values())}, FRAME.truth)
    rotation = random_rotation(np.random.default_rng(9))
    src = tmp_path / "one.glb"
    model.transformed(rotation, 0.1).save(src)
    report = prepare_frame(src, tmp_path / "out", "one", PrepSettings(max_triangles=3000))
    roles = {p["role"] for p in report["parts"]}
    assert {"front", "temple_left", "temple_right", "lens_left", "lens_right"} <= roles
    assert report["triangles_out"] <= 3000 + 48 * len(report["parts"])
    assert abs(report["boxing"]["temple_length_mm"] - 140) <= 3
    # every output vertex is an input vertex, posed (to the GLB's float32 precision)
    from scipy.spatial import cKDTree

    after = load_model(tmp_path / "out" / "one.glb")
    repaired, _ = repair_model(load_model(src).parts)
    originals = analyse_frame(repaired, PrepSettings(), "one").parts
    tree = cKDTree(np.vstack([p.vertices for p in originals]))
    for part in after.parts:
        assert tree.query(part.vertices * 1000.0)[0].max() < 1e-3
    by_name = {p.name: p for p in after.parts}
    for row in report["parts"]:
        out = by_name[row["name"]]
        assert row["triangles_out"] == len(out.faces) >= min(row["triangles_in"], 48)
    v1, f1 = _stack([(p.vertices * 1000.0, p.faces) for p in after.parts])
    v0, f0 = _stack([(p.vertices, p.faces) for p in originals])
    error, _ = hausdorff(v0, f0, v1, f1, samples=3000)
    assert error <= report["hausdorff_mm"] * 1.5 + 0.05


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_piece_statistics_agree_on_both_kernel_paths(seed):
    """Boxes, areas, centroids and projected covers of every connected piece: the
    compiled per-component sums against numpy's sorted reductions."""
    from lgcraft.eyewear.frame import _pieces
    from lgcraft.meshes import _native
    from lgcraft.meshes.repair import repair_part

    rng = np.random.default_rng(seed)
    moved = FRAME.transformed(random_rotation(rng), float(rng.choice([0.1, 1.0, 25.4])))
    parts = [Part(name, p.vertices, p.faces) for name, p in moved.parts.items()]
    one = Part("all", np.vstack([p.vertices for p in parts]),
               np.vstack([p.faces + o for p, o in
                          zip(parts, np.cumsum([0] + [len(p.vertices) for p in parts]), strict=False)]))
    models = [parts, [one], [repair_part(one)[0]]]  # labels from welding, and from repair
    for model in models:
        fast = _pieces(model)
        with _native.path("numpy"):
            slow = _pieces(model)
        assert len(fast) == len(slow) > 1 or len(model) == len(fast)
        for a, b in zip(fast, slow, strict=True):
            assert a.part_index == b.part_index
            np.testing.assert_array_equal(a.faces, b.faces)
            np.testing.assert_allclose(np.r_[a.lo, a.hi, a.centroid, a.area, a.xy_cover],
                                       np.r_[b.lo, b.hi, b.centroid, b.area, b.xy_cover],
                                       rtol=1e-9, atol=1e-9)
