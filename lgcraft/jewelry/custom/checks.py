"""Manufacturability checks, measured on the final mesh (never taken from the order).

- walls: rays from the surface straight into the metal (stratified over every part of
  the piece: shank, each prong, rail, bezel, seat, engraving); where the ray leaves
  through a wall facing the other way (normals within 30 degrees of opposite), the
  length is the wall there. Knife-edge ridges and the sides of engraved strokes are not
  "walls" in this sense (their faces meet at an angle or belong to the engraving's own
  check).
- prongs: the metal sliced across at several heights between the shank and the seat
  (clear of the gallery rail); each prong's diameter is its slices' smallest width.
- engraving: the groove floors' depth below the untouched surface, and the strokes'
  width from the groove openings rasterised at 0.01 mm: at each pixel the shortest run
  across it (rows, columns, diagonals), the 10th percentile over the strokes.
- stone fit: the metal sliced through the girdle; the gap between each prong's (or the
  bezel's) seat and the stone's outline, the seat depth, and the metal behind it.
- topology: closed (every edge shared by two faces), one body.

Default limits come from casting practice, each one a setting (``--limit`` or
``[jewelry]`` config keys): surfaces at least 0.8 mm, prongs at least 0.6 mm,
engravings at least 0.3 mm wide (Gemwares CAD requirements for casting,
gemwares.com); shells around 0.7 mm, filigree down to about 0.3 mm (Formlabs Castable
Wax, summarised by saqlainbullion.com); up to 0.25 mm of surface lost to filing and
polishing (Gemwares), so a groove shallower than 0.15 mm is gone after finishing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from lgcraft.errors import InputError


@dataclass(frozen=True)
class Limits:
    """Fail below ``min_*``, warn below ``warn_*`` (mm)."""

    min_wall_mm: float = 0.6
    warn_wall_mm: float = 0.8
    min_prong_mm: float = 0.6
    warn_prong_mm: float = 0.8
    min_engrave_depth_mm: float = 0.15
    warn_engrave_depth_mm: float = 0.3
    min_stroke_mm: float = 0.15
    warn_stroke_mm: float = 0.3
    max_seat_gap_mm: float = 0.1
    warn_seat_gap_mm: float = 0.05
    min_seat_depth_mm: float = 0.1

    SOURCES = {
        "wall": "Gemwares CAD requirements (surfaces >= 0.8 mm); shells ~0.7 mm (Formlabs Castable Wax)",
        "prong": "Gemwares CAD requirements (prongs >= 0.6 mm); 0.8 mm posts and prongs (misterjewel.com)",
        "engraving_depth": "Gemwares: up to 0.25 mm lost to filing and polishing",
        "engraving_stroke": "Gemwares CAD requirements (engravings >= 0.3 mm wide)",
        "stone_fit": "seat clearance of a cutter (JewelCraft cutters); a girdle loose by > 0.1 mm rattles",
    }


def limits_from(values: dict[str, float]) -> Limits:
    """`Limits` with ``values`` overriding the defaults (names without the ``_mm``)."""
    known = {f.name for f in fields(Limits)}
    data = {}
    for key, value in values.items():
        name = key if key.endswith("_mm") else f"{key}_mm"
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, sorted(known), n=1)
            raise InputError(f"--limit {key}: unknown limit",
                             hint=f"did you mean {close[0][:-3]!r}?" if close else
                             "limits: " + ", ".join(sorted(k[:-3] for k in known)))
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"--limit {key}={value!r}: not a number") from None
        if not (math.isfinite(number) and 0 <= number <= 10):
            raise InputError(f"--limit {key}={value!r}: must be 0-10 mm")
        data[name] = number
    return Limits(**data)


@dataclass
class Check:
    name: str
    status: str              # pass | warn | fail
    measured_mm: float | None
    limit: str
    where: str = ""
    detail: dict = field(default_factory=dict)


def clock_position(x: float, y: float) -> str:
    """Where around the finger: 12 o'clock is the head (+Y), 3 o'clock +X."""
    hour = round((math.degrees(math.atan2(x, y)) % 360) / 30) % 12
    return f"{12 if hour == 0 else hour} o'clock"


def _where(region: str, point) -> str:
    x, y, z = (float(c) for c in point)
    return f"{region} at {clock_position(x, y)} (x {x:.1f}, y {y:.1f}, z {z:.1f} mm)"


def _grade(value: float, fail_below: float, warn_below: float) -> str:
    if value < fail_below - 1e-9:
        return "fail"
    if value < warn_below - 1e-9:
        return "warn"
    return "pass"


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique imports numpy.ma, a tenth of a second)."""
    ordered = np.sort(np.asarray(values).ravel())
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _percentile(values: np.ndarray, q: float) -> float:
    """Linear-interpolated percentile (np.percentile would import numpy.ma)."""
    ordered = np.sort(np.asarray(values, dtype=float).ravel())
    position = (len(ordered) - 1) * q / 100
    low = int(np.floor(position))
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def _face_frames(vertices: np.ndarray, faces: np.ndarray):
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = 0.5 * np.linalg.norm(normal, axis=1)
    normal = normal / np.maximum(2 * area, 1e-30)[:, None]
    return tri.mean(axis=1), normal, area


def wall_thickness(solid, vertices, faces, face_region, regions: dict[int, str], *,
                   rays_per_region: int = 64, reach_mm: float = 8.0):
    """(thinnest wall mm, where, rays) from rays cast into the metal.

    Each part of the piece gets its own rays (area-weighted over its faces), so a thin
    prong is not outvoted by the shank. A part's wall is its thinnest patch, not its
    thinnest ray: the k-th smallest of its opposite-wall lengths, k = max(3, 3 % of
    its rays), so a single ray grazing the rim of a seat notch does not fail a piece.
    Rays that start or end on the side of an engraved stroke measure the land beside a
    groove, not a wall: the engraving's own checks cover it.
    """
    from lgcraft.meshes.kdtree import kdtree, nearest

    centres, normals, area = _face_frames(vertices, faces)
    engraving = next((k for k, v in regions.items() if v == "engraving"), None)
    radial = centres[:, :2] / np.maximum(np.linalg.norm(centres[:, :2], axis=1), 1e-9)[:, None]
    stroke_side = (face_region == engraving) & (np.abs(np.einsum("ij,ij->i", normals[:, :2], radial)) < 0.7)
    starts, lengths, regions_of = [], [], []
    for rid, region in regions.items():
        chosen = np.flatnonzero((face_region == rid) & (area > 1e-6) & ~stroke_side)
        if not len(chosen):
            continue
        count = rays_per_region * (3 if region == "shank" else 1)
        if len(chosen) > count:  # systematic sampling by area: repeatable, no RNG
            cumulative = np.cumsum(area[chosen])
            marks = (np.arange(count) + 0.5) * cumulative[-1] / count
            chosen = _distinct(chosen[np.searchsorted(cumulative, marks)])
        for i in chosen:
            start = centres[i] - normals[i] * 1e-4
            hits = solid.ray_cast(tuple(start), tuple(start - normals[i] * reach_mm))
            if not hits:
                continue
            hit = hits[0]  # its distance is the fraction of the segment
            if float(np.dot(np.asarray(hit.normal), normals[i])) > -0.866:
                continue  # not two opposite walls: an edge, a ridge, a corner
            starts.append(i)
            lengths.append((hit.distance * reach_mm + 1e-4, hit.position))
            regions_of.append(region)
    if not starts:
        return math.inf, "", 0
    ends = np.array([p for _, p in lengths], dtype=float)
    _, hit_face = nearest(kdtree(centres), ends)
    best = (math.inf, "", None)
    by_region: dict[str, list[tuple[float, int]]] = {}
    for k, i in enumerate(starts):
        if stroke_side[int(hit_face[k])]:
            continue
        by_region.setdefault(regions_of[k], []).append((lengths[k][0], i))
    for region, found in by_region.items():
        found.sort()
        thickness, i = found[min(len(found) - 1, max(2, int(0.03 * len(found))))]
        if thickness < best[0]:
            best = (thickness, region, centres[i])
    return best[0], (_where(best[1], best[2]) if best[2] is not None else ""), len(starts)


def _min_width(points: np.ndarray) -> float:
    """Smallest width of a 2-D point set over 180 directions (min Feret diameter)."""
    angles = np.linspace(0, np.pi, 180, endpoint=False)
    dirs = np.column_stack([np.cos(angles), np.sin(angles)])
    proj = points @ dirs.T
    return float((proj.max(axis=0) - proj.min(axis=0)).min())


def _rotation_to_z(axis: np.ndarray) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(axis, z)
    c = float(axis @ z)
    if np.linalg.norm(v) < 1e-9:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * (1 / (1 + c))


def _slice_polygons(solid, rotation: np.ndarray, height: float) -> list[np.ndarray]:
    matrix = np.zeros((3, 4))
    matrix[:, :3] = rotation
    section = solid.transform(matrix).slice(height)
    return [np.asarray(p, dtype=float) for p in section.to_polygons()]


def _inside(polygon: np.ndarray, point: np.ndarray) -> bool:
    x, y = point
    xs, ys = polygon[:, 0], polygon[:, 1]
    xn, yn = np.roll(xs, -1), np.roll(ys, -1)
    crosses = ((ys > y) != (yn > y)) & (x < (xn - xs) * (y - ys) / np.where(yn != ys, yn - ys, 1e-30) + xs)
    return bool(crosses.sum() % 2)


def prong_diameters(solid, vertices, faces, face_region, regions, piece) -> list[dict]:
    """Each prong's smallest width, from horizontal slices of the final metal between the
    shank and the seat (clear of the gallery rail); a slanted prong's slice is an
    ellipse whose smallest width is still the prong's diameter."""
    prongs = {}
    for rid, region in regions.items():
        if region.startswith("prong"):
            pts = vertices[_distinct(faces[face_region == rid])]
            if len(pts):
                c = pts.mean(axis=0)
                prongs[region] = math.atan2(c[2], c[0])
    if not prongs or piece.seat is None:
        return []
    seat = piece.seat
    knee_y = seat.girdle_bottom_y - 0.45 * (seat.girdle_bottom_y - seat.culet_y)
    rail = max(0.85, 0.8 * piece.order.prong_diameter_mm) / 2 + 0.15
    shank_top = piece.order.band.inner_radius_mm + piece.order.band.thickness_mm
    heights = [y for y in np.linspace(shank_top + 0.3, seat.girdle_bottom_y - 0.45, 5)
               if abs(y - knee_y) > rail]
    rotation = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # Y -> Z; (x, z) -> (x, -z)
    widths: dict[str, tuple[float, float]] = {}
    for y in heights:
        for poly in _slice_polygons(solid, rotation, float(y)):
            xz = np.column_stack([poly[:, 0], -poly[:, 1]])
            centre = xz.mean(axis=0)
            if np.hypot(*centre) < 0.2:
                continue
            angle = math.atan2(centre[1], centre[0])
            name = min(prongs, key=lambda n: abs((prongs[n] - angle + math.pi) % (2 * math.pi) - math.pi))
            if abs((prongs[name] - angle + math.pi) % (2 * math.pi) - math.pi) > 0.5:
                continue
            width = _min_width(xz)
            if name not in widths or width < widths[name][0]:
                widths[name] = (width, float(y))
    out = []
    for name in sorted(widths):
        width, y = widths[name]
        point = (math.cos(prongs[name]), y, math.sin(prongs[name]))
        out.append({"prong": name, "diameter_mm": round(width, 3), "where": f"{name} at height {y:.1f} mm",
                    "point": point})
    return out


def engraving_measures(vertices, faces, face_region, regions, section, side: str,
                       signet_top_y: float | None, px_mm: float = 0.01) -> dict | None:
    """Depth of the groove floors and the thinnest stroke, from the engraving's faces."""
    rid = next((k for k, v in regions.items() if v == "engraving"), None)
    if rid is None:
        return None
    mask = face_region == rid
    if not mask.any():
        return None
    centres, normals, area = _face_frames(vertices, faces[mask])
    tri = vertices[faces[mask]]
    if side == "top":
        surface_normal = np.tile([0.0, 1.0, 0.0], (len(centres), 1))
        depth = signet_top_y - centres[:, 1]
        flat = tri[:, :, [0, 2]]
    else:
        radial = centres[:, :2] / np.linalg.norm(centres[:, :2], axis=1)[:, None]
        r = np.linalg.norm(centres[:, :2], axis=1)
        if side == "inside":
            surface_normal = np.column_stack([-radial, np.zeros(len(r))])
            depth = r - section.inner_r(centres[:, 2])
            reference = section.inner_radius_mm
        else:
            surface_normal = np.column_stack([radial, np.zeros(len(r))])
            depth = section.outer_r(centres[:, 2]) - r
            reference = float(section.outer_r(0.0))
        phi = np.arctan2(tri[:, :, 1], tri[:, :, 0])
        phi = np.unwrap(phi.ravel() - (-np.pi / 2)).reshape(phi.shape)
        flat = np.stack([phi * reference, tri[:, :, 2]], axis=2)
    floors = (np.einsum("ij,ij->i", normals, surface_normal) > 0.9) & (depth > 0.01)
    if not floors.any():
        return None
    floor_depth = depth[floors]
    weights = area[floors]
    # strokes: the grooves' openings seen along the surface normal, as a mask
    from lgcraft.jewelry.custom.render import rasterize_mask

    mask_img, _ = rasterize_mask(flat, px_mm)
    widths = stroke_widths(mask_img) * px_mm
    # the thinnest tenth of the strokes (lower still are the corners and the tips)
    thinnest = float(_percentile(widths, 10)) if len(widths) else 0.0
    shallow = int(np.argmin(floor_depth))
    return {"depth_min_mm": round(float(floor_depth.min()), 3),
            "depth_mean_mm": round(float(np.average(floor_depth, weights=weights)), 3),
            "stroke_min_mm": round(thinnest, 3),
            "stroke_median_mm": round(float(_percentile(widths, 50)) if len(widths) else 0.0, 3),
            "where_shallow": _where("engraving", centres[floors][shallow])}


def _runs(mask: np.ndarray) -> np.ndarray:
    """For each pixel of ``mask``, the length of the run of set pixels along its row."""
    padded = np.pad(mask, ((0, 0), (1, 1)))
    flat = padded.ravel().astype(np.int8)
    edges = np.diff(flat)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = np.zeros(flat.size, dtype=np.int32)
    marks = np.zeros(flat.size + 1, dtype=np.int32)
    np.add.at(marks, starts + 1, ends - starts)
    np.add.at(marks, ends + 1, -(ends - starts))
    lengths = np.cumsum(marks)[:flat.size]
    return lengths.reshape(padded.shape)[:, 1:-1]


def _diagonal(mask: np.ndarray, flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """``mask`` with row r shifted right by r (by h-1-r with ``flip``): one diagonal
    direction becomes the columns; and the column index to shift back."""
    h, w = mask.shape
    rows = np.arange(h)[:, None] if not flip else (h - 1 - np.arange(h))[:, None]
    cols = np.arange(w)[None, :] + rows
    out = np.zeros((h, w + h), dtype=bool)
    out[np.arange(h)[:, None], cols] = mask
    return out, cols


def stroke_widths(mask: np.ndarray) -> np.ndarray:
    """Local stroke width (pixels) at every set pixel: the shortest run through it along
    rows, columns and both diagonals (diagonal steps count sqrt 2). A stroke at any angle
    is within 8 % of its true width (the nearest of the four directions is within 22.5
    degrees of square across it)."""
    if not mask.any():
        return np.zeros(0)
    best = np.minimum(_runs(mask), _runs(mask.T).T).astype(float)
    h = mask.shape[0]
    for flip in (False, True):
        sheared, cols = _diagonal(mask, flip)
        runs = _runs(sheared.T).T[np.arange(h)[:, None], cols] * math.sqrt(2)
        best = np.minimum(best, runs)
    return best[mask]


def stone_fit(solid, piece) -> dict | None:
    """Seat gaps, seat depth and the metal behind the seat, from a slice at the girdle."""
    from lgcraft.jewelry.custom.settings import FIT_CLEARANCE_MM, outline, outline_radius

    if piece.seat is None:
        return None
    stone, seat = piece.order.stone, piece.seat
    y = (seat.girdle_bottom_y + seat.girdle_top_y) / 2
    rotation = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # Y -> Z; (x, z) -> (x, -z)
    polygons = _slice_polygons(solid, rotation, y)
    girdle = outline(stone.shape.outline, stone.length_mm, stone.width_mm, n=192)
    holders = []
    for poly in polygons:
        xz = np.column_stack([poly[:, 0], -poly[:, 1]])
        r = np.hypot(xz[:, 0], xz[:, 1])
        i = int(np.argmin(r))
        angle = math.atan2(xz[i, 1], xz[i, 0])
        stone_r = outline_radius(girdle, angle)
        if abs(r[i] - stone_r) > 0.5:  # the bezel's outside, or metal clear of the girdle
            continue
        holders.append({"gap_mm": float(r[i] - stone_r), "seat_r": float(r[i]), "outer_r": float(r.max()),
                        "point": (float(xz[i, 0]), y, float(xz[i, 1])), "angle": angle})
    if not holders:
        return {"holders": 0}
    gaps = [h["gap_mm"] for h in holders]
    worst = max(holders, key=lambda h: abs(h["gap_mm"] - FIT_CLEARANCE_MM))
    return {"holders": len(holders), "gap_min_mm": round(min(gaps), 3), "gap_max_mm": round(max(gaps), 3),
            "worst": worst, "behind_seat_mm": round(min(h["outer_r"] - h["seat_r"] for h in holders), 3)}


def run_checks(piece, vertices, faces, face_region, limits: Limits) -> list[Check]:
    """Every check for a built piece, on its final mesh."""
    from lgcraft.meshes.repair import topology

    order = piece.order
    checks: list[Check] = []
    topo = topology(vertices, faces)
    closed = topo.watertight and topo.winding_consistent
    checks.append(Check("watertight", "pass" if closed else "fail", None, "every edge shared by two faces",
                        "" if closed else f"{topo.boundary_edges} open and {topo.nonmanifold_edges} "
                        "non-manifold edges", {"boundary_edges": topo.boundary_edges,
                                               "nonmanifold_edges": topo.nonmanifold_edges}))
    checks.append(Check("one_body", "pass" if topo.components == 1 else "fail", None, "1 body",
                        "" if topo.components == 1 else f"{topo.components} separate bodies",
                        {"bodies": topo.components}))
    thinnest, where, samples = wall_thickness(piece.metal, vertices, faces, face_region, piece.regions)
    if math.isfinite(thinnest):
        checks.append(Check("wall", _grade(thinnest, limits.min_wall_mm, limits.warn_wall_mm),
                            round(thinnest, 3), f">= {limits.min_wall_mm} mm (warn < {limits.warn_wall_mm})",
                            where, {"rays": samples}))
    prongs = prong_diameters(piece.metal, vertices, faces, face_region, piece.regions, piece)
    if prongs:
        thinnest_prong = min(prongs, key=lambda p: p["diameter_mm"])
        checks.append(Check("prong_diameter", _grade(thinnest_prong["diameter_mm"], limits.min_prong_mm,
                                                     limits.warn_prong_mm),
                            thinnest_prong["diameter_mm"],
                            f">= {limits.min_prong_mm} mm (warn < {limits.warn_prong_mm})",
                            thinnest_prong["where"], {"prongs": prongs}))
    if order.engrave:
        measured = engraving_measures(vertices, faces, face_region, piece.regions, order.band,
                                      order.engrave_side, piece.signet_top_y)
        if measured is None:
            checks.append(Check("engraving_depth", "fail", 0.0, f">= {limits.min_engrave_depth_mm} mm",
                                "engraving: no groove found in the mesh"))
        else:
            checks.append(Check("engraving_depth", _grade(measured["depth_min_mm"], limits.min_engrave_depth_mm,
                                                          limits.warn_engrave_depth_mm),
                                measured["depth_min_mm"],
                                f">= {limits.min_engrave_depth_mm} mm (warn < {limits.warn_engrave_depth_mm})",
                                measured["where_shallow"], {"mean_mm": measured["depth_mean_mm"]}))
            checks.append(Check("engraving_stroke", _grade(measured["stroke_min_mm"], limits.min_stroke_mm,
                                                           limits.warn_stroke_mm),
                                measured["stroke_min_mm"],
                                f">= {limits.min_stroke_mm} mm (warn < {limits.warn_stroke_mm})",
                                f"engraving {order.engrave!r} ({order.engrave_side})",
                                {"median_mm": measured["stroke_median_mm"]}))
    fit = stone_fit(piece.metal, piece)
    if fit is not None:
        expected = 1 if order.setting == "bezel" else int(order.setting[0])
        if fit["holders"] < expected:
            checks.append(Check("stone_fit", "fail", None, f"{expected} seats at the girdle",
                                f"only {fit['holders']} of {expected} seats reach the girdle"))
        else:
            gap = max(abs(fit["gap_min_mm"]), abs(fit["gap_max_mm"]))
            status = ("fail" if gap > limits.max_seat_gap_mm or fit["gap_min_mm"] < -0.03 else
                      "warn" if gap > limits.warn_seat_gap_mm else "pass")
            seat_depth = None
            if prongs and order.setting != "bezel":
                thinnest_prong = min(p["diameter_mm"] for p in prongs)
                seat_depth = round(thinnest_prong - fit["behind_seat_mm"], 3)
                if seat_depth < limits.min_seat_depth_mm and status == "pass":
                    status = "warn"
            worst = fit["worst"]
            checks.append(Check("stone_fit", status, round(gap, 3),
                                f"girdle gap <= {limits.max_seat_gap_mm} mm (warn > {limits.warn_seat_gap_mm})",
                                _where("seat", worst["point"]),
                                {"seats": fit["holders"], "gap_min_mm": fit["gap_min_mm"],
                                 "gap_max_mm": fit["gap_max_mm"], "seat_depth_mm": seat_depth,
                                 "metal_behind_seat_mm": fit["behind_seat_mm"]}))
    return checks


def checks_json(checks: list[Check]) -> list[dict]:
    return [asdict(c) for c in checks]
