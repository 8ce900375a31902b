"""Loading: every format, named parts, and clear errors for broken files."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest

from lgcraft.eyewear.synthetic import make_frame
from lgcraft.meshes.batch import expand_inputs, input_digest, output_names
from lgcraft.meshes.errors import MeshError
from lgcraft.meshes.mesh import load_model

FRAME = make_frame(detail=16)


@pytest.mark.parametrize("suffix", [".obj", ".glb", ".gltf", ".stl", ".ply", ".off"])
def test_formats_load(tmp_path, suffix):
    path = tmp_path / f"frame{suffix}"
    FRAME.save(path)
    model = load_model(path)
    assert model.triangles == FRAME.faces()
    if suffix in (".obj", ".glb", ".gltf"):
        assert {p.name for p in model.parts} >= {"front", "temple_left", "lens_right"}


def test_3mf_loads_without_lxml(tmp_path):
    part = FRAME.parts["temple_left"]
    verts = "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x, y, z in part.vertices)
    tris = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in part.faces)
    xml = ('<?xml version="1.0"?><model unit="millimeter" '
           'xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02"><resources>'
           f'<object id="1" name="temple" type="model"><mesh><vertices>{verts}</vertices>'
           f'<triangles>{tris}</triangles></mesh></object></resources><build><item objectid="1"/></build></model>')
    path = tmp_path / "temple.3mf"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("3D/3dmodel.model", xml)
    model = load_model(path)
    assert model.parts[0].name == "temple" and model.triangles == len(part.faces)


def test_truncated_glb(tmp_path):
    path = tmp_path / "frame.glb"
    FRAME.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MeshError, match="truncated GLB"):
        load_model(path)


def test_garbage_stl(tmp_path):
    path = tmp_path / "junk.stl"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(MeshError, match="junk.stl"):
        load_model(path)


def test_empty_obj(tmp_path):
    path = tmp_path / "empty.obj"
    path.write_text("# nothing here\n")
    with pytest.raises(MeshError, match="no triangles|empty"):
        load_model(path)


def test_nan_vertices(tmp_path):
    path = tmp_path / "nan.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")
    with pytest.raises(MeshError, match="NaN"):
        load_model(path)


def test_missing_texture(tmp_path, ):
    src = tmp_path / "model.gltf"
    FRAME.save(src)
    doc = json.loads(src.read_text())
    doc["images"] = [{"uri": "textures/missing.png"}]
    src.write_text(json.dumps(doc))
    with pytest.raises(MeshError, match="missing texture file 'textures/missing.png'"):
        load_model(src)


@pytest.mark.parametrize("uri", ["../secret.bin", "https://example.com/x.bin", "/etc/passwd"])
def test_uri_outside_the_folder(tmp_path, uri):
    src = tmp_path / "model.gltf"
    FRAME.save(src)
    doc = json.loads(src.read_text())
    doc["buffers"][0]["uri"] = uri
    (tmp_path.parent / "secret.bin").write_bytes(b"x")
    src.write_text(json.dumps(doc))
    with pytest.raises(MeshError, match="outside the input folder"):
        load_model(src)


def test_unsupported_and_missing(tmp_path):
    (tmp_path / "a.fbx").write_bytes(b"x")
    with pytest.raises(MeshError, match="unsupported format"):
        load_model(tmp_path / "a.fbx")
    with pytest.raises(MeshError, match="no such file"):
        load_model(tmp_path / "nope.obj")


def test_expand_inputs_and_names(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        FRAME.save(tmp_path / sub / "scene.glb")
    (tmp_path / "a" / "notes.txt").write_text("x")
    found = expand_inputs([str(tmp_path)])
    assert [p.name for p in found] == ["scene.glb", "scene.glb"]
    assert output_names(found) == ["a", "b"]
    assert expand_inputs([str(tmp_path / "*" / "*.glb")]) == found
    from lgcraft.errors import InputError

    with pytest.raises(InputError, match="input not found"):
        expand_inputs([str(tmp_path / "missing.obj")])


def test_digest_covers_gltf_buffers(tmp_path):
    src = tmp_path / "m.gltf"
    FRAME.save(src)
    before = input_digest(src)
    buffers = [p for p in tmp_path.iterdir() if p.suffix == ".bin"]
    if not buffers:
        pytest.skip("buffer embedded")
    data = bytearray(buffers[0].read_bytes())
    data[100] ^= 0xFF
    buffers[0].write_bytes(bytes(data))
    assert input_digest(src) != before
    shutil.rmtree(tmp_path)


def test_obj_objects_keep_uvs_and_materials(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 30, 30)).save(tmp_path / "tex.png")
    (tmp_path / "m.mtl").write_text("newmtl red\nKd 0.8 0.1 0.1\nmap_Kd tex.png\n")
    (tmp_path / "m.obj").write_text(
        "mtllib m.mtl\no lens\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nvt 1 1\n"
        "usemtl red\nf 1/1 2/2 4/4 3/3\no temple\nv 0 0 1\nv 1 0 1\nv 0 1 1\nf 5/1 6/2 7/3\n")
    model = load_model(tmp_path / "m.obj")
    lens = model.parts[0]
    assert [p.name for p in model.parts] == ["lens", "temple"]
    assert lens.triangles == 2  # the quad was triangulated
    assert lens.uv is not None and lens.uv.shape == (4, 2)
    assert lens.material is not None and lens.material.baseColorTexture.size == (8, 8)
