"""`lgcraft toys`: behavior scripts for smart toys."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Smart-toy behavior scripts: validate, safety checks, simulate, compile.",
    no_args_is_help=True,
)
