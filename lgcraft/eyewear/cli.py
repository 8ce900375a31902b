"""`lgcraft eyewear`: mesh preparation of frames for virtual try-on."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from lgcraft.context import app_context
from lgcraft.errors import InputError, OperationError

app = typer.Typer(
    help="Frame meshes for virtual try-on: repair, scale, pose, budget, measure, GLB/USDZ.\n\n"
         "Example: lgcraft eyewear prep examples/eyewear --out out/eyewear --preview",
    no_args_is_help=True,
)

MAX_JOBS = 256  # more workers than this is a typo, not a machine

PROFILE_HELP = ("Budget: web = 50k triangles, 2048 px textures; webar = 20k, 1024 px; "
                "quicklook = 100k, 2048 px and USDZ.")


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def run_prep(ctx: typer.Context, section: str, kind: str, inputs: list[str], out: Path,
             profile: str | None, max_triangles: int | None, units: str | None,
             frame_width: float | None, jobs: int | None, usdz: bool, preview: bool,
             resume: bool) -> None:
    """Shared by `eyewear prep` and `jewelry prep`: settings, batch, table, exit code."""
    from lgcraft.extras import require

    require("eyewear")
    # before numpy loads: the steps use only tiny matrix products, where BLAS threads
    # just spin and, in a batch, compete with the workers (a user's own setting wins)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from lgcraft.eyewear._threads import keep_freed_memory, warm_imports

    warm_imports()  # numpy/scipy load on another core while this one reads options and input
    keep_freed_memory()
    from lgcraft.eyewear.pipeline import PrepSettings, batch_summary, expand_inputs, run_batch

    app = app_context(ctx)
    get = app.settings.get
    profile = get(section, "profile", str, "web", flag=profile)
    settings = PrepSettings(
        kind=kind, profile=profile,
        max_triangles=get(section, "max_triangles", int, None, flag=max_triangles),
        units=get(section, "units", str, "auto", flag=units),
        frame_width_mm=frame_width,
        usdz=usdz or get(section, "usdz", bool, False) or profile == "quicklook",
        preview=preview or get(section, "preview", bool, False),
    )
    jobs = get(section, "jobs", int, os.cpu_count() or 1, flag=jobs,
               valid=lambda n: 1 <= n <= MAX_JOBS, expect=f"1-{MAX_JOBS}")
    paths = expand_inputs(inputs)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    out_ = app.out
    out_.detail(f"{len(paths)} file(s), {min(jobs, len(paths))} worker(s), "
                f"budget {settings.triangle_budget} triangles")
    with out_.progress(f"Preparing {len(paths)} file(s)", total=len(paths)) as advance:
        batch = run_batch(paths, out, settings, jobs=jobs, resume=resume,
                          on_done=lambda r: advance(1, description=f"{r.name}: {r.status}"))
    from lgcraft.cli import allow_quick_exit

    allow_quick_exit()  # every output and the batch files are written and closed
    summary = batch_summary(batch)

    def render():
        if kind == "frame":
            columns = ["file", "status", "unit", "triangles", "error mm", "marking (A□DBL-temple)",
                       "B", "width", "s"]
        else:
            columns = ["file", "status", "kind", "unit", "triangles", "error mm", "size",
                       "s"]
        rows = []
        for f, row in zip(batch.files, summary["files"], strict=True):
            r = f.report or {}
            tri = f"{row['triangles_in']}->{row['triangles_out']}" if row["triangles_in"] else "-"
            status = row["status"] if not f.error else f"failed: {f.error}"
            if kind == "frame":
                marking = row["marking"]
                if marking:
                    marking += (f" ({fmt(row['lens_width_mm'])}/{fmt(row['bridge_mm'])}/"
                                f"{fmt(row['temple_length_mm'])})")
                rows.append([row["name"], status, fmt(row["unit"]), tri, fmt(row["hausdorff_mm"], 2),
                             fmt(marking), fmt(row["lens_height_mm"]), fmt(row["total_width_mm"]),
                             fmt(row["seconds"])])
            else:
                size = "-"
                if r.get("ring"):
                    size = (f"ISO {r['ring']['size_iso']} / US {r['ring']['size_us']} "
                            f"(d {r['ring']['inner_diameter_mm']:.2f} mm)")
                elif r.get("earring"):
                    size = f"{r['earring']['style']} anchor, {r['earring']['height_mm']:.1f} mm tall"
                rows.append([row["name"], status, fmt(r.get("kind")), fmt(row["unit"]), tri,
                             fmt(row["hausdorff_mm"], 3), size, fmt(row["seconds"])])
        caption = (f"{batch.ok} prepared, {batch.skipped} skipped (resume), {batch.failed} failed; "
                   f"reports and batch.json/batch.csv in {out}")
        return out_.table("Try-on meshes", columns, rows, caption=caption)

    out_.emit(summary, render)
    if batch.failed:
        raise OperationError(f"{batch.failed} of {len(batch.files)} file(s) failed",
                             hint=f"see the table or {out / 'batch.json'}")


@app.command("prep")
def prep(
    ctx: typer.Context,
    inputs: list[str] = typer.Argument(..., metavar="INPUT...", help="Mesh files, folders or globs (OBJ, STL, PLY, OFF, 3MF, glTF, GLB)."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Output folder for GLB, USDZ, previews and reports."),
    profile: str | None = typer.Option(None, "--profile", help=PROFILE_HELP),
    max_triangles: int | None = typer.Option(None, "--max-triangles", metavar="N", help="Lower the profile's triangle budget."),
    units: str | None = typer.Option(None, "--units", help="Input unit: auto (from the frame's width), mm, cm, m or in."),
    frame_width: float | None = typer.Option(None, "--frame-width", metavar="MM", help="The frame's real front width in mm, when the unit cannot be told."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", metavar="N", help="Cores to use: one worker process per file, up to N; fewer files than N share the rest as threads (default: CPU count)."),
    usdz: bool = typer.Option(False, "--usdz", help="Also write USDZ for AR Quick Look."),
    preview: bool = typer.Option(False, "--preview", help="Also render front and three-quarter PNG previews (headless)."),
    resume: bool = typer.Option(False, "--resume", help="Skip files already prepared from the same input and settings."),
) -> None:
    """Prepare frame meshes for try-on: repair, metres, canonical pose, budget, measure, anchors.

    Output per file: NAME.glb (+Y up, +Z front, origin at the bridge centre at lens-centre
    height, temples pivoting at the hinges, anchor_* empty nodes), NAME.report.json, and
    with the flags NAME.usdz and NAME.front.png / NAME.three_quarter.png. The batch gets
    batch.json and batch.csv. Exit code 1 if any file failed.

    Example: lgcraft eyewear prep examples/eyewear --out out/eyewear --profile web --preview
    """
    run_prep(ctx, "eyewear", "frame", inputs, out, profile, max_triangles, units, frame_width,
             jobs, usdz, preview, resume)


@app.command("inspect")
def inspect(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Mesh files, folders or globs to inspect."),
    units: str | None = typer.Option(None, "--units", help="Input unit: auto, mm, cm, m or in."),
    frame_width: float | None = typer.Option(None, "--frame-width", metavar="MM", help="The frame's real front width in mm."),
) -> None:
    """Show parts, triangles, bounds, guessed unit, topology problems and boxing measurements.

    Nothing is written. Exit code 1 if a file cannot be read.

    Example: lgcraft eyewear inspect examples/eyewear/frame-cm-tilted.obj
    """
    from lgcraft.extras import require

    require("eyewear")
    from lgcraft.errors import LgcraftError
    from lgcraft.eyewear.pipeline import PrepSettings, expand_inputs, inspect_file

    app = app_context(ctx)
    settings = PrepSettings(units=app.settings.get("eyewear", "units", str, "auto", flag=units),
                            frame_width_mm=frame_width)
    files = expand_inputs([str(f) for f in files])
    results, failed = [], 0
    with app.out.progress(f"Inspecting {len(files)} file(s)", total=len(files)) as advance:
        for path in files:
            try:
                info = inspect_file(path, settings)
                info["status"] = "ok"
            except LgcraftError as exc:
                info = {"input": str(path), "status": "failed", "error": exc.message}
                failed += 1
            results.append(info)
            advance()

    def render():
        rows = []
        for r in results:
            if r["status"] != "ok":
                rows.append([r["input"], f"failed: {r['error']}"] + ["-"] * 7)
                continue
            topo = r["topology"]
            problems = []
            if not topo["watertight"]:
                problems.append(f"{topo['boundary_edges']} open edges")
            if topo["nonmanifold_edges"]:
                problems.append(f"{topo['nonmanifold_edges']} non-manifold edges")
            if not topo["winding_consistent"]:
                problems.append(f"{topo['inconsistent_winding_edges']} winding flips")
            b = r.get("boxing") or {}
            size = " x ".join(f"{s:.4g}" for s in r["size"])
            rows.append([
                Path(r["input"]).name, f"{len(r['parts'])} parts", r["triangles"], size,
                fmt(r.get("unit")), "; ".join(problems) or "clean",
                fmt(r.get("marking")),
                f"A {fmt(b.get('lens_width_mm'))} B {fmt(b.get('lens_height_mm'))} DBL {fmt(b.get('bridge_mm'))}",
                f"width {fmt(b.get('total_width_mm'))} temple {fmt(b.get('temple_length_mm'))}",
            ])
        return app.out.table("Frame meshes", ["file", "parts", "triangles", "size (units)", "unit",
                                              "topology", "marking", "lens (mm)", "frame (mm)"], rows)

    app.out.emit({"files": results}, render)
    for r in results:
        for warning in r.get("warnings", []) or []:
            app.out.detail(f"{Path(r['input']).name}: {warning}")
    if failed:
        first = next(r for r in results if r["status"] != "ok")
        raise OperationError(f"{failed} of {len(files)} file(s) could not be inspected; "
                             f"{first['input']}: {first['error']}")
