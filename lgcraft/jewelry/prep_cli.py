"""`lgcraft jewelry prep`: rings and earrings on the mesh engine (`lgcraft.meshes`)."""

from __future__ import annotations

from pathlib import Path

import typer

from lgcraft.errors import InputError
from lgcraft.run import EXECUTOR_HELP

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
    executor: str | None = typer.Option(None, "--executor", metavar="local|ray|auto|ray://HOST:PORT", help=EXECUTOR_HELP),
    separate_layers: bool = typer.Option(False, "--separate-layers", help="Move the thinner of two coincident surfaces (a stone seat lying on a setting; they flicker) 0.05 mm out along its normals."),
) -> None:
    """Prepare ring and earring meshes for try-on: repair, metres, pose, budget, sizes, anchors.

    Rings: finger axis found and put on Z, head toward +Y, origin at the centre of the
    inner circle; inner diameter reported with ISO 8653 (inner circumference in mm) and
    US sizes; anchors ring_centre and ring_top. Earrings: a post (stud) or the top of a
    hook found and used as the origin and the anchor_piercing node; +Y up, posts to -Z.

    Example: lgcraft jewelry prep examples/jewelry/meshes --out out/jewelry --kind auto
    """
    if kind not in KINDS:
        raise InputError(f"unknown --kind {kind!r}", hint="use auto, ring or earring")
    from lgcraft.jewelry.meshprep import FIELDS, jewelry_row, prep_jewelry
    from lgcraft.meshes.prep import warm
    from lgcraft.meshes.prep_cli import run_prep

    run_prep(ctx, "jewelry", inputs, out,
             settings={"kind": KINDS[kind], "separate_layers": separate_layers}, profile=profile,
             max_triangles=max_triangles, units=units, jobs=jobs, usdz=usdz, preview=preview,
             resume=resume, job=prep_jewelry, row=jewelry_row, fields=FIELDS, warm=warm,
             table=jewelry_table, executor=executor)


def jewelry_table(batch, summary) -> tuple[str, list[str], list[list]]:
    """The `jewelry prep` table: one row per piece, ring size or earring anchor."""
    from lgcraft.meshes.prep_cli import fmt

    columns = ["file", "status", "kind", "unit", "triangles", "error mm", "size", "s"]
    rows = []
    for f, row in zip(batch.files, summary["files"], strict=True):
        r = f.report or {}
        tri = f"{row['triangles_in']}->{row['triangles_out']}" if row["triangles_in"] else "-"
        status = row["status"] if not f.error else f"failed: {f.error}"
        size = "-"
        if r.get("ring"):
            size = (f"ISO {r['ring']['size_iso']} / US {r['ring']['size_us']} "
                    f"(d {r['ring']['inner_diameter_mm']:.2f} mm)")
        elif r.get("earring"):
            size = f"{r['earring']['style']} anchor, {r['earring']['height_mm']:.1f} mm tall"
        rows.append([row["name"], status, fmt(r.get("kind")), fmt(row["unit"]), tri,
                     fmt(row["hausdorff_mm"], 3), size, fmt(row["seconds"])])
    return "Try-on meshes", columns, rows
