"""Mesh preparation for try-on, trade-neutral: load, repair, the trade's analysis (unit,
pose, measurements, anchors), decimate within a profile's budget, error check, export
GLB (+USDZ, previews) and the report. One file is one `prep_model` job of the batch
runner (`lgcraft.meshes.batch`); the trade supplies the analysis.

>>> from lgcraft.eyewear.prep import analyse_frame             # doctest: +SKIP
>>> report = prepare_file(Path("frame.obj"), Path("out"), "frame", PrepSettings(),
...                       analyse_frame)                        # doctest: +SKIP
>>> report["boxing"]["marking"]                                 # doctest: +SKIP
'52□18-140'
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lgcraft.errors import InputError, LgcraftError
from lgcraft.meshes.batch import ENGINE_VERSION, BatchItem, FileResult, base_row, write_report
from lgcraft.meshes.part import Part


@dataclass(frozen=True)
class Profile:
    name: str
    max_triangles: int
    max_texture_px: int
    target: str


PROFILES = {
    "web": Profile("web", 50_000, 2048, "web try-on in WebGL (model-viewer, three.js)"),
    "webar": Profile("webar", 20_000, 1024, "mobile WebAR face tracking (phones, 60 fps)"),
    "quicklook": Profile("quicklook", 100_000, 2048, "AR Quick Look on iOS (USDZ)"),
}
UNITS = ("auto", "mm", "cm", "m", "in")
UNKNOWN_SCALE = ("assume", "fail")


@dataclass(frozen=True)
class PrepSettings:
    kind: str = "frame"  # what the trade's analysis looks for (frame, ring, earring, jewelry)
    profile: str = "web"
    max_triangles: int | None = None
    units: str = "auto"
    frame_width_mm: float | None = None
    usdz: bool = False
    preview: bool = False
    unknown_scale: str = "assume"  # assume (a typical size, marked "scale: assumed") | fail
    # the batch's known sizes, (file name, stem, folder or SKU -> numbers the trade reads,
    # e.g. a frame's marking A, DBL, temple in mm); resolved per file into ``marking``
    markings: tuple[tuple[str, tuple], ...] = ()
    marking: tuple | None = None
    size_tolerance_mm: tuple[float, ...] = (1.0, 1.0, 3.0)  # check-size: lens, bridge, temple
    separate_layers: bool = False  # offset coincident layers (lgcraft.meshes.layers)

    def __post_init__(self) -> None:
        if self.unknown_scale not in UNKNOWN_SCALE:
            raise InputError(f"unknown --unknown-scale {self.unknown_scale!r}",
                             hint="use " + " or ".join(UNKNOWN_SCALE))
        if any(not (0 <= t <= 50) for t in self.size_tolerance_mm):
            raise InputError(f"size tolerances must be 0-50 mm, got {self.size_tolerance_mm}")
        if self.profile not in PROFILES:
            raise InputError(f"unknown profile {self.profile!r}", hint="use " + ", ".join(PROFILES))
        if self.units not in UNITS:
            raise InputError(f"unknown unit {self.units!r}", hint="use " + ", ".join(UNITS))
        if self.max_triangles is not None and self.max_triangles < 100:
            raise InputError(f"--max-triangles must be at least 100, got {self.max_triangles}")
        if self.frame_width_mm is not None and not (10 <= self.frame_width_mm <= 400):
            raise InputError(f"--frame-width must be between 10 and 400 mm, got {self.frame_width_mm}")

    @property
    def triangle_budget(self) -> int:
        budget = PROFILES[self.profile].max_triangles
        return min(budget, self.max_triangles) if self.max_triangles else budget

    @property
    def texture_budget(self) -> int:
        return PROFILES[self.profile].max_texture_px

    def key(self) -> str:
        data = json.dumps({**self.as_dict(), "engine": ENGINE_VERSION}, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def as_dict(self) -> dict:
        """The settings as reports and batch.json show them: the markings table is
        summed up (each file's report holds its own ``marking``)."""
        data = asdict(self)
        data["markings"] = len(self.markings)
        return data

    def for_file(self, path: Path, name: str) -> PrepSettings:
        """These settings for one file: its marking looked up by file name, stem, output
        name or folder name (any case), the table itself dropped."""
        found = self.marking
        if self.markings:
            path = Path(path)
            table = {k.lower(): v for k, v in self.markings}
            for candidate in (path.name, path.stem, name, path.parent.name):
                if candidate.lower() in table:
                    found = tuple(table[candidate.lower()])
                    break
        return replace(self, markings=(), marking=found)

    def item_key(self, path: Path, name: str) -> str:
        """What resume compares for one file: its settings, its marking included."""
        return self.for_file(path, name).key()


@dataclass
class Analysis:
    """What a kind-specific analysis returns: canonical parts in mm and what was found."""

    parts: list[Part]
    anchors: dict[str, list[float]]
    measurements: dict[str, Any]
    unit: str
    mm_per_unit: float
    rotation: np.ndarray
    pivots: dict[str, list[float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    kind: str = "frame"
    origin_input: np.ndarray | None = None  # input-space point that became the origin
    scale: str = "unit"  # unit (told from the size) | given (flags) | marking | assumed


# -- the pipeline ---------------------------------------------------------------------
def repair_model(parts: list[Part]) -> tuple[list[Part], dict]:
    from lgcraft.meshes._threads import map_parts
    from lgcraft.meshes.repair import RepairReport, repair_part

    total = RepairReport()
    out = []
    for part, report in map_parts(repair_part, parts, size=lambda p: p.triangles):
        total.add(report)
        if len(part.faces):
            out.append(part)
    summary = asdict(total)
    summary.pop("before")
    summary.pop("after")
    return out, summary


def model_topology(parts: list[Part]) -> dict:
    from lgcraft.meshes.repair import topology

    stats = [topology(p.vertices, p.faces) for p in parts]
    return {
        "boundary_edges": sum(s.boundary_edges for s in stats),
        "nonmanifold_edges": sum(s.nonmanifold_edges for s in stats),
        "inconsistent_winding_edges": sum(s.inconsistent_edges for s in stats),
        "components": sum(s.components for s in stats),
        "watertight": all(s.watertight for s in stats),
        "winding_consistent": all(s.winding_consistent for s in stats),
    }


Analyse = Callable[[list[Part], PrepSettings, str], Analysis]


def _round(value, digits=3):
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round(v, digits) for v in value]
    return value


def _timed(function, *args):
    """(``function(*args)``, seconds it took)."""
    start = time.perf_counter()
    result = function(*args)
    return result, round(time.perf_counter() - start, 3)


def regroup(parts: list[Part], kept: list[np.ndarray], analysis: Analysis, budget: int,
            ) -> list[Part]:
    """The simplified model as the analysis grouped and posed the originals: each
    analysed part gets the kept faces of its source part that start at one of its own
    vertices, mapped into the canonical pose (mm); a part below its floor is decimated
    alone from its posed original instead."""
    from lgcraft.meshes.decimate import decimate_model, keep_faces

    originals = analysis.parts
    if analysis.origin_input is None or any(p.source is None for p in originals):
        return decimate_model(originals, budget)  # no way back to the sources: redo it
    rotation, mm, origin = analysis.rotation, analysis.mm_per_unit, analysis.origin_input

    def to_pose(vertices: np.ndarray) -> np.ndarray:
        return (vertices - origin) @ rotation.T * mm

    users: dict[int, list[int]] = {}
    for r, part in enumerate(originals):
        users.setdefault(part.source[0], []).append(r)
    out: list[Part | None] = [None] * len(originals)
    for i, group in users.items():
        source, faces = parts[i], kept[i]
        if len(group) == 1:
            owner = np.full(len(faces), group[0])
        else:  # the part whose original faces last used a face's first vertex
            by_vertex = np.full(len(source.vertices), -1)
            for r in group:
                chosen = originals[r].source[1]
                used = source.faces if chosen is None else source.faces[chosen]
                by_vertex[used.ravel()] = r
            owner = by_vertex[faces[:, 0]]
        for r in group:
            out[r] = keep_faces(source, faces[owner == r], originals[r], to_pose)
    return out


def decimate_analysed(parts: list[Part], analysis: Analysis, budget: int) -> list[Part]:
    """The analysed parts within ``budget`` triangles, as `prep_model` makes them: one
    simplifier pass over the repaired ``parts``, mapped onto the analysis' parts and
    pose, mirror twins balanced."""
    from lgcraft.meshes.decimate import balance_twins, simplify_faces

    if sum(p.triangles for p in analysis.parts) <= budget:
        return list(analysis.parts)
    decimated = regroup(parts, simplify_faces(parts, budget), analysis, budget)
    return balance_twins(analysis.parts, decimated)[0]


def prep_model(item: BatchItem, settings: PrepSettings, analyse: Analyse) -> dict:
    """The mesh-prep job of one file: load, repair, ``analyse`` (the trade's unit, pose
    and measurements), decimate, error check, export GLB (+USDZ, previews); returns the
    report (the batch runner writes it, last). Trades wrap it in a module-level job
    with their analysis, e.g. ``lgcraft.eyewear.prep.prep_frame``.
    """
    from lgcraft.files import write_atomic
    from lgcraft.meshes._threads import file_threads, map_parts
    from lgcraft.meshes.decimate import (
        Surface,
        TwinMaps,
        balance_twins,
        simplify_faces,
        surface_hausdorff,
    )
    from lgcraft.meshes.export import build_scene, glb_bytes, write_usdz
    from lgcraft.meshes.gltf import can_write, glb_from_parts
    from lgcraft.meshes.layers import OFFSET_MM, coincident_layers, separate_layers
    from lgcraft.meshes.mesh import load_model
    from lgcraft.meshes.preview import render_previews

    path, out_dir, name = item.path, item.out_dir, item.name
    settings = settings.for_file(path, name)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 3)
        clock = now

    model = load_model(path)
    triangles_in = model.triangles
    lap("load")
    topo_before = model_topology(model.parts) if triangles_in <= 200_000 else None
    parts, repair = repair_model(model.parts)
    if not parts:
        raise InputError(f"{path.name}: nothing left after dropping degenerate faces")
    lap("repair")
    budget = settings.triangle_budget
    threads = file_threads()
    simplifying = sum(p.triangles for p in parts) > budget
    # the simplifier needs neither pose nor roles: it starts on the repaired parts on
    # another core (meshoptimizer releases the GIL) while this one analyses the model;
    # then the originals' error-check indexes are built on whichever core is free
    pool = simplified = None
    if simplifying and threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(threads)
        simplified = pool.submit(_timed, simplify_faces, parts, budget)
    try:
        analysis = analyse(parts, settings, path.name)
        lap("unit_pose_measure")
        originals = decimated = analysis.parts
        twins: list[tuple[int, int]] = []
        prepared = [None] * len(originals)
        layers = maps = None
        if simplifying and pool:
            # the originals' error indexes on the pool's free threads; meanwhile this
            # thread looks for coincident layers instead of waiting for the simplifier
            order = sorted(range(len(originals)), key=lambda k: -originals[k].triangles)
            futures = {k: pool.submit(lambda p: Surface(p.vertices, p.faces).prepare(), originals[k])
                       for k in order}
            layers = coincident_layers(originals)
            # the twins' maps too (KD-trees, fitted mirrors): balancing them after the
            # simplifier is then a query, not a tree build on the critical path
            maps = TwinMaps(originals).prepare()
            prepared = [futures[k].result() for k in range(len(originals))]
            lap("error_index_and_layers")
        elif simplifying:
            prepared = map_parts(lambda p: Surface(p.vertices, p.faces).prepare(), originals,
                                 size=lambda p: p.triangles)
            lap("error_index")
        if simplifying:
            kept, timings["decimate"] = (simplified.result() if simplified
                                         else _timed(simplify_faces, parts, budget))
            decimated = regroup(parts, kept, analysis, budget)
            decimated, twins = balance_twins(originals, decimated, maps)
            lap("decimate_wait" if simplified else "regroup")
    finally:
        if pool:
            pool.shutdown(wait=True)
    if layers is None:
        layers = coincident_layers(originals)
    if layers and settings.separate_layers:
        # on the output: its faces are a subset of the input's, so the layers are still there
        decimated = separate_layers(decimated, coincident_layers(decimated))
    elif layers:
        shown = ", ".join(f"{a}/{b} {layer.area_mm2:.0f} mm\u00b2" if a != b else
                          f"two layers of {a} {layer.area_mm2:.0f} mm\u00b2"
                          for layer in layers for a, b in [layer.parts])
        analysis.warnings.append(f"coincident surfaces (they flicker in every renderer): {shown}; "
                                 f"--separate-layers moves the thinner {OFFSET_MM} mm out")
    lap("layers")
    total_faces = sum(p.triangles for p in originals) or 1
    pairs = list(zip(originals, decimated, prepared, strict=True))

    def part_error(pair) -> tuple[float, float]:
        before, after, surface = pair
        if after.triangles >= before.triangles:
            return 0.0, 0.0
        samples = int(np.clip(8000 * before.triangles / total_faces, 1000, 4000))
        return surface_hausdorff(surface or Surface(before.vertices, before.faces),
                                 Surface(after.vertices, after.faces), samples=samples)

    errors = map_parts(part_error, pairs, threads, size=lambda pair: pair[0].triangles)
    part_rows = []
    for i, (before, after, _) in enumerate(pairs):
        part_rows.append({"name": after.name, "role": after.role, "source": before.original_name,
                          "triangles_in": before.triangles, "triangles_out": after.triangles,
                          "hausdorff_mm": errors[i][0], "mean_error_mm": errors[i][1]})
    lap("error")
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {"glb": str(out_dir / f"{name}.glb")}
    scene = None
    if settings.usdz or settings.preview or not can_write(decimated):
        scene = build_scene(decimated, analysis.anchors, scale=0.001,
                            max_texture=settings.texture_budget, pivots=analysis.pivots)
        glb = glb_bytes(scene)
    else:  # no USDZ/preview, materials read by the numpy reader: no trimesh import
        glb = glb_from_parts(decimated, analysis.anchors, scale=0.001, pivots=analysis.pivots,
                             max_texture=settings.texture_budget)
    write_atomic(out_dir / f"{name}.glb", glb)
    licence = licence_beside(path)
    if licence is not None:  # e.g. a CC-BY credit: it must travel with the derived model
        outputs["license"] = str(out_dir / f"{name}.license.txt")
        write_atomic(outputs["license"], licence.read_bytes())
    lap("export_glb")
    if settings.usdz:
        write_usdz(scene, out_dir / f"{name}.usdz")
        outputs["usdz"] = str(out_dir / f"{name}.usdz")
        lap("export_usdz")
    if settings.preview:
        for view, png in render_previews(scene).items():
            target = out_dir / f"{name}.{view}.png"
            write_atomic(target, png)
            outputs[f"preview_{view}"] = str(target)
        lap("preview")
    triangles_out = sum(p.triangles for p in decimated)
    report = {
        "input": str(path), "name": name, "kind": analysis.kind,
        "input_sha256": item.digest, "settings_key": item.settings_key,
        "settings": settings.as_dict(), "profile": asdict(PROFILES[settings.profile]),
        "triangles_in": triangles_in, "triangles_out": triangles_out, "triangle_budget": budget,
        "unit": analysis.unit, "scale": analysis.scale, "mm_per_unit": analysis.mm_per_unit,
        "rotation": analysis.rotation.tolist(),
        # output (m) = ((input - origin_input) @ rotation.T) * mm_per_unit / 1000
        "origin_input": None if analysis.origin_input is None else analysis.origin_input.tolist(),
        "topology_before": topo_before, "repair": repair,
        "parts": part_rows,
        # mirror twins the shared pass left unequal, decimated again to one budget
        "twins_balanced": [[originals[i].name, originals[j].name] for i, j in twins],
        "coincident_layers": [layer.as_dict() for layer in layers],
        "layers_separated": bool(layers and settings.separate_layers),
        "hausdorff_mm": max((r["hausdorff_mm"] for r in part_rows), default=0.0),
        **analysis.measurements,
        "anchors_m": {k: [c / 1000.0 for c in v] for k, v in analysis.anchors.items()},
        "outputs": outputs, "warnings": analysis.warnings, "timings_s": timings,
    }
    report = _round(report, 4)
    # the pose in full precision: enough to map the output back onto the input exactly
    report["rotation"] = analysis.rotation.tolist()
    if analysis.origin_input is not None:
        report["origin_input"] = analysis.origin_input.tolist()
    return report


def prepare_file(path: Path, out_dir: Path, name: str, settings: PrepSettings, analyse: Analyse,
                 digest: str | None = None) -> dict:
    """Run the whole pipeline on one file outside a batch; write GLB (+USDZ, previews)
    and the report (``<name>.report.json``, last). Returns the report.

    >>> prepare_file(Path("ring.stl"), Path("out"), "ring", PrepSettings(kind="ring"),
    ...              analyse_jewelry)["ring"]["size_iso"]        # doctest: +SKIP
    55
    """
    from lgcraft.meshes.batch import input_digest

    item = BatchItem(Path(path), Path(out_dir), name, digest or input_digest(Path(path)),
                     settings.item_key(Path(path), name))
    return write_report(item, prep_model(item, settings, analyse))


def licence_beside(path: Path) -> Path | None:
    """The licence file in a model's folder (license.txt, LICENSE, licence.md...), if any."""
    found = sorted(p for p in Path(path).parent.iterdir()
                   if p.is_file() and p.stem.lower() in ("license", "licence"))
    return found[0] if found else None


def warm(paths: Sequence[Path], settings: PrepSettings) -> None:
    """Import what every file needs once, in the parent, so forked workers start warm
    instead of each paying the import."""
    import meshoptimizer  # noqa: F401

    from lgcraft.meshes import _threads, decimate, gltf, kdtree, repair  # noqa: F401

    _threads.join_warm_imports()

    general = {".obj", ".stl", ".ply", ".off"}
    if settings.usdz or settings.preview or any(p.suffix.lower() in general for p in paths):
        import trimesh  # noqa: F401


MESH_FIELDS = ("name", "status", "kind", "unit", "scale", "triangles_in", "triangles_out",
               "hausdorff_mm")
TAIL_FIELDS = ("seconds", "error", "input")


def mesh_row(result: FileResult) -> dict:
    """The batch.json/batch.csv columns every mesh prep has; a trade adds its own."""
    r = result.report or {}
    base = base_row(result)
    return {"name": result.name, "status": result.status, "kind": r.get("kind"),
            "unit": r.get("unit"), "scale": r.get("scale"), "triangles_in": r.get("triangles_in"),
            "triangles_out": r.get("triangles_out"), "hausdorff_mm": r.get("hausdorff_mm"),
            **{k: base[k] for k in TAIL_FIELDS}}


# -- inspect ---------------------------------------------------------------------------
def inspect_file(path: Path, settings: PrepSettings, analyse: Analyse) -> dict:
    """Parts, triangles, bounds, guessed unit, topology problems and measurements."""
    from lgcraft.meshes.mesh import load_model

    settings = settings.for_file(path, path.stem)
    model = load_model(path)
    all_v = model.all_vertices()
    parts_info = [{"name": p.name, "triangles": p.triangles, "vertices": len(p.vertices),
                   "has_uv": p.uv is not None,
                   "material": getattr(p.material, "name", None)} for p in model.parts]
    info: dict[str, Any] = {
        "input": str(path), "parts": parts_info, "triangles": model.triangles,
        "bounds": [all_v.min(axis=0).tolist(), all_v.max(axis=0).tolist()],
        "size": np.ptp(all_v, axis=0).tolist(), "topology": model_topology(model.parts),
    }
    parts, repair = repair_model(model.parts)
    info["repair_needed"] = repair
    try:
        analysis = analyse(parts, settings, path.name)
        info.update(kind=analysis.kind, unit=analysis.unit, scale=analysis.scale, mm_per_unit=analysis.mm_per_unit,
                    **analysis.measurements, warnings=analysis.warnings,
                    roles={p.name: p.triangles for p in analysis.parts})
    except LgcraftError as exc:
        info.update(unit=None, warnings=[exc.message])
    return _round(info, 4)
