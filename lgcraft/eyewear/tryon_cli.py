"""`lgcraft eyewear tryon` and `lgcraft eyewear measure`: frames on faces from photos.

Thin: parse options, call `lgcraft.tryon.photos`, show the result.
"""

from __future__ import annotations

from pathlib import Path

import typer

from lgcraft.context import app_context
from lgcraft.errors import InputError, OperationError
from lgcraft.meshes.prep_cli import fmt as _fmt

FACE_HELP = "Which face when a photo shows several: 1 = the largest (default), 2 = the next..."
CARD_HELP = ("Scale from an ID-1 card (85.60 mm) held flat at the forehead instead of the iris: "
             "the ends of its long edge in the photo's pixels, X1,Y1,X2,Y2. One photo only.")


def _card(card: str | None):
    if card is None:
        return None
    from lgcraft.tryon.scale import parse_card

    return parse_card(card)


def _pair(values) -> str:
    return f"{values[0]:.1f}-{values[1]:.1f}"


def _frames_of(frame: Path) -> list[Path]:
    """A prepared GLB, or every frame of a prep output folder (its batch.json)."""
    from lgcraft.tryon.fit import read_catalog

    if frame.is_file() and frame.suffix.lower() == ".glb":
        return [frame]
    if frame.is_dir() or frame.name == "batch.json":
        return [f.glb for f in read_catalog(frame)]
    raise InputError(f"--frame {frame}: not a prepared GLB or a prep output folder",
                     hint="run: lgcraft eyewear prep FRAMES... --out DIR, then --frame DIR")


def _warn_photo(out, result) -> None:
    for warning in result.warnings:
        out.warn(f"{result.photo}: {warning}")
    if result.status != "ok":
        out.error(result.error)


def _photos(photos: list[str], face: int | None) -> list[Path]:
    from lgcraft.tryon.photos import expand_photos

    if face is not None and face < 1:
        raise InputError(f"--face must be 1 or more, got {face}")
    return expand_photos(photos)


def tryon(
    ctx: typer.Context,
    photos: list[str] = typer.Argument(..., metavar="PHOTO...", help="Face photos (JPEG, PNG, WebP), folders or globs."),
    frame: Path = typer.Option(..., "--frame", metavar="FRAME", help="A prepared GLB, or a prep output folder (every frame in its batch.json)."),
    out_dir: Path = typer.Option(..., "-o", "--out", metavar="OUTDIR", help="Folder for the composites (PHOTO.FRAME.png); never a photo's own folder."),
    face: int | None = typer.Option(None, "--face", metavar="N", help=FACE_HELP),
    executor: str | None = typer.Option(None, "--executor", metavar="local|ray|auto|ray://HOST:PORT", help="Where to draw: local (default), or on Ray: one actor per CPU opens the face model and the renderer once and takes photos as they come. Config [run] executor, env LGCRAFT_RUN_EXECUTOR."),
    card: str | None = typer.Option(None, "--card", metavar="X1,Y1,X2,Y2", help=CARD_HELP),
) -> None:
    """Put prepared frames on face photos at true scale: one composite PNG per photo and frame.

    Scale comes from the iris (11.7 mm across), the pose from the landmarks fitted to a
    canonical face; the frame's bridge sits on the nose bridge, its lenses before the
    pupils, its temples along the head, hidden behind the face. --json gives per
    composite: pd_mm, mono_pd_mm, head_pose_deg (yaw/pitch/roll), the placement
    transform (GLB metres to the camera frame), confidence, and frame_pd_mm (A + DBL).
    A photo without a face is reported and skipped (exit 1 at the end); a file that is
    not an image stops the run (exit 2).

    Example: lgcraft --json eyewear tryon examples/tryon/astronaut.png --frame out/eyewear -o out/tryon
    """
    from lgcraft.extras import require

    require("tryon")
    from lgcraft.run import resolve_executor
    from lgcraft.tryon.photos import tryon_frames

    app = app_context(ctx)
    spec = resolve_executor(app.settings, executor)
    paths = _photos(photos, face)
    frames = _frames_of(frame)
    with app.out.progress(f"Trying {len(frames)} frame(s) on {len(paths)} photo(s)",
                          total=len(paths)) as advance:
        def done(result):
            _warn_photo(app.out, result)
            advance(1, description=f"{Path(result.photo).name}: {result.status}")

        if spec.is_local or card is not None:  # a card goes with one photo: no workers
            batch = tryon_frames(paths, frames, out_dir, face=face, card=_card(card), on_photo=done)
        else:
            from lgcraft.tryon.scaleout import tryon_frames_on_ray

            batch = tryon_frames_on_ray(spec, paths, frames, out_dir, face=face, on_photo=done)
    from lgcraft.cli import allow_quick_exit

    allow_quick_exit()
    data = batch.to_json()

    def render():
        rows = []
        for r in batch.results:
            if r.status != "ok":
                rows.append([Path(r.photo).name, "-", f"failed: {r.error}", "-", "-", "-", "-", "-"])
                continue
            for c in r.composites:
                pose = c["head_pose_deg"]
                mono = c["mono_pd_mm"]
                rows.append([Path(r.photo).name, Path(c["frame"]).stem, Path(c["output"]).name,
                             f"{c['pd_mm']:.1f} ({mono['right']:.1f}/{mono['left']:.1f})",
                             _fmt(c["frame_pd_mm"]),
                             f"{pose['yaw']:.0f}/{pose['pitch']:.0f}/{pose['roll']:.0f}",
                             f"{c['confidence']:.2f}", "; ".join(c["fit"]["reasons"])])
        return app.out.table("Try-on", ["photo", "frame", "composite", "PD mm (R/L)", "frame PD",
                                        "yaw/pitch/roll", "confidence", "fit"], rows,
                             caption=f"composites in {out_dir}")

    app.out.emit(data, render)
    if batch.failed:
        raise OperationError(f"{batch.failed} of {len(batch.results)} photo(s) failed",
                             hint="see the errors above")


def measure(
    ctx: typer.Context,
    photos: list[str] = typer.Argument(..., metavar="PHOTO...", help="Face photos (JPEG, PNG, WebP), folders or globs."),
    catalog: Path | None = typer.Option(None, "--catalog", metavar="DIR", help="A prep output folder: rank its frames by fit."),
    face: int | None = typer.Option(None, "--face", metavar="N", help=FACE_HELP),
    card: str | None = typer.Option(None, "--card", metavar="X1,Y1,X2,Y2", help=CARD_HELP),
) -> None:
    """Measure PD and face width from photos, and the frame sizes that fit; rank a catalogue.

    Fit rules (docs/tryon.md): total width from the face width to 10 mm more; frame PD
    (lens + bridge) from the PD to 10 mm more; bridge = nose width at the pads +/- 2 mm;
    temples = hinge-to-ear length + 40 mm drop +/- 5 mm. With --catalog, every prepared
    frame is ranked with its reasons (too wide by N mm, bridge too narrow...). Nothing
    is written. A photo without a face: reported, exit 1 at the end.

    Example: lgcraft eyewear measure examples/tryon/astronaut.png --catalog out/eyewear
    """
    from lgcraft.extras import require

    require("tryon")
    from lgcraft.tryon.photos import measure_photos

    app = app_context(ctx)
    paths = _photos(photos, face)
    with app.out.progress(f"Measuring {len(paths)} photo(s)", total=len(paths)) as advance:
        def done(result):
            _warn_photo(app.out, result)
            advance(1, description=f"{Path(result.photo).name}: {result.status}")

        batch = measure_photos(paths, catalog, face=face, card=_card(card), on_photo=done)
    from lgcraft.cli import allow_quick_exit

    allow_quick_exit()
    data = {"photos": [{"photo": r.photo, "status": r.status, "error": r.error,
                        "warnings": r.warnings, "face": r.face, "fit": r.fit,
                        "ranking": r.ranking} for r in batch.results],
            "failed": batch.failed}

    def render():
        from rich.console import Group

        parts = []
        for r in batch.results:
            if r.status != "ok":
                parts.append(app.out.panel(f"failed: {r.error}", title=r.photo, style="red"))
                continue
            f, fit = r.face, r.fit
            mono = f["mono_pd_mm"]
            body = (f"PD {f['pd_mm']:.1f} mm +/- {f['pd_uncertainty_mm']:.1f} (right {mono['right']:.1f}, "
                    f"left {mono['left']:.1f}); face width {f['face_width_mm']:.1f} mm; "
                    f"scale from the {f['scale_from']} (iris {f['iris_mm']:.1f} mm); "
                    f"confidence {f['confidence']:.2f}\n"
                    f"fits: total width {_pair(fit['total_width_mm'])} mm, lens {_pair(fit['lens_width_mm'])}, "
                    f"bridge {_pair(fit['bridge_mm'])}, temple {_pair(fit['temple_length_mm'])}, "
                    f"frame PD {_pair(fit['frame_pd_mm'])}")
            parts.append(app.out.panel(body, title=r.photo))
            if r.ranking is not None:
                rows = [[i + 1, x["name"], _fmt(x["marking"]), "yes" if x["fits"] else "no",
                         _fmt(x["score_mm"]), "; ".join(x["reasons"])] for i, x in enumerate(r.ranking)]
                parts.append(app.out.table(f"Catalogue by fit ({r.photo})",
                                           ["#", "frame", "marking", "fits", "off mm", "why"], rows))
        return Group(*parts)

    app.out.emit(data, render)
    if batch.failed:
        raise OperationError(f"{batch.failed} of {len(batch.results)} photo(s) failed",
                             hint="see the errors above")
