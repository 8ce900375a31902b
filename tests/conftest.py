"""Shared by every test: lgcraft's per-user state (the failed-runs log) goes to a
temporary folder, never the real user's; the mesh tests' (engine, eyewear, jewelry)
generated frames, rings and earrings written in odd units and poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory):
    import os

    os.environ["LGCRAFT_STATE_DIR"] = str(tmp_path_factory.mktemp("lgcraft-state"))
    yield


REPO = Path(__file__).resolve().parents[1]
REAL_FRAMES = REPO / "examples" / "eyewear"  # glasses-01 and glasses-06 with their licences


@pytest.fixture(scope="session")
def frame_files(tmp_path_factory) -> dict[str, Path]:
    """A 52□18-140 frame as OBJ (cm, random pose), GLB (m, upside down), STL (in)."""
    from lgcraft.eyewear.synthetic import make_frame, random_rotation

    folder = tmp_path_factory.mktemp("frames")
    frame = make_frame(detail=16)
    rng = np.random.default_rng(7)
    files = {
        "obj_cm": folder / "frame-cm.obj",
        "glb_m": folder / "frame-m.glb",
        "stl_in": folder / "frame-in.stl",
    }
    frame.transformed(random_rotation(rng), 0.1).save(files["obj_cm"])
    frame.transformed(np.diag([1.0, -1.0, -1.0, 1.0]), 0.001).save(files["glb_m"])
    frame.transformed(random_rotation(rng), 1 / 25.4).save(files["stl_in"])
    return files


@pytest.fixture(scope="session")
def jewelry_files(tmp_path_factory) -> dict[str, Path]:
    from lgcraft.jewelry.synthetic import (
        make_hook_earring,
        make_ring,
        make_stud_earring,
        random_rotation,
    )

    folder = tmp_path_factory.mktemp("jewelry")
    rng = np.random.default_rng(11)
    files = {"ring": folder / "ring.stl", "stud": folder / "stud.obj", "hook": folder / "hook.glb"}
    make_ring(inner_diameter=17.35, detail=32).transformed(random_rotation(rng), 1.0).save(files["ring"])
    make_stud_earring().transformed(random_rotation(rng), 0.1).save(files["stud"])
    make_hook_earring().transformed(random_rotation(rng), 0.001).save(files["hook"])
    return files
