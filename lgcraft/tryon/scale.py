"""True scale from the iris: the rule, its constants, and the robust single-photo estimator.

The rule (shared with the browser page): the horizontal visible iris diameter of adults
is 11.7 +/- 0.5 mm (the figure MediaPipe Iris is built on), so

    pd_mm = IRIS_DIAMETER_MM * pupil_distance_px / iris_diameter_px

with both lengths measured in the same image (the head's yaw shortens both alike).
``mm_per_px`` at the face then converts any landmark distance to millimetres.

Reading the iris landmarks once is noisy: an adult iris spans 8 px in a 512 px
portrait, and one photo's variants (scaled, rotated, mirrored, cropped, recompressed)
read 58.1-61.3 mm. `estimate_scale` removes what the variants change: it warps the face
to one canonical size and roll (`CANONICAL_IOD_PX` between the pupils, eyes level), runs
the landmark model on a small fixed set of views of that (two sizes x two tilts, each
also mirrored), maps every view's landmarks back, and averages. The views' spread gives
the estimate's own uncertainty.

>>> pd_from_points(points)          # doctest: +SKIP
(61.3, 43.2, 8.25)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lgcraft.tryon.constants import (
    ADULT_IRIS_MM,
    ADULT_PD_MM,
    CARD_WIDTH_MM,
    IRIS_DIAMETER_MM,
    IRIS_DIAMETER_SD_MM,
    LEFT_IRIS_ACROSS,
    LEFT_PUPIL,
    MIN_IRIS_PX,
    RIGHT_IRIS_ACROSS,
    RIGHT_PUPIL,
)

CANONICAL_IOD_PX = 80.0        # pupils this far apart in the warped views
CANONICAL_SIZE_PX = 256        # the warped views are this square
VIEW_SCALES = (0.92, 1.08)     # view sizes around the canonical one
VIEW_TILTS_DEG = (-3.0, 3.0)   # view tilts around level eyes




def iris_diameters_px(points: np.ndarray) -> tuple[float, float]:
    """The right and left iris's horizontal diameters in pixels (image plane)."""
    right = float(np.linalg.norm(points[RIGHT_IRIS_ACROSS[0], :2] - points[RIGHT_IRIS_ACROSS[1], :2]))
    left = float(np.linalg.norm(points[LEFT_IRIS_ACROSS[0], :2] - points[LEFT_IRIS_ACROSS[1], :2]))
    return right, left


def pd_from_points(points: np.ndarray) -> tuple[float, float, float]:
    """The scale rule on one set of landmarks: (pd_mm, pupil distance px, iris px)."""
    pupils_px = float(np.linalg.norm(points[LEFT_PUPIL, :2] - points[RIGHT_PUPIL, :2]))
    iris_px = float(np.mean(iris_diameters_px(points)))
    return IRIS_DIAMETER_MM * pupils_px / iris_px, pupils_px, iris_px


@dataclass
class ScaleEstimate:
    pd_mm: float            # pupillary distance (far PD, eyes looking ahead)
    iris_px: float          # iris diameter in the photo's pixels
    pupil_distance_px: float
    mm_per_px: float        # at the face: pd_mm / pupil_distance_px (image plane)
    spread_mm: float        # standard deviation of the views' PD readings
    views: int              # views that found the face
    uncertainty_mm: float   # one standard deviation, all sources (views, iris rule)
    confidence: float       # 0-1, from the uncertainty
    low_confidence: str | None  # why the figure should not be trusted, or None
    points: np.ndarray      # the views' landmarks averaged, in photo pixels (478, 3)
    method: str = "iris"    # iris | card: what set the scale
    iris_mm: float = IRIS_DIAMETER_MM  # the iris's size: assumed (iris) or measured (card)


def _view_affine(points: np.ndarray, scale: float, tilt: float, mirror: bool) -> np.ndarray:
    """2x3 affine from photo pixels to a canonical view: pupils level and CANONICAL_IOD apart."""
    right, left = points[RIGHT_PUPIL, :2], points[LEFT_PUPIL, :2]
    across = left - right
    roll = np.arctan2(across[1], across[0])
    factor = CANONICAL_IOD_PX / max(float(np.linalg.norm(across)), 1e-6) * scale
    angle = -roll + tilt
    linear = factor * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    if mirror:
        linear = np.diag([-1.0, 1.0]) @ linear
    centre = (left + right) / 2
    shift = np.array([CANONICAL_SIZE_PX / 2, CANONICAL_SIZE_PX * 0.42]) - linear @ centre
    return np.hstack([linear, shift[:, None]])


def warp_view(rgb: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """The canonical view of ``rgb`` under ``affine`` (bilinear)."""
    from PIL import Image

    inverse = np.linalg.inv(np.vstack([affine, [0.0, 0.0, 1.0]]))[:2]
    size = (CANONICAL_SIZE_PX, CANONICAL_SIZE_PX)
    view = Image.fromarray(rgb).transform(size, Image.AFFINE, data=tuple(inverse.ravel()),
                                          resample=Image.BILINEAR)
    return np.asarray(view)


def estimate_scale(rgb: np.ndarray, points: np.ndarray,
                   detect: Callable[[np.ndarray], list[np.ndarray]],
                   pairs: np.ndarray | None = None) -> ScaleEstimate:
    """The robust PD of the face whose landmarks (photo pixels) are ``points``.

    ``detect(view_rgb)`` returns the landmark arrays found in a view (largest first);
    ``pairs`` (each landmark's mirror twin) lets mirrored views add to the averaged
    landmarks, not only to the PD.
    """
    readings, mapped = [], []
    for scale in VIEW_SCALES:
        for tilt in VIEW_TILTS_DEG:
            for mirror in (False, True):
                affine = _view_affine(points, scale, np.radians(tilt), mirror)
                found = detect(warp_view(rgb, affine))
                if not found:
                    continue
                view = found[0]
                inverse = np.linalg.inv(np.vstack([affine, [0.0, 0.0, 1.0]]))
                back = np.empty_like(view)
                back[:, :2] = view[:, :2] @ inverse[:2, :2].T + inverse[:2, 2]
                back[:, 2] = view[:, 2] / (np.sqrt(abs(np.linalg.det(affine[:, :2]))))
                if mirror:
                    if pairs is None:
                        back = None
                    else:
                        back = back[pairs]
                if back is not None and np.linalg.norm(back[RIGHT_PUPIL, :2] - points[RIGHT_PUPIL, :2]) \
                        < 0.5 * np.linalg.norm(points[LEFT_PUPIL, :2] - points[RIGHT_PUPIL, :2]):
                    mapped.append(back)
                readings.append(pd_from_points(view)[0])
    if not readings:  # the views lost the face: fall back to the one reading
        readings = [pd_from_points(points)[0]]
    averaged = np.mean(mapped, axis=0) if mapped else points
    pd_mm = float(np.mean(readings))
    spread = float(np.std(readings)) if len(readings) > 1 else 0.0
    _, pupils_px, iris_px = pd_from_points(averaged)
    iris_px = float(np.mean(iris_diameters_px(points))) if not mapped else iris_px
    # one standard deviation: the views' scatter of the mean, plus a pixel-rounding term
    # (a quarter pixel on the iris), plus the rule's own 0.5 mm in 11.7 between people
    views_sd = spread / np.sqrt(len(readings)) if len(readings) > 1 else pd_mm * 0.5 / max(iris_px, 1)
    pixel_sd = pd_mm * 0.25 / max(iris_px, 1e-6)
    rule_sd = pd_mm * IRIS_DIAMETER_SD_MM / IRIS_DIAMETER_MM
    uncertainty = float(np.sqrt(views_sd ** 2 + pixel_sd ** 2 + rule_sd ** 2))
    confidence = float(np.clip(np.exp(-(uncertainty - rule_sd) / 3.0), 0.0, 1.0))
    low = None
    if iris_px < MIN_IRIS_PX:
        low = (f"face too small to measure well: iris {iris_px:.1f} px across "
               f"(needs {MIN_IRIS_PX:.0f} px or more), PD +/- {uncertainty:.1f} mm")
    elif not ADULT_PD_MM[0] - 6 <= pd_mm <= ADULT_PD_MM[1] + 6:
        low = f"PD {pd_mm:.1f} mm is outside the adult range {ADULT_PD_MM[0]:.0f}-{ADULT_PD_MM[1]:.0f} mm"
    elif spread > 2.0:
        low = f"the views disagree by {spread:.1f} mm (blur, glasses or a turned head?)"
    if low:
        confidence = min(confidence, 0.4)
    return ScaleEstimate(pd_mm=pd_mm, iris_px=iris_px, pupil_distance_px=pupils_px,
                         mm_per_px=pd_mm / max(pupils_px, 1e-6), spread_mm=spread,
                         views=len(readings), uncertainty_mm=uncertainty, confidence=confidence,
                         low_confidence=low, points=averaged)


CARD_DEPTH_SD = 0.015  # the card held at the forehead is ~1.5% nearer the camera than the eyes


def parse_card(text: str) -> tuple[float, float, float, float]:
    """``X1,Y1,X2,Y2``: the ends of the card's long (85.60 mm) edge, in photo pixels."""
    from lgcraft.errors import InputError

    try:
        values = tuple(float(v) for v in text.replace(":", ",").split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(np.isfinite(values)):
        raise InputError(f"--card {text!r}: give the ends of the card's long edge as X1,Y1,X2,Y2 "
                         "(photo pixels, upright)", hint="e.g. --card 120,610,540,598")
    return values  # type: ignore[return-value]


def apply_card(scale: ScaleEstimate, card: tuple[float, float, float, float],
               photo_size: tuple[int, int]) -> ScaleEstimate:
    """The same estimate with its scale from an ID-1 card beside the face instead of the
    iris rule: the card's long edge (85.60 mm) over its length in pixels. The person's
    iris size is then measured, not assumed; the rule's 4% between people is gone."""
    from lgcraft.errors import InputError

    x1, y1, x2, y2 = card
    width, height = photo_size
    if not all(0 <= x <= width for x in (x1, x2)) or not all(0 <= y <= height for y in (y1, y2)):
        raise InputError(f"--card {x1:g},{y1:g},{x2:g},{y2:g} lies outside the {width}x{height} photo")
    length = float(np.hypot(x2 - x1, y2 - y1))
    if length < 40:
        raise InputError(f"--card edge is {length:.0f} px long; mark the card's long edge "
                         "(at least 40 px)")
    mm_per_px = CARD_WIDTH_MM / length
    pd_mm = scale.pupil_distance_px * mm_per_px
    iris_mm = scale.iris_px * mm_per_px
    views_sd = scale.spread_mm / np.sqrt(max(scale.views, 1))
    pixel_sd = pd_mm * np.hypot(0.5 / length, 0.25 / max(scale.pupil_distance_px, 1e-6))
    uncertainty = float(np.sqrt(views_sd ** 2 + pixel_sd ** 2 + (pd_mm * CARD_DEPTH_SD) ** 2))
    low = None
    if not ADULT_IRIS_MM[0] <= iris_mm <= ADULT_IRIS_MM[1]:
        low = (f"with this card the iris would be {iris_mm:.1f} mm across (adults: "
               f"{ADULT_IRIS_MM[0]}-{ADULT_IRIS_MM[1]} mm): check the card's corners and that "
               "it is held flat at the face")
    confidence = float(np.clip(np.exp(-uncertainty / 3.0), 0.0, 1.0))
    if low:
        confidence = min(confidence, 0.4)
    scale.pd_mm, scale.mm_per_px, scale.iris_mm = pd_mm, mm_per_px, iris_mm
    scale.uncertainty_mm, scale.confidence, scale.low_confidence = uncertainty, confidence, low
    scale.method = "card"
    return scale
