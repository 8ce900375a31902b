"""Placement checked from the composite's pixels against freshly found landmarks: the
lens pixels (green) of a frame that suits the face sit before the pupils, the frame's
centre on the nose bridge; the JSON figures are the public contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from .conftest import invoke

pytestmark = pytest.mark.render


def _green(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., k].astype(int) for k in range(3))
    return (g > r + 40) & (g > b + 40)


def _two_blobs(mask: np.ndarray) -> list[np.ndarray]:
    from scipy import ndimage

    labels, count = ndimage.label(mask)
    sizes = ndimage.sum(mask, labels, range(1, count + 1))
    biggest = np.argsort(sizes)[::-1][:2] + 1
    centres = [np.array(ndimage.center_of_mass(mask, labels, i))[::-1] for i in biggest]
    return sorted(centres, key=lambda c: c[0])  # image left first: the subject's right


def test_frame_sits_on_the_face_from_pixels(tmp_path, photos, prepared, astronaut_rgb, face_model):
    out = tmp_path / "out"
    result = invoke(["--json", "eyewear", "tryon", photos["astronaut"], "--frame", prepared["frame"],
                     "-o", out])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (composite,) = data["composites"]
    png = Image.open(composite["output"])
    assert png.size == Image.open(photos["astronaut"]).size
    rgb = np.asarray(png.convert("RGB"))
    assert not _green(astronaut_rgb).any()  # the photo itself has no such green
    lens_right, lens_left = _two_blobs(_green(rgb))
    # landmarks found afresh on the untouched photo (one plain pass, not the tool's average)
    points = face_model.faces(astronaut_rgb)[0].points
    pupil_right, pupil_left, bridge = points[468, :2], points[473, :2], points[168, :2]
    ipd = float(np.linalg.norm(pupil_left - pupil_right))
    assert np.linalg.norm(lens_right - pupil_right) < 0.15 * ipd
    assert np.linalg.norm(lens_left - pupil_left) < 0.15 * ipd
    # the bridge anchor: midway between the lens (boxing) centres, shifted by the anchor's
    # height in the prepared model (its own geometry, scaled by the drawn lenses' spacing)
    from lgcraft.tryon.models import read_prepared

    anchor_y = read_prepared(prepared["frame"], "frame").anchors["bridge"][1]  # mm, frame +Y up
    across = lens_left - lens_right
    px_per_mm = np.linalg.norm(across) / 62.0
    down = np.array([-across[1], across[0]]) / np.linalg.norm(across)
    drawn_bridge = (lens_left + lens_right) / 2 - down * anchor_y * px_per_mm
    assert np.linalg.norm(drawn_bridge - bridge) < 0.05 * ipd
    # the frame is drawn at true scale: lens centres (48 + 14) mm apart, by the PD's scale
    mm_per_px = composite["pd_mm"] / ipd
    assert abs(np.linalg.norm(lens_left - lens_right) * mm_per_px - 62.0) < 62.0 * 0.08
    # only the frame's neighbourhood changed
    changed = np.abs(rgb.astype(int) - astronaut_rgb.astype(int)).sum(axis=2) > 0
    ys, xs = np.nonzero(changed)
    assert ys.min() > 60 and ys.max() < 150 and xs.min() > 150 and xs.max() < 300


def test_tryon_json_contract(tmp_path, photos, prepared):
    result = invoke(["--json", "eyewear", "tryon", photos["astronaut"], "--frame", prepared["frames"],
                     "-o", tmp_path / "o"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"composites", "photos", "failed"} and data["failed"] == 0
    c = data["composites"][0]
    for key in ("photo", "frame", "output", "size", "face", "faces_found", "pd_mm", "mono_pd_mm",
                "head_pose_deg", "placement", "confidence", "low_confidence", "frame_pd_mm",
                "marking", "fit"):
        assert key in c, key
    assert set(c["head_pose_deg"]) == {"yaw", "pitch", "roll"}
    assert set(c["mono_pd_mm"]) == {"right", "left"}
    assert abs(c["mono_pd_mm"]["right"] + c["mono_pd_mm"]["left"] - c["pd_mm"]) < 0.2
    assert c["frame_pd_mm"] == pytest.approx(62.0, abs=0.5) and c["marking"] == "48\u25a114-135"
    transform = np.array(c["placement"]["transform"])
    assert transform.shape == (4, 4)
    assert np.allclose(transform[:3, :3] @ transform[:3, :3].T, np.eye(3), atol=1e-4)
    assert -2.0 < transform[2, 3] < -0.3  # metres in front of the camera
    assert 54 <= c["pd_mm"] <= 74 and 0 < c["confidence"] <= 1


def test_earrings_hang_at_both_lobes(tmp_path, photos, prepared):
    result = invoke(["--json", "jewelry", "tryon", photos["astronaut"], "--earring",
                     prepared["earring"], "-o", tmp_path / "e"])
    assert result.exit_code == 0, result.output
    (c,) = json.loads(result.stdout)["composites"]
    assert set(c["earrings"]) == {"left", "right"}
    assert all(not e["hidden"] and e["visible_pixels"] > 20 for e in c["earrings"].values())
    right, left = c["pixels"]["lobe_right"], c["pixels"]["lobe_left"]
    assert right[0] < 200 < 250 < left[0]  # outside the face, either side
    assert 110 < right[1] < 170 and 110 < left[1] < 170  # below the eyes, above the chin
