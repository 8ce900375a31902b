"""Write the try-on example photos: the public-domain astronaut portrait, and the same
face turned 25 degrees (a head-turn variant for the occlusion checks).

The turn: MediaPipe's 3D landmarks of the face are rotated about a vertical axis 75 mm
behind the eyes and the photo is warped piecewise-affinely from the old landmark
positions to the new ones (the hair, ears and background held still by a ring of
fixed points around the face).

Run: python examples/tryon/make_examples.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TURN_DEG = 25.0
AXIS_BEHIND_EYES_MM = 75.0


def turned_head(rgb: np.ndarray, points: np.ndarray, yaw_deg: float, mm_per_px: float) -> np.ndarray:
    """``rgb`` with the face (landmarks ``points``, image frame) turned by ``yaw_deg``."""
    from skimage.transform import PiecewiseAffineTransform, warp

    h, w = rgb.shape[:2]
    eyes = points[[468, 473]].mean(axis=0)
    axis_z = eyes[2] + AXIS_BEHIND_EYES_MM / mm_per_px
    a = np.radians(yaw_deg)
    x, z = points[:, 0] - eyes[0], points[:, 2] - axis_z
    moved = points[:, :2].copy()
    moved[:, 0] = eyes[0] + x * np.cos(a) - z * np.sin(a)
    # a turned face also shrinks a little toward its far side: keep it simple, x only
    oval = points[:468, :2]
    centre = oval.mean(axis=0)
    radius = 1.25 * np.ptp(oval, axis=0).max()
    ring = centre + radius * np.stack([np.cos(t := np.linspace(0, 2 * np.pi, 48, endpoint=False)),
                                       np.sin(t)], axis=1)
    border = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1], [w / 2, 0], [w / 2, h - 1],
                       [0, h / 2], [w - 1, h / 2]], dtype=np.float64)
    fixed = np.concatenate([ring, border])
    source = np.concatenate([points[:468, :2], fixed])
    target = np.concatenate([moved[:468], fixed])
    transform = PiecewiseAffineTransform()
    transform.estimate(target, source)  # warp() maps output pixels back to input pixels
    out = warp(rgb, transform, output_shape=(h, w), order=1, mode="edge", preserve_range=True)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def main() -> None:
    from PIL import Image
    from skimage import data

    from lgcraft.tryon.face import analyse_face
    from lgcraft.tryon.landmarks import FaceMeshModel, Photo

    rgb = data.astronaut()
    Image.fromarray(rgb).save(HERE / "astronaut.png", optimize=True)
    with FaceMeshModel() as model:
        face = analyse_face(Photo(HERE / "astronaut.png", rgb), model)
    turned = turned_head(rgb, face.points_px, TURN_DEG, face.scale.mm_per_px)
    Image.fromarray(turned).save(HERE / "astronaut-turned.png", optimize=True)


if __name__ == "__main__":
    main()
