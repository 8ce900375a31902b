"""Compositing placed models onto the photo with the previews' headless renderer
(pyrender on EGL, Mesa llvmpipe without a GPU).

One pass draws, through a pinhole camera matching the photo, the models with their
glTF materials, the head occluder and a backdrop, the occluder and backdrop both
showing the photo itself (unlit), so a lens blends with the eye behind it as in the
photo. A second pass draws only the occluder and the backdrop, depth only. A model's
pixel shows where its depth is in front of the occluder's, so the head hides the
temples and the far side. Only the window around the models is rendered, at twice the
resolution for small windows, and averaged down: soft edges, the rest of the photo
untouched.

>>> with Compositor() as compositor:                                  # doctest: +SKIP
...     rgb, coverage = compositor.composite(photo_rgb, camera, layers, occluder)
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from lgcraft.errors import DependencyError

TRANSMISSION_OPACITY = 0.8  # KHR_materials_transmission t: drawn with alpha 1 - 0.8 t
DEFAULT_MATERIAL = {"pbrMetallicRoughness": {"baseColorFactor": [0.08, 0.08, 0.09, 1.0],
                                             "metallicFactor": 0.0, "roughnessFactor": 0.45}}
SUPERSAMPLE_MAX_PIXELS = 700 * 700  # windows up to this size render at 2x


def import_pyrender():
    """pyrender for offscreen EGL rendering, without its viewer (pyglet: ~0.2 s)."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    try:
        if "pyrender" not in sys.modules:
            import importlib
            import importlib.util

            spec = importlib.util.find_spec("pyrender")
            if spec is None:
                raise ImportError("pyrender")
            package = importlib.util.module_from_spec(spec)  # its __init__ not run
            sys.modules["pyrender"] = package
            try:
                for name in ("constants", "camera", "light", "material", "texture", "primitive",
                             "mesh", "node", "scene", "offscreen"):
                    module = importlib.import_module(f"pyrender.{name}")
                    for attr in getattr(module, "__all__", None) or dir(module):
                        if not attr.startswith("_"):
                            setattr(package, attr, getattr(module, attr))
            except BaseException:
                for key in [k for k in sys.modules if k == "pyrender" or k.startswith("pyrender.")]:
                    del sys.modules[key]
                raise
        import pyrender
    except Exception as exc:
        raise DependencyError(f"no headless renderer ({type(exc).__name__}: {exc})",
                              hint="install Mesa EGL (libegl1 libegl-mesa0 libgl1-mesa-dri) and "
                                   "pip install 'lgcraft[eyewear]'") from exc
    return pyrender


@dataclass
class Layer:
    """One model part to draw: its pyrender mesh (model mm) and where it goes."""

    mesh: object           # pyrender.Mesh
    pose: np.ndarray       # 4x4: model mm -> camera frame mm
    sample: np.ndarray     # a few of its vertices (model mm), for the window


def _texture(pyrender, gltf_texture, channels: str):
    image = gltf_texture.to_pil().convert(channels)
    sampler = pyrender.Sampler(magFilter=9729, minFilter=9987, wrapS=10497, wrapT=10497)
    return pyrender.Texture(source=np.asarray(image), source_channels=channels, sampler=sampler)


def pyrender_material(pyrender, material, cache: dict):
    """A glTF material (GltfMaterial or None) as a pyrender MetallicRoughnessMaterial."""
    key = id(material)
    if key in cache:
        return cache[key][1]
    spec = getattr(material, "spec", None) or DEFAULT_MATERIAL
    textures = getattr(material, "textures", []) or []
    pbr = spec.get("pbrMetallicRoughness", {}) or {}
    colour = [float(c) for c in pbr.get("baseColorFactor", [1.0, 1.0, 1.0, 1.0])]
    alpha_mode = spec.get("alphaMode", "OPAQUE")
    extensions = spec.get("extensions", {}) or {}
    transmission = extensions.get("KHR_materials_transmission", {}).get("transmissionFactor")
    if transmission:
        colour[3] *= 1.0 - TRANSMISSION_OPACITY * float(transmission)
        alpha_mode = "BLEND"

    def texture(info, channels):
        if isinstance(info, dict) and isinstance(info.get("index"), int) \
                and 0 <= info["index"] < len(textures):
            try:
                return _texture(pyrender, textures[info["index"]], channels)
            except Exception:  # an undecodable texture: the factors alone
                return None
        return None

    made = pyrender.MetallicRoughnessMaterial(
        baseColorFactor=colour,
        metallicFactor=float(pbr.get("metallicFactor", 1.0)),
        roughnessFactor=float(pbr.get("roughnessFactor", 1.0)),
        baseColorTexture=texture(pbr.get("baseColorTexture"), "RGBA"),
        metallicRoughnessTexture=texture(pbr.get("metallicRoughnessTexture"), "RGB"),
        emissiveFactor=spec.get("emissiveFactor"),
        emissiveTexture=texture(spec.get("emissiveTexture"), "RGB"),
        alphaMode=alpha_mode if alpha_mode in ("OPAQUE", "MASK", "BLEND") else "OPAQUE",
        alphaCutoff=float(spec.get("alphaCutoff", 0.5)),
        doubleSided=bool(spec.get("doubleSided", False)),
    )
    cache[key] = (material, made)  # keep the material alive: its id stays unique
    return made


def part_mesh(pyrender, part, cache: dict):
    """A model part (mm) as a pyrender mesh, smooth normals, the file's UVs and material."""
    from lgcraft.meshes.gltf import vertex_normals

    uv = None
    if part.uv is not None:
        uv = part.uv.copy()
        uv[:, 1] = 1.0 - uv[:, 1]  # back to glTF's top-left origin (pyrender uploads rows as-is)
    primitive = pyrender.Primitive(
        positions=part.vertices.astype(np.float32),
        normals=vertex_normals(part.vertices, part.faces).astype(np.float32),
        texcoord_0=None if uv is None else uv.astype(np.float32),
        indices=part.faces.astype(np.uint32),
        material=pyrender_material(pyrender, part.material, cache))
    return pyrender.Mesh([primitive], name=part.name)


class Compositor:
    """Holds the offscreen renderer; composites many models on many photos."""

    def __init__(self) -> None:
        self.pyrender = import_pyrender()
        self._renderer = None
        self.material_cache: dict = {}

    def __enter__(self) -> Compositor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.delete()
            self._renderer = None

    def _render_target(self, width: int, height: int):
        if self._renderer is None:
            try:
                self._renderer = self.pyrender.OffscreenRenderer(width, height)
            except Exception as exc:
                raise DependencyError(
                    f"no headless OpenGL context ({type(exc).__name__}: {exc})",
                    hint="install Mesa EGL: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri") from exc
        else:
            self._renderer.viewport_width, self._renderer.viewport_height = width, height
        return self._renderer

    def mesh_of(self, part):
        return part_mesh(self.pyrender, part, self.material_cache)

    def composite(self, photo_rgb: np.ndarray, camera, layers: list[Layer],
                  occluder: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        """(the photo with the layers drawn on it, the layers' coverage 0-1 per pixel)."""
        pyrender = self.pyrender
        height, width = photo_rgb.shape[:2]
        coverage = np.zeros((height, width), dtype=np.float32)
        samples = [layer.sample @ layer.pose[:3, :3].T + layer.pose[:3, 3] for layer in layers]
        points = np.concatenate(samples) if samples else np.zeros((0, 3))
        points = points[points[:, 2] < -1.0]  # in front of the camera
        if not len(points):
            return photo_rgb.copy(), coverage
        pixels = camera.project(points)
        x0 = int(np.clip(np.floor(pixels[:, 0].min()) - 4, 0, width))
        x1 = int(np.clip(np.ceil(pixels[:, 0].max()) + 4, 0, width))
        y0 = int(np.clip(np.floor(pixels[:, 1].min()) - 4, 0, height))
        y1 = int(np.clip(np.ceil(pixels[:, 1].max()) + 4, 0, height))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return photo_rgb.copy(), coverage
        win_w, win_h = x1 - x0, y1 - y0
        factor = 2 if win_w * win_h <= SUPERSAMPLE_MAX_PIXELS else 1
        window = np.ascontiguousarray(photo_rgb[y0:y1, x0:x1])
        # RGBA: rows of 4-byte pixels never meet OpenGL's 4-byte row alignment problem
        window_rgba = np.dstack([window, np.full(window.shape[:2], 255, np.uint8)])
        depth_scale = float(-points[:, 2].mean())
        scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=[0.42, 0.42, 0.42])
        backdrop_texture = pyrender.Texture(source=window_rgba, source_channels="RGBA",
                                            sampler=pyrender.Sampler(magFilter=9729, minFilter=9729,
                                                                     wrapS=33071, wrapT=33071))
        photo_material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[0.0, 0.0, 0.0, 1.0], metallicFactor=1.0, roughnessFactor=1.0,
            emissiveFactor=[1.0, 1.0, 1.0], emissiveTexture=backdrop_texture, doubleSided=True)

        def photo_mesh(vertices: np.ndarray, faces: np.ndarray):
            pix = camera.project(vertices)
            uv = np.column_stack([(pix[:, 0] - x0) / win_w, (pix[:, 1] - y0) / win_h])
            primitive = pyrender.Primitive(positions=vertices.astype(np.float32),
                                           texcoord_0=uv.astype(np.float32),
                                           normals=np.tile([0.0, 0.0, 1.0], (len(vertices), 1)).astype(np.float32),
                                           indices=faces.astype(np.uint32), material=photo_material)
            return pyrender.Mesh([primitive])

        far = depth_scale * 8.0
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
        backdrop = camera.unproject(corners, np.full(4, far))
        hidden = [scene.add(photo_mesh(backdrop, np.array([[0, 1, 2], [0, 2, 3]])))]
        if occluder is not None and len(occluder[1]):
            hidden.append(scene.add(photo_mesh(*occluder)))
        shown = [scene.add(layer.mesh, pose=layer.pose) for layer in layers]
        cam = pyrender.IntrinsicsCamera(fx=camera.focal_px * factor, fy=camera.focal_px * factor,
                                        cx=(camera.centre[0] - x0) * factor,
                                        cy=(camera.centre[1] - y0) * factor,
                                        znear=depth_scale * 0.05, zfar=far * 1.5)
        scene.add(cam, pose=np.eye(4))
        light_pose = np.eye(4)
        light_pose[:3, :3] = _rotation_towards(np.array([-0.35, 0.45, 1.0]))
        scene.add(pyrender.DirectionalLight(color=[1.0, 1.0, 1.0], intensity=2.6), pose=light_pose)
        renderer = self._render_target(win_w * factor, win_h * factor)
        colour, depth_all = renderer.render(scene)
        for node in shown:
            node.mesh.is_visible = False
        try:
            # (a plain pass: pyrender's DEPTH_ONLY pass drops textured primitives' triangles)
            _, depth_head = renderer.render(scene)
        finally:
            for node in shown:
                node.mesh.is_visible = True
        visible = (depth_all > 0) & ((depth_head <= 0) | (depth_all < depth_head - 0.3))
        visible_f = visible.astype(np.float32)
        rgb = colour[..., :3].astype(np.float32) * visible_f[..., None]
        if factor > 1:
            visible_f = visible_f.reshape(win_h, factor, win_w, factor).mean(axis=(1, 3))
            rgb = rgb.reshape(win_h, factor, win_w, factor, 3).mean(axis=(1, 3))
        out = photo_rgb.copy()
        cover = visible_f[..., None]
        mixed = window.astype(np.float32) * (1.0 - cover) + rgb  # rgb is already weighted
        out[y0:y1, x0:x1] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        coverage[y0:y1, x0:x1] = visible_f
        for node in hidden:
            scene.remove_node(node)
        return out, coverage


def _rotation_towards(direction: np.ndarray) -> np.ndarray:
    """A rotation whose -Z axis points along -direction (a light shining from direction)."""
    z = direction / np.linalg.norm(direction)
    x = np.cross([0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)
