"""Rings and earrings on the mesh engine (`lgcraft.meshes`): ring axis, centre and inner
diameter (ISO 8653 and US sizes), earring hook/post anchor, canonical pose.

Ring pose: finger axis along Z, the head (setting) toward +Y, origin at the centre of
the inner circle, mid-band. Earring pose: +Y up (hanging down -Y), a post pointing back
(-Z), origin at the anchor (where the piercing holds it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lgcraft.meshes.batch import BatchItem, BatchResult, FileResult, run_batch
from lgcraft.meshes.errors import MeasureError
from lgcraft.meshes.part import Part, face_samples, weighted_axes
from lgcraft.meshes.prep import TAIL_FIELDS, Analysis, PrepSettings, mesh_row, prep_model, warm
from lgcraft.meshes.units import pick_unit

RING_DIAMETER_RANGE_MM = (11.0, 27.0)  # ISO 8653 sizes ~35-85 with margin
EARRING_SIZE_RANGE_MM = (4.0, 100.0)


def ring_sizes(inner_diameter_mm: float) -> dict:
    """ISO 8653 size (inner circumference, mm) and US size for an inner diameter.

    >>> ring_sizes(17.35)["size_us"]
    7.0
    """
    circumference = np.pi * inner_diameter_mm
    us = (inner_diameter_mm / 25.4 - 0.458) / 0.032
    return {
        "inner_diameter_mm": round(float(inner_diameter_mm), 3),
        "inner_circumference_mm": round(float(circumference), 2),
        "size_iso": int(round(circumference)),
        "size_us": round(float(us) * 4) / 4,
        "size_us_exact": round(float(us), 2),
    }


@dataclass
class RingFit:
    axis: np.ndarray
    centre: np.ndarray  # 3-D, on the axis at mid-band (input units)
    inner_radius: float
    outer_radius: float
    empty_fraction: float  # share of area inside 0.9 * inner radius (0 for a real ring)
    roundness: float  # std of inner radius / radius
    score: float
    coverage: float = 0.0  # share of 10-degree sectors where the inner surface was found


def _plane_basis(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def _circle_fit(xy: np.ndarray) -> tuple[np.ndarray, float]:
    a = np.column_stack([2 * xy, np.ones(len(xy))])
    b = (xy ** 2).sum(axis=1)
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    centre = sol[:2]
    return centre, float(np.sqrt(max(sol[2] + centre @ centre, 1e-24)))


def fit_ring(vertices: np.ndarray, points: np.ndarray, weights: np.ndarray, axis: np.ndarray,
             ) -> RingFit:
    """Inner circle of the geometry seen along ``axis`` (iterated minimum-radius fit)."""
    u, w = _plane_basis(axis)
    pv = np.column_stack([vertices @ u, vertices @ w])
    pp = np.column_stack([points @ u, points @ w])
    centre = np.average(pp, axis=0, weights=weights)
    radius = 0.0
    inner = pv
    for _ in range(6):
        rel = pv - centre
        r = np.linalg.norm(rel, axis=1)
        ang = np.floor((np.arctan2(rel[:, 1], rel[:, 0]) + np.pi) / (2 * np.pi) * 36).astype(int) % 36
        order = np.lexsort((r, ang))
        first = order[np.r_[True, ang[order][1:] != ang[order][:-1]]]
        # bins without inner-surface vertices give a larger minimum: drop the outliers
        r_first = r[first]
        keep = r_first < np.median(r_first) * 1.05
        inner = pv[first[keep]]
        if len(inner) < 8:
            break
        centre, radius = _circle_fit(inner)
    rel = pp - centre
    rp = np.linalg.norm(rel, axis=1)
    outer = float(np.percentile(rp, 90))
    empty = float(weights[rp < 0.9 * radius].sum() / weights.sum()) if radius > 0 else 1.0
    inner_r = np.linalg.norm(inner - centre, axis=1)
    roundness = float(inner_r.std() / radius) if radius > 0 else 1.0
    coverage = len(inner) / 36.0
    score = (radius / max(outer, 1e-12)) * (1 - min(empty * 10, 1)) * coverage / (1 + 10 * roundness)
    axial = float(np.average(points @ axis, weights=weights))
    centre3 = centre[0] * u + centre[1] * w + axial * axis
    return RingFit(axis, centre3, radius, outer, empty, roundness, score, coverage)


def find_ring(parts: list[Part]) -> RingFit:
    """The ring's axis and inner circle: the principal axis with the clearest hole,
    then the axis refined from the inner surface itself."""
    points, weights = face_samples(parts, limit=30000)
    vertices = np.vstack([p.vertices for p in parts])
    if len(vertices) > 60000:
        vertices = vertices[np.random.default_rng(0).choice(len(vertices), 60000, replace=False)]
    _, axes = weighted_axes(points, weights)
    fits = [fit_ring(vertices, points, weights, a) for a in axes]
    best = max(fits, key=lambda f: f.score)
    for _ in range(2):  # refine the axis from the inner surface itself
        rel = vertices - best.centre
        along = rel @ best.axis
        planar = rel - np.outer(along, best.axis)
        radial = np.linalg.norm(planar, axis=1)
        # the inner surface itself: in each 5-degree sector, the points within 1.5 % of
        # that sector's smallest radius (what is cut into the inside, an engraving's
        # groove floors a few tenths of a mm deeper, is left out); then the cylinder
        # through them (axis, centre, radius by least squares, each sector weighing the
        # same however finely it is meshed). A least-variance direction would do on a
        # bare band, but is tilted by an engraving's densely meshed sectors
        u, w = _plane_basis(best.axis)
        sector = (np.floor((np.arctan2(planar @ w, planar @ u) + np.pi) / (2 * np.pi) * 72)
                  .astype(int) % 72)
        lowest = np.full(72, np.inf)
        np.minimum.at(lowest, sector, radial)
        near = np.flatnonzero((radial < lowest[sector] + 0.015 * best.inner_radius)
                              & (np.abs(radial - best.inner_radius) < 0.08 * best.inner_radius))
        if len(near) < 20:
            break
        axis = _cylinder_axis(vertices[near], best, 1.0 / np.sqrt(np.bincount(sector[near])[sector[near]]))
        if axis is None:
            break
        best = fit_ring(vertices, points, weights, axis)
    return best


def _cylinder_axis(points: np.ndarray, fit: RingFit, weights: np.ndarray) -> np.ndarray | None:
    """The axis of the cylinder best fitting ``points`` (least squares over tilt, centre
    and radius, from ``fit``'s axis and centre), or None if the fit does not settle."""
    from scipy.optimize import least_squares

    u, w = _plane_basis(fit.axis)
    scale = fit.inner_radius

    def unpack(x):
        axis = fit.axis + x[0] * u + x[1] * w
        axis /= np.linalg.norm(axis)
        return axis, fit.centre + (x[2] * u + x[3] * w) * scale, x[4] * scale

    def residuals(x):
        axis, centre, radius = unpack(x)
        rel = points - centre
        planar = rel - np.outer(rel @ axis, axis)
        return (np.linalg.norm(planar, axis=1) - radius) / scale * weights

    try:
        result = least_squares(residuals, np.array([0.0, 0.0, 0.0, 0.0, 1.0]), method="lm")
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not result.success or np.hypot(result.x[0], result.x[1]) > 0.2:
        return None
    return unpack(result.x)[0]


def is_ring(fit: RingFit) -> bool:
    return (fit.inner_radius > 0.45 * fit.outer_radius and fit.empty_fraction < 0.02
            and fit.roundness < 0.08 and fit.coverage >= 0.75)


def analyse_ring(parts: list[Part], units: str, name: str, fit: RingFit | None = None):
    fit = fit or find_ring(parts)
    if not is_ring(fit):
        raise MeasureError(f"{name}: no ring found (no clear round hole through the model)",
                           hint="for earrings use --kind earring")
    unit, mm = pick_unit(2 * fit.inner_radius, units, *RING_DIAMETER_RANGE_MM, 17.5,
                           "inner diameter", name)
    # head direction: where the outer surface reaches farthest from the axis
    z = fit.axis
    u, w = _plane_basis(z)
    points, weights = face_samples(parts, limit=30000)
    rel = points - fit.centre
    planar = rel - np.outer(rel @ z, z)
    radial = np.linalg.norm(planar, axis=1)
    far = radial >= np.percentile(radial, 97)  # never empty, even when radii tie
    far_weights = weights[far]  # face areas: all zero where only needle faces stick out
    head = np.average(planar[far], axis=0, weights=far_weights if far_weights.sum() > 0 else None)
    asym = np.linalg.norm(head) / max(fit.outer_radius, 1e-12)
    y = head / np.linalg.norm(head) if asym > 0.5 else u
    x = np.cross(y, z)
    rot = np.stack([x, y, z])
    posed = [p.copy(vertices=(p.vertices - fit.centre) @ rot.T * mm, source=(i, None))
             for i, p in enumerate(parts)]
    for p in posed:
        p.role = "ring"
    top = max(float(p.vertices[:, 1].max()) for p in posed)
    sizes = ring_sizes(2 * fit.inner_radius * mm)
    anchors = {"ring_centre": [0.0, 0.0, 0.0], "ring_top": [0.0, top, 0.0]}
    warnings = []
    if not (RING_DIAMETER_RANGE_MM[0] <= sizes["inner_diameter_mm"] <= RING_DIAMETER_RANGE_MM[1]):
        warnings.append(f"inner diameter {sizes['inner_diameter_mm']} mm is outside the usual ring sizes")
    measurements = {"ring": {**sizes, "outer_diameter_mm": round(2 * fit.outer_radius * mm, 3),
                             "has_head": bool(asym > 0.5), "roundness": round(fit.roundness, 4)}}
    return Analysis(posed, anchors, measurements, unit, mm, rot, {}, warnings, "ring",
                    np.asarray(fit.centre, dtype=float))


def _pieces(parts: list[Part]):
    from lgcraft.meshes.repair import face_components

    out = []
    for part in parts:
        labels = face_components(part)
        for label in np.unique(labels):
            faces = part.faces[labels == label]
            used = np.unique(faces)
            out.append(part.vertices[used])
    return out


def analyse_earring(parts: list[Part], units: str, name: str):
    allv = np.vstack([p.vertices for p in parts])
    _, axes = weighted_axes(allv, np.ones(len(allv)))
    size = float(np.ptp(allv @ axes.T, axis=0).max())
    unit, mm = pick_unit(size, units, *EARRING_SIZE_RANGE_MM, 20.0, "size", name)
    pieces = [v * mm for v in _pieces(parts)]
    allmm = allv * mm
    post = None
    for v in pieces:
        vals, ax = weighted_axes(v, np.ones(len(v)))
        ext = np.ptp(v @ ax.T, axis=0)  # ascending variance axes
        if not (4.0 <= ext[2] <= 25.0 and ext[1] <= 2.0 and ext[2] >= 4 * ext[1]
                and len(v) < 0.8 * len(allmm)):
            continue
        rest = np.vstack([p for p in pieces if p is not v]) if len(pieces) > 1 else None
        if rest is None:
            continue
        # a post stands square to a flat ornament and starts at its surface
        _, rax = weighted_axes(rest, np.ones(len(rest)))
        from lgcraft.meshes.kdtree import kdtree, nearest

        gap = nearest(kdtree(rest), v)[0].min()
        if abs(ax[2] @ rax[0]) > 0.8 and gap < 1.0:
            post = (v, ax[2])
            break
    warnings = []
    if post is not None:
        v, direction = post
        rest = np.vstack([p for p in pieces if p is not v]) if len(pieces) > 1 else allmm
        ornament_c = rest.mean(axis=0)
        t = (v - ornament_c) @ direction
        if np.abs(t.max()) < np.abs(t.min()):
            direction = -direction
            t = -t
        # the anchor: the end of the post nearest the ornament (where the lobe sits)
        base_t = t.min()
        anchor = ornament_c + direction * base_t
        on_axis = v[np.abs(t - base_t) < 0.6]
        if len(on_axis):
            anchor = on_axis.mean(axis=0)
        z = -direction  # the post goes back into the ear: -Z
        _, oax = weighted_axes(rest, np.ones(len(rest)))
        y = oax[2] - (oax[2] @ z) * z
        if np.linalg.norm(y) < 1e-6:
            y = np.cross(z, np.array([1.0, 0.0, 0.0]))
        y /= np.linalg.norm(y)
        offset = (rest.mean(axis=0) - anchor) @ y
        if offset > 0:  # the ornament hangs below the post
            y = -y
        style = "post"
    else:
        # hook: the long axis is vertical; the thin wire end is up
        vals, ax = weighted_axes(allmm, np.ones(len(allmm)))
        y = ax[2]
        t = (allmm - allmm.mean(axis=0)) @ y
        lo_t, hi_t = t.min(), t.max()
        span = hi_t - lo_t

        # the wire end carries far less surface per length than the ornament
        pts, wts = face_samples(parts, limit=30000)
        tp = (pts * mm - allmm.mean(axis=0)) @ y
        top_mass = wts[tp > hi_t - 0.25 * span].sum()
        bottom_mass = wts[tp < lo_t + 0.25 * span].sum()
        if bottom_mass < top_mass:
            y = -y
            t = -t
            top_mass, bottom_mass = bottom_mass, top_mass
        top = t.max()
        anchor = allmm[t > top - 0.3].mean(axis=0)
        z = ax[0] - (ax[0] @ y) * y
        z /= np.linalg.norm(z)
        side = (allmm - anchor) @ z
        if side.sum() < 0:
            z = -z
        style = "hook"
        if top_mass >= 0.8 * bottom_mass:
            warnings.append("no clear hook or post found; anchor set at the top of the piece")
            style = "top"
    x = np.cross(y, z)
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    rot = np.stack([x, y, z])
    posed = [p.copy(vertices=(p.vertices * mm - anchor) @ rot.T, source=(i, None))
             for i, p in enumerate(parts)]
    for p in posed:
        p.role = "earring"
    allp = np.vstack([p.vertices for p in posed])
    measurements = {"earring": {"style": style, "height_mm": round(float(np.ptp(allp[:, 1])), 3),
                                "width_mm": round(float(np.ptp(allp[:, 0])), 3),
                                "depth_mm": round(float(np.ptp(allp[:, 2])), 3)}}
    return Analysis(posed, {"piercing": [0.0, 0.0, 0.0]}, measurements, unit, mm,
                    rot, {}, warnings, "earring", np.asarray(anchor, dtype=float) / mm)


def analyse_jewelry(parts: list[Part], settings, name: str):
    """Ring or earring (``settings.kind``: ring, earring or jewelry = detect)."""
    if settings.kind == "ring":
        return analyse_ring(parts, settings.units, name)
    if settings.kind == "earring":
        return analyse_earring(parts, settings.units, name)
    fit = find_ring(parts)
    if is_ring(fit):
        return analyse_ring(parts, settings.units, name, fit)
    return analyse_earring(parts, settings.units, name)


def prep_jewelry(item: BatchItem, settings: PrepSettings) -> dict:
    """The batch job for one ring or earring file (see `lgcraft.meshes.batch`)."""
    return prep_model(item, settings, analyse_jewelry)


RING_FIELDS = ("inner_diameter_mm", "ring_size_iso", "ring_size_us")
FIELDS = tuple(f for f in mesh_row(FileResult("", "", "ok")) if f not in TAIL_FIELDS) \
    + RING_FIELDS + TAIL_FIELDS


def jewelry_row(result: FileResult) -> dict:
    """One piece's row in batch.json/batch.csv."""
    ring = (result.report or {}).get("ring") or {}
    row = mesh_row(result)
    tail = {k: row.pop(k) for k in TAIL_FIELDS}
    return {**row, "inner_diameter_mm": ring.get("inner_diameter_mm"),
            "ring_size_iso": ring.get("size_iso"), "ring_size_us": ring.get("size_us"), **tail}


def prep_pieces(paths: Sequence[Path], out_dir: Path, settings: PrepSettings, *, jobs: int = 1,
                resume: bool = False, on_done: Callable[[FileResult], None] | None = None,
                ) -> BatchResult:
    """Prepare every ring/earring file (``jobs`` cores); writes batch.json/batch.csv."""
    return run_batch(paths, out_dir, prep_jewelry, settings, jobs=jobs, resume=resume,
                     on_done=on_done, row=jewelry_row, fields=FIELDS, warm=warm)
