"""Try-on fixtures: the public-domain astronaut photo (and its head-turn variant) from
examples/tryon, a frame prepared by the real `lgcraft eyewear prep` with green lenses
(so the tests can find the lenses in the composite's pixels), a prepared earring."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "tryon"
LENS_GREEN = [0.05, 0.85, 0.1, 1.0]
FRAME_MARKING = (48.0, 14.0, 135.0)  # frame PD 62 mm: a frame that suits the astronaut's 59.5

@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(args: list) -> Run:
    """The CLI's own entry point (its error handler and exit codes), output captured."""
    from lgcraft.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> dict[str, Path]:
    """The example photos, copied into a folder of their own."""
    folder = tmp_path_factory.mktemp("photos")
    out = {}
    for name in ("astronaut", "astronaut-turned"):
        out[name] = folder / f"{name}.png"
        shutil.copy(EXAMPLES / f"{name}.png", out[name])
    return out


@pytest.fixture(scope="session")
def astronaut_rgb(photos) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(photos["astronaut"]).convert("RGB"))


@pytest.fixture(scope="session")
def face_model():
    from lgcraft.tryon.landmarks import FaceMeshModel

    with FaceMeshModel() as model:
        yield model


def _green_lens_frame(path: Path) -> None:
    """A synthetic full-rim frame with green lenses and a black front, as a mm GLB."""
    from lgcraft.eyewear.synthetic import make_frame
    from lgcraft.meshes.gltf import GltfMaterial, glb_from_parts
    from lgcraft.meshes.part import Part

    lens, bridge, temple = FRAME_MARKING
    model = make_frame(lens_width=lens, bridge=bridge, temple_length=temple, detail=24)
    materials = {
        "lens": GltfMaterial({"name": "green lens", "pbrMetallicRoughness": {
            "baseColorFactor": LENS_GREEN, "metallicFactor": 0.0, "roughnessFactor": 0.6}}),
        "frame": GltfMaterial({"name": "black acetate", "pbrMetallicRoughness": {
            "baseColorFactor": [0.03, 0.03, 0.03, 1.0], "metallicFactor": 0.0,
            "roughnessFactor": 0.4}}),
    }
    parts = [Part(name, mesh.vertices.copy(), mesh.faces.copy(), None,
                  materials["lens" if name.startswith("lens") else "frame"])
             for name, mesh in model.parts.items()]
    path.write_bytes(glb_from_parts(parts, {}, scale=1.0))


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> dict[str, Path]:
    """A frame and an earring prepared by the real prep commands."""
    raw = tmp_path_factory.mktemp("raw")
    out = tmp_path_factory.mktemp("prepared")
    _green_lens_frame(raw / "green-48-14-135.glb")
    result = invoke(["--json", "eyewear", "prep", raw / "green-48-14-135.glb", "--out",
                     out / "frames", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"][0]["marking"] == "48\u25a114-135"
    result = invoke(["--json", "jewelry", "prep", REPO / "examples" / "jewelry" / "meshes" / "hook-m.glb",
                     "--out", out / "jewelry", "--jobs", "1", "--kind", "earring"])
    assert result.exit_code == 0, result.output
    return {"frames": out / "frames", "frame": out / "frames" / "green-48-14-135.glb",
            "earring": out / "jewelry" / "hook-m.glb", "raw_frame": raw / "green-48-14-135.glb"}
