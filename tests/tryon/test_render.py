"""Materials as the GLB defines them: transmission (factor x texture) becomes opacity."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.render


def _png(rgba) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(rgba, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("red, alpha", [(0, 255), (255, 51), (128, 153)])
def test_transmission_texture_sets_the_lens_opacity(red, alpha):
    from lgcraft.meshes.gltf import GltfMaterial, GltfTexture
    from lgcraft.tryon.render import import_pyrender, pyrender_material

    pyrender = import_pyrender()
    base = GltfTexture(_png(np.full((4, 8, 4), [200, 120, 60, 255])), "image/png")
    transmission = GltfTexture(_png(np.full((4, 8, 3), [red, 0, 0])), "image/png")
    material = GltfMaterial({"alphaMode": "OPAQUE",
                             "pbrMetallicRoughness": {"baseColorTexture": {"index": 0}},
                             "extensions": {"KHR_materials_transmission": {
                                 "transmissionFactor": 1.0, "transmissionTexture": {"index": 1}}}},
                            [base, transmission])
    made = pyrender_material(pyrender, material, {})
    assert made.alphaMode == "BLEND"
    texels = made.baseColorTexture.source
    assert texels.shape == (4, 8, 4) and abs(int(texels[..., 3].mean()) - alpha) <= 1
    assert tuple(texels[0, 0, :3]) == (200, 120, 60)  # the colour is the file's


def test_transmission_factor_alone_and_no_material():
    from lgcraft.meshes.gltf import GltfMaterial
    from lgcraft.tryon.render import import_pyrender, pyrender_material

    pyrender = import_pyrender()
    clear = pyrender_material(pyrender, GltfMaterial({"pbrMetallicRoughness": {
        "baseColorFactor": [0.2, 0.2, 0.2, 1.0]}, "extensions": {
        "KHR_materials_transmission": {"transmissionFactor": 0.5}}}), {})
    assert clear.alphaMode == "BLEND" and clear.baseColorFactor[3] == pytest.approx(0.6)
    plain = pyrender_material(pyrender, None, {})
    assert plain.alphaMode == "OPAQUE" and plain.baseColorFactor[3] == 1.0
