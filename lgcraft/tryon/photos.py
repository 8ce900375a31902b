"""Try-on and measurement over photos: the library behind ``lgcraft eyewear tryon``,
``lgcraft eyewear measure`` and ``lgcraft jewelry tryon``.

Each photo is read (EXIF orientation applied), its face found and measured once, then
every model is placed and composited with one renderer. A photo without a face is a
per-photo error and the batch goes on; a file that is not an image (or is truncated)
stops the run before anything is written. Composites go to the output folder only,
named ``<photo>.<model>.png``, at the photo's size, each written whole.

>>> batch = tryon_frames([Path("me.jpg")], [Path("out/eyewear/glasses-01.glb")], Path("shots"))  # doctest: +SKIP
>>> batch.results[0].figures["pd_mm"]                                                       # doctest: +SKIP
59.5
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lgcraft.errors import InputError, LgcraftError
from lgcraft.files import write_atomic

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


@dataclass
class PhotoResult:
    photo: str
    status: str                     # ok | failed
    error: str | None = None
    face: dict | None = None        # FaceAnalysis.summary()
    composites: list[dict] = field(default_factory=list)
    fit: dict | None = None
    ranking: list[dict] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class PhotoBatch:
    results: list[PhotoResult]

    @property
    def failed(self) -> int:
        return sum(r.status != "ok" for r in self.results)

    @property
    def composites(self) -> list[dict]:
        return [c for r in self.results for c in r.composites]

    def to_json(self) -> dict:
        """The `--json` result of a try-on command (keys are a public contract)."""
        return {"composites": self.composites,
                "photos": [{"photo": r.photo, "status": r.status, "error": r.error,
                            "warnings": r.warnings, "face": r.face} for r in self.results],
                "failed": self.failed}


def expand_photos(patterns: Sequence[str | Path]) -> list[Path]:
    """Photo files from paths, folders (their photos, sorted) and globs, each once."""
    import glob

    found: list[Path] = []
    for pattern in map(str, patterns):
        path = Path(pattern)
        if path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
            if not matches:
                raise InputError(f"no photos in folder {pattern}",
                                 hint="formats: " + ", ".join(PHOTO_SUFFIXES))
            found += matches
        elif any(ch in pattern for ch in "*?[") and not path.exists():
            matches = sorted(Path(p) for p in glob.glob(pattern) if Path(p).suffix.lower() in PHOTO_SUFFIXES)
            if not matches:
                raise InputError(f"no photos match {pattern!r}")
            found += matches
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"photo not found: {pattern}")
    unique, seen = [], set()
    for path in found:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


def check_card(card, photos: Sequence[Path]) -> None:
    """A card marks one photo's pixels: it goes with exactly one photo."""
    if card is not None and len(photos) != 1:
        raise InputError(f"--card marks one photo's pixels, but {len(photos)} photos were given",
                         hint="run one photo at a time with --card")


def check_photos(paths: Sequence[Path]) -> None:
    """Every path is a whole image: decoded (JPEG at 1/8 size, which still reads every
    byte), so a truncated or foreign file stops the run before anything is written."""
    from PIL import Image, UnidentifiedImageError

    for path in paths:
        try:
            with Image.open(path) as image:
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
                Image.DecompressionBombError) as exc:
            what = "not an image" if isinstance(exc, UnidentifiedImageError) else "truncated or damaged"
            raise InputError(f"{path}: {what} ({exc})",
                             hint="give complete JPEG, PNG or WebP photos") from exc


def check_out_dir(out_dir: Path, photos: Sequence[Path]) -> None:
    """The output folder is a folder and not one a photo sits in (nothing beside the input)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"-o {out_dir} exists and is not a folder")
    target = out_dir.resolve()
    for photo in photos:
        if photo.resolve().parent == target:
            raise InputError(f"-o {out_dir} is the folder of the photo {photo}; "
                             "composites are never written beside the input",
                             hint="choose another output folder, e.g. -o tryon-out")


def _png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _output_names(photos: Sequence[Path]) -> list[str]:
    names, used = [], set()
    for photo in photos:
        name = photo.stem
        k = 2
        while name in used:
            name = f"{photo.stem}-{k}"
            k += 1
        used.add(name)
        names.append(name)
    return names


def _round_matrix(matrix: np.ndarray, digits: int = 6) -> list[list[float]]:
    return [[round(float(v), digits) for v in row] for row in matrix]


class Session:
    """The landmark model and the renderer, opened once for a batch."""

    def __init__(self, render: bool = True, models: Sequence = ()) -> None:
        """``models``: prepared models to get ready for drawing while the first face is
        measured (see `lgcraft.tryon.render.Compositor`)."""
        from lgcraft.tryon.landmarks import FaceMeshModel

        self.model = FaceMeshModel()
        self.compositor = None
        if render:
            from lgcraft.tryon.render import Compositor

            parts = {(str(m.path), i): part for m in models for i, part in enumerate(m.parts)}
            self.compositor = Compositor(background=True, parts=parts)
        self._meshes: dict[tuple[str, int], object] = {}

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.model.close()
        if self.compositor is not None:
            self.compositor.close()

    def analyse(self, path: Path, face: int | None, card=None):
        from lgcraft.tryon.face import analyse_face
        from lgcraft.tryon.landmarks import load_photo

        return analyse_face(load_photo(path), self.model, face, card)

    def mesh(self, model, index: int):
        key = (str(model.path), index)
        if key not in self._meshes:
            self.compositor.ready()  # the warm-up may have made it already
            mesh = self.compositor.prebuilt.get(key)
            self._meshes[key] = mesh if mesh is not None else self.compositor.mesh_of(model.parts[index])
        return self._meshes[key]

    def layers(self, model, placement, head_to_camera: np.ndarray):
        from lgcraft.tryon.render import Layer

        rng = np.random.default_rng(0)
        layers = []
        for index, part in enumerate(model.parts):
            pose = head_to_camera @ placement.part_matrix(index)
            take = part.vertices if len(part.vertices) <= 400 else \
                part.vertices[rng.choice(len(part.vertices), 400, replace=False)]
            # the sample bounds the render window: add the part's bounding box corners
            lo, hi = part.vertices.min(axis=0), part.vertices.max(axis=0)
            corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                                for z in (lo[2], hi[2])])
            layers.append(Layer(mesh=self.mesh(model, index), pose=pose,
                                sample=np.concatenate([take, corners])))
        return layers


def _project(head_to_camera: np.ndarray, face, head_points: dict[str, np.ndarray]) -> dict[str, list[float]]:
    names = list(head_points)
    if not names:
        return {}
    points = np.array([head_points[n] for n in names])
    pixels = face.camera.project(points @ head_to_camera[:3, :3].T + head_to_camera[:3, 3])
    return {n: [round(float(p[0]), 1), round(float(p[1]), 1)] for n, p in zip(names, pixels, strict=True)}


def _landmark_pixels(face) -> dict[str, list[float]]:
    from lgcraft.tryon.landmarks import LEFT_IRIS, NOSE_BRIDGE, RIGHT_IRIS

    points = face.points_px
    return {name: [round(float(points[i, 0]), 1), round(float(points[i, 1]), 1)]
            for name, i in (("pupil_right", RIGHT_IRIS[0]), ("pupil_left", LEFT_IRIS[0]),
                            ("nose_bridge", NOSE_BRIDGE))}


def _frame_on_face(session: Session, analysis, summary: dict, ranges, occluder, model,
                   target: Path) -> dict:
    """One frame composited on one measured face, written to ``target``: its figures."""
    from lgcraft.tryon.fit import CatalogFrame, judge_frame
    from lgcraft.tryon.models import frame_boxing
    from lgcraft.tryon.placement import place_frame

    boxing = frame_boxing(model)
    placement = place_frame(analysis, model, boxing)
    head_to_camera = analysis.head_to_camera_at(placement.points_mm["bridge"])
    layers = session.layers(model, placement, head_to_camera)
    rgb, coverage = session.compositor.composite(analysis.photo.rgb, analysis.camera, layers,
                                                 occluder)
    write_atomic(target, _png(rgb))
    frame_pd = None
    if boxing.get("lens_width_mm") and boxing.get("bridge_mm"):
        frame_pd = round(float(boxing["lens_width_mm"] + boxing["bridge_mm"]), 1)
    verdict = judge_frame(ranges, CatalogFrame(
        name=model.name, glb=model.path, marking=boxing.get("marking"),
        lens_width_mm=boxing.get("lens_width_mm"), bridge_mm=boxing.get("bridge_mm"),
        total_width_mm=boxing.get("total_width_mm"),
        temple_length_mm=boxing.get("temple_length_mm")))
    return {
        "photo": str(analysis.photo.path), "frame": str(model.path), "output": str(target),
        "size": list(analysis.photo.size),
        "face": summary["face"], "faces_found": summary["faces_found"],
        "pd_mm": summary["pd_mm"], "mono_pd_mm": summary["mono_pd_mm"],
        "head_pose_deg": summary["head_pose_deg"],
        "confidence": summary["confidence"], "low_confidence": summary["low_confidence"],
        "frame_pd_mm": frame_pd, "marking": boxing.get("marking"),
        "fit": {"fits": verdict.fits, "reasons": verdict.reasons},
        "placement": {
            # the GLB's coordinates (metres) -> OpenGL camera frame (metres)
            "transform": _round_matrix(_metres(head_to_camera @ placement.transform)),
            "head_transform_mm": _round_matrix(placement.transform, 4),
            **placement.details,
            "pixels": {**_project(head_to_camera, analysis, placement.points_mm),
                       **_landmark_pixels(analysis)},
        },
        "drawn_pixels": int((coverage > 0.5).sum()),
    }


def tryon_frames(photos: Sequence[Path], frames: Sequence[Path], out_dir: Path, *,
                 face: int | None = None, card=None,
                 on_photo: Callable[[PhotoResult], None] | None = None,
                 session: Session | None = None, stems: Sequence[str] | None = None,
                 ) -> PhotoBatch:
    """Every frame on every photo: one composite PNG each in ``out_dir``, with figures.

    ``card``: an ID-1 card's marked long edge (one photo; `lgcraft.tryon.scale.apply_card`).
    ``session`` (kept open by the caller) and ``stems`` (the composites' names) let a
    batch be drawn a photo at a time on several workers (`lgcraft.tryon.scaleout`)."""
    from lgcraft.tryon.fit import fit_ranges
    from lgcraft.tryon.models import read_prepared
    from lgcraft.tryon.occluder import head_occluder

    models = [read_prepared(path, "frame") for path in frames]  # bad frames stop the run first
    check_card(card, photos)
    check_photos(photos)
    check_out_dir(out_dir, photos)
    results: list[PhotoResult] = []
    with nullcontext(session) if session else Session(models=models) as session:
        for photo, stem, analysis in _faces(session, photos, stems or _output_names(photos),
                                            face, card, results, on_photo):
            summary = analysis.summary()
            ranges = fit_ranges(analysis)
            result = PhotoResult(photo=str(photo), status="ok", face=summary,
                                 warnings=list(analysis.warnings))
            occluder = head_occluder(analysis)
            for model in models:
                target = out_dir / f"{stem}.{model.name}.png"
                result.composites.append(_frame_on_face(session, analysis, summary, ranges,
                                                        occluder, model, target))
            _done(result, results, on_photo)
    return PhotoBatch(results)


def _is_no_face(exc: LgcraftError) -> bool:
    from lgcraft.tryon.face import NoFaceError

    return isinstance(exc, NoFaceError)


def _done(result: PhotoResult, results: list[PhotoResult],
          on_photo: Callable[[PhotoResult], None] | None) -> None:
    results.append(result)
    if on_photo:
        on_photo(result)


def _faces(session: Session, photos: Sequence[Path], stems: Sequence[str], face: int | None,
           card, results: list[PhotoResult], on_photo: Callable[[PhotoResult], None] | None):
    """(photo, output stem, analysis) for each photo with a face; a photo without one is
    recorded as failed and the batch goes on (any other error stops it)."""
    for photo, stem in zip(photos, stems, strict=True):
        try:
            analysis = session.analyse(photo, face, card)
        except LgcraftError as exc:
            if not _is_no_face(exc):
                raise
            _done(PhotoResult(photo=str(photo), status="failed", error=exc.message), results,
                  on_photo)
            continue
        yield photo, stem, analysis


def tryon_earrings(photos: Sequence[Path], earring: Path, out_dir: Path, *,
                   face: int | None = None, card=None,
                   on_photo: Callable[[PhotoResult], None] | None = None) -> PhotoBatch:
    """A pair of ``earring`` at the ear lobes of each photo's face."""
    from lgcraft.tryon.models import read_prepared
    from lgcraft.tryon.occluder import head_occluder
    from lgcraft.tryon.placement import place_earrings

    model = read_prepared(earring, "earring")
    check_card(card, photos)
    check_photos(photos)
    check_out_dir(out_dir, photos)
    results: list[PhotoResult] = []
    with Session() as session:
        for photo, stem, analysis in _faces(session, photos, _output_names(photos), face, card,
                                            results, on_photo):
            summary = analysis.summary()
            result = PhotoResult(photo=str(photo), status="ok", face=summary,
                                 warnings=list(analysis.warnings))
            placements = place_earrings(analysis, model)
            to_camera = {side: analysis.head_to_camera_at(p.points_mm["piercing"])
                         for side, p in placements.items()}
            occluder = head_occluder(analysis)
            layers, shown = [], {}
            for side, placement in placements.items():
                own = session.layers(model, placement, to_camera[side])
                layers += own
                # which earring shows: its own pixels, drawn alone behind the same occluder
                _, cover = session.compositor.composite(analysis.photo.rgb, analysis.camera,
                                                        own, occluder)
                shown[side] = int((cover > 0.5).sum())
            rgb, coverage = session.compositor.composite(analysis.photo.rgb, analysis.camera,
                                                         layers, occluder)
            target = out_dir / f"{stem}.{model.name}.png"
            write_atomic(target, _png(rgb))
            result.composites.append({
                "photo": str(photo), "earring": str(model.path), "output": str(target),
                "size": list(analysis.photo.size), "face": summary["face"],
                "faces_found": summary["faces_found"], "pd_mm": summary["pd_mm"],
                "head_pose_deg": summary["head_pose_deg"], "confidence": summary["confidence"],
                "low_confidence": summary["low_confidence"],
                "earrings": {side: {"visible_pixels": shown[side],
                                    "hidden": shown[side] == 0,
                                    "transform": _round_matrix(_metres(to_camera[side] @ p.transform))}
                             for side, p in placements.items()},
                "pixels": {f"lobe_{side}": _project(to_camera[side], analysis, {
                    "lobe": p.points_mm["piercing"]})["lobe"] for side, p in placements.items()},
                "drawn_pixels": int((coverage > 0.5).sum()),
            })
            _done(result, results, on_photo)
    return PhotoBatch(results)


def _metres(matrix: np.ndarray) -> np.ndarray:
    out = matrix.copy()
    out[:3, 3] /= 1000.0
    return out


def measure_photos(photos: Sequence[Path], catalog: Path | None = None, *,
                   face: int | None = None, card=None,
                   on_photo: Callable[[PhotoResult], None] | None = None) -> PhotoBatch:
    """PD, face width and the frame sizes that fit; with ``catalog``, its frames ranked."""
    from lgcraft.tryon.fit import fit_ranges, rank_catalog, read_catalog

    frames = read_catalog(catalog) if catalog is not None else None
    check_card(card, photos)
    check_photos(photos)
    results: list[PhotoResult] = []
    with Session(render=False) as session:
        for photo, _, analysis in _faces(session, photos, [""] * len(photos), face, card,
                                         results, on_photo):
            ranges = fit_ranges(analysis)
            result = PhotoResult(photo=str(photo), status="ok", face=analysis.summary(),
                                 fit=ranges.as_dict(), warnings=list(analysis.warnings))
            if frames is not None:
                result.ranking = [vars(f) for f in rank_catalog(ranges, frames)]
            _done(result, results, on_photo)
    return PhotoBatch(results)
