"""Occlusion with the head turned: no temple pixels over the face's far cheek (the same
temples without the occluder would cover it: the check can fail)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.render

def far_side(face) -> np.ndarray:
    """Pixels of the face's far side (a face turned toward the image's right: the
    subject's left): the hull of the landmarks lateral of the left eye's outer corner,
    2 px inside the outline (where the temple leaves the front, it is the silhouette)."""
    from scipy.spatial import ConvexHull

    lateral = np.nonzero(face.head_mm[:468, 0] > face.head_mm[263, 0])[0]
    xy = face.points_px[lateral, :2]
    hull = xy[ConvexHull(xy).vertices]
    shape = face.photo.rgb.shape
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in hull], fill=1)
    inside = np.asarray(canvas, dtype=bool)
    from scipy import ndimage

    return ndimage.binary_erosion(inside, iterations=2)  # the outline itself is the silhouette


def test_far_temple_hidden_behind_the_turned_head(photos, prepared):
    from lgcraft.tryon.models import frame_boxing, read_prepared
    from lgcraft.tryon.occluder import head_occluder
    from lgcraft.tryon.photos import Session
    from lgcraft.tryon.placement import place_frame

    with Session() as session:
        face = session.analyse(photos["astronaut-turned"], None)
        assert face.pose.yaw_deg > 12  # turned toward the image's right: the left side is far
        frame = read_prepared(prepared["frame"], "frame")
        placement = place_frame(face, frame, frame_boxing(frame))
        to_camera = face.head_to_camera_at(placement.points_mm["bridge"])
        layers = session.layers(frame, placement, to_camera)
        far_temple = [layer for layer, part in zip(layers, frame.parts, strict=True)
                      if part.role == "temple_left"]
        near_temple = [layer for layer, part in zip(layers, frame.parts, strict=True)
                       if part.role == "temple_right"]
        rgb = face.photo.rgb
        cheek = far_side(face)
        _, bare = session.compositor.composite(rgb, face.camera, far_temple, None)
        _, hidden = session.compositor.composite(rgb, face.camera, far_temple, head_occluder(face))
        _, near = session.compositor.composite(rgb, face.camera, near_temple, head_occluder(face))
        _, whole = session.compositor.composite(rgb, face.camera, layers, head_occluder(face))
    assert (bare[cheek] > 0.25).sum() >= 5       # unoccluded, the far temple crosses the cheek
    assert (hidden[cheek] > 0.25).sum() == 0    # the head hides it
    assert (near > 0.5).sum() > 20              # the near temple still shows
    assert (whole > 0.5).sum() > 500            # and so does the frame


def test_far_earring_goes_behind_the_turned_head(photos, prepared):
    from lgcraft.tryon.models import read_prepared
    from lgcraft.tryon.occluder import head_occluder
    from lgcraft.tryon.photos import Session
    from lgcraft.tryon.placement import place_earrings

    with Session() as session:
        face = session.analyse(photos["astronaut-turned"], None)
        earring = read_prepared(prepared["earring"], "earring")
        shown = {}
        for side, placement in place_earrings(face, earring).items():
            to_camera = face.head_to_camera_at(placement.points_mm["piercing"])
            layers = session.layers(earring, placement, to_camera)
            _, bare = session.compositor.composite(face.photo.rgb, face.camera, layers, None)
            _, seen = session.compositor.composite(face.photo.rgb, face.camera, layers,
                                                   head_occluder(face))
            shown[side] = ((bare > 0.5).sum(), (seen > 0.5).sum())
    near_bare, near_seen = shown["right"]
    far_bare, far_seen = shown["left"]
    assert near_seen >= 0.9 * near_bare > 0           # the near one hangs free
    assert far_seen < 0.6 * far_bare                  # the head hides most of the far one
