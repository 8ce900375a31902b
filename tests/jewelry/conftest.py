"""Tiny diffusers pipelines built once per test session and saved to disk."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
_HERE = Path(__file__).parent


def _tinymodels():
    spec = importlib.util.spec_from_file_location("jewelry_tinymodels", _HERE / "tinymodels.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tinymodels = _tinymodels()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    sd = tinymodels.build_tiny_sd(root / "tiny-sd")
    return {
        "sd": sd,
        "controlnet": tinymodels.build_tiny_controlnet(root / "tiny-controlnet"),
        "taesd": tinymodels.build_tiny_taesd(root / "tiny-taesd"),
        "lora": tinymodels.build_tiny_lora(sd, root / "tiny-lora"),
        "root": root,
    }


@pytest.fixture()
def empty_hub(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache, so tests never see the machine's real one."""
    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    return hub


@pytest.fixture()
def fake_cache():
    """``fake_cache(hub, repo_id, pipeline_folder, revision)`` lays out a hub-cache snapshot."""
    return fake_cached_model


def fake_cached_model(hub: Path, repo_id: str, pipeline: Path, revision: str = "0" * 40) -> Path:
    """Lay out ``pipeline`` as a hub-cache snapshot of ``repo_id`` (symlinks like the hub)."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / revision
    for path in pipeline.rglob("*"):
        if path.is_file():
            target = snap / path.relative_to(pipeline)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snap
