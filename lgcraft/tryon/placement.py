"""Where a prepared model goes on a measured face, in the head frame (true mm).

Frames: the bridge anchor on the nose bridge (landmark 168, about at pupil height), so
the lens centres (boxing centres, +/-(A + DBL)/2 at the origin's height) sit in front
of the pupils when the frame suits the face; the back of the front 12 mm in front of the corneas (the usual vertex
distance) and never into the nose; the front tilted 8 degrees (pantoscopic tilt, bottom
toward the cheeks), the temples level; each temple swung about its hinge until its ear rest touches the side of
the head (head breadth taken as 1.15 x the face's width at the cheekbones, the adult
ratio of head breadth to bizygomatic breadth), at most 15 degrees.

Earrings: the piercing anchor at each ear lobe (level with the base of the nose, 3 mm
outside the face outline and 18 mm behind it), the earring's front (+Z) turned outward.

>>> placed = place_frame(face, frame)                         # doctest: +SKIP
>>> placed.transform   # frame (mm) -> head frame (mm)        # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lgcraft.tryon.landmarks import LEFT_IRIS, NOSE_BRIDGE, RIGHT_IRIS, SUBNASALE

VERTEX_DISTANCE_MM = 12.0        # back of the lens to the cornea
CORNEA_AHEAD_OF_IRIS_MM = 3.0    # the corneal apex in front of the iris landmarks' plane
NOSE_CLEARANCE_MM = 1.5          # the bridge's back in front of the nose's ridge
PANTOSCOPIC_TILT_DEG = 8.0
HEAD_TO_FACE_WIDTH = 1.15        # head breadth / width at the cheekbones (landmarks 234-454)
TEMPLE_CLEARANCE_MM = 2.0
MAX_TEMPLE_SWING_DEG = 15.0
LOBE_OUTSIDE_MM = 3.0
LOBE_BEHIND_MM = 18.0
LOBE_OUTLINE = (93, 323)          # the face outline just in front of the ears, lower part


def rotation_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def rotation_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def affine(rotation: np.ndarray, shift) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = rotation
    m[:3, 3] = shift
    return m


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:3, :3].T + matrix[:3, 3]


@dataclass
class Placement:
    """A model on a face: per part, a 4x4 from the model's mm to the head frame's mm."""

    transform: np.ndarray                      # the model as a whole -> head frame
    part_transforms: dict[int, np.ndarray] = field(default_factory=dict)  # part index -> head
    points_mm: dict[str, np.ndarray] = field(default_factory=dict)  # named points, head frame
    details: dict = field(default_factory=dict)

    def part_matrix(self, index: int) -> np.ndarray:
        return self.part_transforms.get(index, self.transform)


def head_breadth_mm(face) -> float:
    return face.face_width_mm * HEAD_TO_FACE_WIDTH


def place_frame(face, model, boxing: dict) -> Placement:
    """The frame ``model`` (a `PreparedModel`, mm) on ``face`` (a `FaceAnalysis`)."""
    head = face.head_mm
    pupils = head[[RIGHT_IRIS[0], LEFT_IRIS[0]]]
    bridge = head[NOSE_BRIDGE]
    front = [p for p in model.parts if p.role in ("front", "lens_left", "lens_right", "part")] \
        or model.parts
    front_vertices = np.concatenate([p.vertices for p in front])
    # the back of the front near the middle (the bridge and the lenses, not the end pieces)
    span = boxing.get("lens_width_mm", 50.0) + boxing.get("bridge_mm", 18.0) / 2
    middle = front_vertices[np.abs(front_vertices[:, 0]) < span]
    back_z = float(np.percentile((middle if len(middle) > 50 else front_vertices)[:, 2], 2))
    cornea_z = float(pupils[:, 2].mean()) + CORNEA_AHEAD_OF_IRIS_MM
    target_back = max(cornea_z + VERTEX_DISTANCE_MM, float(bridge[2]) + NOSE_CLEARANCE_MM)
    tilt = rotation_x(PANTOSCOPIC_TILT_DEG)
    anchor = model.anchors["bridge"]
    position = np.array([bridge[0], bridge[1], target_back - back_z])
    transform = affine(tilt, position) @ affine(np.eye(3), -anchor)
    placement = Placement(transform=transform)
    # temples: swing about the hinge's vertical axis to the side of the head
    half_head = head_breadth_mm(face) / 2 + TEMPLE_CLEARANCE_MM
    swings = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        hinge, rest = model.anchors.get(f"hinge_{side}"), model.anchors.get(f"ear_rest_{side}")
        if hinge is None or rest is None:
            continue
        arm = rest - hinge
        reach = float(np.hypot(arm[0], arm[2]))
        want_x = sign * half_head - (apply(transform, hinge[None])[0, 0])
        now = np.degrees(np.arctan2(arm[0], -arm[2]))  # angle of the arm from straight back
        goal = np.degrees(np.arcsin(np.clip(want_x / max(reach, 1e-6), -1, 1)))
        swing = float(np.clip(goal - now, -MAX_TEMPLE_SWING_DEG, MAX_TEMPLE_SWING_DEG))
        swings[side] = swing
        # about the hinge: the arm's angle from -Z toward +X grows with a -Y rotation; the
        # tilt is the front's, so the temple is levelled again (it runs back to the ear)
        pivot = affine(np.eye(3), hinge) @ affine(rotation_x(-PANTOSCOPIC_TILT_DEG), [0, 0, 0]) \
            @ affine(rotation_y(-swing), [0, 0, 0]) @ affine(np.eye(3), -hinge)
        for index, part in enumerate(model.parts):
            if part.role == f"temple_{side}":
                placement.part_transforms[index] = transform @ pivot
        placement.points_mm[f"ear_rest_{side}"] = apply(transform @ pivot, rest[None])[0]
        placement.points_mm[f"hinge_{side}"] = apply(transform, hinge[None])[0]
    centre_x = (boxing.get("lens_width_mm", 0.0) + boxing.get("bridge_mm", 0.0)) / 2
    placement.points_mm["bridge"] = apply(transform, anchor[None])[0]
    if centre_x:
        # boxing centres: at the frame origin's height (prep's convention), not the anchor's
        lens_centres = np.array([[-centre_x, 0.0, 0.0], [centre_x, 0.0, 0.0]])
        placed = apply(transform, lens_centres)
        placement.points_mm["lens_centre_right"], placement.points_mm["lens_centre_left"] = placed
    placement.details = {"temple_swing_deg": {k: round(v, 1) for k, v in swings.items()},
                         "head_breadth_mm": round(head_breadth_mm(face), 1),
                         "pantoscopic_tilt_deg": PANTOSCOPIC_TILT_DEG,
                         "vertex_distance_mm": round(float(target_back - cornea_z), 1)}
    return placement


def ear_lobes_mm(face) -> dict[str, np.ndarray]:
    """The two piercing points (head frame, mm), as the module docstring says."""
    head = face.head_mm
    height = head[SUBNASALE, 1]
    lobes = {}
    for side, index, sign in (("right", LOBE_OUTLINE[0], -1.0), ("left", LOBE_OUTLINE[1], 1.0)):
        outline = head[index]
        lobes[side] = np.array([outline[0] + sign * LOBE_OUTSIDE_MM, height,
                                outline[2] - LOBE_BEHIND_MM])
    return lobes


def place_earrings(face, model) -> dict[str, Placement]:
    """One placement per ear; the earring's front faces away from the head."""
    anchor = model.anchors["piercing"]
    out = {}
    for side, point in ear_lobes_mm(face).items():
        turn = rotation_y(90.0 if side == "left" else -90.0)
        transform = affine(turn, point) @ affine(np.eye(3), -anchor)
        out[side] = Placement(transform=transform, points_mm={"piercing": point})
    return out
