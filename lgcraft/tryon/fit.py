"""Frame sizes that fit a measured face, and a catalogue ranked by fit.

The rules (opticians' rules of thumb; docs/tryon.md cites them):

- total width: the front as wide as the face at the temples, up to 10 mm wider
  (the temples must clear the head; narrower pinches, much wider slides);
- frame PD = lens width A + bridge DBL (ISO 8624 boxing): at or up to 10 mm above the
  wearer's PD, so each lens is decentred inward by 0-5 mm (outward decentration, a
  frame PD below the wearer's, puts the eyes off the lens centres toward the temples);
- bridge DBL: the nose's width where the pads sit (8 mm below the pupils), +/- 2 mm;
- temple length: from the hinge to the top of the ear (length to bend) plus a 40 mm
  drop behind the ear, +/- 5 mm, in the trade's 5 mm steps.

>>> fit = fit_ranges(face)                               # doctest: +SKIP
>>> fit.total_width_mm                                    # doctest: +SKIP
(124.9, 134.9)
>>> rank_catalog(face, Path("out/eyewear"))[0].name       # doctest: +SKIP
'frame-52-18-140-cm-tilted'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lgcraft.errors import InputError
from lgcraft.tryon.landmarks import LEFT_FACE_EDGE, RIGHT_FACE_EDGE

WIDTH_OVER_FACE_MM = (0.0, 10.0)    # total width - face width
FRAME_PD_OVER_PD_MM = (0.0, 10.0)   # (A + DBL) - PD
BRIDGE_TOLERANCE_MM = 2.0
TEMPLE_DROP_MM = 40.0
TEMPLE_TOLERANCE_MM = 5.0
EAR_BEHIND_FACE_EDGE_MM = 25.0      # the top of the ear lies this far behind landmarks 234/454
PAD_DROP_MM = 8.0                   # the pads sit this far below the pupils
NOSE_SIDES = (188, 412)             # landmarks on the nose's sides at pad height


@dataclass
class FitRanges:
    pd_mm: float
    face_width_mm: float
    nose_width_mm: float
    total_width_mm: tuple[float, float]
    frame_pd_mm: tuple[float, float]
    lens_width_mm: tuple[float, float]
    bridge_mm: tuple[float, float]
    temple_length_mm: tuple[float, float]

    def as_dict(self) -> dict:
        def pair(r):
            return [round(r[0], 1), round(r[1], 1)]

        return {"pd_mm": round(self.pd_mm, 1), "face_width_mm": round(self.face_width_mm, 1),
                "nose_width_mm": round(self.nose_width_mm, 1),
                "total_width_mm": pair(self.total_width_mm), "frame_pd_mm": pair(self.frame_pd_mm),
                "lens_width_mm": pair(self.lens_width_mm), "bridge_mm": pair(self.bridge_mm),
                "temple_length_mm": pair(self.temple_length_mm)}


def _snap(value: float, step: float = 5.0) -> float:
    return float(step * round(value / step))


def fit_ranges(face) -> FitRanges:
    """The frame sizes that suit ``face`` (a `FaceAnalysis`), by the module's rules."""
    head = face.head_mm
    pd = face.pd_mm
    width = face.face_width_mm
    nose = float(abs(head[NOSE_SIDES[1], 0] - head[NOSE_SIDES[0], 0]))
    bridge = (nose - BRIDGE_TOLERANCE_MM, nose + BRIDGE_TOLERANCE_MM)
    frame_pd = (pd + FRAME_PD_OVER_PD_MM[0], pd + FRAME_PD_OVER_PD_MM[1])
    lens = (frame_pd[0] - bridge[1], frame_pd[1] - bridge[0])
    total = (width + WIDTH_OVER_FACE_MM[0], width + WIDTH_OVER_FACE_MM[1])
    # hinge: at the face's width, a little in front of the nose bridge; ear: behind 234/454
    front_z = head[168, 2]
    ear_z = float(np.mean(head[[RIGHT_FACE_EDGE, LEFT_FACE_EDGE], 2])) - EAR_BEHIND_FACE_EDGE_MM
    to_bend = front_z - ear_z
    temple = _snap(to_bend + TEMPLE_DROP_MM)
    return FitRanges(pd_mm=pd, face_width_mm=width, nose_width_mm=nose, total_width_mm=total,
                     frame_pd_mm=frame_pd, lens_width_mm=lens, bridge_mm=bridge,
                     temple_length_mm=(temple - TEMPLE_TOLERANCE_MM, temple + TEMPLE_TOLERANCE_MM))


@dataclass
class CatalogFrame:
    name: str
    glb: Path
    marking: str | None
    lens_width_mm: float | None
    bridge_mm: float | None
    total_width_mm: float | None
    temple_length_mm: float | None
    report: Path | None = None


@dataclass
class FrameFit:
    name: str
    glb: str
    marking: str | None
    score_mm: float               # how far outside the ranges, summed (0 = fits)
    fits: bool
    reasons: list[str] = field(default_factory=list)
    frame_pd_mm: float | None = None


def read_catalog(folder: Path) -> list[CatalogFrame]:
    """The prepared frames of a prep output folder (its batch.json), or one prepared GLB."""
    folder = Path(folder)
    if folder.is_file() and folder.suffix.lower() == ".glb":
        report = folder.with_name(folder.name[:-4] + ".report.json")
        return [_frame_from_report(folder, report)]
    batch = folder / "batch.json" if folder.is_dir() else folder
    if not batch.is_file():
        raise InputError(f"{folder}: no batch.json here; not a prep output folder",
                         hint=f"run: lgcraft eyewear prep FRAMES... --out {folder}")
    try:
        data = json.loads(batch.read_text())
        rows = data["files"]
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(f"{batch}: not a batch.json written by lgcraft eyewear prep ({exc})") from exc
    frames = []
    for row in rows:
        if not isinstance(row, dict) or row.get("status") not in ("ok", "skipped") \
                or row.get("kind", "frame") != "frame":
            continue
        name = str(row.get("name", ""))
        if not name or name != Path(name).name or name in (".", ".."):
            raise InputError(f"{batch}: frame name {name!r} is not a file name in this folder",
                             hint="use the batch.json that lgcraft eyewear prep wrote")
        glb = batch.parent / f"{name}.glb"
        if glb.is_file():
            frames.append(CatalogFrame(
                name=name, glb=glb, marking=row.get("marking"),
                lens_width_mm=row.get("lens_width_mm"), bridge_mm=row.get("bridge_mm"),
                total_width_mm=row.get("total_width_mm"), temple_length_mm=row.get("temple_length_mm"),
                report=batch.parent / f"{name}.report.json"))
    if not frames:
        raise InputError(f"{batch}: no prepared frame in this batch",
                         hint="run: lgcraft eyewear prep FRAMES... --out DIR, then use DIR")
    return frames


def _frame_from_report(glb: Path, report: Path) -> CatalogFrame:
    boxing = {}
    if report.is_file():
        try:
            boxing = json.loads(report.read_text()).get("boxing") or {}
        except ValueError:
            boxing = {}
    return CatalogFrame(name=glb.name[:-4], glb=glb, marking=boxing.get("marking"),
                        lens_width_mm=boxing.get("lens_width_mm"), bridge_mm=boxing.get("bridge_mm"),
                        total_width_mm=boxing.get("total_width_mm"),
                        temple_length_mm=boxing.get("temple_length_mm"),
                        report=report if report.is_file() else None)


def _outside(value: float | None, lo: float, hi: float) -> float:
    if value is None:
        return 0.0
    return lo - value if value < lo else (value - hi if value > hi else 0.0)


def judge_frame(ranges: FitRanges, frame: CatalogFrame) -> FrameFit:
    """How ``frame`` fits: 0 mm outside every range fits; reasons say what is off."""
    reasons, score = [], 0.0
    checks = [("total width", frame.total_width_mm, ranges.total_width_mm, "too wide", "too narrow", 1.0),
              ("bridge", frame.bridge_mm, ranges.bridge_mm, "bridge too wide", "bridge too narrow", 1.0),
              ("temples", frame.temple_length_mm, ranges.temple_length_mm,
               "temples too long", "temples too short", 0.5)]
    for _, value, (lo, hi), over, under, weight in checks:
        off = _outside(value, lo, hi)
        if off:
            reasons.append(f"{over if value > hi else under} by {off:.1f} mm")
            score += off * weight
    frame_pd = None
    if frame.lens_width_mm is not None and frame.bridge_mm is not None:
        frame_pd = frame.lens_width_mm + frame.bridge_mm
        lo, hi = ranges.frame_pd_mm
        off = _outside(frame_pd, lo, hi)
        if off:
            word = "too narrow" if frame_pd < lo else "too wide"
            reasons.append(f"frame PD {word} by {off:.1f} mm ({frame_pd:.1f} mm for PD "
                           f"{ranges.pd_mm:.1f}; lens centres {abs(frame_pd - ranges.pd_mm) / 2:.1f} mm "
                           f"per eye {'inside' if frame_pd < ranges.pd_mm else 'outside'} the pupils)")
            score += off
    if frame.total_width_mm is None:
        reasons.append("no boxing measurements in its report")
        score += 100.0
    return FrameFit(name=frame.name, glb=str(frame.glb), marking=frame.marking,
                    score_mm=round(score, 1), fits=score == 0.0,
                    reasons=reasons or ["fits"], frame_pd_mm=None if frame_pd is None else round(frame_pd, 1))


def rank_catalog(ranges: FitRanges, frames: list[CatalogFrame]) -> list[FrameFit]:
    """Every frame judged, best fit first (ties by name)."""
    return sorted((judge_frame(ranges, f) for f in frames), key=lambda f: (f.score_mm, f.name))
