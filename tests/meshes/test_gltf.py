"""The numpy glTF reader and GLB writer agree with trimesh's on what they both read."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.meshes.errors import MeshError
from lgcraft.meshes.gltf import (
    GltfMaterial,
    can_write,
    glb_from_parts,
    read_gltf,
    split_glb,
    vertex_normals,
)
from lgcraft.meshes.mesh import load_model
from lgcraft.meshes.part import Part


def _trimesh_parts(path):
    import trimesh

    from lgcraft.meshes.mesh import _scene_parts

    return _scene_parts(trimesh.load(str(path), force="scene", process=False))


def _scene_file(tmp_path, transforms, with_uv=True, name="scene.glb"):
    import trimesh

    scene = trimesh.Scene()
    for i, matrix in enumerate(transforms):
        box = trimesh.creation.box(extents=(1 + i, 2, 3))
        if with_uv:
            uv = np.random.default_rng(i).random((len(box.vertices), 2))
            material = trimesh.visual.material.PBRMaterial(baseColorFactor=[200, 10, 10, 255])
            box.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
        scene.add_geometry(box, node_name=f"part{i}", geom_name=f"geom{i}", transform=matrix)
    path = tmp_path / name
    scene.export(str(path))
    return path


def _by_name(parts):
    return {p.name: p for p in parts}


def test_reads_what_trimesh_reads(tmp_path):
    rng = np.random.default_rng(3)
    transforms = []
    for _ in range(3):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        m = np.eye(4)
        m[:3, :3] = q * rng.uniform(0.5, 2.0)
        m[:3, 3] = rng.normal(size=3)
        transforms.append(m)
    path = _scene_file(tmp_path, transforms)
    ours = _by_name(read_gltf(path))
    theirs = _by_name(_trimesh_parts(path))
    assert ours.keys() == theirs.keys()
    for name, part in ours.items():
        np.testing.assert_allclose(part.vertices, theirs[name].vertices, atol=1e-5)
        np.testing.assert_array_equal(part.faces, theirs[name].faces)
        np.testing.assert_allclose(part.uv, theirs[name].uv, atol=1e-6)


def _gltf_doc(node_fields: dict, vertices: np.ndarray, faces: np.ndarray, *,
              stride: int | None = None) -> tuple[dict, bytes]:
    verts = vertices.astype(np.float32)
    if stride:  # interleave the positions with padding
        rows = np.zeros((len(verts), stride // 4), np.float32)
        rows[:, :3] = verts
        vbytes = rows.tobytes()
    else:
        vbytes = verts.tobytes()
    ibytes = faces.astype(np.uint32).tobytes()
    blob = vbytes + ibytes
    view = {"buffer": 0, "byteOffset": 0, "byteLength": len(vbytes)}
    if stride:
        view["byteStride"] = stride
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"name": "outer", "children": [1], **node_fields},
                  {"name": "inner", "mesh": 0, "translation": [1.0, 0.0, 0.0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "buffers": [{"byteLength": len(blob)}],
        "bufferViews": [view, {"buffer": 0, "byteOffset": len(vbytes), "byteLength": len(ibytes)}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(verts), "type": "VEC3",
             "min": verts.min(axis=0).tolist(), "max": verts.max(axis=0).tolist()},
            {"bufferView": 1, "componentType": 5125, "count": faces.size, "type": "SCALAR"},
        ],
    }
    return doc, blob


def _glb(doc: dict, blob: bytes) -> bytes:
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    blob += b"\0" * (-len(blob) % 4)
    total = 28 + len(text) + len(blob)
    return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<II", len(text), 0x4E4F534A)
            + text + struct.pack("<II", len(blob), 0x004E4942) + blob)


TETRA_V = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
TETRA_F = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


@settings(max_examples=25, deadline=None)
@given(
    translation=st.lists(st.floats(-100, 100), min_size=3, max_size=3),
    quaternion=st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(
        lambda q: sum(c * c for c in q) > 0.01),
    scale=st.lists(st.floats(0.1, 10) | st.floats(-10, -0.1), min_size=3, max_size=3),
    use_matrix=st.booleans(),
    stride=st.sampled_from([None, 16, 24]),
)
def test_node_transforms_match_trimesh(tmp_path_factory, translation, quaternion, scale,
                                       use_matrix, stride):
    import trimesh

    fields = {"translation": translation, "rotation": quaternion, "scale": scale}
    if use_matrix:
        t = trimesh.transformations.translation_matrix(translation)
        q = np.asarray(quaternion) / np.linalg.norm(quaternion)
        r = trimesh.transformations.quaternion_matrix(q[[3, 0, 1, 2]])
        fields = {"matrix": (t @ r @ np.diag([*scale, 1.0])).T.ravel().tolist()}
    path = tmp_path_factory.mktemp("g") / "t.glb"
    path.write_bytes(_glb(*_gltf_doc(fields, TETRA_V, TETRA_F, stride=stride)))
    ours = read_gltf(path)
    theirs = _trimesh_parts(path)
    assert len(ours) == len(theirs) == 1
    np.testing.assert_allclose(ours[0].vertices, theirs[0].vertices, atol=1e-4, rtol=1e-5)
    np.testing.assert_array_equal(ours[0].faces, theirs[0].faces)


def test_textured_or_compressed_files_go_to_the_general_loader(tmp_path):
    doc, blob = _gltf_doc({}, TETRA_V, TETRA_F)
    doc["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}]
    doc["meshes"][0]["primitives"][0]["material"] = 0
    assert read_gltf(tmp_path / "x.glb", doc, blob) is None
    doc, blob = _gltf_doc({}, TETRA_V, TETRA_F)
    doc["extensionsRequired"] = ["KHR_draco_mesh_compression"]
    assert read_gltf(tmp_path / "x.glb", doc, blob) is None


def test_factor_materials_are_kept(tmp_path):
    doc, blob = _gltf_doc({}, TETRA_V, TETRA_F)
    red = {"name": "red", "pbrMetallicRoughness": {"baseColorFactor": [1, 0, 0, 1],
                                                     "metallicFactor": 0.2}}
    doc["materials"] = [red]
    doc["meshes"][0]["primitives"][0]["material"] = 0
    (tmp_path / "m.glb").write_bytes(_glb(doc, blob))
    part = load_model(tmp_path / "m.glb").parts[0]
    assert isinstance(part.material, GltfMaterial) and part.material.spec == red
    out = glb_from_parts([part], {}, scale=1.0)
    doc2, _ = split_glb(out, "out.glb")
    assert doc2["materials"] == [red]
    assert part.material.to_trimesh().baseColorFactor.tolist() == [255, 0, 0, 255]


def test_accessor_past_the_buffer_is_a_clear_error(tmp_path):
    doc, blob = _gltf_doc({}, TETRA_V, TETRA_F)
    doc["accessors"][0]["count"] = 400
    (tmp_path / "bad.glb").write_bytes(_glb(doc, blob))
    with pytest.raises(MeshError, match="runs past"):
        load_model(tmp_path / "bad.glb")


def test_external_buffer_gltf(tmp_path):
    doc, blob = _gltf_doc({}, TETRA_V, TETRA_F)
    (tmp_path / "data.bin").write_bytes(blob)
    doc["buffers"][0]["uri"] = "data.bin"
    (tmp_path / "m.gltf").write_text(json.dumps(doc))
    model = load_model(tmp_path / "m.gltf")
    np.testing.assert_allclose(model.parts[0].vertices, TETRA_V + [1, 0, 0])
    assert (tmp_path / "data.bin").resolve() in model.source_files


def test_writer_output_reads_back_in_trimesh(tmp_path):
    import trimesh

    rng = np.random.default_rng(0)
    parts = [Part("front", TETRA_V * 10, TETRA_F.copy(), rng.random((4, 2))),
             Part("temple_left", TETRA_V * 5 + [60, 0, -10], TETRA_F.copy())]
    pivots = {"temple_left": [60.0, 0.0, -10.0]}
    anchors = {"bridge": [0.0, 1.0, 2.0], "hinge_left": [60.0, 0.0, -10.0]}
    assert can_write(parts)
    path = tmp_path / "out.glb"
    path.write_bytes(glb_from_parts(parts, anchors, scale=0.001, pivots=pivots))
    scene = trimesh.load(str(path), force="scene", process=False)
    assert {"anchor_bridge", "anchor_hinge_left"} <= set(scene.graph.nodes)
    np.testing.assert_allclose(scene.graph.get("anchor_bridge")[0][:3, 3], [0, 0.001, 0.002])
    np.testing.assert_allclose(scene.graph.get("temple_left")[0][:3, 3], [0.06, 0, -0.01])
    back = _by_name(_trimesh_parts(path))
    np.testing.assert_allclose(back["temple_left"].vertices, parts[1].vertices * 0.001, atol=1e-6)
    doc, _ = split_glb(path.read_bytes(), "out.glb")
    assert all("NORMAL" in m["primitives"][0]["attributes"] for m in doc["meshes"])
    # and our own reader gives the parts back too
    again = _by_name(read_gltf(path))
    np.testing.assert_allclose(again["front"].vertices, parts[0].vertices * 0.001, atol=1e-6)
    np.testing.assert_allclose(again["front"].uv, parts[0].uv, atol=1e-6)


def test_vertex_normals_point_outward_on_a_closed_mesh():
    normals = vertex_normals(TETRA_V, TETRA_F)
    centre = TETRA_V.mean(axis=0)
    assert ((normals * (TETRA_V - centre)).sum(axis=1) > 0).all()
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0)


def _png(size, colour=(200, 40, 40)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def _textured(tmp_path, size=(64, 32), tex_coord=0, image_extra=None, external=False):
    """A tetrahedron with UVs whose material uses one PNG twice (base colour, and the
    transmission texture of an extension) through two samplers."""
    doc, blob = _gltf_doc({}, TETRA_V, TETRA_F)
    uv = np.random.default_rng(0).random((len(TETRA_V), 2)).astype(np.float32).tobytes()
    png = _png(size)
    doc["bufferViews"].append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(uv)})
    doc["accessors"].append({"bufferView": 2, "componentType": 5126, "count": 4, "type": "VEC2"})
    blob += uv
    image = {"mimeType": "image/png", **(image_extra or {})}
    if external:
        (tmp_path / "tex.png").write_bytes(png)
        image = {"uri": "tex.png", **(image_extra or {})}
    else:
        blob += b"\0" * (-len(blob) % 4)
        doc["bufferViews"].append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(png)})
        image["bufferView"] = 3
        blob += png
    doc["buffers"][0]["byteLength"] = len(blob)
    doc["images"] = [image]
    doc["samplers"] = [{"magFilter": 9729}, {"wrapS": 33648}]
    doc["textures"] = [{"source": 0, "sampler": 0}, {"source": 0, "sampler": 1}]
    doc["materials"] = [{"name": "lens", "alphaMode": "BLEND",
                         "pbrMetallicRoughness": {"baseColorTexture": {"index": 0, "texCoord": tex_coord},
                                                  "metallicFactor": 0.1},
                         "extensions": {"KHR_materials_transmission": {
                             "transmissionFactor": 1.0, "transmissionTexture": {"index": 1}}}}]
    doc["extensionsUsed"] = ["KHR_materials_transmission"]
    prim = doc["meshes"][0]["primitives"][0]
    prim["attributes"]["TEXCOORD_0"] = 2
    prim["material"] = 0
    path = tmp_path / ("t.gltf" if external else "t.glb")
    if external:
        import base64

        doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(blob).decode()
        path.write_text(json.dumps(doc))
    else:
        path.write_bytes(_glb(doc, blob))
    return path, png


@pytest.mark.parametrize("external", [False, True])
def test_textured_materials_are_read_and_written_back_without_trimesh(tmp_path, external):
    path, png = _textured(tmp_path, external=external)
    parts = read_gltf(path)
    assert parts is not None and len(parts) == 1
    material = parts[0].material
    assert material.textures and material.textures[0].image == png
    out, _ = split_glb(glb_from_parts(parts, {}, scale=1.0, max_texture=2048), "out.glb")
    assert out["extensionsUsed"] == ["KHR_materials_transmission"]
    assert len(out["images"]) == 1 and len(out["textures"]) == 2 and len(out["samplers"]) == 2
    spec = out["materials"][0]
    base = out["textures"][spec["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
    clear = out["textures"][spec["extensions"]["KHR_materials_transmission"]["transmissionTexture"]["index"]]
    assert out["samplers"][base["sampler"]] == {"magFilter": 9729}
    assert out["samplers"][clear["sampler"]] == {"wrapS": 33648}
    assert base["source"] == clear["source"] == 0


def test_written_textures_read_back_in_trimesh_and_are_limited(tmp_path):
    import trimesh

    path, _ = _textured(tmp_path, size=(512, 256))
    parts = read_gltf(path)
    target = tmp_path / "out.glb"
    target.write_bytes(glb_from_parts(parts, {}, scale=1.0, max_texture=128))
    scene = trimesh.load(str(target), force="scene", process=False)
    mesh = next(iter(scene.geometry.values()))
    assert mesh.visual.material.baseColorTexture.size == (128, 64)
    np.testing.assert_allclose(mesh.visual.uv, parts[0].uv, atol=1e-6)
    assert parts[0].material.textures[0].size() == (512, 256)  # the input is not modified


def test_textures_this_reader_cannot_carry_go_to_the_general_loader(tmp_path):
    path, _ = _textured(tmp_path, tex_coord=1)
    assert read_gltf(path) is None
    doc, blob = split_glb(_textured(tmp_path)[0].read_bytes(), "t.glb")
    doc["images"][0]["mimeType"] = "image/webp"
    assert read_gltf(tmp_path / "w.glb", doc, blob) is None
    doc["images"][0]["mimeType"] = "image/png"
    doc["textures"][0]["extensions"] = {"EXT_texture_webp": {"source": 0}}
    assert read_gltf(tmp_path / "w.glb", doc, blob) is None
    del doc["textures"][0]["extensions"]
    info = doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"]
    info["extensions"] = {"KHR_texture_transform": {"scale": [2, 2]}}
    assert read_gltf(tmp_path / "w.glb", doc, blob) is not None  # carried through
    info["extensions"]["KHR_texture_transform"]["texCoord"] = 1  # another UV set
    assert read_gltf(tmp_path / "w.glb", doc, blob) is None


def test_textured_material_converts_for_usdz_and_previews(tmp_path):
    path, _ = _textured(tmp_path, size=(16, 8))
    material = read_gltf(path)[0].material.to_trimesh()
    assert material.baseColorTexture.size == (16, 8)
    assert material.metallicFactor == pytest.approx(0.1)



def test_a_broken_texture_is_a_clear_per_file_error(tmp_path):
    """Garbage where a PNG should be fails the file; a truncated PNG within the budget is
    carried through as the file had it, and fails only where it must be decoded (to be
    resized to the budget)."""
    from lgcraft.eyewear.prep import prep_frames
    from lgcraft.meshes.prep import PrepSettings

    settings = PrepSettings(max_triangles=100, frame_width_mm=140)
    path, png = _textured(tmp_path, size=(4096, 16), external=True)
    (tmp_path / "tex.png").write_bytes(png[:len(png) // 2])  # the header still parses
    batch = prep_frames([path], tmp_path / "out", settings, jobs=1)
    assert batch.files[0].status == "failed"
    assert batch.files[0].error.startswith("texture 'tex.png' cannot be decoded")
    (tmp_path / "tex.png").write_bytes(b"not an image at all")
    batch = prep_frames([path], tmp_path / "out2", settings, jobs=1)
    assert batch.files[0].status == "failed"
    assert batch.files[0].error.startswith("texture 'tex.png' is not a readable image/png image")
