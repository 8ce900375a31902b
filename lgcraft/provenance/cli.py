"""`lgcraft provenance`: signed records, Merkle batches anchored on an EVM chain."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Jewelry provenance: signed records, chain-anchored batches, proof bundles.",
    no_args_is_help=True,
)
