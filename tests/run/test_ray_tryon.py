"""`eyewear tryon --executor ray`: the photos shared among actors that open the face
model and the renderer once; the composites and figures are the local run's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgcraft.cli import app

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.render]
REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_tryon_on_ray_draws_the_local_composites(ray_cluster, tmp_path):
    pytest.importorskip("mediapipe")
    from lgcraft.eyewear.prep import prep_frame
    from lgcraft.eyewear.synthetic import make_frame
    from lgcraft.meshes.batch import run_batch
    from lgcraft.meshes.prep import PrepSettings

    make_frame(detail=16).save(tmp_path / "frame.obj")
    prepped = tmp_path / "prepped"
    assert run_batch([tmp_path / "frame.obj"], prepped, prep_frame, PrepSettings(kind="frame")).ok
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copyfile(REPO / "examples" / "tryon" / "astronaut.png", photos / "astronaut.png")
    outputs = {}
    for executor in ("local", "ray"):
        result = runner.invoke(app, ["--json", "eyewear", "tryon", str(photos), "--frame",
                                     str(prepped), "-o", str(tmp_path / executor),
                                     "--executor", executor])
        assert result.exit_code == 0, (result.output, result.exception)
        outputs[executor] = json.loads(result.stdout.replace(str(tmp_path / executor), "OUT"))
    assert outputs["local"] == outputs["ray"]
    composite = "astronaut.frame.png"
    assert (tmp_path / "local" / composite).read_bytes() == (tmp_path / "ray" / composite).read_bytes()
