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

import json
import os
import sys
import types
from dataclasses import dataclass

import numpy as np

from lgcraft.errors import DependencyError

TRANSMISSION_OPACITY = 0.8  # KHR_materials_transmission t (factor x texture): alpha 1 - 0.8 t
DEFAULT_MATERIAL = {"pbrMetallicRoughness": {"baseColorFactor": [0.08, 0.08, 0.09, 1.0],
                                             "metallicFactor": 0.0, "roughnessFactor": 0.45}}
SUPERSAMPLE_MAX_PIXELS = 700 * 700  # windows up to this size render at 2x


class _TrimeshOnDemand(types.ModuleType):
    """Stands in for ``trimesh`` while pyrender imports: pyrender needs trimesh only in
    ``Mesh.from_trimesh`` and scene bounds, which drawing placed primitives never calls,
    and ``import trimesh`` costs ~0.5 s (scipy.spatial behind it). Its submodules
    (``trimesh.transformations``) import for real; any other attribute imports the real
    trimesh then and hands it over, so later users in the process see no difference."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if sys.modules.get("trimesh") is self:
            del sys.modules["trimesh"]
        import importlib

        real = importlib.import_module("trimesh")
        return getattr(real, name)


class _SceneGraph:
    """The part of networkx.DiGraph pyrender's Scene uses: nodes with one parent each
    (edges point child -> parent, up to 'world')."""

    def __init__(self) -> None:
        self._parent: dict = {}
        self._children: dict = {}

    def add_node(self, node) -> None:
        self._parent.setdefault(node, None)
        self._children.setdefault(node, set())

    def add_edge(self, child, parent) -> None:
        self.add_node(child)
        self.add_node(parent)
        self._parent[child] = parent
        self._children[parent].add(child)

    def neighbors(self, node):
        parent = self._parent[node]
        return iter(() if parent is None else (parent,))

    def remove_node(self, node) -> None:
        parent = self._parent.pop(node)
        if parent is not None and parent in self._children:
            self._children[parent].discard(node)
        for child in self._children.pop(node, ()):
            if self._parent.get(child) is node:
                self._parent[child] = None


def _shortest_path(graph: _SceneGraph, source, target) -> list:
    path = [source]
    while path[-1] != target:
        parent = graph._parent.get(path[-1])
        if parent is None:
            raise ValueError(f"no path from {source!r} to {target!r}")
        path.append(parent)
    return path


def _networkx_lite() -> types.ModuleType:
    """A stand-in for networkx in pyrender's scene module: ``import networkx`` costs
    ~0.3 s for a parent-pointer tree (see `_SceneGraph`)."""
    module = types.ModuleType("networkx")
    module.DiGraph = _SceneGraph
    module.shortest_path = _shortest_path
    return module


def import_pyrender():
    """pyrender for offscreen EGL rendering, without its viewer (pyglet: ~0.2 s) and,
    unless already loaded, without trimesh (see `_TrimeshOnDemand`)."""
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
            stand_in = None
            real_networkx = sys.modules.get("networkx")
            sys.modules["networkx"] = _networkx_lite()  # only pyrender.scene sees it
            if "trimesh" not in sys.modules:
                trimesh_spec = importlib.util.find_spec("trimesh")
                if trimesh_spec is not None:
                    stand_in = _TrimeshOnDemand("trimesh")
                    stand_in.__path__ = list(trimesh_spec.submodule_search_locations)
                    stand_in.__spec__ = trimesh_spec
                    sys.modules["trimesh"] = stand_in
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
            finally:
                if stand_in is not None and sys.modules.get("trimesh") is stand_in:
                    del sys.modules["trimesh"]  # a later import gets the real package
                if real_networkx is not None:
                    sys.modules["networkx"] = real_networkx
                else:
                    del sys.modules["networkx"]
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


def _texture_of(textures: list, info):
    if isinstance(info, dict) and isinstance(info.get("index"), int) and 0 <= info["index"] < len(textures):
        return textures[info["index"]]
    return None


def _mean_red(gltf_texture) -> float:
    try:
        return float(np.asarray(gltf_texture.to_pil().convert("RGB"))[..., 0].mean()) / 255.0
    except Exception:  # undecodable: as if fully transmissive (the factor alone)
        return 1.0


def _bake_transmission(pyrender, base, transmission, factor: float):
    """The base colour texture with alpha x (1 - 0.8 x factor x transmission.R)."""
    from PIL import Image

    rgba = np.asarray(base.to_pil().convert("RGBA")).astype(np.float32)
    mask = transmission.to_pil().convert("RGB")
    if mask.size != (rgba.shape[1], rgba.shape[0]):
        mask = mask.resize((rgba.shape[1], rgba.shape[0]), Image.BILINEAR)
    t = np.asarray(mask, dtype=np.float32)[..., 0] / 255.0 * factor
    rgba[..., 3] *= 1.0 - TRANSMISSION_OPACITY * t
    sampler = pyrender.Sampler(magFilter=9729, minFilter=9987, wrapS=10497, wrapT=10497)
    return pyrender.Texture(source=np.clip(rgba + 0.5, 0, 255).astype(np.uint8),
                            source_channels="RGBA", sampler=sampler)


def pyrender_material(pyrender, material, cache: dict):
    """A glTF material (GltfMaterial or None) as a pyrender MetallicRoughnessMaterial."""
    spec = getattr(material, "spec", None) or DEFAULT_MATERIAL
    textures = getattr(material, "textures", []) or []
    # parts read from one file share texture objects but not material objects: key on
    # the material's content, so each texture is decoded and uploaded once
    key = ("material", json.dumps(spec, sort_keys=True, default=str), tuple(map(id, textures)))
    if key in cache:
        return cache[key][1]
    pbr = spec.get("pbrMetallicRoughness", {}) or {}
    colour = [float(c) for c in pbr.get("baseColorFactor", [1.0, 1.0, 1.0, 1.0])]
    alpha_mode = spec.get("alphaMode", "OPAQUE")
    extensions = spec.get("extensions", {}) or {}
    transmission_spec = extensions.get("KHR_materials_transmission") or {}
    transmission = float(transmission_spec.get("transmissionFactor", 0.0) or 0.0)
    transmission_map = _texture_of(textures, transmission_spec.get("transmissionTexture"))
    base_info = pbr.get("baseColorTexture")
    base_map = _texture_of(textures, base_info)
    baked_base = None
    if transmission:
        alpha_mode = "BLEND"
        if transmission_map is not None and base_map is not None:
            # per texel: the transmission texture (its R channel) baked into the base
            # colour's alpha, both on the first UV set as prep writes them
            try:
                baked_base = _bake_transmission(pyrender, base_map, transmission_map, transmission)
            except Exception:  # an undecodable texture: the mean below
                baked_base = None
        if baked_base is None:
            mean = _mean_red(transmission_map) if transmission_map is not None else 1.0
            colour[3] *= 1.0 - TRANSMISSION_OPACITY * transmission * mean

    def texture(info, channels):
        if isinstance(info, dict) and isinstance(info.get("index"), int) \
                and 0 <= info["index"] < len(textures):
            source = textures[info["index"]]
            tex_key = ("texture", id(source), channels)
            if tex_key not in cache:
                try:
                    cache[tex_key] = (source, _texture(pyrender, source, channels))
                except Exception:  # an undecodable texture: the factors alone
                    cache[tex_key] = (source, None)
            return cache[tex_key][1]
        return None

    made = pyrender.MetallicRoughnessMaterial(
        baseColorFactor=colour,
        metallicFactor=float(pbr.get("metallicFactor", 1.0)),
        roughnessFactor=float(pbr.get("roughnessFactor", 1.0)),
        baseColorTexture=baked_base if baked_base is not None else texture(base_info, "RGBA"),
        metallicRoughnessTexture=texture(pbr.get("metallicRoughnessTexture"), "RGB"),
        emissiveFactor=spec.get("emissiveFactor"),
        emissiveTexture=texture(spec.get("emissiveTexture"), "RGB"),
        alphaMode=alpha_mode if alpha_mode in ("OPAQUE", "MASK", "BLEND") else "OPAQUE",
        alphaCutoff=float(spec.get("alphaCutoff", 0.5)),
        doubleSided=bool(spec.get("doubleSided", False)),
    )
    cache[key] = (textures, made)  # keep the textures alive: their ids stay unique
    return made


def part_mesh(pyrender, part, cache: dict):
    """A model part (mm) as a pyrender mesh, smooth normals, the file's UVs and material."""
    from lgcraft.meshes.gltf import vertex_normals

    # part UVs have trimesh's bottom-left origin, which is pyrender's too (it uploads
    # images bottom row first)
    uv = part.uv
    # about its own centre: pyrender orders see-through meshes by their nodes' positions,
    # so each part's node sits at the part (see `Compositor.composite`), far ones first
    centre = (part.vertices.min(axis=0) + part.vertices.max(axis=0)) / 2
    primitive = pyrender.Primitive(
        positions=(part.vertices - centre).astype(np.float32),
        normals=vertex_normals(part.vertices, part.faces).astype(np.float32),
        texcoord_0=None if uv is None else uv.astype(np.float32),
        indices=part.faces.astype(np.uint32),
        material=pyrender_material(pyrender, part.material, cache))
    mesh = pyrender.Mesh([primitive], name=part.name)
    mesh.lgcraft_centre = centre
    return mesh


def _node_pose(layer) -> np.ndarray:
    """The layer's model -> camera pose, moved to where its mesh's local origin is."""
    centre = getattr(layer.mesh, "lgcraft_centre", None)
    if centre is None:
        return layer.pose
    shift = np.eye(4)
    shift[:3, 3] = centre
    return layer.pose @ shift


def _release_context(renderer) -> None:
    """Make the renderer's EGL context current in no thread, so another may take it."""
    platform = getattr(renderer, "_platform", None)
    display = getattr(platform, "_egl_display", None)
    if display is None:
        return
    from OpenGL.EGL import EGL_NO_CONTEXT, EGL_NO_SURFACE, eglMakeCurrent

    eglMakeCurrent(display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT)


class Compositor:
    """Holds the offscreen renderer; composites many models on many photos."""

    def __init__(self, background: bool = False, parts: dict | None = None) -> None:
        """``background``: import pyrender, open the GL context and compile the usual
        shaders on another thread (GL calls release the GIL), while this one finds the
        face; the first composite waits for it. ``parts`` (key -> model part): their
        meshes are made, uploaded and drawn once there too (`prebuilt`), so the first
        composite finds their shaders, buffers and textures ready."""
        self._renderer = None
        self.material_cache: dict = {}
        self.prebuilt: dict = {}
        self._parts = parts or {}
        self._warm_error: BaseException | None = None
        self._warming = None
        if background:
            import threading

            self._warming = threading.Thread(target=self._warm, name="lgcraft-gl-warmup", daemon=True)
            self._warming.start()
        else:
            self.pyrender = import_pyrender()

    def _warm(self) -> None:
        try:
            self.pyrender = import_pyrender()
            pyrender = self.pyrender
            renderer = self._render_target(32, 32)
            scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=[0.4, 0.4, 0.4])
            pixels = np.full((4, 4, 4), 200, np.uint8)
            quad = np.array([[-1, -1, -5], [1, -1, -5], [1, 1, -5]], np.float32)
            normals = np.tile(np.float32([0, 0, 1]), (3, 1))
            uv = np.float32([[0, 0], [1, 0], [1, 1]])
            materials = [  # the photo's (emissive texture), a plain frame's, a textured lens's
                pyrender.MetallicRoughnessMaterial(
                    baseColorFactor=[0, 0, 0, 1], metallicFactor=1.0, roughnessFactor=1.0,
                    emissiveFactor=[1, 1, 1], doubleSided=True,
                    emissiveTexture=pyrender.Texture(source=pixels, source_channels="RGBA")),
                pyrender.MetallicRoughnessMaterial(baseColorFactor=[0.1, 0.1, 0.1, 1.0]),
                pyrender.MetallicRoughnessMaterial(
                    baseColorFactor=[1, 1, 1, 0.5], alphaMode="BLEND",
                    baseColorTexture=pyrender.Texture(source=pixels, source_channels="RGBA")),
            ]
            for material in materials:
                scene.add(pyrender.Mesh([pyrender.Primitive(
                    positions=quad, normals=normals, texcoord_0=uv, indices=np.uint32([[0, 1, 2]]),
                    material=material)]))
            scene.add(pyrender.IntrinsicsCamera(fx=32, fy=32, cx=16, cy=16, znear=0.1, zfar=10.0))
            scene.add(pyrender.DirectionalLight(intensity=1.0))
            renderer.render(scene)
            if self._parts:
                models = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=[0.4] * 3)
                for key, part in self._parts.items():
                    self.prebuilt[key] = part_mesh(pyrender, part, self.material_cache)
                    pose = np.eye(4)
                    pose[2, 3] = -1000.0  # parts are in mm: a metre in front of the camera
                    models.add(self.prebuilt[key], pose=pose)
                models.add(pyrender.IntrinsicsCamera(fx=32, fy=32, cx=16, cy=16, znear=10.0,
                                                     zfar=5000.0))
                models.add(pyrender.DirectionalLight(intensity=1.0))
                renderer.render(models)
            _release_context(renderer)  # pyrender's EGL make_uncurrent does nothing
        except BaseException as exc:  # re-raised where the renderer is first needed
            self._warm_error = exc

    def ready(self) -> None:
        """Wait for the background warm-up (re-raising its error, once)."""
        self._ready()

    def _ready(self) -> None:
        if self._warming is not None:
            self._warming.join()
            self._warming = None
            if self._warm_error is not None:
                error, self._warm_error = self._warm_error, None
                raise error

    def __enter__(self) -> Compositor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._warming is not None:
            self._warming.join()
            self._warming = None
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
        self._ready()
        return part_mesh(self.pyrender, part, self.material_cache)

    def composite(self, photo_rgb: np.ndarray, camera, layers: list[Layer],
                  occluder: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        """(the photo with the layers drawn on it, the layers' coverage 0-1 per pixel)."""
        self._ready()
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
            # pyrender uploads images bottom row first: v = 0 is the window's bottom edge
            uv = np.column_stack([(pix[:, 0] - x0) / win_w, 1.0 - (pix[:, 1] - y0) / win_h])
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
        shown = [scene.add(layer.mesh, pose=_node_pose(layer)) for layer in layers]
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
