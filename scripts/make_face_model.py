"""Regenerate lgcraft/tryon/face_model.json: the canonical face the try-on fits poses to.

Built from MediaPipe's own output on scikit-image's public-domain astronaut photo
(NASA) and its mirror image, so it needs no file from outside the installed packages:

- ``pairs``: each landmark's mirror twin (landmark i of a mirrored photo, mirrored
  back, lands on landmark pairs[i] of the photo), found by nearest neighbour;
- ``points_mm``: the 478 landmarks in the head frame (X to the subject's left, Y up,
  Z out of the face, origin between the pupils), made left-right symmetric through
  ``pairs`` and scaled so each iris is 11.7 mm across;
- ``triangles``: the face surface, the 3-cliques of MediaPipe's tessellation edges.

Run: python scripts/make_face_model.py
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np

from lgcraft.tryon.constants import IRIS_DIAMETER_MM
from lgcraft.tryon.landmarks import (
    LEFT_EYE_OUTER,
    LEFT_IRIS,
    MOUTH_LEFT,
    MOUTH_RIGHT,
    RIGHT_EYE_OUTER,
    RIGHT_IRIS,
    FaceMeshModel,
    _face_mesh_module,
)

OUT = Path(__file__).resolve().parent.parent / "lgcraft" / "tryon" / "face_model.json"


def triangles_of(edges) -> list[list[int]]:
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    found = set()
    for a, near in neighbours.items():
        for b, c in combinations(sorted(near), 2):
            if c in neighbours[b]:
                found.add(tuple(sorted((a, b, c))))
    return [list(t) for t in sorted(found)]


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` moved onto ``target`` by the least-squares rotation, scale and shift."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    a, b = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0] * (source.shape[1] - 1) + [d])
    rotation = u @ fix @ vt
    scale = (sigma * np.diag(fix)).sum() / (a ** 2).sum()
    return a @ rotation * scale + mu_t


def twins(points: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
    """Each landmark's mirror twin: a one-to-one matching of the mirrored landmarks onto
    the photo's, re-aligned a few times (the face is not exactly frontal)."""
    from scipy.optimize import linear_sum_assignment

    moved = mirrored.copy()
    pairs = np.arange(len(points))
    for _ in range(4):
        cost = np.linalg.norm(moved[:, None, :] - points[None, :, :], axis=2)
        _, pairs = linear_sum_assignment(cost)
        moved = _similarity(mirrored, points[pairs])
    for i, j in enumerate(pairs):  # an involution: a one-sided match becomes its own twin
        if pairs[j] != i:
            pairs[i] = i
    return pairs


def main() -> None:
    from skimage import data

    rgb = data.astronaut()
    width = rgb.shape[1]
    with FaceMeshModel(max_faces=1) as model:
        points = model.faces(rgb)[0].points
        mirrored = model.faces(np.ascontiguousarray(rgb[:, ::-1]))[0].points
    mirrored[:, 0] = width - 1 - mirrored[:, 0]
    pairs = twins(points, mirrored)
    # the symmetry plane's normal: the common direction of every twin-to-twin vector
    diffs = points[pairs] - points
    diffs = diffs[np.linalg.norm(diffs, axis=1) > 1e-6]
    diffs *= np.sign(diffs[:, 0:1] + 1e-12)
    x_axis = np.linalg.svd(diffs, full_matrices=False)[2][0]
    x_axis *= np.sign(x_axis[0])  # image right: the subject's left
    # up: from the mouth corners to the eye corners (the face plane stands about upright
    # in the natural head posture; the chin-to-forehead line leans with the forehead)
    eyes = (points[RIGHT_EYE_OUTER] + points[LEFT_EYE_OUTER]) / 2
    mouth = (points[MOUTH_RIGHT] + points[MOUTH_LEFT]) / 2
    up = eyes - mouth
    y_axis = up - x_axis * (up @ x_axis)
    y_axis /= np.linalg.norm(y_axis)
    z_axis = np.cross(x_axis, y_axis)
    basis = np.stack([x_axis, y_axis, z_axis], axis=1)
    origin = (points[RIGHT_IRIS[0]] + points[LEFT_IRIS[0]]) / 2
    head = (points - origin) @ basis
    twin = head[pairs] * np.array([-1.0, 1.0, 1.0])
    head = (head + twin) / 2
    iris = np.mean([np.linalg.norm(head[a] - head[b]) for a, b in
                    ((RIGHT_IRIS[1], RIGHT_IRIS[3]), (LEFT_IRIS[1], LEFT_IRIS[3]))])
    head *= IRIS_DIAMETER_MM / iris
    edges = _face_mesh_module().FACEMESH_TESSELATION
    model = {
        "source": "MediaPipe face mesh 0.10.14 on skimage.data.astronaut() (public domain, NASA) "
                  "and its mirror image; made by scripts/make_face_model.py",
        "frame": "head: X to the subject's left, Y up, Z out of the face; mm; origin between the pupils",
        "pairs": [int(p) for p in pairs],
        "points_mm": [[round(float(c), 3) for c in p] for p in head],
        "triangles": triangles_of(edges),
    }
    OUT.write_text(json.dumps(model, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}: {len(model['triangles'])} triangles, "
          f"{sum(1 for i, p in enumerate(pairs) if p == i)} landmarks on the midline")


if __name__ == "__main__":
    main()
