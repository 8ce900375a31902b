"""Tests of the compiled kernels themselves (``test_compiled_kernels_*`` in
test_repair.py, whose module runs every test on both paths) run once, under the
compiled parameter: their numpy twins are deselected, not skipped, so a fresh clone's
skip list holds only what the machine lacks."""

from __future__ import annotations


def pytest_collection_modifyitems(config, items):
    twins = [item for item in items
             if item.originalname.startswith("test_compiled_kernels_")
             and getattr(item, "callspec", None) is not None
             and item.callspec.params.get("kernels") == "numpy"]
    if twins:
        config.hook.pytest_deselected(items=twins)
        items[:] = [item for item in items if item not in twins]
