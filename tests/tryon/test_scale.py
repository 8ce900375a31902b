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
