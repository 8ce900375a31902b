"""`lgcraft jewelry tryon`: a pair of earrings on face photos. Thin: parse, call
`lgcraft.tryon.photos.tryon_earrings`, show."""

from __future__ import annotations

from pathlib import Path

import typer

from lgcraft.context import app_context
from lgcraft.errors import InputError, OperationError


def tryon(
    ctx: typer.Context,
    photos: list[str] = typer.Argument(..., metavar="PHOTO...", help="Face photos (JPEG, PNG, WebP), folders or globs."),
    earring: Path = typer.Option(..., "--earring", metavar="EARRING.glb", help="A prepared earring GLB (lgcraft jewelry prep): its anchor is the hook or post."),
    out_dir: Path = typer.Option(..., "-o", "--out", metavar="OUTDIR", help="Folder for the composites (PHOTO.EARRING.png); never a photo's own folder."),
    face: int | None = typer.Option(None, "--face", metavar="N", help="Which face when a photo shows several: 1 = the largest (default)."),
) -> None:
    """Hang a pair of prepared earrings at both ear lobes of face photos, at true scale.

    Scale from the iris (11.7 mm), pose from the landmarks; each earring's piercing
    anchor at a lobe, its front turned outward; an earring behind the head (a turned
    face) is hidden by the face and skull occluder. --json gives per composite the
    lobes' pixels, each earring's transform and visible pixel count, PD and head pose.
    A photo without a face is reported and skipped (exit 1 at the end).

    Example: lgcraft --json jewelry tryon examples/tryon/astronaut.png --earring out/jewelry/hook-m.glb -o out/tryon
    """
    from lgcraft.extras import require

    require("tryon")
    from lgcraft.tryon.photos import expand_photos, tryon_earrings

    if face is not None and face < 1:
        raise InputError(f"--face must be 1 or more, got {face}")
    app = app_context(ctx)
    paths = expand_photos(photos)
    with app.out.progress(f"Earrings on {len(paths)} photo(s)", total=len(paths)) as advance:
        def done(result):
            for warning in result.warnings:
                app.out.warn(f"{result.photo}: {warning}")
            if result.status != "ok":
                app.out.error(result.error)
            advance(1, description=f"{Path(result.photo).name}: {result.status}")

        batch = tryon_earrings(paths, earring, out_dir, face=face, on_photo=done)
    from lgcraft.cli import allow_quick_exit

    allow_quick_exit()
    data = batch.to_json()

    def render():
        rows = []
        for r in batch.results:
            if r.status != "ok":
                rows.append([Path(r.photo).name, f"failed: {r.error}", "-", "-", "-"])
                continue
            for c in r.composites:
                sides = c["earrings"]
                shown = ", ".join(f"{s} {'hidden' if v['hidden'] else 'shown'}" for s, v in sides.items())
                pose = c["head_pose_deg"]
                rows.append([Path(r.photo).name, Path(c["output"]).name, shown,
                             f"{pose['yaw']:.0f}/{pose['pitch']:.0f}/{pose['roll']:.0f}",
                             f"{c['confidence']:.2f}"])
        return app.out.table("Earring try-on", ["photo", "composite", "earrings", "yaw/pitch/roll",
                                                "confidence"], rows, caption=f"composites in {out_dir}")

    app.out.emit(data, render)
    if batch.failed:
        raise OperationError(f"{batch.failed} of {len(batch.results)} photo(s) failed",
                             hint="see the errors above")
