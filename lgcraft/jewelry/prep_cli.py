"""`lgcraft jewelry prep`: rings and earrings on the eyewear mesh engine."""

from __future__ import annotations

from pathlib import Path

import typer

from lgcraft.errors import InputError

KINDS = {"auto": "jewelry", "ring": "ring", "earring": "earring"}


def prep(
    ctx: typer.Context,
    inputs: list[str] = typer.Argument(..., metavar="INPUT...", help="Mesh files, folders or globs (OBJ, STL, PLY, OFF, 3MF, glTF, GLB)."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Output folder for GLB, USDZ, previews and reports."),
    kind: str = typer.Option("auto", "--kind", help="auto (a round through-hole means ring), ring or earring."),
    profile: str | None = typer.Option(None, "--profile", help="Budget: web = 50k triangles, 2048 px; webar = 20k, 1024 px; quicklook = 100k + USDZ."),
    max_triangles: int | None = typer.Option(None, "--max-triangles", metavar="N", help="Lower the profile's triangle budget."),
    units: str | None = typer.Option(None, "--units", help="Input unit: auto (from the ring's inner diameter or the earring's size), mm, cm, m or in."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", metavar="N", help="Cores to use: one worker process per file, up to N; fewer files than N share the rest as threads (default: CPU count)."),
    usdz: bool = typer.Option(False, "--usdz", help="Also write USDZ for AR Quick Look."),
    preview: bool = typer.Option(False, "--preview", help="Also render PNG previews (headless)."),
    resume: bool = typer.Option(False, "--resume", help="Skip files already prepared from the same input and settings."),
) -> None:
    """Prepare ring and earring meshes for try-on: repair, metres, pose, budget, sizes, anchors.

    Rings: finger axis found and put on Z, head toward +Y, origin at the centre of the
    inner circle; inner diameter reported with ISO 8653 (inner circumference in mm) and
    US sizes; anchors ring_centre and ring_top. Earrings: a post (stud) or the top of a
    hook found and used as the origin and the anchor_piercing node; +Y up, posts to -Z.

    Example: lgcraft jewelry prep examples/jewelry/meshes --out out/jewelry --kind auto
    """
    from lgcraft.eyewear.cli import run_prep

    if kind not in KINDS:
        raise InputError(f"unknown --kind {kind!r}", hint="use auto, ring or earring")
    run_prep(ctx, "jewelry", KINDS[kind], inputs, out, profile, max_triangles, units, None,
             jobs, usdz, preview, resume)
