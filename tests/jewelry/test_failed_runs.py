"""A failed step says so once: missing models are named together, and the next command
given the failed run's output folder names that run."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "jewelry"


def test_every_missing_model_is_named_in_one_error(capsys, tmp_path, monkeypatch):
    from lgcraft.cli import main

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.chdir(tmp_path)
    rc = main(["jewelry", "refine", str(EXAMPLES / "sketch-pendant.png"), "--type", "pendant",
               "--metal", "platinum", "--control", "scribble",
               "--control-model", "./control_v11p_sd15_scribble", "--tiny-vae", "./taesd"])
    err = capsys.readouterr().err
    assert rc == 2
    first = err.strip().splitlines()[0]
    assert first.startswith("Error: 3 models missing")
    for flag, value in (("--model", "FLUX.2-klein-4B"), ("--tiny-vae", "./taesd"),
                        ("--control-model", "./control_v11p_sd15_scribble")):
        assert f"{flag}: " in first and value in first
    assert "Traceback" not in err


def test_the_folder_of_a_run_that_made_nothing_names_that_run(capsys, tmp_path, monkeypatch):
    from lgcraft.cli import main

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("LGCRAFT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    brief = str(EXAMPLES / "earring-capsule.yaml")
    assert main(["jewelry", "draft", "--brief", brief, "--out", "capsule"]) == 1
    first_error = capsys.readouterr().err
    assert "not in the local Hugging Face cache" in first_error
    assert not (tmp_path / "capsule").exists()  # nothing written
    assert main(["jewelry", "sheet", "capsule", "-o", "capsule/sheet.png"]) == 2
    err = capsys.readouterr().err
    assert "not a folder: capsule" in err
    assert f"the run `lgcraft jewelry draft --brief {brief} --out capsule`" in err
    assert "made nothing: model 'black-forest-labs/FLUX.2-klein-4B'" in err
    # a folder nobody tried to fill gets the plain message
    assert main(["jewelry", "sheet", "elsewhere", "-o", "s.png"]) == 2
    err = capsys.readouterr().err
    assert "not a folder: elsewhere" in err and "the run" not in err
