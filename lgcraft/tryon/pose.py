"""Head pose and camera: the landmarks fitted to the canonical face, a pinhole camera.

Frames of reference:

- image frame: x right, y down (pixels), z away from the camera (MediaPipe's depth);
- head frame: X to the subject's left, Y up, Z out of the face, millimetres, origin
  between the pupils (the canonical face in ``face_model.json`` lives here; so do the
  prepared GLBs once placed: +X is the wearer's left, +Y up, +Z front);
- camera frame (OpenGL, what the renderer uses): x right, y up, z toward the viewer.

`fit_pose` finds the rotation, scale and shift that carry the canonical face's upper
half (eyes, brows, nose, cheekbones: the part expressions move least) onto the
photo's landmarks (least squares, Umeyama). `Camera` is a pinhole with its focal
length from EXIF when the photo has it, else a 50 mm-equivalent lens; the face's
distance then follows from its true scale.

>>> pose = fit_pose(points)                      # doctest: +SKIP
>>> round(pose.yaw_deg), round(pose.pitch_deg)   # doctest: +SKIP
(8, -3)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

# image frame -> OpenGL camera frame (and back: it is its own inverse)
IMAGE_TO_GL = np.diag([1.0, -1.0, -1.0])
DEFAULT_FOCAL_35MM = 50.0   # the lens assumed when the photo does not say
FULL_FRAME_DIAGONAL_MM = 43.27
FIT_MAX_DROP_MM = 60.0       # canonical landmarks more than this below the pupils are left out


@dataclass(frozen=True)
class CanonicalFace:
    points_mm: np.ndarray   # (478, 3) head frame
    pairs: np.ndarray       # (478,) each landmark's mirror twin
    triangles: np.ndarray   # (n, 3) the face surface


@lru_cache(maxsize=1)
def canonical_face() -> CanonicalFace:
    """The canonical face (see scripts/make_face_model.py for how it was made)."""
    data = json.loads((Path(__file__).with_name("face_model.json")).read_text())
    return CanonicalFace(points_mm=np.asarray(data["points_mm"], dtype=np.float64),
                         pairs=np.asarray(data["pairs"], dtype=np.int64),
                         triangles=np.asarray(data["triangles"], dtype=np.int64))


@dataclass
class HeadPose:
    rotation: np.ndarray     # (3, 3) head frame -> image frame
    scale_px_per_mm: float   # of the canonical face onto this face (shape, not true scale)
    origin_px: np.ndarray    # the head-frame origin in the image frame (pixels)
    residual_mm: float       # RMS distance of the fitted landmarks, canonical mm

    @property
    def camera_rotation(self) -> np.ndarray:
        """Head frame -> OpenGL camera frame."""
        return IMAGE_TO_GL @ self.rotation

    def angles_deg(self) -> tuple[float, float, float]:
        """(yaw, pitch, roll) in degrees, from camera_rotation = Ry(yaw) Rx(-pitch) Rz(roll).

        yaw > 0: the face turned toward the image's right (the subject's left);
        pitch > 0: the face tilted up; roll > 0: the head leaning counter-clockwise
        as the photo shows it.
        """
        r = self.camera_rotation
        pitch = -np.degrees(np.arcsin(np.clip(-r[1, 2], -1.0, 1.0)))
        yaw = np.degrees(np.arctan2(r[0, 2], r[2, 2]))
        roll = np.degrees(np.arctan2(r[1, 0], r[1, 1]))
        return float(yaw), float(pitch), float(roll)

    @property
    def yaw_deg(self) -> float:
        return self.angles_deg()[0]

    @property
    def pitch_deg(self) -> float:
        return self.angles_deg()[1]

    @property
    def roll_deg(self) -> float:
        return self.angles_deg()[2]

    def to_head(self, points_px: np.ndarray) -> np.ndarray:
        """Image-frame points -> head frame, in canonical-face millimetres."""
        return (points_px - self.origin_px) @ self.rotation / self.scale_px_per_mm


def _umeyama(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """rotation, scale, shift with target ~ scale * source @ rotation.T + shift."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    a, b = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(b.T @ a)
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ fix @ vt
    scale = float((sigma * np.diag(fix)).sum() / (a ** 2).sum())
    return rotation, scale, mu_t - scale * mu_s @ rotation.T


def fit_pose(points_px: np.ndarray) -> HeadPose:
    """Fit the canonical face to 478 image-frame landmarks (see the module docstring)."""
    face = canonical_face()
    keep = face.points_mm[:, 1] > -FIT_MAX_DROP_MM
    keep[468:] = False  # irises follow the gaze, not the head
    source, target = face.points_mm[keep], points_px[keep]
    weights = np.ones(len(source))
    for _ in range(3):  # re-weighted: a landmark far off the fit counts less
        root = np.sqrt(weights)[:, None]
        mean_s = (source * weights[:, None]).sum(0) / weights.sum()
        mean_t = (target * weights[:, None]).sum(0) / weights.sum()
        rotation, scale, _ = _umeyama((source - mean_s) * root, (target - mean_t) * root)
        shift = mean_t - scale * mean_s @ rotation.T
        residual = np.linalg.norm(scale * source @ rotation.T + shift - target, axis=1) / scale
        weights = 1.0 / np.maximum(residual, 2.0)
    rms = float(np.sqrt(np.mean(residual ** 2)))
    return HeadPose(rotation=rotation, scale_px_per_mm=scale, origin_px=shift, residual_mm=rms)


@dataclass
class Camera:
    """A pinhole camera: principal point at the image centre, square pixels."""

    width: int
    height: int
    focal_px: float
    focal_source: str  # "exif" or "assumed"

    @classmethod
    def for_photo(cls, width: int, height: int, focal_35mm: float | None) -> Camera:
        diagonal = float(np.hypot(width, height))
        focal = focal_35mm or DEFAULT_FOCAL_35MM
        return cls(width=width, height=height, focal_px=focal / FULL_FRAME_DIAGONAL_MM * diagonal,
                   focal_source="exif" if focal_35mm else "assumed")

    @property
    def focal_35mm(self) -> float:
        return self.focal_px / float(np.hypot(self.width, self.height)) * FULL_FRAME_DIAGONAL_MM

    @property
    def centre(self) -> np.ndarray:
        return np.array([self.width / 2.0, self.height / 2.0])

    def unproject(self, pixels: np.ndarray, depth_mm: np.ndarray) -> np.ndarray:
        """Image pixels at distances ``depth_mm`` -> OpenGL camera frame (mm)."""
        xy = (pixels - self.centre) * (depth_mm / self.focal_px)[:, None]
        return np.column_stack([xy[:, 0], -xy[:, 1], -depth_mm])

    def project(self, points_gl: np.ndarray) -> np.ndarray:
        """OpenGL camera frame (mm) -> image pixels."""
        depth = -points_gl[:, 2]
        return np.column_stack([points_gl[:, 0], -points_gl[:, 1]]) * (self.focal_px / depth)[:, None] \
            + self.centre
