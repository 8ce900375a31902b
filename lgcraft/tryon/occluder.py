"""The head as a depth-only occluder: what hides temples, far sides and far earrings.

Two pieces, both in the camera frame (mm):

- the face surface: the photo's own 468 landmarks (each on its pixel, at its depth)
  joined by MediaPipe's tessellation; it hides whatever passes behind the face;
- the skull: an ellipsoid in the head frame, as wide as the head less the temples'
  clearance, its front behind the eyes, reaching down to the jaw; it hides the far
  temple and the far earring when the head turns, where the face mesh ends.

>>> vertices, faces = head_occluder(face)          # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from lgcraft.tryon.landmarks import LEFT_FACE_EDGE, LEFT_IRIS, RIGHT_FACE_EDGE, RIGHT_IRIS
from lgcraft.tryon.placement import CORNEA_AHEAD_OF_IRIS_MM, head_breadth_mm
from lgcraft.tryon.pose import canonical_face

SKULL_INSET_MM = 4.0       # the ellipsoid stays this far inside the temples' path
SKULL_FRONT_GAP_MM = 6.0   # its front this far behind the corneas
SKULL_HEIGHT_RATIO = 1.25  # vertical semi-axis / horizontal


def ellipsoid(centre: np.ndarray, axes: np.ndarray, rings: int = 18, segments: int = 32):
    """A closed UV ellipsoid: (vertices, faces)."""
    theta = np.linspace(0, np.pi, rings + 1)
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    unit = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], axis=-1).reshape(-1, 3)
    vertices = unit * axes + centre
    faces = []
    for i in range(rings):
        for j in range(segments):
            a = i * segments + j
            b = i * segments + (j + 1) % segments
            c, d = a + segments, b + segments
            faces += [(a, c, b), (b, c, d)]
    return vertices, np.asarray(faces, dtype=np.int64)


def skull_mm(face) -> tuple[np.ndarray, np.ndarray]:
    """The skull ellipsoid in the head frame (mm)."""
    head = face.head_mm
    half = head_breadth_mm(face) / 2 - SKULL_INSET_MM
    cornea = float(head[[RIGHT_IRIS[0], LEFT_IRIS[0]], 2].mean()) + CORNEA_AHEAD_OF_IRIS_MM
    edge_z = float(head[[RIGHT_FACE_EDGE, LEFT_FACE_EDGE], 2].mean())
    centre_z = edge_z - 10.0
    depth = max(cornea - SKULL_FRONT_GAP_MM - centre_z, 20.0)
    centre = np.array([0.0, 10.0, centre_z])
    return ellipsoid(centre, np.array([half, half * SKULL_HEIGHT_RATIO, depth]))


def head_occluder(face) -> tuple[np.ndarray, np.ndarray]:
    """The face surface and the skull in the camera frame (mm): (vertices, faces)."""
    face_vertices = face.landmarks_camera()[:468]
    face_faces = canonical_face().triangles
    face_faces = face_faces[(face_faces < 468).all(axis=1)]
    skull_vertices, skull_faces = skull_mm(face)
    skull_vertices = face.to_camera(skull_vertices)
    vertices = np.concatenate([face_vertices, skull_vertices])
    faces = np.concatenate([face_faces, skull_faces + len(face_vertices)])
    return vertices, faces
