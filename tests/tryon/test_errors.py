"""Bad input: per-photo errors that let the batch go on (exit 1), files that stop it
(exit 2, nothing written), unprepared models, several faces, and measure's contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from .conftest import invoke


def _said(result) -> str:
    return " ".join(result.stderr.split())  # rich wraps long lines


@pytest.fixture
def inputs(tmp_path, photos, astronaut_rgb):
    folder = tmp_path / "in"
    folder.mkdir()
    blank = folder / "wall.png"  # no face: a plain gradient
    Image.fromarray(np.tile(np.linspace(0, 255, 300, dtype=np.uint8), (200, 1))).convert("RGB").save(blank)
    text = folder / "notes.jpg"
    text.write_text("not a photo\n")
    truncated = folder / "cut.jpg"
    full = folder / "full.jpg"
    Image.fromarray(astronaut_rgb).save(full, quality=90)
    truncated.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    pair = folder / "two.png"  # two faces: the astronaut's head and a 0.7x copy beside it
    big = Image.fromarray(astronaut_rgb).crop((110, 20, 350, 300))
    small = big.resize((168, 196), Image.LANCZOS)
    canvas = Image.new("RGB", (240 + 20 + small.width, 280), (200, 200, 200))
    canvas.paste(big, (0, 0))
    canvas.paste(small, (260, 280 - small.height))
    canvas.save(pair)
    return {"blank": blank, "text": text, "truncated": truncated, "pair": pair,
            "astronaut": photos["astronaut"]}


def test_no_face_is_a_per_photo_error_and_the_batch_goes_on(tmp_path, inputs, prepared):
    out = tmp_path / "out"
    result = invoke(["--json", "eyewear", "tryon", inputs["blank"], inputs["astronaut"],
                     "--frame", prepared["frame"], "-o", out])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["failed"] == 1
    failed = [p for p in data["photos"] if p["status"] == "failed"]
    assert "wall.png" in failed[0]["error"] and "no face" in failed[0]["error"]
    assert len(data["composites"]) == 1 and (out / "astronaut.green-48-14-135.png").is_file()
    assert "Error:" in result.stderr and "wall.png" in _said(result)


@pytest.mark.parametrize("which", ["text", "truncated"])
def test_not_an_image_stops_the_run_before_anything_is_written(tmp_path, inputs, prepared, which):
    out = tmp_path / "out"
    result = invoke(["eyewear", "tryon", inputs["astronaut"], inputs[which], "--frame",
                     prepared["frame"], "-o", out])
    assert result.exit_code == 2, result.output
    said = _said(result)
    assert inputs[which].name in said and "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_unprepared_glb_says_run_prep_first(tmp_path, inputs, prepared):
    result = invoke(["eyewear", "tryon", inputs["astronaut"], "--frame", prepared["raw_frame"],
                     "-o", tmp_path / "out"])
    assert result.exit_code == 2
    said = _said(result)
    assert "not a prepared frame" in said and "lgcraft eyewear prep" in said
    result = invoke(["jewelry", "tryon", inputs["astronaut"], "--earring", prepared["frame"],
                     "-o", tmp_path / "out"])
    assert result.exit_code == 2 and "anchor_piercing" in _said(result)


def test_glb_not_in_metres_is_refused(tmp_path, inputs, prepared):
    from lgcraft.meshes.gltf import glb_from_parts
    from lgcraft.tryon.models import read_prepared

    frame = read_prepared(prepared["frame"], "frame")  # mm; written back with scale 1: mm units
    anchors = {name: list(point) for name, point in frame.anchors.items()}
    wrong = tmp_path / "in-mm.glb"
    wrong.write_bytes(glb_from_parts(frame.parts, anchors, scale=1.0))
    result = invoke(["eyewear", "tryon", inputs["astronaut"], "--frame", wrong, "-o", tmp_path / "o"])
    assert result.exit_code == 2
    said = _said(result)
    assert "not a frame in metres" in said and "lgcraft eyewear prep" in said


def test_never_writes_beside_the_input(inputs, prepared):
    result = invoke(["eyewear", "tryon", inputs["astronaut"], "--frame", prepared["frame"],
                     "-o", inputs["astronaut"].parent])
    assert result.exit_code == 2 and "beside the input" in _said(result)


def test_several_faces_largest_or_face_n(tmp_path, inputs):
    result = invoke(["--json", "eyewear", "measure", inputs["pair"]])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)["photos"][0]
    assert first["face"]["faces_found"] == 2 and first["face"]["face"] == 1
    assert any("2 faces found" in w for w in first["warnings"])
    assert "2 faces found" in _said(result)
    result = invoke(["--json", "eyewear", "measure", inputs["pair"], "--face", "2"])
    second = json.loads(result.stdout)["photos"][0]
    assert second["face"]["face"] == 2
    assert second["face"]["iris_px"] < first["face"]["iris_px"]  # the smaller copy
    # the same person: the PD agrees across the two sizes
    assert abs(second["face"]["pd_mm"] - first["face"]["pd_mm"]) < 2.5
    result = invoke(["--json", "eyewear", "measure", inputs["pair"], "--face", "3"])
    assert result.exit_code == 1 and "--face 3" in _said(result)


def test_measure_ranks_a_catalogue(inputs, prepared):
    result = invoke(["--json", "eyewear", "measure", inputs["astronaut"], "--catalog",
                     prepared["frames"]])
    assert result.exit_code == 0, result.output
    photo = json.loads(result.stdout)["photos"][0]
    fit = photo["fit"]
    for key in ("pd_mm", "face_width_mm", "nose_width_mm", "total_width_mm", "frame_pd_mm",
                "lens_width_mm", "bridge_mm", "temple_length_mm"):
        assert key in fit
    lo, hi = fit["frame_pd_mm"]
    assert lo == pytest.approx(fit["pd_mm"]) and hi == pytest.approx(fit["pd_mm"] + 10)
    assert 110 < fit["face_width_mm"] < 160
    (ranked,) = photo["ranking"]
    assert set(ranked) >= {"name", "glb", "marking", "score_mm", "fits", "reasons", "frame_pd_mm"}
    assert ranked["frame_pd_mm"] == pytest.approx(62.0, abs=0.5)
    assert ranked["reasons"] and isinstance(ranked["fits"], bool)
    result = invoke(["eyewear", "measure", inputs["astronaut"], "--catalog", inputs["text"].parent])
    assert result.exit_code == 2 and "batch.json" in _said(result)


def test_catalogue_names_stay_inside_the_folder(tmp_path, inputs, prepared):
    folder = tmp_path / "cat"
    folder.mkdir()
    outside = tmp_path / "secret.glb"
    outside.write_bytes(prepared["frame"].read_bytes())
    (folder / "batch.json").write_text(json.dumps({"files": [
        {"name": "../secret", "status": "ok", "kind": "frame"}]}))
    result = invoke(["eyewear", "measure", inputs["astronaut"], "--catalog", folder])
    assert result.exit_code == 2 and "not a file name" in _said(result)
