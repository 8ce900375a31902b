"""The per-file pipeline (load, repair, unit, pose, decimate, measure, anchors, export,
report) and the batch runner (process workers, resume, atomic outputs).

>>> settings = PrepSettings(profile="web")                     # doctest: +SKIP
>>> result = run_batch([Path("frame.obj")], Path("out"), settings)  # doctest: +SKIP
>>> result.files[0].report["boxing"]["marking"]                 # doctest: +SKIP
'52□18-140'
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lgcraft.errors import InputError, LgcraftError
from lgcraft.eyewear.mesh import FORMATS, Part

ENGINE_VERSION = "1"


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
KINDS = ("frame", "ring", "earring", "jewelry")


@dataclass(frozen=True)
class PrepSettings:
    kind: str = "frame"  # frame | ring | earring | jewelry (ring or earring, detected)
    profile: str = "web"
    max_triangles: int | None = None
    units: str = "auto"
    frame_width_mm: float | None = None
    usdz: bool = False
    preview: bool = False

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise InputError(f"unknown profile {self.profile!r}", hint="use " + ", ".join(PROFILES))
        if self.units not in UNITS:
            raise InputError(f"unknown unit {self.units!r}", hint="use " + ", ".join(UNITS))
        if self.kind not in KINDS:
            raise InputError(f"unknown kind {self.kind!r}", hint="use " + ", ".join(KINDS))
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
        data = json.dumps({**asdict(self), "engine": ENGINE_VERSION}, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]


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


@dataclass
class FileResult:
    input: str
    name: str
    status: str  # ok | failed | skipped
    error: str | None = None
    report: dict | None = None
    seconds: float = 0.0


@dataclass
class BatchResult:
    out_dir: str
    files: list[FileResult]
    settings: dict

    @property
    def failed(self) -> int:
        return sum(f.status == "failed" for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.status == "skipped" for f in self.files)

    @property
    def ok(self) -> int:
        return sum(f.status == "ok" for f in self.files)


# -- inputs -------------------------------------------------------------------------
def expand_inputs(patterns: list[str]) -> list[Path]:
    """Files from files, folders (recursive, mesh formats only) and globs, in order."""
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            matches = sorted(p for p in path.rglob("*") if p.suffix.lower() in FORMATS and p.is_file())
            if not matches:
                raise InputError(f"no mesh files in folder {pattern}",
                                 hint="formats: " + ", ".join(FORMATS))
            found += matches
        elif any(ch in pattern for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True)
                             if Path(p).suffix.lower() in FORMATS)
            if not matches:
                raise InputError(f"no mesh files match {pattern!r}")
            found += matches
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"input not found: {pattern}")
    unique, seen = [], set()
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


GENERIC_STEMS = {"scene", "model", "mesh", "untitled", "export", "object"}


def output_names(paths: list[Path]) -> list[str]:
    """Output base names: the stem, or folder_stem where stems collide or say nothing."""
    names = []
    for p in paths:
        stem = p.stem
        names.append(f"{p.parent.name}" if stem.lower() in GENERIC_STEMS and p.parent.name else stem)
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    out, used = [], set()
    for p, n in zip(paths, names, strict=True):
        name = n if counts[n] == 1 else f"{p.parent.name}_{n}"
        base, k = name, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out.append(name)
    return out


def input_digest(path: Path) -> str:
    """sha256 over the file and, for glTF, the buffers and textures it references."""
    h = hashlib.sha256()
    files = [path]
    if path.suffix.lower() == ".gltf":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            for item in doc.get("buffers", []) + doc.get("images", []):
                uri = item.get("uri", "")
                if uri and not uri.startswith("data:") and "://" not in uri:
                    files.append(path.parent / uri)
        except (ValueError, OSError, UnicodeDecodeError, AttributeError):
            pass
    for f in files:
        h.update(str(f.name).encode())
        try:
            with open(f, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    h.update(chunk)
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


# -- the pipeline ---------------------------------------------------------------------
def repair_model(parts: list[Part]) -> tuple[list[Part], dict]:
    from lgcraft.eyewear._threads import map_parts
    from lgcraft.eyewear.repair import RepairReport, repair_part

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
    from lgcraft.eyewear.repair import topology

    stats = [topology(p.vertices, p.faces) for p in parts]
    return {
        "boundary_edges": sum(s.boundary_edges for s in stats),
        "nonmanifold_edges": sum(s.nonmanifold_edges for s in stats),
        "inconsistent_winding_edges": sum(s.inconsistent_edges for s in stats),
        "components": sum(s.components for s in stats),
        "watertight": all(s.watertight for s in stats),
        "winding_consistent": all(s.winding_consistent for s in stats),
    }


def analyse_frame(parts: list[Part], settings: PrepSettings, name: str) -> Analysis:
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


def analyse(parts: list[Part], settings: PrepSettings, name: str) -> Analysis:
    if settings.kind == "frame":
        return analyse_frame(parts, settings, name)
    from lgcraft.eyewear.jewelry import analyse_jewelry

    return analyse_jewelry(parts, settings, name)


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
    from lgcraft.eyewear.decimate import decimate_model, keep_faces

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


def prepare_file(path: Path, out_dir: Path, name: str, settings: PrepSettings,
                 digest: str | None = None) -> dict:
    """Run the whole pipeline on one file; write GLB (+USDZ, previews) and the report.

    Returns the report dict (also written as ``<name>.report.json``, last).
    """
    from lgcraft.eyewear._threads import file_threads, map_parts
    from lgcraft.eyewear.decimate import Surface, simplify_faces, surface_hausdorff
    from lgcraft.eyewear.export import (
        build_scene,
        glb_bytes,
        render_previews,
        write_usdz,
    )
    from lgcraft.eyewear.gltf import can_write, glb_from_parts
    from lgcraft.eyewear.mesh import load_model
    from lgcraft.files import write_atomic

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
        prepared = [None] * len(originals)
        if simplifying:
            prepared = map_parts(lambda p: Surface(p.vertices, p.faces).prepare(), originals,
                                 pool=pool, size=lambda p: p.triangles)
            lap("error_index")
            kept, timings["decimate"] = (simplified.result() if simplified
                                         else _timed(simplify_faces, parts, budget))
            decimated = regroup(parts, kept, analysis, budget)
            lap("decimate_wait" if simplified else "regroup")
    finally:
        if pool:
            pool.shutdown(wait=True)
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
        "input_sha256": digest or input_digest(path), "settings_key": settings.key(),
        "settings": asdict(settings), "profile": asdict(PROFILES[settings.profile]),
        "triangles_in": triangles_in, "triangles_out": triangles_out, "triangle_budget": budget,
        "unit": analysis.unit, "mm_per_unit": analysis.mm_per_unit,
        "rotation": analysis.rotation.tolist(),
        # output (m) = ((input - origin_input) @ rotation.T) * mm_per_unit / 1000
        "origin_input": None if analysis.origin_input is None else analysis.origin_input.tolist(),
        "topology_before": topo_before, "repair": repair,
        "parts": part_rows,
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
    report["outputs"]["report"] = str(out_dir / f"{name}.report.json")
    stale = _stale_outputs(out_dir, name, report["outputs"])
    write_atomic(out_dir / f"{name}.report.json",
                 (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode())
    for path in stale:  # only once the new report names what this run made
        path.unlink(missing_ok=True)
    return report


def _stale_outputs(out_dir: Path, name: str, outputs: dict) -> list[Path]:
    """Files the previous run for ``name`` listed in its report that this run did not
    make again (a USDZ or previews from a run with --usdz/--preview, a licence no longer
    beside the input): left, they would pass for outputs of this run. Only files that
    report names inside ``out_dir`` are ever touched."""
    try:
        previous = json.loads((out_dir / f"{name}.report.json").read_text(encoding="utf-8"))
        listed = [Path(p) for p in previous.get("outputs", {}).values()]
    except (OSError, ValueError, AttributeError, TypeError):
        return []
    keep = {Path(p).resolve() for p in outputs.values()}
    folder = out_dir.resolve()
    return [p for p in listed
            if p.resolve() not in keep and p.resolve().parent == folder
            and p.name.startswith(f"{name}.") and p.is_file()]


def licence_beside(path: Path) -> Path | None:
    """The licence file in a model's folder (license.txt, LICENSE, licence.md...), if any."""
    found = sorted(p for p in Path(path).parent.iterdir()
                   if p.is_file() and p.stem.lower() in ("license", "licence"))
    return found[0] if found else None


def _resume_hit(out_dir: Path, name: str, digest: str, settings: PrepSettings) -> dict | None:
    report_path = out_dir / f"{name}.report.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if report.get("input_sha256") != digest or report.get("settings_key") != settings.key():
        return None
    if not all(Path(p).is_file() for p in report.get("outputs", {}).values()):
        return None
    return report


def process_one(path: str, out_dir: str, name: str, settings: PrepSettings, resume: bool) -> FileResult:
    """One batch item; never raises: errors become a failed `FileResult`."""
    started = time.perf_counter()
    p, out = Path(path), Path(out_dir)
    try:
        digest = input_digest(p) if p.is_file() else ""
        if resume and digest:
            hit = _resume_hit(out, name, digest, settings)
            if hit is not None:
                return FileResult(path, name, "skipped", None, hit, time.perf_counter() - started)
        report = prepare_file(p, out, name, settings, digest)
        return FileResult(path, name, "ok", None, report, time.perf_counter() - started)
    except LgcraftError as exc:
        return FileResult(path, name, "failed", exc.message, None, time.perf_counter() - started)
    except MemoryError:
        return FileResult(path, name, "failed", "out of memory", None, time.perf_counter() - started)
    except Exception as exc:  # a bug or a library's odd failure must not stop the batch
        message = f"unexpected {type(exc).__name__}: {str(exc)[:200]}"
        return FileResult(path, name, "failed", message, None, time.perf_counter() - started)


def _worker_init(threads: int) -> None:
    # headless OpenGL for previews, before anything imports OpenGL in this process
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    from lgcraft.eyewear import _threads

    _threads.FILE_THREADS = threads  # this worker's share of --jobs


def _preload(paths: list[Path], settings: PrepSettings) -> None:
    """Import what every file needs once, in the parent, so forked workers start warm
    instead of each paying the import."""
    import meshoptimizer  # noqa: F401

    from lgcraft.eyewear import _threads, decimate, frame, gltf, kdtree, pose, repair  # noqa: F401

    _threads.join_warm_imports()

    general = {".obj", ".stl", ".ply", ".off"}
    if settings.usdz or settings.preview or any(p.suffix.lower() in general for p in paths):
        import trimesh  # noqa: F401


def run_batch(paths: list[Path], out_dir: Path, settings: PrepSettings, *, jobs: int = 1,
              resume: bool = False, on_done: Callable[[FileResult], None] | None = None,
              ) -> BatchResult:
    """Prepare every file; one failure never stops the rest. Writes batch.json/csv.

    ``jobs`` is the number of cores to use: with fewer files than that, each file's
    own steps share the rest as threads; with more, one process per core, the largest
    files first (so no big file starts last and runs alone).
    """
    from lgcraft.eyewear import _threads
    from lgcraft.files import TEMP_SUFFIX, write_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(f".*{TEMP_SUFFIX}"):  # temporaries of a killed earlier run
        stale.unlink(missing_ok=True)
    names = output_names(paths)
    results: list[FileResult | None] = [None] * len(paths)
    workers = max(1, min(jobs, len(paths)))
    threads = max(1, jobs // workers)
    if workers == 1:
        saved = _threads.FILE_THREADS
        _threads.FILE_THREADS = threads
        try:
            for i, (p, n) in enumerate(zip(paths, names, strict=True)):
                results[i] = process_one(str(p), str(out_dir), n, settings, resume)
                if on_done:
                    on_done(results[i])
        finally:
            _threads.FILE_THREADS = saved
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from lgcraft.eyewear.kdtree import fork_safe

        fork = "fork" in multiprocessing.get_all_start_methods() and fork_safe()
        if fork:
            _preload(paths, settings)
        context = multiprocessing.get_context("fork" if fork else "spawn")

        def size(i: int) -> int:
            try:
                return paths[i].stat().st_size
            except OSError:
                return 0

        order = sorted(range(len(paths)), key=lambda i: -size(i))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=_worker_init, initargs=(threads,)) as pool:
            futures = {pool.submit(process_one, str(paths[i]), str(out_dir), names[i], settings,
                                   resume): i for i in order}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    results[i] = future.result()
                except Exception as exc:  # a worker died (killed, out of memory)
                    results[i] = FileResult(str(paths[i]), names[i], "failed",
                                            f"worker died: {type(exc).__name__}: {exc}")
                if on_done:
                    on_done(results[i])
    batch = BatchResult(str(out_dir), [r for r in results if r is not None], asdict(settings))
    write_atomic(out_dir / "batch.json", (json.dumps(batch_summary(batch), indent=2, ensure_ascii=False) + "\n").encode())
    write_atomic(out_dir / "batch.csv", batch_csv(batch).encode())
    return batch


SUMMARY_FIELDS = ("name", "status", "kind", "unit", "triangles_in", "triangles_out",
                  "hausdorff_mm", "marking", "lens_width_mm", "lens_height_mm", "bridge_mm",
                  "total_width_mm", "temple_length_mm", "inner_diameter_mm", "ring_size_iso",
                  "ring_size_us", "seconds", "error", "input")


def summary_row(result: FileResult) -> dict:
    r = result.report or {}
    boxing = r.get("boxing") or {}
    ring = r.get("ring") or {}
    return {
        "name": result.name, "status": result.status, "kind": r.get("kind"), "unit": r.get("unit"),
        "triangles_in": r.get("triangles_in"), "triangles_out": r.get("triangles_out"),
        "hausdorff_mm": r.get("hausdorff_mm"), "marking": r.get("marking"),
        "lens_width_mm": boxing.get("lens_width_mm"), "lens_height_mm": boxing.get("lens_height_mm"),
        "bridge_mm": boxing.get("bridge_mm"), "total_width_mm": boxing.get("total_width_mm"),
        "temple_length_mm": boxing.get("temple_length_mm"),
        "inner_diameter_mm": ring.get("inner_diameter_mm"), "ring_size_iso": ring.get("size_iso"),
        "ring_size_us": ring.get("size_us"), "seconds": round(result.seconds, 2),
        "error": result.error, "input": result.input,
    }


def batch_summary(batch: BatchResult) -> dict:
    return {
        "out_dir": batch.out_dir, "settings": batch.settings,
        "total": len(batch.files), "ok": batch.ok, "failed": batch.failed, "skipped": batch.skipped,
        "files": [summary_row(f) for f in batch.files],
        "reports": {f.name: (f.report or {}).get("outputs", {}).get("report") for f in batch.files},
    }


def batch_csv(batch: BatchResult) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS)
    writer.writeheader()
    for f in batch.files:
        writer.writerow({k: ("" if v is None else v) for k, v in summary_row(f).items()})
    return buf.getvalue()


# -- inspect ---------------------------------------------------------------------------
def inspect_file(path: Path, settings: PrepSettings) -> dict:
    """Parts, triangles, bounds, guessed unit, topology problems and measurements."""
    from lgcraft.eyewear.mesh import load_model

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
        info.update(kind=analysis.kind, unit=analysis.unit, mm_per_unit=analysis.mm_per_unit,
                    **analysis.measurements, warnings=analysis.warnings,
                    roles={p.name: p.triangles for p in analysis.parts})
    except LgcraftError as exc:
        info.update(unit=None, warnings=[exc.message])
    return _round(info, 4)
