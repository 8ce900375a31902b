"""Finding external programs lgcraft drives (anvil, gltf-transform, a C compiler)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[1]


def find_tool(name: str) -> str | None:
    """Path of ``name`` from ``LGCRAFT_<NAME>``, PATH, or a ``node_modules/.bin`` in the
    working directory, its parents or lgcraft's own checkout; None if absent.

    >>> find_tool("anvil")  # doctest: +SKIP
    '/work/lgcraft/node_modules/.bin/anvil'
    """
    override = os.environ.get("LGCRAFT_" + name.upper().replace("-", "_"))
    if override:
        return override if Path(override).is_file() else None
    found = shutil.which(name)
    if found:
        return found
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents, _REPO_ROOT):
        candidate = folder / "node_modules" / ".bin" / name
        if candidate.is_file():
            return str(candidate)
    return None
