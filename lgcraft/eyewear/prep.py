"""Frame preparation on the mesh engine: the frame analysis (unit from the front's
width, canonical pose, boxing, marking, hinge pivots, anchors) and the batch job that
runs it (`prep_frame`), with the frame columns of batch.json/batch.csv.

>>> batch = prep_frames([Path("frame.obj")], Path("out"), PrepSettings())  # doctest: +SKIP
>>> batch.files[0].report["boxing"]["marking"]                 # doctest: +SKIP
'52□18-140'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from lgcraft.meshes.batch import BatchItem, BatchResult, FileResult, run_batch
from lgcraft.meshes.part import Part
from lgcraft.meshes.prep import (
    TAIL_FIELDS,
    Analysis,
    PrepSettings,
    mesh_row,
    prep_model,
    prepare_file,
    warm,
)

FRAME_FIELDS = ("marking", "check_size", "lens_width_mm", "lens_height_mm", "bridge_mm", "total_width_mm",
                "temple_length_mm")
FIELDS = tuple(f for f in mesh_row(FileResult("", "", "ok")) if f not in TAIL_FIELDS) \
    + FRAME_FIELDS + TAIL_FIELDS


# No unit told and no marking: the front is scaled to this width. 140 mm is the middle of
# the 125-155 mm that adult frames measure across the front (docs/eyewear.md, "Scale").
TYPICAL_FRAME_WIDTH_MM = 140.0
ASSUMED_HINT = ("pass --markings FILE.csv (file name or SKU -> marking such as 52□18-140), "
                "--units or --frame-width MM")


def _frame_scale(front_width: float, settings: PrepSettings, name: str) -> tuple[str, float, str]:
    """(unit label, mm per unit, how it was found: given | unit | assumed) before any
    marking is applied."""
    from lgcraft.eyewear.pose import guess_unit, resolve_scale
    from lgcraft.meshes.errors import UnitError

    if settings.frame_width_mm is not None or settings.units != "auto":
        unit, mm = resolve_scale(front_width, settings.units, settings.frame_width_mm, name)
        return unit, mm, "given"
    guess = guess_unit(front_width)
    if guess is not None:
        return guess[0], guess[1], "unit"
    if settings.marking is None and settings.unknown_scale == "fail":
        raise UnitError(
            f"{name}: cannot tell the unit: the frame front is {front_width:.4g} units wide, "
            "which is no plausible frame width in mm, cm, m or in", hint=ASSUMED_HINT)
    return "assumed", TYPICAL_FRAME_WIDTH_MM / front_width, "assumed"


def _boxed(boxing) -> float | None:
    """2A + DBL, the span the scale from a marking is fitted to (temples bend and their
    ends differ between makers: the temple only checks)."""
    if not boxing.lens_width_mm or boxing.bridge_mm is None:
        return None
    return 2 * boxing.lens_width_mm + boxing.bridge_mm


def check_size(boxing, marking: tuple, tolerance_mm: tuple[float, ...]) -> dict:
    """The trade's check-size: measured lens width, bridge and temple against the marking."""
    from lgcraft.eyewear.markings import format_marking

    measured = {"lens_width_mm": boxing.lens_width_mm, "bridge_mm": boxing.bridge_mm,
                "temple_length_mm": boxing.temple_length_mm}
    marked = dict(zip(measured, marking, strict=True))
    tolerance = dict(zip(measured, tolerance_mm, strict=True))
    differences, over = {}, []
    for key, value in measured.items():
        if value is None or marked[key] is None:
            continue
        differences[key] = round(value - marked[key], 2)
        if abs(value - marked[key]) > tolerance[key]:
            over.append(f"{key.removesuffix('_mm').replace('_', ' ')} {value - marked[key]:+.1f} mm")
    return {"marking": format_marking(*marking), "ok": not over, "differences_mm": differences,
            "tolerance_mm": tolerance, "over": over}


def analyse_frame(parts: list[Part], settings: PrepSettings, name: str) -> Analysis:
    """Unit, pose and measurements of a frame (``parts`` in input units).

    The scale comes from the flags (--units, --frame-width), else from the file's
    marking (2A+DBL fitted to the marked one), else from the unit the front's width
    tells; with none of these the front is scaled to a typical adult frame
    (``scale: assumed``) or, with ``unknown_scale="fail"``, a `UnitError`. Where a
    marking and a unit both exist, the measurements are checked against the marking.
    """
    from lgcraft.eyewear.frame import measure_frame
    from lgcraft.eyewear.markings import format_marking
    from lgcraft.eyewear.pose import detect_pose

    pose = detect_pose(parts)
    unit, mm, scale = _frame_scale(pose.front_width, settings, name)

    def measure(mm_per_unit: float):
        posed = [p.copy(vertices=pose.apply(p.vertices) * mm_per_unit) for p in parts]
        return measure_frame(posed, pose.front_width * mm_per_unit, pose.front_halfdepth * mm_per_unit)

    anatomy = measure(mm)
    warnings = []
    extra: dict = {"check_size": None}
    marking = settings.marking
    if marking is not None:
        span = _boxed(anatomy.boxing)
        if scale != "assumed":  # a unit to measure in: the check-size
            extra["check_size"] = check_size(anatomy.boxing, marking, settings.size_tolerance_mm)
            if not extra["check_size"]["ok"]:
                warnings.append(f"check-size against {format_marking(*marking)}: "
                                + ", ".join(extra["check_size"]["over"])
                                + " (exported at the wrong scale, or for another SKU?)")
        if span is None:
            warnings.append(f"marking {format_marking(*marking)} not used: lens boxes not measured")
        elif scale != "given":
            factor = (2 * marking[0] + marking[1]) / span
            unit, mm, scale = "marking", mm * factor, "marking"
            if abs(factor - 1) > 0.002:  # the frame's thresholds are in mm: measure again
                anatomy = measure(mm)
    if scale == "assumed":
        warnings.append(f"scale: assumed: the front ({pose.front_width:.4g} units) tells no unit; "
                        f"scaled to a typical adult frame, {TYPICAL_FRAME_WIDTH_MM:g} mm wide; "
                        + ASSUMED_HINT)
    boxing = asdict(anatomy.boxing)
    warnings += anatomy.warnings
    if pose.confidence < 0.05:
        warnings.append("up/down of the frame was hard to tell; check the preview")
    pivots = {}
    for part in anatomy.parts:
        for side in ("left", "right"):
            if part.role == f"temple_{side}" and f"hinge_{side}" in anatomy.anchors:
                pivots[part.name] = anatomy.anchors[f"hinge_{side}"]
    return Analysis(anatomy.parts, anatomy.anchors, {"boxing": boxing, "marking": boxing["marking"],
                    "up_confidence": round(pose.confidence, 3), **extra},
                    unit, mm, pose.rotation, pivots, warnings, "frame",
                    pose.centre + (anatomy.origin_shift / mm) @ pose.rotation, scale)


def prep_frame(item: BatchItem, settings: PrepSettings) -> dict:
    """The batch job for one frame file (see `lgcraft.meshes.batch`)."""
    return prep_model(item, settings, analyse_frame)


def frame_row(result: FileResult) -> dict:
    """One frame's row in batch.json/batch.csv."""
    r = result.report or {}
    boxing = r.get("boxing") or {}
    row = mesh_row(result)
    tail = {k: row.pop(k) for k in TAIL_FIELDS}
    check = r.get("check_size")
    verdict = None if not check else ("ok" if check["ok"] else "; ".join(check["over"]))
    return {**row, "marking": r.get("marking"), "check_size": verdict,
            **{k: boxing.get(k) for k in FRAME_FIELDS[2:]}, **tail}


def warm_frames(paths: Sequence[Path], settings: PrepSettings) -> None:
    """Imports every frame needs, done once before the batch's workers fork."""
    warm(paths, settings)
    from lgcraft.eyewear import frame, pose  # noqa: F401


def prep_frames(paths: Sequence[Path], out_dir: Path, settings: PrepSettings, *, jobs: int = 1,
                resume: bool = False, on_done: Callable[[FileResult], None] | None = None,
                ) -> BatchResult:
    """Prepare every frame file (``jobs`` cores); writes batch.json/batch.csv."""
    return run_batch(paths, out_dir, prep_frame, settings, jobs=jobs, resume=resume,
                     on_done=on_done, row=frame_row, fields=FIELDS, warm=warm_frames)


def prepare_frame(path: Path, out_dir: Path, name: str, settings: PrepSettings,
                  digest: str | None = None) -> dict:
    """Prepare one frame file outside a batch; writes its outputs and report."""
    return prepare_file(path, out_dir, name, settings, analyse_frame, digest)
