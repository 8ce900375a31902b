"""`lgcraft jewelry prep`: rings and earrings on the eyewear mesh engine."""

from __future__ import annotations

import typer


def prep(ctx: typer.Context) -> None:
    """Prepare ring and earring meshes for try-on (not built yet)."""
    from lgcraft.errors import OperationError

    raise OperationError("jewelry prep is not built yet")
