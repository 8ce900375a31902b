"""`lgcraft jewelry`: design drafts with diffusers; mesh prep for rings and earrings."""

from __future__ import annotations

import typer

from lgcraft.jewelry.prep_cli import prep

app = typer.Typer(
    help="Jewelry design drafts (diffusers) and ring/earring meshes for try-on.",
    no_args_is_help=True,
)
app.command("prep")(prep)
