"""Writing results: GLB (metres, +Y up, normals, materials, anchor nodes) and USDZ for AR
Quick Look, written atomically (previews: `lgcraft.meshes.preview`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from lgcraft.errors import DependencyError, OperationError
from lgcraft.files import write_atomic
from lgcraft.meshes.part import Part


def _limit_image(image, max_px: int):
    if image is None:
        return None
    if max(image.size) <= max_px:
        return image
    image = image.copy()
    image.thumbnail((max_px, max_px))
    return image


def limit_material(material, max_px: int):
    """A copy of a trimesh material with every texture at most ``max_px`` on a side."""
    if material is None:
        return None
    material = material.copy() if hasattr(material, "copy") else material
    for attr in ("baseColorTexture", "metallicRoughnessTexture", "normalTexture",
                 "emissiveTexture", "occlusionTexture", "image"):
        image = getattr(material, attr, None)
        if image is not None and hasattr(image, "size"):
            setattr(material, attr, _limit_image(image, max_px))
    return material


def _trimesh_of(part: Part, scale: float, offset: np.ndarray, max_texture: int):
    import trimesh
    from trimesh.visual import TextureVisuals

    from lgcraft.meshes.gltf import GltfMaterial

    vertices = (part.vertices - offset) * scale
    material = part.material
    if isinstance(material, GltfMaterial):
        material = material.to_trimesh()
    visual = None
    if part.uv is not None:
        visual = TextureVisuals(uv=part.uv, material=limit_material(material, max_texture))
    elif material is not None:
        visual = TextureVisuals(material=limit_material(material, max_texture))
    mesh = trimesh.Trimesh(vertices, part.faces, visual=visual, process=False)
    return mesh


def build_scene(parts: list[Part], anchors: dict[str, list[float]], *, scale: float = 0.001,
                max_texture: int = 2048, pivots: dict[str, list[float]] | None = None,
                root_name: str = "model"):
    """A trimesh Scene: one node per part (temples pivot at their hinge), anchors as
    empty nodes named ``anchor_<name>``; coordinates multiplied by ``scale`` (mm -> m)."""
    import trimesh

    scene = trimesh.Scene(base_frame=root_name)
    pivots = pivots or {}
    for part in parts:
        pivot = np.asarray(pivots.get(part.name, [0.0, 0.0, 0.0]), dtype=float)
        mesh = _trimesh_of(part, scale, pivot, max_texture)
        transform = np.eye(4)
        transform[:3, 3] = pivot * scale
        scene.add_geometry(mesh, node_name=part.name, geom_name=part.name,
                           parent_node_name=root_name, transform=transform)
    for name, point in anchors.items():
        transform = np.eye(4)
        transform[:3, 3] = np.asarray(point, dtype=float) * scale
        scene.graph.update(frame_from=root_name, frame_to=f"anchor_{name}", matrix=transform)
    return scene


def glb_bytes(scene) -> bytes:
    try:
        return scene.export(file_type="glb", include_normals=True)
    except Exception as exc:  # trimesh raises plain exceptions on odd materials
        raise OperationError(f"GLB export failed ({type(exc).__name__}: {exc})") from exc


def write_usdz(scene, path: Path) -> None:
    """USDZ for AR Quick Look (metres, +Y up), textures as PNG, UsdPreviewSurface."""
    try:
        from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade, UsdUtils, Vt
    except ImportError as exc:
        raise DependencyError("USDZ needs usd-core", hint="pip install 'lgcraft[eyewear]'") from exc
    with tempfile.TemporaryDirectory(prefix="lgcraft-usd-") as tmp:
        tmpdir = Path(tmp)
        usdc = tmpdir / "model.usdc"
        stage = Usd.Stage.CreateNew(str(usdc))
        UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
        UsdGeom.SetStageMetersPerUnit(stage, 1.0)
        root = UsdGeom.Xform.Define(stage, "/Model")
        stage.SetDefaultPrim(root.GetPrim())
        for index, node in enumerate(scene.graph.nodes_geometry):
            transform, geom_name = scene.graph[node]
            mesh = scene.geometry[geom_name]
            safe = "".join(ch if ch.isalnum() else "_" for ch in str(node)) or f"part{index}"
            if safe[0].isdigit():
                safe = "p_" + safe
            prim_path = f"/Model/{safe}"
            usd_mesh = UsdGeom.Mesh.Define(stage, prim_path)
            verts = np.asarray(mesh.vertices) @ transform[:3, :3].T + transform[:3, 3]
            usd_mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(verts.astype(np.float32)))
            usd_mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(mesh.faces), 3, np.int32)))
            usd_mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(mesh.faces.astype(np.int32).ravel()))
            normals = np.asarray(mesh.vertex_normals, np.float32)
            usd_mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(normals))
            usd_mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
            usd_mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
            lo, hi = verts.min(axis=0), verts.max(axis=0)
            usd_mesh.CreateExtentAttr([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))])
            uv = getattr(mesh.visual, "uv", None)
            if uv is not None and len(uv) == len(verts):
                st = UsdGeom.PrimvarsAPI(usd_mesh).CreatePrimvar(
                    "st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
                st.Set(Vt.Vec2fArray.FromNumpy(np.asarray(uv, np.float32)))
            material = UsdShade.Material.Define(stage, f"/Model/Materials/{safe}_mat")
            shader = UsdShade.Shader.Define(stage, f"/Model/Materials/{safe}_mat/Surface")
            shader.CreateIdAttr("UsdPreviewSurface")
            mat = getattr(mesh.visual, "material", None)
            colour = (0.2, 0.2, 0.2)
            base_factor = getattr(mat, "baseColorFactor", None)
            if base_factor is not None:
                colour = tuple(float(c) / (255.0 if np.max(base_factor) > 1 else 1.0) for c in base_factor[:3])
            texture = getattr(mat, "baseColorTexture", None)
            if texture is not None and uv is not None:
                tex_name = f"{safe}_base.png"
                texture.convert("RGBA" if texture.mode in ("RGBA", "LA", "P") else "RGB").save(tmpdir / tex_name)
                reader = UsdShade.Shader.Define(stage, f"/Model/Materials/{safe}_mat/st")
                reader.CreateIdAttr("UsdPrimvarReader_float2")
                reader.CreateInput("varname", Sdf.ValueTypeNames.Token).Set("st")
                tex = UsdShade.Shader.Define(stage, f"/Model/Materials/{safe}_mat/base")
                tex.CreateIdAttr("UsdUVTexture")
                tex.CreateInput("file", Sdf.ValueTypeNames.Asset).Set("./" + tex_name)  # anchored: no search-path relocation
                tex.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(
                    reader.ConnectableAPI(), "result")
                tex.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
                shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(
                    tex.ConnectableAPI(), "rgb")
            else:
                shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(*colour))
            metallic = float(getattr(mat, "metallicFactor", 0.0) or 0.0)
            rough = getattr(mat, "roughnessFactor", None)
            shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(metallic)
            shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(float(0.5 if rough is None else rough))
            material.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
            UsdShade.MaterialBindingAPI.Apply(usd_mesh.GetPrim()).Bind(material)
        stage.GetRootLayer().Save()
        packed = tmpdir / "model.usdz"
        if not UsdUtils.CreateNewUsdzPackage(Sdf.AssetPath(str(usdc)), str(packed)):
            raise OperationError(f"USDZ packaging failed for {path.name}")
        write_atomic(path, packed.read_bytes())
