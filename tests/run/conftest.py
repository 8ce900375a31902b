"""One real local Ray cluster (2 CPUs, no dashboard, its own short temp folder) for
the whole session, and the tiny diffusers pipeline the drafting tests load."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def ray_cluster():
    """``{"address": GCS address}`` of a cluster this process started and is joined to.

    The workers must import this checkout's lgcraft: PYTHONPATH is set before the
    cluster starts, and its processes inherit it."""
    ray = pytest.importorskip("ray")
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    temp = tempfile.mkdtemp(prefix="lgray", dir="/tmp")  # unix socket paths must stay short
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, logging_level="ERROR")
    try:
        yield {"address": ray.get_runtime_context().gcs_address, "temp_dir": temp}
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location(
        "run_tinymodels", REPO / "tests" / "jewelry" / "tinymodels.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.build_tiny_sd(tmp_path_factory.mktemp("tiny-models") / "tiny-sd")
