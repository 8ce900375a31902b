"""Photos in, face landmarks out: MediaPipe's face mesh with iris (478 points), offline.

The model ships inside the ``mediapipe==0.10.14`` wheel (``lgcraft[tryon]``): the legacy
``solutions.face_mesh`` graph runs face detection, the attention face-landmark model and
the iris model from files in the wheel; nothing is downloaded. Only that graph is loaded:
``import mediapipe`` itself also imports matplotlib, the audio tasks and sounddevice
(about 1.2 s), so the package and its ``solutions`` folder are entered without running
their ``__init__`` (see `_face_mesh_module`).

Points are in the image frame: x right and y down in pixels, z away from the camera in
the same pixel scale as x (MediaPipe's weak-perspective depth, relative to the face).

>>> photo = load_photo("face.jpg")                     # doctest: +SKIP
>>> with FaceMeshModel() as model:                       # doctest: +SKIP
...     faces = model.faces(photo.rgb)
>>> faces[0].points.shape                                # doctest: +SKIP
(478, 3)
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lgcraft.errors import DependencyError, InputError, OperationError

# Landmark indices of the MediaPipe face mesh topology (subject's right is image left).
# each iris: its centre, then four boundary points (1 and 3 across, 2 and 4 up and down)
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)
NOSE_BRIDGE = 168   # between the eyes on the nose midline, at about pupil height
NOSE_TIP = 1
SUBNASALE = 2
CHIN = 152
FOREHEAD = 10
RIGHT_FACE_EDGE = 234  # the face outline at cheekbone height, just in front of the ear
LEFT_FACE_EDGE = 454
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362
MOUTH_RIGHT, MOUTH_LEFT = 61, 291
# the face outline, from the top of the forehead clockwise (subject's left first)
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
             400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
             54, 103, 67, 109)
MAX_PHOTO_PIXELS = 80_000_000  # a larger "photo" is a decompression bomb, not a portrait
SEARCH_ABOVE_PX = 700          # photos larger than this are searched in windows if need be


@dataclass
class Photo:
    """An RGB photo as the camera saw it (EXIF orientation applied)."""

    path: Path
    rgb: np.ndarray  # (h, w, 3) uint8
    exif_orientation: int = 1
    focal_35mm: float | None = None  # EXIF FocalLengthIn35mmFilm, when the camera wrote it

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


@dataclass
class Face:
    """One face's landmarks in the image frame (see the module docstring)."""

    points: np.ndarray  # (478, 3) float64, pixels
    index: int = 0      # rank by size in its photo: 0 is the largest face
    extra: dict = field(default_factory=dict)

    @property
    def width_px(self) -> float:
        """The face's outline width: how big it is in the photo."""
        xy = self.points[list(FACE_OVAL), :2]
        return float(np.ptp(xy[:, 0]))

    @property
    def inter_pupil_px(self) -> float:
        return float(np.linalg.norm(self.points[LEFT_IRIS[0], :2] - self.points[RIGHT_IRIS[0], :2]))


def load_photo(path: str | Path) -> Photo:
    """Read a photo (any format Pillow reads), upright as its EXIF orientation says.

    Not an image, a truncated file or an absurd size is an `InputError` naming the file.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such photo", hint="give the path of a JPEG or PNG photo")
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PHOTO_PIXELS:
                raise InputError(f"{path}: {image.width}x{image.height} is too large for a photo",
                                 hint=f"at most {MAX_PHOTO_PIXELS // 1_000_000} megapixels")
            exif = image.getexif()
            orientation = int(exif.get(0x0112, 1) or 1)
            focal = exif.get_ifd(0x8769).get(0xA405) if exif else None  # FocalLengthIn35mmFilm
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = np.asarray(upright.convert("RGB"))
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        what = "truncated or damaged" if "truncated" in str(exc).lower() or isinstance(exc, OSError) \
            else "not an image"
        if isinstance(exc, UnidentifiedImageError):
            what = "not an image"
        raise InputError(f"{path}: {what} ({exc})",
                         hint="give a complete JPEG, PNG or WebP photo") from exc
    if rgb.shape[0] < 32 or rgb.shape[1] < 32:
        raise InputError(f"{path}: {rgb.shape[1]}x{rgb.shape[0]} pixels is too small for a face photo")
    focal_35mm = float(focal) if focal else None
    return Photo(path=path, rgb=np.ascontiguousarray(rgb), exif_orientation=orientation,
                 focal_35mm=focal_35mm if focal_35mm and 8 <= focal_35mm <= 800 else None)


def _stub_package(name: str) -> None:
    """Register package ``name`` (its real spec, path and file) without running its
    ``__init__``: its submodules then import on their own."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(name)
    sys.modules[name] = importlib.util.module_from_spec(spec)


def _face_mesh_module():
    """MediaPipe's ``solutions.face_mesh`` without the rest of mediapipe (see module doc)."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # the C++ side's info lines
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if "mediapipe" not in sys.modules:
            _stub_package("mediapipe")
            importlib.import_module("mediapipe.python")
            if "mediapipe.python.solutions" not in sys.modules:
                _stub_package("mediapipe.python.solutions")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module("mediapipe.python.solutions.face_mesh")
    except ImportError as exc:
        for name in [m for m in sys.modules if m == "mediapipe" or m.startswith("mediapipe.")]:
            del sys.modules[name]  # leave no half-imported package behind
        raise DependencyError(f"the face landmark model is not installed ({exc})",
                              hint="run: pip install 'lgcraft[tryon]' (mediapipe==0.10.14)") from exc


@contextmanager
def _quiet_stderr():
    """TFLite prints 'Created TensorFlow Lite XNNPACK delegate' straight to fd 2."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as sink:
        try:
            sys.stderr.flush()
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class FaceMeshModel:
    """The face mesh graph (478 landmarks with iris), reused for many images.

    ``max_faces`` bounds how many faces one image yields; faces come largest first.
    """

    def __init__(self, max_faces: int = 4, min_confidence: float = 0.5) -> None:
        self.max_faces = max_faces
        self.min_confidence = min_confidence
        self._graph = None

    def __enter__(self) -> FaceMeshModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None

    def _open(self):
        if self._graph is None:
            face_mesh = _face_mesh_module()
            with _quiet_stderr(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._graph = face_mesh.FaceMesh(
                    static_image_mode=True, refine_landmarks=True, max_num_faces=self.max_faces,
                    min_detection_confidence=self.min_confidence)
        return self._graph

    def faces(self, rgb: np.ndarray, search: bool = False) -> list[Face]:
        """Every face found in ``rgb`` (h, w, 3 uint8), the largest first.

        ``search``: when none is found in a large photo, look again in overlapping
        windows (the face detector is MediaPipe's short-range one: a face that fills
        a small part of a large photo is missed whole but found in a window)."""
        found = self._faces(rgb)
        if found or not search or max(rgb.shape[:2]) <= SEARCH_ABOVE_PX:
            return found
        return self._search(rgb)

    def _search(self, rgb: np.ndarray) -> list[Face]:
        h, w = rgb.shape[:2]
        found: list[Face] = []
        for side in (min(h, w) // 2, min(h, w) // 3):
            if side < 256:
                continue
            step = side // 2
            for y0 in sorted({*range(0, h - side + 1, step), h - side}):
                for x0 in sorted({*range(0, w - side + 1, step), w - side}):
                    for face in self._faces(np.ascontiguousarray(rgb[y0:y0 + side, x0:x0 + side])):
                        face.points[:, 0] += x0
                        face.points[:, 1] += y0
                        if not any(_same_face(face, other) for other in found):
                            found.append(face)
            if found:
                break
        found.sort(key=lambda f: -f.width_px)
        for rank, face in enumerate(found):
            face.index = rank
        return found

    def _faces(self, rgb: np.ndarray) -> list[Face]:
        graph = self._open()
        h, w = rgb.shape[:2]
        try:
            with _quiet_stderr(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = graph.process(np.ascontiguousarray(rgb, dtype=np.uint8))
        except Exception as exc:  # the graph's RuntimeError / ValueError
            raise OperationError(f"the face landmark model failed ({type(exc).__name__}: {exc})") from exc
        found = []
        for landmarks in result.multi_face_landmarks or []:
            points = np.array([(p.x * w, p.y * h, p.z * w) for p in landmarks.landmark], dtype=np.float64)
            if len(points) >= 478:
                found.append(Face(points=points[:478]))
        found.sort(key=lambda f: -f.width_px)
        for rank, face in enumerate(found):
            face.index = rank
        return found


def _same_face(a: Face, b: Face) -> bool:
    """Two detections of one face (overlapping windows): pupils within half their span."""
    pupils_a = a.points[[RIGHT_IRIS[0], LEFT_IRIS[0]], :2].mean(axis=0)
    pupils_b = b.points[[RIGHT_IRIS[0], LEFT_IRIS[0]], :2].mean(axis=0)
    return float(np.linalg.norm(pupils_a - pupils_b)) < 0.5 * max(a.inter_pupil_px, b.inter_pupil_px)
