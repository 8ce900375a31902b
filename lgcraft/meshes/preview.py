"""Preview renders of a prepared model (headless OpenGL through pyrender/EGL).

>>> pngs = render_previews(build_scene(parts, anchors))      # doctest: +SKIP
>>> sorted(pngs)                                            # doctest: +SKIP
['front', 'three_quarter']
"""

from __future__ import annotations

import io
import os

import numpy as np

from lgcraft.errors import DependencyError


def render_previews(scene, size: int = 512) -> dict[str, bytes]:
    """Front and three-quarter PNG previews (headless OpenGL through EGL, no GPU)."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    try:
        import pyrender
    except Exception as exc:
        raise DependencyError(f"no headless renderer ({type(exc).__name__}: {exc})",
                              hint="install Mesa EGL (libegl1 libegl-mesa0 libgl1-mesa-dri) and pyrender") from exc
    from PIL import Image

    bounds = scene.bounds
    centre = bounds.mean(axis=0)
    radius = float(np.linalg.norm(bounds[1] - bounds[0])) / 2 or 1.0
    render_scene = pyrender.Scene(bg_color=[1.0, 1.0, 1.0, 1.0], ambient_light=[0.35, 0.35, 0.35])
    for node in scene.graph.nodes_geometry:
        transform, geom_name = scene.graph[node]
        mesh = scene.geometry[geom_name]
        try:
            pm = pyrender.Mesh.from_trimesh(mesh, smooth=False)
        except Exception:  # odd materials: render the shape in grey
            import trimesh

            pm = pyrender.Mesh.from_trimesh(trimesh.Trimesh(mesh.vertices, mesh.faces, process=False),
                                            smooth=False)
        render_scene.add(pm, pose=transform)
    camera = pyrender.PerspectiveCamera(yfov=np.radians(30.0))
    distance = radius / np.tan(np.radians(15.0)) * 1.05
    views = {"front": (0.0, 0.0), "three_quarter": (np.radians(40.0), np.radians(12.0))}
    images: dict[str, bytes] = {}
    try:
        renderer = pyrender.OffscreenRenderer(size, size)
    except Exception as exc:
        raise DependencyError(f"no headless OpenGL context ({type(exc).__name__}: {exc})",
                              hint="install Mesa EGL: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri") from exc
    try:
        for name, (yaw, pitch) in views.items():
            direction = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
            eye = centre + direction * distance
            pose = _look_at(eye, centre)
            cam_node = render_scene.add(camera, pose=pose)
            light = render_scene.add(pyrender.DirectionalLight(intensity=3.0), pose=pose)
            colour, _ = renderer.render(render_scene)
            render_scene.remove_node(cam_node)
            render_scene.remove_node(light)
            buf = io.BytesIO()
            Image.fromarray(colour).save(buf, format="PNG")
            images[name] = buf.getvalue()
    finally:
        renderer.delete()
    return images


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
