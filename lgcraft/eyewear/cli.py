"""`lgcraft eyewear`: mesh preparation of frames for virtual try-on."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Frame meshes for virtual try-on: repair, scale, pose, budget, measure, GLB/USDZ.",
    no_args_is_help=True,
)
