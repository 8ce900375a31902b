"""glTF 2.0 / GLB read and write in numpy alone, for the common case: triangle meshes
whose materials are plain PBR factors (no textures). That case needs no trimesh (whose
import, with scipy.spatial behind it, costs more than reading a 500k-face file). Files
this module does not take (textures, compression or quantization extensions, sparse
accessors, points and lines) make `read_gltf` return None, and the caller loads them with
trimesh instead.

>>> parts = read_gltf(Path("frame.glb"))                      # doctest: +SKIP
>>> data = glb_from_parts(parts, {"bridge": [0, 0, 0]}, scale=0.001)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import copy
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from lgcraft.eyewear.errors import MeshError
from lgcraft.eyewear.mesh import Part, cross3

_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16,
               5125: np.uint32, 5126: np.float32}
_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_TRIANGLES = 4
_JSON_CHUNK, _BIN_CHUNK = 0x4E4F534A, 0x004E4942


@dataclass
class GltfMaterial:
    """A glTF material made of factors only (colour, metal, roughness, alpha...): kept as
    its JSON object and written back as it was."""

    spec: dict = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        return self.spec.get("name")

    def copy(self) -> GltfMaterial:
        return GltfMaterial(copy.deepcopy(self.spec))

    def to_trimesh(self):
        """The same material as a trimesh `PBRMaterial` (for USDZ and previews)."""
        from trimesh.visual.material import PBRMaterial

        pbr = self.spec.get("pbrMetallicRoughness", {})
        colour = pbr.get("baseColorFactor")  # floats 0..1 (JSON may hold 1 as an int)
        colour = None if colour is None else [float(c) for c in colour]
        return PBRMaterial(name=self.name, baseColorFactor=colour,
                           metallicFactor=pbr.get("metallicFactor"),
                           roughnessFactor=pbr.get("roughnessFactor"),
                           emissiveFactor=self.spec.get("emissiveFactor"),
                           alphaMode=self.spec.get("alphaMode"),
                           alphaCutoff=self.spec.get("alphaCutoff"),
                           doubleSided=self.spec.get("doubleSided"))


def _has_texture(value) -> bool:
    if isinstance(value, dict):
        return any(k.endswith("Texture") or _has_texture(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_texture(v) for v in value)
    return False


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
            if index is not None and (not isinstance(index, int) or index >= len(materials)
                                      or _has_texture(materials[index])):
                return False
    return all("sparse" not in a and "bufferView" in a for a in doc.get("accessors", []))


class _Reader:
    def __init__(self, doc: dict, path: Path, binary: bytes | None):
        self.doc, self.path, self.binary = doc, path, binary
        self.buffers: dict[int, bytes] = {}

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
            elif uri.startswith("data:"):
                try:
                    data = base64.b64decode(uri.split(",", 1)[1])
                except (IndexError, ValueError) as exc:
                    raise self.fail("bad data URI") from exc
            else:  # already checked to exist inside the folder
                data = (self.path.parent / unquote(uri)).read_bytes()
            self.buffers[index] = data
        return self.buffers[index]

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
    materials = doc.get("materials", [])
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
                part = _primitive_part(reader, prim, world, materials)
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


def _primitive_part(reader: _Reader, prim: dict, world: np.ndarray, materials: list,
                    ) -> Part | None:
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
        material = GltfMaterial(copy.deepcopy(materials[prim["material"]]))
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
    """True when `glb_from_parts` keeps every material (none, or factors only)."""
    return all(p.material is None or isinstance(p.material, GltfMaterial) for p in parts)


class _Builder:
    def __init__(self) -> None:
        self.blob = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, kind: str, target: int, bounds: bool = False) -> int:
        data = np.ascontiguousarray(array)
        while len(self.blob) % 4:
            self.blob.append(0)
        self.views.append({"buffer": 0, "byteOffset": len(self.blob), "byteLength": data.nbytes,
                           "target": target})
        self.blob += data.tobytes()
        component = {np.dtype(np.float32): 5126, np.dtype(np.uint32): 5125,
                     np.dtype(np.uint16): 5123}[data.dtype]
        accessor = {"bufferView": len(self.views) - 1, "componentType": component,
                    "count": int(data.shape[0]) if kind != "SCALAR" else int(data.size),
                    "type": kind}
        if bounds and len(data):
            flat = data.reshape(len(data), -1) if kind != "SCALAR" else data.reshape(-1, 1)
            accessor["min"] = flat.min(axis=0).tolist()
            accessor["max"] = flat.max(axis=0).tolist()
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def glb_from_parts(parts: list[Part], anchors: dict[str, list[float]], *, scale: float = 0.001,
                   pivots: dict[str, list[float]] | None = None, root_name: str = "model",
                   ) -> bytes:
    """GLB bytes: a root node holding one node per part (temples placed at their hinge
    pivot, their vertices relative to it), anchors as empty nodes ``anchor_<name>``,
    normals written, factor materials kept. Coordinates times ``scale`` (mm -> m)."""
    if not can_write(parts):
        raise ValueError("textured materials need the trimesh exporter")
    pivots = pivots or {}
    builder = _Builder()
    nodes: list[dict] = [{"name": root_name, "children": []}]
    meshes: list[dict] = []
    materials: list[dict] = []
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
        if part.material is not None:
            materials.append(copy.deepcopy(part.material.spec))
            primitive["material"] = len(materials) - 1
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
    if not nodes[0]["children"]:
        del nodes[0]["children"]
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(builder.blob)
    return b"".join([struct.pack("<4sII", b"glTF", 2, total),
                     struct.pack("<II", len(text), _JSON_CHUNK), text,
                     struct.pack("<II", len(builder.blob), _BIN_CHUNK), bytes(builder.blob)])
