"""Drafting end to end on tiny pipelines saved to disk (same load path as a real model)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lgcraft.cli import app, main
from lgcraft.jewelry.recipe import parse_a1111, read_recipe

runner = CliRunner()


def invoke_json(*args: str) -> dict:
    result = runner.invoke(app, ["--json", "jewelry", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def drafted(tiny_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("drafts")
    data = invoke_json("draft", "--type", "ring", "--metal", "rose-gold", "--stone", "diamond",
                       "--cut", "oval", "--style", "halo", "-n", "3", "--seed", "5", "--steps", "3",
                       "--model", str(tiny_models["sd"]), "--out", str(out))
    return out, data


def test_draft_json_report_and_files(drafted, tiny_models):
    out, data = drafted
    assert {"collection", "out_dir", "model", "device", "dtype", "images", "near_duplicates", "warnings",
            "interrupted", "seconds_per_image", "report_file"} <= set(data)
    assert data["device"] == "cpu" and data["dtype"] == "float32" and data["interrupted"] is False
    assert data["model"]["license"] == "apache-2.0" and data["model"]["commercial"] == "yes"
    assert len(data["model"]["folder_hash"]) == 64
    assert [i["seed"] for i in data["images"]] == [5, 6, 7]
    for item in data["images"]:
        assert {"file", "sidecar", "sha256", "width", "height", "quality", "warnings"} <= set(item)
        assert {"phash", "sharpness", "clean_background", "metal_seen", "metal_asked"} <= set(item["quality"])
        assert item["quality"]["metal_asked"] == "rose"
        assert Path(item["file"]).name.startswith(f"{item['index']:03d}-ring-s{item['seed']}-")
        assert (item["width"], item["height"]) == (32, 32)
    report = json.loads(Path(data["report_file"]).read_text())
    assert len(report["images"]) == 3
    assert sorted(p.suffix for p in out.iterdir()) == [".json"] * 4 + [".png"] * 3


def test_png_metadata_reads_back_like_a1111(drafted):
    out, data = drafted
    path = Path(data["images"][0]["file"])
    with Image.open(path) as image:
        params = parse_a1111(image.text["parameters"])
    assert params["Prompt"].startswith("18k rose gold halo ring with an oval cut diamond")
    assert "hallmark" in params["Negative prompt"]
    assert params["Steps"] == "3" and params["Seed"] == "5" and params["Size"] == "32x32"
    assert params["Sampler"] == "DDIM" and params["CFG scale"] == "7"
    recipe = read_recipe(path)
    assert recipe.seed == 5 and recipe.kind == "txt2img" and recipe.spec["metal"] == "rose-gold"
    assert set(recipe.versions) >= {"lgcraft", "torch", "diffusers", "transformers"}
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["recipe"] == recipe.to_dict()


def test_output_slice_matches_reference(drafted):
    _, data = drafted
    pixels = np.asarray(Image.open(data["images"][0]["file"]).convert("RGB"), dtype=np.int16)
    corner = pixels[:3, :3, 0].flatten()
    expected = np.array(EXPECTED_CORNER, dtype=np.int16)
    assert np.abs(corner - expected).max() <= 3, corner.tolist()


EXPECTED_CORNER = [109, 111, 113, 120, 142, 141, 138, 158, 173]


def test_same_inputs_same_names_and_pixels(drafted, tiny_models, tmp_path):
    out, data = drafted
    again = invoke_json("draft", "--type", "ring", "--metal", "rose-gold", "--stone", "diamond",
                        "--cut", "oval", "--style", "halo", "-n", "1", "--seed", "5", "--steps", "3",
                        "--model", str(tiny_models["sd"]), "--out", str(tmp_path))
    first = Path(data["images"][0]["file"])
    second = Path(again["images"][0]["file"])
    assert first.name == second.name
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(second)))


def test_replay_is_bit_identical(drafted, tmp_path):
    _, data = drafted
    source = data["images"][1]["file"]
    result = invoke_json("replay", source, "--out", str(tmp_path))
    assert result["identical"] is True and result["max_pixel_difference"] == 0
    assert Path(result["file"]).name == Path(source).name and result["warnings"] == []


def test_replay_refuses_to_overwrite(drafted, capsys):
    out, data = drafted
    rc = main(["jewelry", "replay", data["images"][0]["file"], "--out", str(out)])
    assert rc == 2 and "overwrite" in capsys.readouterr().err


def test_refine_img2img_and_replay(drafted, tiny_models, tmp_path):
    _, data = drafted
    sketch = data["images"][0]["file"]
    result = invoke_json("refine", sketch, "gold ring", "--strength", "0.5", "--steps", "4", "--seed", "1",
                         "--model", str(tiny_models["sd"]), "--out", str(tmp_path / "r"))
    item = result["images"][0]
    recipe = read_recipe(Path(item["file"]))
    assert recipe.kind == "img2img" and recipe.strength == 0.5
    assert recipe.init_image["sha256"] == data["images"][0]["sha256"]
    replayed = invoke_json("replay", item["file"], "--out", str(tmp_path / "again"))
    assert replayed["identical"] is True
    # a different strength gives a different draft
    other = invoke_json("refine", sketch, "gold ring", "--strength", "0.9", "--steps", "4", "--seed", "1",
                        "--model", str(tiny_models["sd"]), "--out", str(tmp_path / "r2"))
    assert other["images"][0]["sha256"] != item["sha256"]


@pytest.mark.parametrize("control", ["scribble", "canny"])
def test_refine_with_controlnet(tiny_models, tmp_path, control):
    from PIL import ImageDraw

    sketch = Image.new("RGB", (48, 40), "white")
    ImageDraw.Draw(sketch).ellipse((8, 8, 40, 32), outline="black", width=3)
    sketch.save(tmp_path / "sketch.png")
    result = invoke_json("refine", str(tmp_path / "sketch.png"), "--type", "pendant", "--metal", "platinum",
                         "--control", control, "--control-model", str(tiny_models["controlnet"]),
                         "--steps", "2", "--seed", "2", "--model", str(tiny_models["sd"]),
                         "--out", str(tmp_path / "out"))
    item = result["images"][0]
    assert (item["width"], item["height"]) == (48, 40)      # the sketch's size, /8
    recipe = read_recipe(Path(item["file"]))
    assert recipe.kind == "controlnet" and recipe.control["type"] == control
    assert recipe.control["model"]["kind"] == "ControlNetModel"
    assert invoke_json("replay", item["file"], "--out", str(tmp_path / "again"))["identical"] is True


def test_inpaint_changes_only_what_is_asked(drafted, tiny_models, tmp_path):
    _, data = drafted
    mask = Image.new("L", (32, 32), 0)
    mask.paste(255, (8, 8, 24, 24))
    mask.save(tmp_path / "mask.png")
    result = invoke_json("inpaint", data["images"][0]["file"], "emerald", "--mask", str(tmp_path / "mask.png"),
                         "--stone", "emerald", "--steps", "3", "--seed", "4",
                         "--model", str(tiny_models["sd"]), "--out", str(tmp_path / "i"))
    recipe = read_recipe(Path(result["images"][0]["file"]))
    assert recipe.kind == "inpaint" and recipe.mask_image["sha256"]
    assert invoke_json("replay", result["images"][0]["file"], "--out", str(tmp_path / "again"))["identical"]


def test_missing_mask_is_an_input_error(drafted, tiny_models, capsys, tmp_path):
    _, data = drafted
    rc = main(["jewelry", "inpaint", data["images"][0]["file"], "x", "--mask", str(tmp_path / "none.png"),
               "--model", str(tiny_models["sd"])])
    assert rc == 2 and "mask not found" in capsys.readouterr().err


def test_tiny_vae_scheduler_and_lora(tiny_models, tmp_path):
    result = invoke_json("draft", "a gold ring", "--seed", "3", "--steps", "3", "--scheduler", "euler-a",
                         "--tiny-vae", str(tiny_models["taesd"]), "--lora", f"{tiny_models['lora']}:0.8",
                         "--model", str(tiny_models["sd"]), "--out", str(tmp_path / "t"))
    recipe = read_recipe(Path(result["images"][0]["file"]))
    assert recipe.scheduler == "euler-a" and recipe.scheduler_class == "EulerAncestralDiscreteScheduler"
    assert recipe.tiny_vae["kind"] == "AutoencoderTiny"
    assert recipe.loras[0]["weight"] == 0.8 and len(recipe.loras[0]["sha256"]) == 64
    assert invoke_json("replay", result["images"][0]["file"], "--out", str(tmp_path / "again"))["identical"]
    plain = invoke_json("draft", "a gold ring", "--seed", "3", "--steps", "3", "--scheduler", "euler-a",
                        "--tiny-vae", str(tiny_models["taesd"]),
                        "--model", str(tiny_models["sd"]), "--out", str(tmp_path / "p"))
    assert plain["images"][0]["sha256"] != result["images"][0]["sha256"]     # the LoRA acted


def test_incompatible_scheduler(tiny_models, capsys, tmp_path):
    rc = main(["jewelry", "draft", "ring", "--scheduler", "flow-euler", "--seed", "1", "--steps", "1",
               "--model", str(tiny_models["sd"]), "--out", str(tmp_path)])
    assert rc == 2 and "does not work with StableDiffusionPipeline" in capsys.readouterr().err


def test_missing_model_error(empty_hub, capsys):
    rc = main(["jewelry", "draft", "--type", "ring", "--model", "org/not-cached", "--seed", "1"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "'org/not-cached' is not in the local Hugging Face cache" in err and "hf download org/not-cached" in err


def test_non_commercial_model_needs_acceptance(tiny_models, tmp_path, capsys):
    import shutil

    folder = tmp_path / "nc-model"
    shutil.copytree(tiny_models["sd"], folder)
    (folder / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n")
    rc = main(["jewelry", "draft", "--type", "ring", "--seed", "1", "--steps", "1", "--model", str(folder),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "non-commercial" in err and "--accept-license" in err
    assert not (tmp_path / "o").exists()
    data = invoke_json("draft", "--type", "ring", "--seed", "1", "--steps", "1", "--model", str(folder),
                       "--out", str(tmp_path / "o"), "--accept-license")
    assert any("accepted by --accept-license" in w for w in data["warnings"])


def test_stop_after_the_current_image(tiny_models, tmp_path):
    from lgcraft.jewelry.brief import plan_from_options
    from lgcraft.jewelry.drafts import DraftOptions, run_plan
    from lgcraft.jewelry.prompt import DesignSpec

    plan = plan_from_options(DesignSpec(type="ring"), count=4, seed=1, steps=2)
    written = []
    report = run_plan(plan, DraftOptions(model=str(tiny_models["sd"])), tmp_path,
                      on_image=written.append, should_stop=lambda: bool(written))
    assert report.interrupted and len(report.images) == 1 and report.planned == 4
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".png") == [written[0].file.name]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_out_of_memory_gives_a_hint(tiny_models):
    from lgcraft.errors import OperationError
    from lgcraft.jewelry.drafts import DraftOptions, prepare  # noqa: I001
    from lgcraft.jewelry.engine import Engine, EngineOptions

    engine = Engine(EngineOptions(model=prepare(DraftOptions(model=str(tiny_models["sd"]))).model))

    def boom(**kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    boom.__signature__ = None
    engine.pipe = boom
    with pytest.raises(OperationError) as caught:
        engine.draft(prompt="x", negative_prompt="", seed=1, steps=1, guidance=1.0, width=64, height=64)
    assert "out of memory" in caught.value.message and "--size" in caught.value.hint


def test_sheet_and_models(drafted, tiny_models, tmp_path, monkeypatch, empty_hub):
    out, data = drafted
    sheet = invoke_json("sheet", str(out), "-o", str(tmp_path / "sheet.png"), "--thumb", "64", "--title", "T")
    assert sheet["images"] == 3 and sheet["columns"] == 3
    with Image.open(tmp_path / "sheet.png") as image:
        assert image.size == (sheet["width"], sheet["height"])
    monkeypatch.setenv("LGCRAFT_JEWELRY_MODELS_DIR", str(tiny_models["root"]))
    listed = invoke_json("models")
    kinds = {Path(m["id"]).name: (m["kind"], m["license"], m["commercial_use"]) for m in listed["models"]}
    assert kinds["tiny-sd"] == ("StableDiffusionPipeline", "apache-2.0", "yes")
    assert kinds["tiny-controlnet"][0] == "ControlNetModel"
    assert listed["default"] == "black-forest-labs/FLUX.2-klein-4B" and listed["default_cached"] is False
    from lgcraft.config import Settings
    from lgcraft.doctor import check_models

    check = check_models(Settings.load(env={"LGCRAFT_JEWELRY_MODELS_DIR": str(tiny_models["root"])}))
    assert check.ok and "tiny-sd" in check.detail


def test_help_does_not_import_torch():
    code = ("import sys\nfrom lgcraft.cli import main\n"
            "rc = main(['jewelry', 'draft', '--help'])\n"
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip().endswith("[]"), done.stdout + done.stderr
    assert "Example:" in done.stdout


@pytest.mark.slow
def test_ctrl_c_finishes_the_file_and_exits_130(tiny_models, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lgcraft", "jewelry", "draft", "--type", "ring", "-n", "300",
                             "--seed", "1", "--steps", "4", "--size", "32x32", "--model", str(tiny_models["sd"]),
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("*.png")):
        time.sleep(0.2)
    assert list(out.glob("*.png")), proc.communicate(timeout=60)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr.decode()
    assert b"stopping after the current image" in stderr
    pngs = sorted(out.glob("*.png"))
    assert 1 <= len(pngs) < 300
    for png in pngs:
        read_recipe(png)                            # every written file is whole
        assert png.with_suffix(".json").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    report = json.loads(next(out.glob("report-*.json")).read_text())
    assert report["interrupted"] is True and len(report["images"]) == len(pngs)


def test_record_adds_design_origin_records(tiny_models, tmp_path, monkeypatch):
    from lgcraft.provenance import open_store

    monkeypatch.chdir(tmp_path)
    open_store(cwd=tmp_path, create=True).close()
    monkeypatch.setenv("LGCRAFT_PRIVATE_KEY", "0x" + "11" * 32)
    data = invoke_json("draft", "--type", "ring", "--metal", "platinum", "-n", "2", "--seed", "1",
                       "--steps", "1", "--model", str(tiny_models["sd"]), "--out", str(tmp_path / "d"),
                       "--record", "--designer", "Studio Lin")
    records = data["records"]
    assert [r["item_id"] for r in records] == [f"DRAFT-{i['sha256'][:16].upper()}" for i in data["images"]]
    with open_store(cwd=tmp_path) as store:
        stored = store.records_of(records[0]["item_id"])
    body = stored[0].body
    assert body["biz_step"] == "commissioning" and body["actor"]["name"] == "Studio Lin"
    hashes = {a.get("sha256") for a in body["attachments"]}
    assert any(data["images"][0]["sha256"] in (h or "") for h in hashes)
    assert "seed 1" in body["note"]


def test_record_without_store_fails_before_drafting(tiny_models, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LGCRAFT_PRIVATE_KEY", "0x" + "11" * 32)
    rc = main(["jewelry", "draft", "--type", "ring", "--seed", "1", "--steps", "1", "--model",
               str(tiny_models["sd"]), "--out", str(tmp_path / "d"), "--record"])
    assert rc == 2 and "Error:" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_pipeline_loads_once_per_batch_and_brief_model_is_relative(tiny_models, tmp_path, monkeypatch):
    import shutil

    import diffusers

    shutil.copytree(tiny_models["sd"], tmp_path / "models" / "tiny")
    brief = tmp_path / "brief.yaml"
    brief.write_text("name: once\nmodel: models/tiny\ndefaults:\n  steps: 1\n"
                     "designs:\n  - name: a\n    type: ring\n    metal: [platinum, rose-gold]\n    seeds: [1, 2]\n")
    calls = []
    real = diffusers.DiffusionPipeline.from_pretrained.__func__

    def counting(cls, *args, **kwargs):
        calls.append(args[0])
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(diffusers.DiffusionPipeline, "from_pretrained", classmethod(counting))
    monkeypatch.chdir(tmp_path / "models")          # the brief's model path is relative to the brief
    data = invoke_json("draft", "--brief", str(brief), "--out", str(tmp_path / "out"))
    assert len(data["images"]) == 4 and len(calls) == 1
    assert Path(calls[0]) == (tmp_path / "models" / "tiny").resolve()


def test_hub_id_from_the_local_cache(tiny_models, empty_hub, fake_cache, tmp_path):
    fake_cache(empty_hub, "lgcraft-test/tiny-sd", tiny_models["sd"], revision="c" * 40)
    data = invoke_json("draft", "--type", "brooch", "--seed", "8", "--steps", "2",
                       "--model", "lgcraft-test/tiny-sd", "--out", str(tmp_path / "d"))
    model = data["model"]
    assert model["id"] == "lgcraft-test/tiny-sd" and model["source"] == "hub-cache"
    assert model["revision"] == "c" * 40
    recipe = read_recipe(Path(data["images"][0]["file"]))
    assert recipe.model["revision"] == "c" * 40
    with Image.open(data["images"][0]["file"]) as image:
        assert parse_a1111(image.text["parameters"])["Model"] == "lgcraft-test/tiny-sd"
    assert invoke_json("replay", data["images"][0]["file"], "--out", str(tmp_path / "r"))["identical"]


def test_a_failure_mid_run_keeps_the_drafts_and_the_report(tiny_models, tmp_path, monkeypatch):
    from lgcraft.errors import OperationError
    from lgcraft.jewelry.brief import plan_from_options
    from lgcraft.jewelry.drafts import DraftOptions, run_plan
    from lgcraft.jewelry.engine import OOM_HINT, Engine
    from lgcraft.jewelry.prompt import DesignSpec

    real = Engine.draft
    calls = []

    def failing(self, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OperationError("out of memory drafting a 32x32 image on cpu", hint=OOM_HINT)
        return real(self, **kwargs)

    monkeypatch.setattr(Engine, "draft", failing)
    plan = plan_from_options(DesignSpec(type="ring"), count=3, seed=1, steps=1)
    with pytest.raises(OperationError):
        run_plan(plan, DraftOptions(model=str(tiny_models["sd"])), tmp_path)
    report = json.loads((tmp_path / "report-ring.json").read_text())
    assert len(report["images"]) == 1 and "out of memory" in report["error"]
    read_recipe(Path(report["images"][0]["file"]))


def test_unwritable_out_folder_fails_before_the_model_load(tiny_models, tmp_path, capsys, monkeypatch):
    import lgcraft.jewelry.engine as engine

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(engine, "Engine", no_load)
    blocker = tmp_path / "blocker"
    blocker.write_text("kept")
    for target in (blocker, blocker / "sub"):
        code = main(["--json", "jewelry", "draft", "--type", "ring", "--steps", "2", "--seed", "1",
                     "--model", str(tiny_models["sd"]), "--out", str(target)])
        captured = capsys.readouterr()
        assert code == 2 and captured.out == ""
        assert f"Error: cannot create the output folder {target}:" in captured.err
    assert blocker.read_text() == "kept"


def test_sheet_output_and_columns_errors_name_the_value(drafted, tmp_path, capsys):
    out, _ = drafted
    blocker = tmp_path / "blocker"
    blocker.write_text("kept")
    for target in (tmp_path, blocker / "sheet.png"):
        assert main(["--json", "jewelry", "sheet", str(out), "-o", str(target)]) == 2
        captured = capsys.readouterr()
        assert f"Error: cannot write {target}:" in captured.err and captured.out == ""
    assert blocker.read_text() == "kept"
    assert main(["jewelry", "sheet", str(out), "-o", str(tmp_path / "sheet.txt")]) == 2
    assert "sheet.txt: a contact sheet is a PNG" in capsys.readouterr().err
    assert main(["jewelry", "sheet", str(out), "--columns", "99999999"]) == 2
    assert "--columns must be 1-64, got 99999999" in capsys.readouterr().err
