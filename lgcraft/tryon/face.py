"""One face in one photo, measured: landmarks, true scale, head pose, camera, PD.

`analyse_face` is what every try-on and measure command starts from; a catalogue of
frames on one photo reuses its result.

>>> with FaceMeshModel() as model:                         # doctest: +SKIP
...     face = analyse_face(load_photo("me.jpg"), model)
>>> round(face.pd_mm, 1), face.mono_pd_mm                  # doctest: +SKIP
(61.2, (30.4, 30.8))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lgcraft.errors import InputError
from lgcraft.tryon.landmarks import (
    LEFT_FACE_EDGE,
    LEFT_IRIS,
    NOSE_BRIDGE,
    RIGHT_FACE_EDGE,
    RIGHT_IRIS,
    Face,
    FaceMeshModel,
    Photo,
)
from lgcraft.tryon.pose import Camera, HeadPose, canonical_face, fit_pose
from lgcraft.tryon.scale import ScaleEstimate, apply_card, estimate_scale


class NoFaceError(InputError):
    """No face (or not the asked-for one) in a photo: a per-photo error; exit 1 at the end."""

    exit_code = 1


@dataclass
class FaceAnalysis:
    photo: Photo
    face_index: int          # 0-based rank by size (0 = largest)
    faces_found: int
    points_px: np.ndarray    # (478, 3) image frame, averaged over the scale views
    scale: ScaleEstimate
    pose: HeadPose
    camera: Camera
    head_mm: np.ndarray      # (478, 3) this face's landmarks in the head frame, true mm
    distance_mm: float       # camera to the point between the pupils
    warnings: list[str] = field(default_factory=list)

    @property
    def pd_mm(self) -> float:
        return self.scale.pd_mm

    @property
    def mono_pd_mm(self) -> tuple[float, float]:
        """(right, left) eye's distance from the nose's midline, mm (sums to the PD)."""
        bridge = self.head_mm[NOSE_BRIDGE, 0]
        right = bridge - self.head_mm[RIGHT_IRIS[0], 0]
        left = self.head_mm[LEFT_IRIS[0], 0] - bridge
        total = right + left
        return (self.pd_mm * right / total, self.pd_mm * left / total)

    @property
    def face_width_mm(self) -> float:
        """Across the face outline at cheekbone height, in front of the ears (234-454)."""
        return float(abs(self.head_mm[LEFT_FACE_EDGE, 0] - self.head_mm[RIGHT_FACE_EDGE, 0]))

    def to_camera(self, head_points_mm: np.ndarray) -> np.ndarray:
        """Head frame (true mm) -> OpenGL camera frame (mm)."""
        return head_points_mm @ self.head_to_camera[:3, :3].T + self.head_to_camera[:3, 3]

    @property
    def head_to_camera(self) -> np.ndarray:
        """4x4: head frame (true mm) -> OpenGL camera frame (mm)."""
        pupils_px = (self.points_px[RIGHT_IRIS[0], :2] + self.points_px[LEFT_IRIS[0], :2]) / 2
        origin = self.camera.unproject(pupils_px[None], np.array([self.distance_mm]))[0]
        matrix = np.eye(4)
        matrix[:3, :3] = self.pose.camera_rotation
        matrix[:3, 3] = origin
        return matrix

    def head_to_camera_at(self, head_point_mm: np.ndarray) -> np.ndarray:
        """4x4 head frame -> camera frame, exact at ``head_point_mm``: that point lands
        where the landmarks put it (its weak-perspective pixel, at its own depth), so a
        model anchored there is drawn on its landmark even off the photo's centre, where a
        rigid move from the pupils would shift it by the perspective of its depth."""
        pupils = self.points_px[[RIGHT_IRIS[0], LEFT_IRIS[0]]].mean(axis=0)
        offset_px = self.pose.rotation @ np.asarray(head_point_mm, dtype=np.float64) / self.scale.mm_per_px
        pixel = pupils[:2] + offset_px[:2]
        depth = self.distance_mm + offset_px[2] * self.scale.mm_per_px
        matrix = self.head_to_camera.copy()
        matrix[:3, 3] += self.camera.unproject(pixel[None], np.array([depth]))[0] \
            - self.to_camera(np.asarray(head_point_mm, dtype=np.float64)[None])[0]
        return matrix

    def landmarks_camera(self) -> np.ndarray:
        """The face's landmarks in the camera frame (mm), on their photo pixels exactly."""
        mm_per_px = self.scale.mm_per_px
        depth = self.distance_mm + (self.points_px[:, 2] - self.points_px[[RIGHT_IRIS[0], LEFT_IRIS[0]], 2]
                                    .mean()) * mm_per_px
        return self.camera.unproject(self.points_px[:, :2], depth)

    def summary(self) -> dict:
        yaw, pitch, roll = self.pose.angles_deg()
        right, left = self.mono_pd_mm
        return {
            "photo": str(self.photo.path), "size": list(self.photo.size),
            "faces_found": self.faces_found, "face": self.face_index + 1,
            "pd_mm": round(self.pd_mm, 1),
            "mono_pd_mm": {"right": round(float(right), 1), "left": round(float(left), 1)},
            "pd_uncertainty_mm": round(self.scale.uncertainty_mm, 1),
            "face_width_mm": round(self.face_width_mm, 1),
            "iris_px": round(self.scale.iris_px, 2),
            "scale_from": self.scale.method,
            "iris_mm": round(self.scale.iris_mm, 2),
            "head_pose_deg": {"yaw": round(yaw, 1), "pitch": round(pitch, 1), "roll": round(roll, 1)},
            "camera": {"focal_px": round(self.camera.focal_px, 1),
                       "focal_35mm": round(self.camera.focal_35mm, 1),
                       "focal_source": self.camera.focal_source,
                       "distance_mm": round(self.distance_mm)},
            "exif_orientation": self.photo.exif_orientation,
            "confidence": round(self.scale.confidence, 2),
            "low_confidence": self.scale.low_confidence,
            "warnings": list(self.warnings),
        }


def pick_face(faces: list[Face], photo: Photo, face: int | None) -> Face:
    """The largest face, or face number ``face`` (1 = largest)."""
    if not faces:
        raise NoFaceError(f"{photo.path}: no face found",
                          hint="use a photo with the face upright, lit, and wider than ~60 px")
    if face is None:
        return faces[0]
    if not 1 <= face <= len(faces):
        raise NoFaceError(f"{photo.path}: --face {face} asked, but {len(faces)} face(s) found",
                          hint=f"use --face 1 to {len(faces)} (1 = the largest)")
    return faces[face - 1]


def analyse_face(photo: Photo, model: FaceMeshModel, face: int | None = None,
                 card: tuple[float, float, float, float] | None = None) -> FaceAnalysis:
    """Find, measure and pose the largest face of ``photo`` (or face number ``face``);
    ``card``: the ends of an ID-1 card's long edge in the photo, to scale by instead of
    the iris (`lgcraft.tryon.scale.apply_card`)."""
    faces = model.faces(photo.rgb, search=True)
    chosen = pick_face(faces, photo, face)
    pairs = canonical_face().pairs

    def detect(view: np.ndarray) -> list[np.ndarray]:
        return [f.points for f in model.faces(view)]

    scale = estimate_scale(photo.rgb, chosen.points, detect, pairs)
    if card is not None:
        scale = apply_card(scale, card, photo.size)
    points = scale.points
    pose = fit_pose(points)
    camera = Camera.for_photo(*photo.size, photo.focal_35mm)
    head_px = (points - points[[RIGHT_IRIS[0], LEFT_IRIS[0]]].mean(axis=0)) @ pose.rotation
    across_px = abs(head_px[LEFT_IRIS[0], 0] - head_px[RIGHT_IRIS[0], 0])
    # the PD (from the iris rule) sets the scale of the face in 3D; across the pupils
    # in the head frame is not shortened by a turned head, unlike in the image
    mm_per_px_3d = scale.pd_mm / max(across_px, 1e-6)
    head_mm = head_px * mm_per_px_3d
    # how far away: the face's pixels per mm at the pupils and the focal length
    distance = camera.focal_px * mm_per_px_3d
    scale.mm_per_px = mm_per_px_3d
    warnings = []
    if len(faces) > 1:
        which = "the largest" if face is None else f"number {face} by size"
        warnings.append(f"{len(faces)} faces found; using {which} (--face N picks another)")
    if scale.low_confidence:
        warnings.append(f"low confidence: {scale.low_confidence}")
    yaw = pose.yaw_deg
    if abs(yaw) > 30:
        warnings.append(f"head turned {abs(yaw):.0f} degrees: PD and fit are less reliable")
    return FaceAnalysis(photo=photo, face_index=chosen.index, faces_found=len(faces),
                        points_px=points, scale=scale, pose=pose, camera=camera, head_mm=head_mm,
                        distance_mm=float(distance), warnings=warnings)
