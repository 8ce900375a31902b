"""`jewelry draft --executor ray`: actors that load the tiny pipeline once, the plan
shared among them, every PNG byte for byte the local run's; stopping mid-plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgcraft.cli import app

pytestmark = [pytest.mark.ray, pytest.mark.slow]
runner = CliRunner()

DRAFT = ["jewelry", "draft", "--type", "ring", "--metal", "rose-gold", "--stone", "diamond",
         "-n", "4", "--seed", "11", "--steps", "3"]


@pytest.fixture()
def one_torch_thread():
    """A local run on one CPU thread: then each of the cluster's two CPUs is a device
    slot (actors get the driver's thread count), and the plan is split in two."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def draft(*args: str) -> dict:
    result = runner.invoke(app, ["--json", *DRAFT, *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_ray_drafts_are_the_local_drafts_bit_for_bit(ray_cluster, tiny_sd, tmp_path,
                                                     one_torch_thread):
    local = draft("--model", str(tiny_sd), "--out", str(tmp_path / "local"))
    on_ray = draft("--model", str(tiny_sd), "--out", str(tmp_path / "ray"), "--executor", "ray")
    assert local["executor"] == "local" and local["workers"] == 1
    assert on_ray["executor"] == "ray" and on_ray["workers"] == 2  # one actor per CPU slot
    assert [i["index"] for i in on_ray["images"]] == [1, 2, 3, 4]  # in plan order
    for mine, theirs in zip(local["images"], on_ray["images"], strict=True):
        a, b = Path(mine["file"]), Path(theirs["file"])
        assert a.name == b.name
        assert a.read_bytes() == b.read_bytes()  # pixels and the recipe inside
        assert mine["sha256"] == theirs["sha256"]
        assert json.loads(a.with_suffix(".json").read_text()) == \
            json.loads(b.with_suffix(".json").read_text())
    report = json.loads(Path(on_ray["report_file"]).read_text())
    assert len(report["images"]) == 4 and report["interrupted"] is False
    assert not list((tmp_path / "ray").glob(".*.part"))


def test_stopping_finishes_the_files_being_written(ray_cluster, tiny_sd, tmp_path):
    """What the first Ctrl-C does (the CLI's stop flag): no new image starts, the
    images under way are finished or dropped whole, the report says interrupted."""
    from lgcraft.jewelry.brief import plan_from_options
    from lgcraft.jewelry.drafts import DraftOptions, run_plan
    from lgcraft.jewelry.prompt import DesignSpec
    from lgcraft.run import parse_executor

    plan = plan_from_options(DesignSpec(type="ring", metal="platinum"), count=8, seed=3,
                             steps=3, guidance=None, size=None)
    seen: list = []
    report = run_plan(plan, DraftOptions(model=str(tiny_sd)), tmp_path,
                      on_image=seen.append, should_stop=lambda: len(seen) >= 1,
                      executor=parse_executor("ray"))
    assert report.interrupted is True
    assert 1 <= len(report.images) < 8
    pngs = sorted(tmp_path.glob("*.png"))
    assert [p.name for p in pngs] == sorted(i.file.name for i in report.images)
    from PIL import Image

    for png in pngs:  # whole files, each with its sidecar
        Image.open(png).load()
        assert png.with_suffix(".json").is_file()
    assert not list(tmp_path.glob(".*.part"))


def test_a_model_the_workers_cannot_load_is_one_error_line(ray_cluster, tiny_sd, tmp_path,
                                                            capsys):
    """The actors' load error reaches the user as the local one does: one line, exit 1."""
    import shutil

    from lgcraft.cli import main

    broken = tmp_path / "broken-sd"
    shutil.copytree(tiny_sd, broken)
    for weights in (broken / "unet").glob("*.safetensors"):
        weights.write_bytes(b"not weights")
    code = main([*DRAFT, "--model", str(broken), "--out", str(tmp_path / "o"),
                 "--executor", "ray"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert f"Error: cannot load model {broken}" in err and "Traceback" not in err
