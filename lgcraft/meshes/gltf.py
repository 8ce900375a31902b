"""glTF 2.0 / GLB read and write in numpy alone, for the common case: triangle meshes
whose materials are PBR factors and PNG/JPEG textures on the first UV set (kept as the
file had them, extensions included; images resized to the profile's texture budget on
write). That case needs no trimesh (whose import, with scipy.spatial behind it, costs
more than reading a 500k-face file). Files this module does not take (compression or
quantization extensions, sparse accessors, points and lines, textures on a second UV set
or in other image formats) make `read_gltf` return None, and the caller loads them with
trimesh instead.

>>> parts = read_gltf(Path("frame.glb"))                      # doctest: +SKIP
>>> data = glb_from_parts(parts, {"bridge": [0, 0, 0]}, scale=0.001)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import copy
import io
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from lgcraft.meshes.errors import MeshError
from lgcraft.meshes.part import Part, cross3

_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16,
               5125: np.uint32, 5126: np.float32}
_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_TRIANGLES = 4
_JSON_CHUNK, _BIN_CHUNK = 0x4E4F534A, 0x004E4942


@dataclass(frozen=True, eq=False)
class GltfTexture:
    """One texture of a material: the encoded image (PNG or JPEG, as in the file) and
    its sampler. Shared, never modified: parts using the same texture hold the same one."""

    image: bytes
    mime: str
    sampler: dict | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return repr(self.name) if self.name else "(unnamed)"

    def size(self) -> tuple[int, int]:
        with self._open() as image:
            return image.size

    def to_pil(self):
        image = self._open()
        try:
            image.load()
        except (OSError, ValueError) as exc:
            raise MeshError(f"texture {self.label} cannot be decoded ({exc})",
                            hint="export the model again with its textures") from exc
        return image

    def _open(self):
        from PIL import Image, UnidentifiedImageError

        try:
            return Image.open(io.BytesIO(self.image))
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise MeshError(f"texture {self.label} is not a readable {self.mime} image",
                            hint="export the model again with its textures") from exc

    def limited(self, max_px: int) -> GltfTexture:
        """This texture with its image at most ``max_px`` on a side (the same object
        when it already is), in its own format."""
        width, height = self.size()
        if max(width, height) <= max_px:
            return self
        image = self.to_pil()
        image.thumbnail((max_px, max_px))
        out = io.BytesIO()
        if self.mime == "image/jpeg":
            image.convert("RGB").save(out, format="JPEG", quality=92)
        else:
            image.save(out, format="PNG")
        return GltfTexture(out.getvalue(), self.mime, self.sampler, self.name)


_TRIMESH_TEXTURES = {  # glTF textureInfo -> trimesh PBRMaterial field
    ("pbrMetallicRoughness", "baseColorTexture"): "baseColorTexture",
    ("pbrMetallicRoughness", "metallicRoughnessTexture"): "metallicRoughnessTexture",
    ("normalTexture",): "normalTexture",
    ("occlusionTexture",): "occlusionTexture",
    ("emissiveTexture",): "emissiveTexture",
}


@dataclass
class GltfMaterial:
    """A glTF material kept as its JSON object (factors, extensions) and written back as
    it was; its textureInfo ``index`` values point into ``textures``."""

    spec: dict = field(default_factory=dict)
    textures: list[GltfTexture] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return self.spec.get("name")

    def copy(self) -> GltfMaterial:
        return GltfMaterial(copy.deepcopy(self.spec), list(self.textures))

    def to_trimesh(self):
        """The same material as a trimesh `PBRMaterial` (for USDZ and previews): the
        core factors and textures (extensions have no trimesh counterpart)."""
        from trimesh.visual.material import PBRMaterial

        pbr = self.spec.get("pbrMetallicRoughness", {})
        colour = pbr.get("baseColorFactor")  # floats 0..1 (JSON may hold 1 as an int)
        colour = None if colour is None else [float(c) for c in colour]
        images = {}
        for path, field_name in _TRIMESH_TEXTURES.items():
            info = self.spec
            for key in path:
                info = info.get(key, {}) if isinstance(info, dict) else {}
            if isinstance(info, dict) and isinstance(info.get("index"), int) \
                    and 0 <= info["index"] < len(self.textures):
                images[field_name] = self.textures[info["index"]].to_pil()
        return PBRMaterial(name=self.name, baseColorFactor=colour,
                           metallicFactor=pbr.get("metallicFactor"),
                           roughnessFactor=pbr.get("roughnessFactor"),
                           emissiveFactor=self.spec.get("emissiveFactor"),
                           alphaMode=self.spec.get("alphaMode"),
                           alphaCutoff=self.spec.get("alphaCutoff"),
                           doubleSided=self.spec.get("doubleSided"), **images)


def _texture_infos(value, out: list | None = None) -> list[dict]:
    """Every textureInfo object (a ``...Texture`` key's value) in a material, in place."""
    out = [] if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("Texture") and isinstance(item, dict):
                out.append(item)
            else:
                _texture_infos(item, out)
    elif isinstance(value, list):
        for item in value:
            _texture_infos(item, out)
    return out


def _extension_names(value, out: set | None = None) -> set[str]:
    """The names of every extension used anywhere in a JSON value."""
    out = set() if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "extensions" and isinstance(item, dict):
                out.update(item)
            _extension_names(item, out)
    elif isinstance(value, list):
        for item in value:
            _extension_names(item, out)
    return out


_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _image_mime(image: dict) -> str | None:
    """The image's type when it is PNG or JPEG (declared, or from the file name)."""
    mime = image.get("mimeType")
    uri = image.get("uri", "")
    if mime is None and uri.startswith("data:"):
        mime = uri[5:].split(";", 1)[0].split(",", 1)[0]
    if mime is None and uri:
        mime = _IMAGE_TYPES.get(Path(unquote(uri)).suffix.lower())
    return mime if mime in ("image/png", "image/jpeg") else None


def _file_name(uri: str) -> str | None:
    """The file an image URI names (None for data URIs and none)."""
    return None if not uri or uri.startswith("data:") else unquote(uri)


def _texture_ok(doc: dict, info: dict) -> bool:
    """Whether this module can carry a textureInfo through: first UV set, a plain
    texture of a PNG or JPEG image."""
    transform = (info.get("extensions") or {}).get("KHR_texture_transform") or {}
    if info.get("texCoord", 0) != 0 or transform.get("texCoord", 0) != 0:
        return False
    textures, images = doc.get("textures", []), doc.get("images", [])
    index = info.get("index")
    if not isinstance(index, int) or not 0 <= index < len(textures):
        return False
    texture = textures[index]
    source, sampler = texture.get("source"), texture.get("sampler")
    if texture.get("extensions") or not isinstance(source, int) or not 0 <= source < len(images):
        return False
    if sampler is not None and not (isinstance(sampler, int) and 0 <= sampler < len(doc.get("samplers", []))):
        return False
    image = images[source]
    return _image_mime(image) is not None and ("uri" in image or "bufferView" in image)


def split_glb(data: bytes, name: str) -> tuple[dict, bytes | None]:
    """(JSON document, binary chunk) of a GLB file; `MeshError` on a broken container."""
    if len(data) < 20 or data[:4] != b"glTF":
        raise MeshError(f"{name}: not a GLB file (bad header)")
    _, _, declared = struct.unpack("<4sII", data[:12])
    if declared != len(data):
        raise MeshError(f"{name}: truncated GLB: header says {declared} bytes, "
                        f"file has {len(data)}", hint="export or download the file again")
    chunk_len, chunk_type = struct.unpack("<II", data[12:20])
    if chunk_type != _JSON_CHUNK or 20 + chunk_len > len(data):
        raise MeshError(f"{name}: corrupt GLB (no JSON chunk)")
    try:
        doc = json.loads(data[20:20 + chunk_len])
    except ValueError as exc:
        raise MeshError(f"{name}: corrupt GLB JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise MeshError(f"{name}: corrupt GLB JSON (not an object)")
    binary = None
    at = 20 + chunk_len
    if at + 8 <= len(data):
        bin_len, bin_type = struct.unpack("<II", data[at:at + 8])
        if bin_type == _BIN_CHUNK:
            if at + 8 + bin_len > len(data):
                raise MeshError(f"{name}: corrupt GLB (binary chunk runs past the end)")
            binary = data[at + 8:at + 8 + bin_len]
    return doc, binary


def _supported(doc: dict) -> bool:
    if doc.get("extensionsRequired"):
        return False  # Draco, meshopt compression, quantization: trimesh or nothing
    materials = doc.get("materials", [])
    for mesh in doc.get("meshes", []):
        for prim in mesh.get("primitives", []):
            if prim.get("mode", _TRIANGLES) != _TRIANGLES or "POSITION" not in prim.get("attributes", {}):
                return False
            if prim.get("extensions"):
                return False
            index = prim.get("material")
            if index is not None and (not isinstance(index, int) or not 0 <= index < len(materials)
                                      or not isinstance(materials[index], dict)
                                      or not all(_texture_ok(doc, info)
                                                 for info in _texture_infos(materials[index]))):
                return False
    return all("sparse" not in a and "bufferView" in a for a in doc.get("accessors", []))


class _Reader:
    def __init__(self, doc: dict, path: Path, binary: bytes | None):
        self.doc, self.path, self.binary = doc, path, binary
        self.buffers: dict[int, bytes] = {}
        self.textures: dict[int, GltfTexture] = {}
        self.images: dict[int, bytes] = {}

    def fail(self, what: str) -> MeshError:
        return MeshError(f"{self.path.name}: corrupt glTF ({what})",
                         hint="export or download the file again")

    def buffer(self, index: int) -> bytes:
        if index not in self.buffers:
            try:
                spec = self.doc["buffers"][index]
            except (KeyError, IndexError, TypeError) as exc:
                raise self.fail(f"no buffer {index}") from exc
            uri = spec.get("uri")
            if uri is None:
                if self.binary is None:
                    raise self.fail("buffer without data")
                data = self.binary
            else:
                data = self.uri_bytes(uri, "buffer")
            self.buffers[index] = data
        return self.buffers[index]

    def uri_bytes(self, uri: str, what: str) -> bytes:
        """The bytes a buffer or image URI names: a data URI, or a file (already checked
        to exist inside the model's folder)."""
        if uri.startswith("data:"):
            try:
                return base64.b64decode(uri.split(",", 1)[1])
            except (IndexError, ValueError) as exc:
                raise self.fail(f"bad {what} data URI") from exc
        return (self.path.parent / unquote(uri)).read_bytes()

    def texture(self, index: int) -> GltfTexture:
        """The texture ``index`` of the document (one object per index: parts share it)."""
        if index not in self.textures:
            spec = self.doc["textures"][index]
            image = self.doc["images"][spec["source"]]
            sampler = spec.get("sampler")
            self.textures[index] = GltfTexture(
                self.image(spec["source"]), _image_mime(image),
                None if sampler is None else copy.deepcopy(self.doc["samplers"][sampler]),
                spec.get("name") or image.get("name") or _file_name(image.get("uri", "")))
        return self.textures[index]

    def image(self, index: int) -> bytes:
        """The encoded bytes of image ``index`` (one object per image: textures share it)."""
        if index not in self.images:
            image = self.doc["images"][index]
            uri = image.get("uri")
            if uri is None:
                view = self.doc["bufferViews"][image["bufferView"]]
                start = int(view.get("byteOffset", 0))
                data = self.buffer(view["buffer"])[start:start + int(view["byteLength"])]
                if len(data) != int(view["byteLength"]):
                    raise self.fail(f"image {index} runs past its buffer")
            else:
                data = self.uri_bytes(uri, "image")
            self.images[index] = bytes(data)
        return self.images[index]

    def material(self, index: int) -> GltfMaterial:
        """Material ``index`` with its textures, their indices made local to it."""
        spec = copy.deepcopy(self.doc["materials"][index])
        textures: list[GltfTexture] = []
        for info in _texture_infos(spec):
            texture = self.texture(info["index"])
            if texture not in textures:
                textures.append(texture)
            info["index"] = textures.index(texture)
        return GltfMaterial(spec, textures)

    def accessor(self, index: int) -> np.ndarray:
        try:
            acc = self.doc["accessors"][index]
            view = self.doc["bufferViews"][acc["bufferView"]]
            dtype = np.dtype(_COMPONENTS[acc["componentType"]])
            width = _WIDTHS[acc["type"]]
            count = int(acc["count"])
            data = self.buffer(view["buffer"])
        except (KeyError, IndexError, TypeError) as exc:
            raise self.fail(f"accessor {index}: {exc}") from exc
        start = int(view.get("byteOffset", 0)) + int(acc.get("byteOffset", 0))
        item = dtype.itemsize * width
        stride = int(view.get("byteStride", item) or item)
        end = start + (stride * (count - 1) + item if count else 0)
        view_end = int(view.get("byteOffset", 0)) + int(view.get("byteLength", 0))
        if count < 0 or end > min(len(data), view_end) or stride < item:
            raise self.fail(f"accessor {index} runs past its buffer")
        if stride == item:
            out = np.frombuffer(data, dtype, count * width, start).reshape(count, width)
        else:  # interleaved vertex data
            rows = np.frombuffer(data, np.uint8, end - start, start)
            rows = np.lib.stride_tricks.as_strided(rows, (count, item), (stride, 1))
            out = np.ascontiguousarray(rows).view(dtype).reshape(count, width)
        if acc.get("normalized") and dtype.kind in "iu":
            out = out.astype(np.float64) / np.iinfo(dtype).max
            out = np.maximum(out, -1.0)
        return out


def _local_matrix(node: dict) -> np.ndarray:
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T
    m = np.eye(4)
    if "scale" in node:
        m = np.diag([*map(float, node["scale"]), 1.0]) @ m
    if "rotation" in node:
        x, y, z, w = map(float, node["rotation"])
        n = (x * x + y * y + z * z + w * w) ** 0.5 or 1.0
        x, y, z, w = x / n, y / n, z / n, w / n
        r = np.eye(4)
        r[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
        m = r @ m
    if "translation" in node:
        t = np.eye(4)
        t[:3, 3] = [float(c) for c in node["translation"]]
        m = t @ m
    return m


def read_gltf(path: Path, doc: dict | None = None, binary: bytes | None = None,
              ) -> list[Part] | None:
    """Parts of a glTF/GLB file (one per node and primitive, in scene coordinates, UVs
    with trimesh's bottom-left origin), or None when the file needs the general loader."""
    path = Path(path)
    if doc is None:
        if path.suffix.lower() == ".glb":
            doc, binary = split_glb(path.read_bytes(), path.name)
        else:
            doc = json.loads(path.read_text(encoding="utf-8"))
    if not _supported(doc):
        return None
    reader = _Reader(doc, path, binary)
    nodes = doc.get("nodes", [])
    scenes = doc.get("scenes", [])
    if scenes:
        roots = scenes[doc.get("scene", 0) if isinstance(doc.get("scene", 0), int) else 0].get("nodes", [])
    else:  # no scene: every node nobody holds as a child
        held = {c for n in nodes for c in n.get("children", [])}
        roots = [i for i in range(len(nodes)) if i not in held]
    parts: list[Part] = []
    used: set[str] = set()
    stack = [(int(r), np.eye(4)) for r in reversed(roots)]
    seen: set[int] = set()
    while stack:
        index, parent = stack.pop()
        if index in seen or not 0 <= index < len(nodes):
            continue  # cycles and dangling references
        seen.add(index)
        node = nodes[index]
        world = parent @ _local_matrix(node)
        if "mesh" in node:
            try:
                mesh = doc["meshes"][node["mesh"]]
            except (IndexError, TypeError) as exc:
                raise reader.fail(f"node {index} points to no mesh") from exc
            base = str(node.get("name", index))
            for k, prim in enumerate(mesh.get("primitives", [])):
                part = _primitive_part(reader, prim, world)
                if part is None:
                    continue
                name = base if k == 0 else f"{base}_{k}"
                while name in used:
                    name += "_"
                used.add(name)
                part.name = part.original_name = name
                parts.append(part)
        stack.extend((int(c), world) for c in reversed(node.get("children", [])))
    return parts


def _primitive_part(reader: _Reader, prim: dict, world: np.ndarray) -> Part | None:
    attrs = prim["attributes"]
    vertices = reader.accessor(attrs["POSITION"]).astype(np.float64)[:, :3]
    if "indices" in prim:
        faces = reader.accessor(prim["indices"]).astype(np.int64).reshape(-1)
    else:
        faces = np.arange(len(vertices), dtype=np.int64)
    faces = faces[:len(faces) // 3 * 3].reshape(-1, 3)
    if len(faces) == 0:
        return None
    vertices = vertices @ world[:3, :3].T + world[:3, 3]
    if np.linalg.det(world[:3, :3]) < 0:  # a mirroring node flips winding
        faces = faces[:, ::-1].copy()
    uv = None
    if "TEXCOORD_0" in attrs:
        uv = reader.accessor(attrs["TEXCOORD_0"]).astype(np.float64)[:, :2].copy()
        if len(uv) == len(vertices):
            uv[:, 1] = 1.0 - uv[:, 1]  # glTF's top-left origin to trimesh's bottom-left
        else:
            uv = None
    material = None
    if prim.get("material") is not None:
        material = reader.material(prim["material"])
    return Part("", vertices, faces, uv, material)


# -- writing ----------------------------------------------------------------------------
def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit vertex normals: the area-weighted mean of the adjacent face normals."""
    tri = vertices[faces]
    cross = cross3(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    flat = faces.ravel()
    normals = np.stack([np.bincount(flat, np.repeat(cross[:, k], 3), len(vertices))
                        for k in range(3)], -1)
    length = np.linalg.norm(normals, axis=1)
    normals[length == 0] = (0.0, 0.0, 1.0)
    length[length == 0] = 1.0
    return normals / length[:, None]


def can_write(parts: list[Part]) -> bool:
    """True when `glb_from_parts` keeps every material (none, or read by this module)."""
    return all(p.material is None or isinstance(p.material, GltfMaterial) for p in parts)


def _interned(items: list, index_of: dict, key, make) -> int:
    """The index in ``items`` of the entry for ``key``, appending ``make()`` the first
    time the key is seen (so each image, sampler, texture and material is written once)."""
    if key not in index_of:
        items.append(make())
        index_of[key] = len(items) - 1
    return index_of[key]


class _Textures:
    """The images, samplers and textures of the output, each written once however many
    parts share it, images limited to ``max_px`` on a side."""

    def __init__(self, builder: _Builder, max_px: int | None) -> None:
        self.builder, self.max_px = builder, max_px
        self.images: list[dict] = []
        self.samplers: list[dict] = []
        self.textures: list[dict] = []
        self._image_of: dict[int, int] = {}
        self._sampler_of: dict[str, int] = {}
        self._texture_of: dict[tuple, int] = {}

    def index(self, texture: GltfTexture) -> int:
        def image_entry() -> dict:
            limited = texture.limited(self.max_px) if self.max_px else texture
            return {"bufferView": self.builder.add_bytes(limited.image), "mimeType": limited.mime,
                    **({"name": texture.name} if texture.name else {})}

        # textures of one image share it (the reader hands out one bytes object per image)
        image = _interned(self.images, self._image_of, id(texture.image), image_entry)
        sampler = None
        if texture.sampler is not None:
            sampler = _interned(self.samplers, self._sampler_of,
                                json.dumps(texture.sampler, sort_keys=True),
                                lambda: copy.deepcopy(texture.sampler))
        entry = {"source": image} if sampler is None else {"sampler": sampler, "source": image}
        return _interned(self.textures, self._texture_of, (image, sampler), lambda: entry)

    def material(self, material: GltfMaterial) -> dict:
        """The material's JSON with its texture indices made those of the output."""
        spec = copy.deepcopy(material.spec)
        for info in _texture_infos(spec):
            info["index"] = self.index(material.textures[info["index"]])
        return spec


class _Builder:
    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, kind: str, target: int, bounds: bool = False) -> int:
        data = np.ascontiguousarray(array)
        view = self.add_bytes(data.tobytes(), target)
        component = {np.dtype(np.float32): 5126, np.dtype(np.uint32): 5125,
                     np.dtype(np.uint16): 5123}[data.dtype]
        accessor = {"bufferView": view, "componentType": component,
                    "count": int(data.shape[0]) if kind != "SCALAR" else int(data.size),
                    "type": kind}
        if bounds and len(data):
            flat = data.reshape(len(data), -1) if kind != "SCALAR" else data.reshape(-1, 1)
            accessor["min"] = flat.min(axis=0).tolist()
            accessor["max"] = flat.max(axis=0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    def add_bytes(self, data: bytes, target: int | None = None) -> int:
        """A buffer view of ``data`` (4-byte aligned; an image's has no target); its index."""
        while len(self.blob) % 4:
            self.blob.append(0)
        view = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        self.blob += data
        return len(self.views) - 1


def glb_from_parts(parts: list[Part], anchors: dict[str, list[float]], *, scale: float = 0.001,
                   pivots: dict[str, list[float]] | None = None, root_name: str = "model",
                   max_texture: int | None = None) -> bytes:
    """GLB bytes: a root node holding one node per part (temples placed at their hinge
    pivot, their vertices relative to it), anchors as empty nodes ``anchor_<name>``,
    normals written, materials and textures kept (images at most ``max_texture`` on a
    side). Coordinates times ``scale`` (mm -> m)."""
    if not can_write(parts):
        raise ValueError("materials read by trimesh need the trimesh exporter")
    pivots = pivots or {}
    builder = _Builder()
    textures = _Textures(builder, max_texture)
    nodes: list[dict] = [{"name": root_name, "children": []}]
    meshes: list[dict] = []
    materials: list[dict] = []
    material_of: dict[str, int] = {}
    for part in parts:
        pivot = np.asarray(pivots.get(part.name, [0.0, 0.0, 0.0]), dtype=np.float64)
        vertices = (part.vertices - pivot) * scale
        faces = np.asarray(part.faces)
        attributes = {
            "POSITION": builder.add(vertices.astype(np.float32), "VEC3", 34962, bounds=True),
            "NORMAL": builder.add(vertex_normals(vertices, faces).astype(np.float32), "VEC3", 34962),
        }
        if part.uv is not None:
            uv = np.asarray(part.uv, dtype=np.float32).copy()
            uv[:, 1] = 1.0 - uv[:, 1]  # back to glTF's top-left origin
            attributes["TEXCOORD_0"] = builder.add(uv, "VEC2", 34962)
        index_type = np.uint16 if len(vertices) < 65536 else np.uint32
        primitive = {"attributes": attributes, "mode": _TRIANGLES,
                     "indices": builder.add(faces.astype(index_type).ravel(), "SCALAR", 34963,
                                            bounds=True)}
        if part.material is not None:  # parts cut from one material share it again
            spec = textures.material(part.material)
            primitive["material"] = _interned(materials, material_of,
                                              json.dumps(spec, sort_keys=True), lambda spec=spec: spec)
        meshes.append({"name": part.name, "primitives": [primitive]})
        node = {"name": part.name, "mesh": len(meshes) - 1}
        if pivot.any():
            node["translation"] = (pivot * scale).tolist()
        nodes[0]["children"].append(len(nodes))
        nodes.append(node)
    for name, point in anchors.items():
        nodes[0]["children"].append(len(nodes))
        nodes.append({"name": f"anchor_{name}",
                      "translation": (np.asarray(point, dtype=np.float64) * scale).tolist()})
    while len(builder.blob) % 4:
        builder.blob.append(0)
    doc = {"asset": {"version": "2.0", "generator": "lgcraft"}, "scene": 0,
           "scenes": [{"nodes": [0]}], "nodes": nodes, "meshes": meshes,
           "accessors": builder.accessors, "bufferViews": builder.views,
           "buffers": [{"byteLength": len(builder.blob)}]}
    if materials:
        doc["materials"] = materials
        for key in ("images", "samplers", "textures"):
            if getattr(textures, key):
                doc[key] = getattr(textures, key)
        extensions = _extension_names(materials)
        if extensions:
            doc["extensionsUsed"] = sorted(extensions)
    if not nodes[0]["children"]:
        del nodes[0]["children"]
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(builder.blob)
    return b"".join([struct.pack("<4sII", b"glTF", 2, total),
                     struct.pack("<II", len(text), _JSON_CHUNK), text,
                     struct.pack("<II", len(builder.blob), _BIN_CHUNK), bytes(builder.blob)])
