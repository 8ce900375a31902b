"""Automatic frame orientation and unit detection.

PCA alone cannot tell a frame's axes (with open temples the width and the depth are
about equal), so we use what a frame is:

1. the front is the thin plate holding most of the surface: its normal is the
   direction along which the area concentrates in the thinnest slab (searched over a
   hemisphere of directions, then refined by the slab's own least-variance axis);
2. across (X) is the long axis of that plate; the temples lie behind it, which gives
   the sign of the front normal (+Z);
3. up (+Y): the bridge sits in the upper half of the front, the hinges near the top,
   and the temples fall toward their tips; a vote of those asymmetries picks the sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lgcraft.meshes.errors import UnitError
from lgcraft.meshes.part import face_samples, weighted_axes
from lgcraft.meshes.units import UNIT_SCALES_MM

FRAME_WIDTH_RANGE_MM = (100.0, 185.0)  # kids' frames from ~100 mm, wide sport wraps to ~180


@dataclass
class Pose:
    rotation: np.ndarray  # 3x3; rows are the new X, Y, Z axes in input coordinates
    centre: np.ndarray  # a point on the front (input units), the provisional origin
    front_width: float  # in input units
    front_halfdepth: float  # half thickness of the front slab, input units
    confidence: float  # 0..1, how clearly the up direction was decided

    def apply(self, points: np.ndarray) -> np.ndarray:
        return (points - self.centre) @ self.rotation.T


def _hemisphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    z = i / n  # z in (0, 1]
    phi = np.pi * (1 + 5 ** 0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], -1)


def _slab_peak(points: np.ndarray, weights: np.ndarray, directions: np.ndarray, width: float,
               ) -> tuple[np.ndarray, np.ndarray]:
    """For each direction, the largest weight within a slab of ``width``; and its centre."""
    bin_w = width / 3
    lo = np.empty(len(directions))
    rows = []
    for at in range(0, len(directions), 64):  # blocks that stay in cache
        proj = directions[at:at + 64] @ points.T  # (block, n)
        lo[at:at + 64] = proj.min(axis=1)
        rows.append(((proj - lo[at:at + 64, None]) / bin_w).astype(np.int64))  # floor: >= 0
    nb = int(max(r.max() for r in rows)) + 3
    hist = np.empty((len(directions), nb))
    for at, idx in zip(range(0, len(directions), 64), rows, strict=True):
        block = len(idx)
        idx += (np.arange(block) * nb)[:, None]
        hist[at:at + block] = np.bincount(idx.ravel(), np.tile(weights, block),
                                          minlength=nb * block).reshape(block, nb)
    window = hist.copy()
    window[:, 1:] += hist[:, :-1]
    window[:, :-1] += hist[:, 1:]
    best_bin = window.argmax(axis=1)
    peak = window[np.arange(len(best_bin)), best_bin]
    centre = lo + (best_bin + 0.5) * bin_w
    return peak, centre


def _refine_plane(points, weights, normal, slab):
    """Refine a slab's normal: the least-variance axis of the points inside it."""
    proj = points @ normal
    offset = _peak_offset(proj, weights, slab)
    for _ in range(2):
        inside = np.abs(points @ normal - offset) < slab
        if inside.sum() < 10:
            break
        _, axes = weighted_axes(points[inside], weights[inside])
        new = axes[0] if axes[0] @ normal >= 0 else -axes[0]
        normal = new / np.linalg.norm(new)
        proj = points @ normal
        offset = float(np.average(proj[inside], weights=weights[inside]))
    del inside
    return normal, offset


def _peak_offset(proj, weights, slab):
    lo = proj.min()
    bins = np.floor((proj - lo) / (slab / 3)).astype(int)
    hist = np.bincount(bins, weights)
    window = hist.copy()
    window[1:] += hist[:-1]
    window[:-1] += hist[1:]
    return float(lo + (window.argmax() + 0.5) * slab / 3)


def _in_plane_aspect(points, weights, normal) -> float:
    """Width over height of the points projected on the plane (robust percentiles)."""
    if len(points) < 10:
        return 1.0
    d = points - np.average(points, axis=0, weights=weights)
    d -= np.outer(d @ normal, normal)
    cov = (d * weights[:, None]).T @ d
    _, vecs = np.linalg.eigh(cov)
    a, b = d @ vecs[:, 2], d @ vecs[:, 1]
    wa = np.percentile(a, 98) - np.percentile(a, 2)
    wb = np.percentile(b, 98) - np.percentile(b, 2)
    return float(wa / max(wb, 1e-12))


def detect_pose(parts) -> Pose:
    """Find the canonical frame axes of an eyewear model given in any rotation."""
    points, weights = face_samples(parts)
    weights = weights + 1e-12
    _, axes = weighted_axes(points, weights)
    size = float(np.ptp(points @ axes.T, axis=0).max())  # rotation-invariant
    slab = 0.06 * size
    search = np.random.default_rng(1).choice(len(points), min(len(points), 6000), replace=False)
    dirs = _hemisphere(700)
    peak, _ = _slab_peak(points[search], weights[search], dirs, slab)
    # several well-separated candidate planes; the front is dense AND wide-not-tall
    candidates = []
    for k in np.argsort(-peak):
        if all(abs(dirs[k] @ dirs[c]) < np.cos(np.radians(35)) for c in candidates):
            candidates.append(k)
        if len(candidates) == 4 or peak[k] < 0.3 * peak.max():
            break
    best = None
    for k in candidates:
        normal, offset = _refine_plane(points, weights, dirs[k], slab)
        inside = np.abs(points @ normal - offset) < slab
        mass = weights[inside].sum()
        aspect = _in_plane_aspect(points[inside], weights[inside], normal)
        score = mass * min(aspect, 3.0)
        if best is None or score > best[0]:
            best = (score, normal, offset)
    _, normal, offset = best
    normal, offset = _refine_plane(points, weights, normal, slab / 2)  # the plate itself
    inside = np.abs(points @ normal - offset) < slab
    fp, fw = points[inside], weights[inside]
    # across: long axis of the front within its plane
    centred = fp - np.average(fp, axis=0, weights=fw)
    centred -= np.outer(centred @ normal, normal)
    cov = (centred * fw[:, None]).T @ centred
    vals, vecs = np.linalg.eigh(cov)
    across = vecs[:, 2]
    across -= (across @ normal) * normal
    across /= np.linalg.norm(across)
    px = fp @ across
    front_width = float(px.max() - px.min())
    mid_x = 0.5 * (px.max() + px.min())
    # front sign: the temples (mass outside the slab) are behind
    rel = points @ normal - offset
    behind = -(weights * rel)[~inside].sum()
    if abs(behind) < 1e-9 * weights.sum() * size:
        # no temples: a front bows forward at its centre
        centre_col = np.abs(px - mid_x) < 0.15 * front_width
        ends = np.abs(px - mid_x) > 0.35 * front_width
        behind = (rel[inside][centre_col].mean() - rel[inside][ends].mean()) if centre_col.any() and ends.any() else 1.0
    z_axis = normal if behind >= 0 else -normal
    y_axis = np.cross(z_axis, across)
    x_axis = across
    rot = np.stack([x_axis, y_axis, z_axis])
    origin_guess = offset * normal + 0.0
    # provisional centre: mid-width of the front, mid-height, on the front plane
    py = fp @ y_axis
    centre = (mid_x * x_axis + 0.5 * (py.max() + py.min()) * y_axis
              + float(np.average(fp @ z_axis, weights=fw)) * z_axis)
    del origin_guess
    local = (points - centre) @ rot.T
    score, confidence = _up_score(local, weights, inside, front_width)
    if score < 0:  # upside down: turn 180 degrees about Z (keeps the frame right-handed)
        rot = np.stack([-x_axis, -y_axis, z_axis])
    halfdepth = float(np.percentile(np.abs(local[inside, 2]), 95)) if inside.any() else slab
    return Pose(rot, centre, front_width, halfdepth, confidence)


def _up_score(local: np.ndarray, weights: np.ndarray, inside: np.ndarray,
              width: float) -> tuple[float, float]:
    """Positive when +Y is up. Votes: bridge height, hinge height, temple fall."""
    front = local[inside]
    fw = weights[inside]
    height = float(np.ptp(front[:, 1])) or 1.0
    ymid = 0.5 * (front[:, 1].max() + front[:, 1].min())
    votes = []
    centre_col = np.abs(front[:, 0]) < 0.05 * width
    if centre_col.any():  # the bridge sits high
        votes.append((np.average(front[centre_col, 1], weights=fw[centre_col]) - ymid) / height)
    back = ~inside & (local[:, 2] < 0)
    if back.any():
        bz = local[back, 2]
        near = back.copy()
        near[back] = bz > bz.min() + 0.75 * (bz.max() - bz.min())  # near the hinges
        far = back.copy()
        far[back] = bz < bz.min() + 0.2 * (bz.max() - bz.min())  # the tips
        if near.any():
            hinge_y = np.average(local[near, 1], weights=weights[near])
            votes.append((hinge_y - ymid) / height)
            if far.any() and (bz.max() - bz.min()) > 0.3 * width:
                tip_y = np.average(local[far, 1], weights=weights[far])
                votes.append((hinge_y - tip_y) / height)
    if not votes:
        return 1.0, 0.0
    score = float(np.sum(votes))
    return score, float(min(1.0, abs(score)))


def guess_unit(front_width: float) -> tuple[str, float] | None:
    """The unit whose reading puts the frame's width in the adult/child range."""
    best = None
    for unit, scale in UNIT_SCALES_MM.items():
        width_mm = front_width * scale
        if FRAME_WIDTH_RANGE_MM[0] <= width_mm <= FRAME_WIDTH_RANGE_MM[1]:
            distance = abs(np.log(width_mm / 140.0))
            if best is None or distance < best[2]:
                best = (unit, scale, distance)
    return None if best is None else (best[0], best[1])


def resolve_scale(front_width: float, units: str, frame_width_mm: float | None,
                  name: str = "model") -> tuple[str, float]:
    """(unit label, mm per input unit) from the flags or the model's size."""
    if frame_width_mm is not None:
        if frame_width_mm <= 0:
            raise UnitError(f"--frame-width must be positive, got {frame_width_mm}")
        return "frame-width", frame_width_mm / front_width
    if units != "auto":
        if units not in UNIT_SCALES_MM:
            raise UnitError(f"unknown unit {units!r}", hint="use auto, mm, cm, m or in")
        return units, UNIT_SCALES_MM[units]
    guess = guess_unit(front_width)
    if guess is None:
        raise UnitError(
            f"{name}: cannot tell the unit: the frame front is {front_width:.4g} units wide, "
            "which is no plausible frame width in mm, cm, m or in",
            hint="pass --units or --frame-width MM")
    return guess
