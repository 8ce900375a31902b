"""`lgcraft eyewear`: mesh preparation of frames for virtual try-on."""

from __future__ import annotations

from pathlib import Path

import typer

from lgcraft.context import app_context
from lgcraft.errors import InputError, OperationError
from lgcraft.eyewear.tryon_cli import measure, tryon
from lgcraft.run import EXECUTOR_HELP

app = typer.Typer(
    help="Frame meshes for virtual try-on: repair, scale, pose, budget, measure, GLB/USDZ.\n\n"
         "Example: lgcraft eyewear prep examples/eyewear --out out/eyewear --preview",
    no_args_is_help=True,
)
app.command("tryon")(tryon)
app.command("measure")(measure)

PROFILE_HELP = ("Budget: web = 50k triangles, 2048 px textures; webar = 20k, 1024 px; "
                "quicklook = 100k, 2048 px and USDZ.")


def frame_table(batch, summary) -> tuple[str, list[str], list[list]]:
    """The `eyewear prep` table: one row per frame, marking and boxing sizes."""
    from lgcraft.meshes.prep_cli import fmt

    columns = ["file", "status", "unit", "triangles", "error mm", "marking (A□DBL-temple)",
               "B", "width", "s"]
    rows = []
    for f, row in zip(batch.files, summary["files"], strict=True):
        tri = f"{row['triangles_in']}->{row['triangles_out']}" if row["triangles_in"] else "-"
        status = row["status"] if not f.error else f"failed: {f.error}"
        if row.get("check_size") and row["check_size"] != "ok":
            status += f" (check-size: {row['check_size']})"
        marking = row["marking"]
        if marking:
            marking += (f" ({fmt(row['lens_width_mm'])}/{fmt(row['bridge_mm'])}/"
                        f"{fmt(row['temple_length_mm'])})")
        unit = row["unit"] if row.get("scale") in ("unit", "given", None) else row["scale"]
        rows.append([row["name"], status, fmt(unit), tri, fmt(row["hausdorff_mm"], 2),
                     fmt(marking), fmt(row["lens_height_mm"]), fmt(row["total_width_mm"]),
                     fmt(row["seconds"])])
    return "Try-on meshes", columns, rows


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
    markings: Path | None = typer.Option(None, "--markings", metavar="FILE.csv", help="CSV of file name or SKU -> temple marking (52□18-140, or lens,bridge,temple columns): the scale comes from the marking; with a unit also told, a check-size."),
    unknown_scale: str | None = typer.Option(None, "--unknown-scale", metavar="assume|fail", help="No unit told and no marking: assume a typical 140 mm adult frame and mark it 'scale: assumed' (default), or fail."),
    separate_layers: bool = typer.Option(False, "--separate-layers", help="Move the thinner of two coincident surfaces (a rim lying on a lens; they flicker) 0.05 mm out along its normals."),
    size_tolerance: str | None = typer.Option(None, "--size-tolerance", metavar="A,DBL,TEMPLE", help="Check-size tolerances in mm for lens width, bridge and temple (default 1,1,3)."),
    executor: str | None = typer.Option(None, "--executor", metavar="local|ray|auto|ray://HOST:PORT", help=EXECUTOR_HELP),
) -> None:
    """Prepare frame meshes for try-on: repair, metres, canonical pose, budget, measure, anchors.

    Output per file: NAME.glb (+Y up, +Z front, origin at the bridge centre at lens-centre
    height, temples pivoting at the hinges, anchor_* empty nodes), NAME.report.json, and
    with the flags NAME.usdz and NAME.front.png / NAME.three_quarter.png. The batch gets
    batch.json and batch.csv. A file whose unit cannot be told and that has no marking is
    scaled to a typical adult frame and marked "scale: assumed" (one warning per batch).
    Exit code 1 if any file failed.

    Example: lgcraft eyewear prep examples/eyewear --out out/eyewear --profile web --preview
    """
    from lgcraft.eyewear.prep import ASSUMED_HINT, FIELDS, frame_row, prep_frame, warm_frames
    from lgcraft.meshes.prep_cli import run_prep

    app = app_context(ctx)
    get = app.settings.get
    frame_settings = {
        "kind": "frame", "frame_width_mm": frame_width, "separate_layers": separate_layers,
        "unknown_scale": get("eyewear", "unknown_scale", str, "assume", flag=unknown_scale,
                             valid=lambda v: v in ("assume", "fail"), expect="assume or fail"),
        "size_tolerance_mm": _tolerances(get("eyewear", "size_tolerance", str, "1,1,3",
                                             flag=size_tolerance)),
    }
    markings_file = get("eyewear", "markings", str, None, flag=markings)
    if markings_file:
        from lgcraft.eyewear.markings import read_markings

        frame_settings["markings"] = read_markings(Path(markings_file))
    run_prep(ctx, "eyewear", inputs, out, settings=frame_settings,
             profile=profile, max_triangles=max_triangles, units=units, jobs=jobs, usdz=usdz,
             preview=preview, resume=resume, job=prep_frame, row=frame_row, fields=FIELDS,
             warm=warm_frames, table=frame_table, assumed_hint=ASSUMED_HINT,
             executor=executor)


def _tolerances(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0 <= v <= 50 for v in values):
        raise InputError(f"--size-tolerance {text!r}: expected three mm values A,DBL,TEMPLE",
                         hint="e.g. --size-tolerance 1,1,3")
    return values


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
    from lgcraft.eyewear.prep import analyse_frame
    from lgcraft.meshes.batch import expand_inputs
    from lgcraft.meshes.mesh import FORMATS
    from lgcraft.meshes.prep import PrepSettings, inspect_file
    from lgcraft.meshes.prep_cli import fmt

    app = app_context(ctx)
    settings = PrepSettings(units=app.settings.get("eyewear", "units", str, "auto", flag=units),
                            frame_width_mm=frame_width)
    files = expand_inputs([str(f) for f in files], FORMATS)
    results, failed = [], 0
    with app.out.progress(f"Inspecting {len(files)} file(s)", total=len(files)) as advance:
        for path in files:
            try:
                info = inspect_file(path, settings, analyse_frame)
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


# the try-on page's command lives in its own file (page_cli.py), so edits there and here do not collide
from lgcraft.eyewear.page_cli import page  # noqa: E402

app.command("page")(page)
