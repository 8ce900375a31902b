"""Shared by every test: lgcraft's per-user state (the failed-runs log) goes to a
temporary folder, never the real user's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory):
    import os

    os.environ["LGCRAFT_STATE_DIR"] = str(tmp_path_factory.mktemp("lgcraft-state"))
    yield
