"""True scale: one face's PD read from variants of its photo agrees within 1.5 mm (the
naive iris reading spreads wider), small faces get the low-confidence warning, EXIF
orientation is honoured."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from lgcraft.tryon.constants import ADULT_PD_MM
from lgcraft.tryon.face import analyse_face
from lgcraft.tryon.landmarks import Photo, load_photo
from lgcraft.tryon.scale import pd_from_points


def variants(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """The issue's variants: scaled 0.75-2x, rotated up to 20 degrees, mirrored, cropped,
    recompressed as JPEG."""
    image = Image.fromarray(rgb)
    w, h = image.size
    out = {"original": rgb}
    for s in (0.75, 1.5, 2.0):
        out[f"scaled {s}x"] = np.asarray(image.resize((round(w * s), round(h * s)), Image.LANCZOS))
    for angle in (-20, 10, 20):
        out[f"rotated {angle}"] = np.asarray(image.rotate(angle, resample=Image.BICUBIC, expand=True))
    out["mirrored"] = np.ascontiguousarray(rgb[:, ::-1])
    out["cropped"] = np.ascontiguousarray(rgb[30:330, 90:390])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60)
    out["jpeg q60"] = np.asarray(Image.open(buffer).convert("RGB"))
    return out


@pytest.mark.slow
def test_pd_agrees_over_variants(tmp_path, astronaut_rgb, face_model):
    robust, naive = {}, {}
    for name, rgb in variants(astronaut_rgb).items():
        face = analyse_face(Photo(tmp_path / f"{name}.png", rgb), face_model)
        robust[name] = face.pd_mm
        naive[name] = pd_from_points(face_model.faces(rgb)[0].points)[0]
        assert face.scale.low_confidence is None, (name, face.scale.low_confidence)
    spread = max(robust.values()) - min(robust.values())
    assert spread <= 1.5, robust
    assert all(ADULT_PD_MM[0] <= pd <= ADULT_PD_MM[1] for pd in robust.values()), robust
    # the naive one-pass reading of the same photos spreads wider: the estimator earns its keep
    assert max(naive.values()) - min(naive.values()) > spread, (naive, robust)


def test_small_face_gets_the_low_confidence_warning(tmp_path, photos, astronaut_rgb):
    from .conftest import invoke

    small = tmp_path / "in" / "small.png"
    small.parent.mkdir()
    Image.fromarray(astronaut_rgb).resize((256, 256), Image.LANCZOS).save(small)
    result = invoke(["--json", "eyewear", "measure", small])
    assert result.exit_code == 0, result.output
    face = json.loads(result.stdout)["photos"][0]["face"]
    assert "too small" in face["low_confidence"] and "px" in face["low_confidence"]
    assert face["confidence"] <= 0.4
    said = " ".join(result.stderr.split())  # rich wraps lines
    assert "low confidence" in said and "iris" in said


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_exif_orientation_is_honoured(tmp_path, astronaut_rgb, face_model, orientation):
    # store the pixels turned the way a camera would, with the tag that undoes it
    turn = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_180}
    stored = Image.fromarray(astronaut_rgb).transpose(turn[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    stored.save(path, quality=95, exif=exif)
    photo = load_photo(path)
    assert photo.exif_orientation == orientation
    assert photo.rgb.shape == astronaut_rgb.shape
    assert np.abs(photo.rgb.astype(int) - astronaut_rgb).mean() < 6  # upright again
    face = analyse_face(photo, face_model)
    assert abs(face.pose.roll_deg) < 10


def test_card_sets_the_scale_and_measures_the_iris(tmp_path, photos):
    from .conftest import invoke

    plain = json.loads(invoke(["--json", "eyewear", "measure", photos["astronaut"]]).stdout)
    plain_face = plain["photos"][0]["face"]
    # a card whose long edge spans 60 px (marked at the forehead): 85.60 mm / 60 px
    result = invoke(["--json", "eyewear", "measure", photos["astronaut"], "--card", "195,60,255,60"])
    assert result.exit_code == 0, result.output
    face = json.loads(result.stdout)["photos"][0]["face"]
    assert face["scale_from"] == "card" and plain_face["scale_from"] == "iris"
    # the same pupil distance in pixels (about 43 px here), at the card's scale
    pupils_px = plain_face["pd_mm"] / 11.7 * plain_face["iris_px"]
    assert abs(face["pd_mm"] - pupils_px * 85.60 / 60.0) < 1.0
    assert abs(face["iris_mm"] - plain_face["iris_px"] * 85.60 / 60.0) < 0.2
    assert face["pd_uncertainty_mm"] < plain_face["pd_uncertainty_mm"]  # the 4% rule term is gone
    for bad in ("1,2,3", "a,b,c,d", "0,0,10,0", "0,0,900,0"):
        result = invoke(["eyewear", "measure", photos["astronaut"], "--card", bad])
        assert result.exit_code == 2 and "--card" in result.stderr, bad
    result = invoke(["eyewear", "measure", photos["astronaut"], photos["astronaut-turned"],
                     "--card", "195,60,255,60"])
    assert result.exit_code == 2 and "one photo" in " ".join(result.stderr.split())


def test_small_face_in_a_large_photo_is_found_in_windows(tmp_path, astronaut_rgb, face_model):
    canvas = Image.new("RGB", (1600, 1200), (180, 180, 180))
    canvas.paste(Image.fromarray(astronaut_rgb), (533, 200))
    rgb = np.asarray(canvas)
    assert face_model.faces(rgb) == []  # the short-range detector misses it whole
    face = analyse_face(Photo(tmp_path / "wide.png", rgb), face_model)
    plain = analyse_face(Photo(tmp_path / "plain.png", astronaut_rgb), face_model)
    assert face.faces_found == 1 and abs(face.pd_mm - plain.pd_mm) < 1.0
    assert abs(face.points_px[168, 0] - (plain.points_px[168, 0] + 533)) < 2
