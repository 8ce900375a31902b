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

FRAME_FIELDS = ("marking", "lens_width_mm", "lens_height_mm", "bridge_mm", "total_width_mm",
                "temple_length_mm")
FIELDS = tuple(f for f in mesh_row(FileResult("", "", "ok")) if f not in TAIL_FIELDS) \
    + FRAME_FIELDS + TAIL_FIELDS


def analyse_frame(parts: list[Part], settings: PrepSettings, name: str) -> Analysis:
    """Unit, pose and measurements of a frame (``parts`` in input units)."""
    from lgcraft.eyewear.frame import measure_frame
    from lgcraft.eyewear.pose import detect_pose, resolve_scale

    pose = detect_pose(parts)
    unit, mm = resolve_scale(pose.front_width, settings.units, settings.frame_width_mm, name)
    posed = [p.copy(vertices=pose.apply(p.vertices) * mm) for p in parts]
    anatomy = measure_frame(posed, pose.front_width * mm, pose.front_halfdepth * mm)
    boxing = asdict(anatomy.boxing)
    warnings = list(anatomy.warnings)
    if pose.confidence < 0.05:
        warnings.append("up/down of the frame was hard to tell; check the preview")
    pivots = {}
    for part in anatomy.parts:
        for side in ("left", "right"):
            if part.role == f"temple_{side}" and f"hinge_{side}" in anatomy.anchors:
                pivots[part.name] = anatomy.anchors[f"hinge_{side}"]
    return Analysis(anatomy.parts, anatomy.anchors, {"boxing": boxing, "marking": boxing["marking"],
                    "up_confidence": round(pose.confidence, 3)},
                    unit, mm, pose.rotation, pivots, warnings, "frame",
                    pose.centre + (anatomy.origin_shift / mm) @ pose.rotation)


def prep_frame(item: BatchItem, settings: PrepSettings) -> dict:
    """The batch job for one frame file (see `lgcraft.meshes.batch`)."""
    return prep_model(item, settings, analyse_frame)


def frame_row(result: FileResult) -> dict:
    """One frame's row in batch.json/batch.csv."""
    r = result.report or {}
    boxing = r.get("boxing") or {}
    row = mesh_row(result)
    tail = {k: row.pop(k) for k in TAIL_FIELDS}
    return {**row, "marking": r.get("marking"),
            **{k: boxing.get(k) for k in FRAME_FIELDS[1:]}, **tail}


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
