"""Loading meshes as named parts, with clear errors for broken files.

Formats: OBJ, STL, PLY, OFF, 3MF, glTF and GLB. Each scene node with geometry becomes
one `Part` (vertices already in scene coordinates), keeping UVs and the material.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from lgcraft.meshes.errors import MeshError
from lgcraft.meshes.part import Part, cross3, triangle_areas  # noqa: F401  (re-exported)

FORMATS = (".obj", ".stl", ".ply", ".off", ".3mf", ".gltf", ".glb")


@dataclass
class LoadedModel:
    path: Path
    parts: list[Part]
    source_files: list[Path] = field(default_factory=list)  # the file plus buffers/textures

    @property
    def triangles(self) -> int:
        return sum(p.triangles for p in self.parts)

    def all_vertices(self) -> np.ndarray:
        return np.vstack([p.vertices for p in self.parts])


def _check_uri(base: Path, uri: str, what: str, path: Path) -> Path | None:
    if uri.startswith("data:"):
        return None
    if "://" in uri or uri.startswith("//"):
        raise MeshError(f"{path.name}: {what} URI {uri!r} points outside the input folder",
                        hint="embed the data or copy the file next to the model")
    target = (base / unquote(uri)).resolve()
    if not target.is_relative_to(base.resolve()):
        raise MeshError(f"{path.name}: {what} URI {uri!r} points outside the input folder",
                        hint="keep buffers and textures inside the model's folder")
    if not target.is_file():
        raise MeshError(f"{path.name}: missing {what} file {uri!r}",
                        hint="copy the referenced file next to the model")
    return target


def _check_gltf_json(doc: dict, path: Path) -> list[Path]:
    """Validate external references of a glTF document; return the files it uses."""
    used = []
    base = path.parent
    for buffer in doc.get("buffers", []):
        if "uri" in buffer:
            found = _check_uri(base, buffer["uri"], "buffer", path)
            if found:
                used.append(found)
    for image in doc.get("images", []):
        if "uri" in image:
            found = _check_uri(base, image["uri"], "texture", path)
            if found:
                used.append(found)
    if not doc.get("meshes"):
        raise MeshError(f"{path.name}: the glTF holds no meshes")
    return used


def _load_3mf(path: Path):
    """Minimal 3MF reader (zip + XML core spec) so no lxml is needed."""
    import xml.etree.ElementTree as ET
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".model")]
            if not names:
                raise MeshError(f"{path.name}: 3MF without a 3D model part")
            roots = [ET.fromstring(archive.read(n)) for n in names]
    except (zipfile.BadZipFile, ET.ParseError, OSError) as exc:
        raise MeshError(f"{path.name}: cannot read as 3MF ({exc})") from exc
    parts = []
    for root in roots:
        for obj in root.iter():
            if not obj.tag.endswith("}object") and obj.tag != "object":
                continue
            verts = [(float(v.get("x")), float(v.get("y")), float(v.get("z")))
                     for v in obj.iter() if v.tag.endswith("vertex")]
            tris = [(int(t.get("v1")), int(t.get("v2")), int(t.get("v3")))
                    for t in obj.iter() if t.tag.endswith("triangle")]
            if verts and tris:
                name = obj.get("name") or f"object_{obj.get('id')}"
                parts.append(Part(name, np.asarray(verts, float), np.asarray(tris, np.int64),
                                  original_name=name))
    return parts


def _load_obj_parts(path: Path) -> list[Part] | None:
    """OBJ with several objects/groups: one part per ``o``/``g`` (trimesh 5 merges them).

    Returns None for single-object files (trimesh handles those, materials included).
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    names = [line.split(None, 1)[1].strip() for line in text.splitlines()
             if line.startswith(("o ", "g ")) and len(line.split(None, 1)) > 1]
    if len(set(names)) < 2:
        return None
    verts, uvs, groups, order = [], [], {}, []
    current, material = "part", None
    materials: dict[str, Any] = {}
    for line in text.splitlines():
        if line.startswith("v "):
            verts.append(line.split()[1:4])
        elif line.startswith("vt "):
            uvs.append(line.split()[1:3])
        elif line.startswith(("o ", "g ")) and len(line.split(None, 1)) > 1:
            current = line.split(None, 1)[1].strip()
        elif line.startswith("usemtl "):
            material = line.split(None, 1)[1].strip()
        elif line.startswith("mtllib "):
            mtl = path.parent / line.split(None, 1)[1].strip()
            if mtl.is_file():
                try:
                    from trimesh.exchange.obj import parse_mtl
                    from trimesh.resolvers import FilePathResolver

                    materials.update(parse_mtl(mtl.read_bytes(), resolver=FilePathResolver(str(mtl))))
                except Exception:  # a broken MTL keeps the geometry
                    pass
        elif line.startswith("f "):
            corners = [c.split("/") for c in line.split()[1:]]
            if current not in groups:
                groups[current] = {"v": [], "t": [], "material": material}
                order.append(current)
            g = groups[current]
            for i in range(1, len(corners) - 1):  # fan-triangulate polygons
                tri = (corners[0], corners[i], corners[i + 1])
                g["v"].append([int(c[0]) for c in tri])
                g["t"].append([int(c[1]) if len(c) > 1 and c[1] else 0 for c in tri])
    try:
        v = np.asarray(verts, dtype=np.float64)
        t = np.asarray(uvs, dtype=np.float64) if uvs else None
    except ValueError as exc:
        raise MeshError(f"{path.name}: bad OBJ vertex ({exc})") from exc
    parts = []
    for name in order:
        g = groups[name]
        fv = np.asarray(g["v"], dtype=np.int64)
        fv = np.where(fv < 0, fv + len(v), fv - 1)
        if fv.min() < 0 or fv.max() >= len(v):
            raise MeshError(f"{path.name}: object {name!r} has face indices out of range")
        uv = None
        ft = np.asarray(g["t"], dtype=np.int64)
        if t is not None and (ft != 0).all():
            ft = np.where(ft < 0, ft + len(t), ft - 1)
            # one vertex per (position, uv) corner pair
            pairs = np.stack([fv.ravel(), ft.ravel()], -1)
            uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
            part_v, uv, faces = v[uniq[:, 0]], t[uniq[:, 1]], inverse.reshape(-1, 3)
        else:
            used, inverse = np.unique(fv.ravel(), return_inverse=True)
            part_v, faces = v[used], inverse.reshape(-1, 3)
        mat = materials.get(g["material"]) if g["material"] else None
        if isinstance(mat, dict):  # trimesh's MTL parser gives keyword dicts
            from trimesh.visual.material import SimpleMaterial

            try:
                mat = SimpleMaterial(image=mat.get("image"), diffuse=mat.get("diffuse"),
                                     name=mat.get("name")).to_pbr()
            except Exception:  # an odd MTL entry: keep the geometry without it
                mat = None
        parts.append(Part(name, part_v, faces, uv, mat, original_name=name))
    return parts


def _scene_parts(scene) -> list[Part]:
    import trimesh

    parts = []
    used_names: set[str] = set()
    for node in scene.graph.nodes_geometry:
        transform, geom_name = scene.graph[node]
        geom = scene.geometry.get(geom_name)
        if not isinstance(geom, trimesh.Trimesh) or len(geom.faces) == 0:
            continue
        vertices = np.asarray(geom.vertices, dtype=np.float64)
        vertices = vertices @ transform[:3, :3].T + transform[:3, 3]
        faces = np.asarray(geom.faces, dtype=np.int64)
        if np.linalg.det(transform[:3, :3]) < 0:  # a mirroring node flips winding
            faces = faces[:, ::-1].copy()
        uv = getattr(geom.visual, "uv", None)
        uv = None if uv is None or len(uv) != len(vertices) else np.asarray(uv, np.float64)
        material = getattr(geom.visual, "material", None)
        name = str(node)
        while name in used_names:
            name += "_"
        used_names.add(name)
        parts.append(Part(name, vertices, faces, uv, material, original_name=str(node)))
    return parts


def load_model(path: str | Path) -> LoadedModel:
    """Load a mesh file as named parts; raise `MeshError` naming the problem.

    >>> load_model("frame.glb").triangles  # doctest: +SKIP
    48210
    """
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise MeshError(f"{path.name}: unsupported format {suffix or '(none)'}",
                        hint="use one of " + ", ".join(FORMATS))
    if path.stat().st_size == 0:
        raise MeshError(f"{path.name}: empty file")
    sources = [path]
    parts = None
    if suffix in (".glb", ".gltf"):
        from lgcraft.meshes.gltf import read_gltf, split_glb

        binary = None
        if suffix == ".glb":
            doc, binary = split_glb(path.read_bytes(), path.name)
        else:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise MeshError(f"{path.name}: not valid glTF JSON ({exc})") from exc
            if not isinstance(doc, dict):
                raise MeshError(f"{path.name}: not valid glTF JSON (not an object)")
        sources += _check_gltf_json(doc, path)
        # plain meshes (factor materials at most) are read with numpy alone
        try:
            parts = read_gltf(path, doc, binary)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise MeshError(f"{path.name}: corrupt glTF ({type(exc).__name__}: {str(exc)[:120]})",
                            hint="export or download the file again") from exc
    if suffix == ".obj":
        try:
            parts = _load_obj_parts(path)
        except (ValueError, IndexError) as exc:
            raise MeshError(f"{path.name}: cannot read as OBJ ({exc})") from exc
    if suffix == ".3mf":
        parts = _load_3mf(path)
    elif parts is None:
        import trimesh

        try:
            loaded = trimesh.load(str(path), force="scene", process=False)
        except MeshError:
            raise
        except Exception as exc:  # trimesh raises many kinds on garbage input
            raise MeshError(f"{path.name}: cannot read as {suffix[1:].upper()} "
                            f"({type(exc).__name__}: {str(exc)[:120]})") from exc
        parts = _scene_parts(loaded)
    if not parts:
        raise MeshError(f"{path.name}: no triangles found", hint="is the file empty or points only?")
    for part in parts:
        if not np.isfinite(part.vertices).all():
            bad = int((~np.isfinite(part.vertices)).any(axis=1).sum())
            raise MeshError(f"{path.name}: part {part.name!r} has {bad} NaN/infinite vertices")
        if part.faces.min() < 0 or part.faces.max() >= len(part.vertices):
            raise MeshError(f"{path.name}: part {part.name!r} has face indices out of range")
    return LoadedModel(path, parts, sources)
