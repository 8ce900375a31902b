"""A small software rasteriser (numpy only) for the custom pieces' previews and for
measuring engraved strokes: no OpenGL context, no pyrender import (which alone costs
about a second), so one piece's whole run stays within a second.

Triangles are scan-converted by enumerating the pixels of each one's bounding box
(vectorised over all triangles at once, in chunks), with a depth buffer; shading is
per face (flat), a key and a fill light over a metal colour.
"""

from __future__ import annotations

import io

import numpy as np


def _candidates(tri2d: np.ndarray, width: int, height: int, chunk: int = 1_000_000):
    """Yield (triangle index, pixel x, pixel y, barycentrics) for pixel centres inside
    each 2-D triangle (m, 3, 2) in pixel units."""
    lo = np.floor(tri2d.min(axis=1) - 0.5).astype(np.int32) + 1
    hi = np.floor(tri2d.max(axis=1) - 0.5).astype(np.int32)
    lo = np.maximum(lo, 0)
    hi[:, 0] = np.minimum(hi[:, 0], width - 1)
    hi[:, 1] = np.minimum(hi[:, 1], height - 1)
    w = np.maximum(hi[:, 0] - lo[:, 0] + 1, 0)
    h = np.maximum(hi[:, 1] - lo[:, 1] + 1, 0)
    counts = w.astype(np.int64) * h
    # barycentric coordinates as affine functions of the pixel centre, per triangle:
    # l_k = A_k x + B_k y + C_k (one gather and two multiply-adds per candidate each)
    a, b, c = tri2d[:, 0], tri2d[:, 1], tri2d[:, 2]
    den = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])
    den = np.where(np.abs(den) < 1e-12, 1e-12, den)
    a1, b1 = (b[:, 1] - c[:, 1]) / den, (c[:, 0] - b[:, 0]) / den
    a2, b2 = (c[:, 1] - a[:, 1]) / den, (a[:, 0] - c[:, 0]) / den
    # relative to each triangle's first pixel centre: small numbers, so float32 keeps
    # pixel centres on a shared edge inside one triangle or the other
    x0, y0 = lo[:, 0] + 0.5, lo[:, 1] + 0.5
    coef = np.stack([a1, b1, a1 * (x0 - c[:, 0]) + b1 * (y0 - c[:, 1]),
                     a2, b2, a2 * (x0 - c[:, 0]) + b2 * (y0 - c[:, 1])], axis=1).astype(np.float32)
    keep = np.flatnonzero(counts > 0)
    start = 0
    while start < len(keep):
        total = np.cumsum(counts[keep[start:]])
        stop = start + max(1, int(np.searchsorted(total, chunk)))
        idx = keep[start:stop]
        n = counts[idx]
        tri = np.repeat(idx.astype(np.int32), n)
        offset = (np.arange(int(n.sum()), dtype=np.int32)
                  - np.repeat((np.cumsum(n) - n).astype(np.int32), n))
        wt = w[tri]
        dx, dy = offset % wt, offset // wt
        px, py = lo[tri, 0] + dx, lo[tri, 1] + dy
        x, y = dx.astype(np.float32), dy.astype(np.float32)
        k = coef[tri]
        l1 = k[:, 0] * x + k[:, 1] * y + k[:, 2]
        l2 = k[:, 3] * x + k[:, 4] * y + k[:, 5]
        l3 = 1 - l1 - l2
        inside = (l1 >= -1e-5) & (l2 >= -1e-5) & (l3 >= -1e-5)
        yield tri[inside], px[inside], py[inside], np.column_stack([l1, l2, l3])[inside]
        start = stop


def rasterize_mask(tri2d_mm: np.ndarray, px_mm: float, pad: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A boolean image of the union of 2-D triangles (mm), ``px_mm`` per pixel; and the
    mm coordinate of pixel (0, 0)."""
    origin = tri2d_mm.reshape(-1, 2).min(axis=0) - pad * px_mm
    extent = tri2d_mm.reshape(-1, 2).max(axis=0) + pad * px_mm - origin
    width, height = (np.ceil(extent / px_mm).astype(int) + 1).tolist()
    image = np.zeros((height, width), dtype=bool)
    tri = (tri2d_mm - origin) / px_mm
    for _, px, py, _ in _candidates(tri, width, height):
        image[py, px] = True
    return image, origin


def zbuffer(tri_screen: np.ndarray, width: int, height: int, cull: bool = True) -> np.ndarray:
    """Index of the nearest triangle per pixel (-1 for background). ``tri_screen`` is
    (m, 3, 3): pixel x, pixel y (down), depth (smaller is nearer). ``cull`` skips
    triangles seen from behind (a closed solid never shows them)."""
    face = np.full(height * width, -1, dtype=np.int64)
    keep = np.arange(len(tri_screen))
    if cull:
        a, b, c = tri_screen[:, 0, :2], tri_screen[:, 1, :2], tri_screen[:, 2, :2]
        signed = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        keep = np.flatnonzero(signed < 0)  # y points down: front faces wind clockwise
        tri_screen = tri_screen[keep]
    depth = np.full(height * width, np.inf)
    for tri, px, py, bary in _candidates(tri_screen[:, :, :2], width, height):
        z = np.einsum("ij,ij->i", bary, tri_screen[tri, :, 2])
        pixel = py * width + px
        order = np.argsort(-z, kind="stable")  # far first: the nearest is written last
        pixel, z, tri = pixel[order], z[order], tri[order]
        nearer = z < depth[pixel]
        # among candidates of one pixel in this chunk, the last write (the nearest) wins
        face[pixel[nearer]] = keep[tri[nearer]]
        depth[pixel[nearer]] = z[nearer]
    return face.reshape(height, width)


def _look_at(eye, target, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-6:
        right = np.cross(forward, (0.0, 0.0, 1.0))
    right /= np.linalg.norm(right)
    true_up = np.cross(right, forward)
    return np.stack([right, true_up, forward])  # rows: camera x, y, z (z looks forward)


def shade(vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray, face_ids: np.ndarray,
          view_dir_cam: np.ndarray, rotation: np.ndarray, background=(255, 255, 255)) -> np.ndarray:
    """RGB image from the per-pixel face ids: flat shading, two lights and a highlight."""
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1), 1e-30)[:, None]
    n_cam = normal @ rotation.T
    key = np.array([-0.45, 0.6, -0.66])  # towards the light, camera frame
    key /= np.linalg.norm(key)
    fill = np.array([0.6, -0.2, -0.77])
    fill /= np.linalg.norm(fill)
    facing = -n_cam[:, 2]  # towards the camera
    diffuse = 0.25 + 0.6 * np.clip(n_cam @ key, 0, 1) + 0.25 * np.clip(n_cam @ fill, 0, 1)
    half = key + view_dir_cam
    half /= np.linalg.norm(half)
    spec = np.clip(n_cam @ half, 0, 1) ** 24 * 0.7
    lit = np.clip(colours * diffuse[:, None] + spec[:, None] * 255 * np.where(facing[:, None] > 0, 1, 0), 0, 255)
    image = np.empty(face_ids.shape + (3,), dtype=np.uint8)
    image[:] = background
    hit = face_ids >= 0
    image[hit] = lit[face_ids[hit]].astype(np.uint8)
    return image


def render_perspective(vertices, faces, colours, *, yaw_deg: float, pitch_deg: float,
                       size: int = 512, fov_deg: float = 30.0) -> np.ndarray:
    """An RGB image of the mesh seen from (yaw, pitch) around its bounding-box centre."""
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    centre = (lo + hi) / 2
    radius = float(np.linalg.norm(hi - lo)) / 2 or 1.0
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    direction = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    distance = radius / np.tan(np.radians(fov_deg / 2)) * 1.05
    eye = centre + direction * distance
    rotation = _look_at(eye, centre)
    cam = (vertices - eye) @ rotation.T
    focal = size / 2 / np.tan(np.radians(fov_deg / 2))
    z = np.maximum(cam[:, 2], 1e-6)
    screen = np.column_stack([size / 2 + focal * cam[:, 0] / z, size / 2 - focal * cam[:, 1] / z, z])
    ids = zbuffer(screen[faces], size, size)
    return shade(vertices, faces, colours, ids, np.array([0.0, 0.0, -1.0]), rotation)


def render_unrolled(vertices, faces, colours, *, radius: float, side: str,
                    span_mm: tuple[float, float], px_mm: float = 0.02) -> np.ndarray:
    """The band's inside (or outside) unrolled around 6 o'clock and seen square-on: x is
    arc length at ``radius``, y runs up the letters. Inside: what a loupe at the finger
    axis sees; outside: what one outside the ring sees."""
    r = np.hypot(vertices[:, 0], vertices[:, 1])
    phi = np.arctan2(vertices[:, 1], vertices[:, 0]) + np.pi / 2  # 0 at 6 o'clock
    phi = (phi + np.pi) % (2 * np.pi) - np.pi
    width_mm, height_mm = span_mm
    w, h = int(np.ceil(width_mm / px_mm)), int(np.ceil(height_mm / px_mm))
    up = -vertices[:, 2] if side == "inside" else vertices[:, 2]  # the letters' up
    depth = r if side == "inside" else -r                          # smaller is nearer
    screen = np.column_stack([w / 2 + phi * radius / px_mm, h / 2 - up / px_mm, depth])
    tri = screen[faces]
    # faces across the seam at 12 o'clock would wrap around the picture: leave them out
    ok = (np.ptp(tri[:, :, 0], axis=1) < w / 2) & (np.abs(phi[faces]).max(axis=1) < np.pi * 0.9)
    ids = zbuffer(tri[ok], w, h)
    ids = np.where(ids >= 0, np.flatnonzero(ok)[np.maximum(ids, 0)], -1)
    # normals in the unrolled camera frame: x along the arc, y up the letters, z forward
    tri3 = vertices[faces]
    normal = np.cross(tri3[:, 1] - tri3[:, 0], tri3[:, 2] - tri3[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1), 1e-30)[:, None]
    c = tri3.mean(axis=1)
    radial = c[:, :2] / np.maximum(np.linalg.norm(c[:, :2], axis=1), 1e-9)[:, None]
    tangent = np.column_stack([-radial[:, 1], radial[:, 0]])
    n_r = np.einsum("ij,ij->i", normal[:, :2], radial)
    n_t = np.einsum("ij,ij->i", normal[:, :2], tangent)
    inside = side == "inside"
    n_cam = np.column_stack([n_t, -normal[:, 2] if inside else normal[:, 2], n_r if inside else -n_r])
    return _shade_normals(n_cam, colours, ids)


def _shade_normals(n_cam: np.ndarray, colours: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """A loupe's light: from the eye (so a curved band reads evenly across its width),
    the engraving's depth already darkened into ``colours``."""
    diffuse = 0.35 + 0.65 * np.clip(-n_cam[:, 2], 0, 1)
    lit = np.clip(colours * diffuse[:, None], 0, 255)
    image = np.full(ids.shape + (3,), 255, dtype=np.uint8)
    hit = ids >= 0
    image[hit] = lit[ids[hit]].astype(np.uint8)
    return image


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=False, compress_level=1)
    return buf.getvalue()
