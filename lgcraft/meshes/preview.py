"""Preview renders of a prepared model (headless OpenGL through pyrender/EGL), on a
neutral grey studio background that shows light and dark frames alike.

The model is rendered over the background's middle grey (what transparent lenses show
through) at twice the size; pixels the model does not cover take a soft vertical grey
gradient, and the image is averaged down (anti-aliased edges). The gradient and the
shading are computed in floating point and dithered once when quantised to 8 bits, so
neither shows bands. Shading is smooth (the vertex normals the GLB carries, as a viewer
shows it), lit by a key, a fill and a rim light; blended (transparent) surfaces show their
front faces only, so their look does not depend on the order of their triangles. The cameras frame the model's points
(`camera_poses`); two versions of a model rendered with the same poses compare pixel by
pixel.

>>> pngs = render_previews(build_scene(parts, anchors))      # doctest: +SKIP
>>> sorted(pngs)                                            # doctest: +SKIP
['front', 'three_quarter']
"""

from __future__ import annotations

import io
import os

import numpy as np

from lgcraft.errors import DependencyError

VIEWS = {"front": (0.0, 0.0), "three_quarter": (40.0, 12.0)}  # yaw, pitch in degrees
BACKGROUND_TOP = (0.80, 0.80, 0.81)  # light grey above...
BACKGROUND_BOTTOM = (0.56, 0.56, 0.58)  # ...to a darker grey below: a studio sweep
SUPERSAMPLE = 2


def studio_background(size: int) -> np.ndarray:
    """(size, size, 3) float image in 0..1: a vertical grey gradient, lighter behind the
    middle, before dithering."""
    y = np.linspace(0.0, 1.0, size)[:, None, None]
    x = np.linspace(-1.0, 1.0, size)[None, :, None]
    top, bottom = np.array(BACKGROUND_TOP), np.array(BACKGROUND_BOTTOM)
    smooth = y * y * (3 - 2 * y)  # smoothstep: no visible seam where the sweep bends
    image = top + (bottom - top) * smooth
    vignette = 1.0 - 0.06 * (x * x + (2 * y - 1.1) ** 2)
    return np.clip(image * vignette, 0.0, 1.0)


def to_png(image: np.ndarray, seed: int = 0) -> bytes:
    """A float RGB image (0..1) as PNG, with triangular dither (±1 LSB) so smooth
    gradients quantise without bands."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    noise = rng.random(image.shape) - rng.random(image.shape)
    pixels = np.clip(np.floor(image * 255.0 + 0.5 + noise), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def scene_points(scene, limit: int = 50_000) -> np.ndarray:
    """World-space vertices of ``scene`` (an even subset of at most ``limit``)."""
    points = []
    for node in scene.graph.nodes_geometry:
        transform, geom_name = scene.graph[node]
        vertices = np.asarray(scene.geometry[geom_name].vertices, dtype=float)
        points.append(vertices @ transform[:3, :3].T + transform[:3, 3])
    allv = np.vstack(points) if points else np.zeros((1, 3))
    return allv[:: max(1, len(allv) // limit)]


def camera_poses(points: np.ndarray, fov: float = np.radians(30.0), fill: float = 0.85,
                 ) -> dict[str, np.ndarray]:
    """One camera pose per view, looking at the middle of ``points`` from the view's
    direction, as close as keeps every point inside ``fill`` of the frame."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = 0.5 * (lo + hi)
    poses = {}
    for name, (yaw_deg, pitch_deg) in VIEWS.items():
        yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
        direction = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
        axes = _look_at(centre + direction, centre)
        rel = points - centre
        right, up = rel @ axes[:3, 0], rel @ axes[:3, 1]
        # centre the projected extent, then back off until the widest point fits
        shift = 0.5 * (right.max() + right.min()) * axes[:3, 0] + 0.5 * (up.max() + up.min()) * axes[:3, 1]
        rel = rel - shift
        lateral = np.maximum(np.abs(rel @ axes[:3, 0]), np.abs(rel @ axes[:3, 1]))
        toward = rel @ direction
        distance = float((toward + lateral / (np.tan(fov / 2) * fill)).max())
        target = centre + shift
        poses[name] = _look_at(target + direction * max(distance, 1e-3), target)
    return poses


def render_previews(scene, size: int = 512, poses: dict | None = None) -> dict[str, bytes]:
    """Front and three-quarter PNG previews (headless OpenGL through EGL, no GPU).

    ``poses`` (from `camera_poses`) fixes the cameras, e.g. to compare a decimated model
    with its original; by default they frame this scene.
    """
    return {name: to_png(image) for name, image in render_images(scene, size, poses).items()}


def render_images(scene, size: int = 512, poses: dict | None = None) -> dict[str, np.ndarray]:
    """The previews as float RGB arrays (0..1), before dithering."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    try:
        import pyrender
    except Exception as exc:
        raise DependencyError(f"no headless renderer ({type(exc).__name__}: {exc})",
                              hint="install Mesa EGL (libegl1 libegl-mesa0 libgl1-mesa-dri) and pyrender") from exc

    fov = np.radians(30.0)
    poses = poses or camera_poses(scene_points(scene), fov)
    behind_lenses = 0.5 * (np.array(BACKGROUND_TOP) + np.array(BACKGROUND_BOTTOM))
    render_scene = pyrender.Scene(bg_color=[*behind_lenses, 1.0], ambient_light=[0.22, 0.22, 0.23])
    for node in scene.graph.nodes_geometry:
        transform, geom_name = scene.graph[node]
        mesh = scene.geometry[geom_name]
        try:
            pm = pyrender.Mesh.from_trimesh(mesh, smooth=True)
        except Exception:  # odd materials: render the shape in grey
            import trimesh

            pm = pyrender.Mesh.from_trimesh(trimesh.Trimesh(mesh.vertices, mesh.faces, process=False),
                                            smooth=True)
        for primitive in pm.primitives:
            material = primitive.material
            if material is not None and getattr(material, "alphaMode", None) == "BLEND":
                # a closed transparent shell (a lens) blended front and back in triangle
                # order shows speckles and a tint that depends on the file's face order;
                # its front faces alone give one steady layer
                material.doubleSided = False
        render_scene.add(pm, pose=transform)
    camera = pyrender.PerspectiveCamera(yfov=fov, znear=0.001, zfar=100.0)
    big = size * SUPERSAMPLE
    try:
        renderer = pyrender.OffscreenRenderer(big, big)
    except Exception as exc:
        raise DependencyError(f"no headless OpenGL context ({type(exc).__name__}: {exc})",
                              hint="install Mesa EGL: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri") from exc
    background = studio_background(big)
    images: dict[str, np.ndarray] = {}
    try:
        for name, pose in poses.items():
            added = [render_scene.add(camera, pose=pose)]
            # key above-left-front, fill from the right, rim from behind: relative to the camera
            for light_yaw, light_pitch, intensity in ((-35, 35, 2.6), (50, 5, 1.1), (160, 40, 1.6)):
                added.append(render_scene.add(pyrender.DirectionalLight(intensity=intensity),
                                              pose=pose @ _rotation(light_yaw, light_pitch)))
            rgb, depth = renderer.render(render_scene)
            for node in added:
                render_scene.remove_node(node)
            image = rgb[..., :3].astype(np.float64) / 255.0
            empty = depth <= 0
            image[empty] = background[empty]
            images[name] = _downsample(image, SUPERSAMPLE)
    finally:
        renderer.delete()
    return images


def preview_difference(reference: np.ndarray, other: np.ndarray, threshold: float = 3 / 255,
                       ) -> float:
    """Mean absolute difference (0-255) between two previews from the same camera, over
    the model's pixels: those where either image departs from the studio background by
    more than ``threshold``. The background alone would water the mean down."""
    size = reference.shape[0]
    background = _downsample(studio_background(size * SUPERSAMPLE), SUPERSAMPLE)
    model = ((np.abs(reference - background).max(axis=2) > threshold)
             | (np.abs(other - background).max(axis=2) > threshold))
    if not model.any():
        return 0.0
    return float(np.abs(reference - other)[model].mean() * 255.0)


def _downsample(image: np.ndarray, factor: int) -> np.ndarray:
    h, w, c = image.shape
    return image.reshape(h // factor, factor, w // factor, factor, c).mean(axis=(1, 3))


def _rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """A 4x4 rotation turning the camera's view direction by (yaw, pitch)."""
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    out = np.eye(4)
    out[:3, :3] = ry @ rx
    return out


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    forward = eye - target
    forward /= np.linalg.norm(forward)
    up = np.array([0.0, 1.0, 0.0])
    right = np.cross(up, forward)
    if np.linalg.norm(right) < 1e-6:
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    true_up = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, true_up, forward, eye
    return pose
