"""Coincident layered surfaces: found (parts, area), not confused with touching or
crossing pieces, and separated on request."""

from __future__ import annotations

import numpy as np
import pytest

from lgcraft.meshes.layers import OFFSET_MM, coincident_layers, separate_layers
from lgcraft.meshes.part import Part
from lgcraft.meshes.synthetic import plate, superellipse


def _box(width, height, z0, z1, rings=6) -> tuple[np.ndarray, np.ndarray]:
    mesh = plate(superellipse(width / 2, height / 2, 48, power=6.0), z0, z1, rings)
    return mesh.vertices, mesh.faces


def test_a_decal_lying_on_a_plate_is_found_with_its_area_and_separated():
    plate_v, plate_f = _box(60.0, 40.0, 0.0, 2.0)
    decal_v, decal_f = _box(30.0, 20.0, 1.9, 2.0)  # its top is the plate's top: coincident
    parts = [Part("front", plate_v, plate_f), Part("logo", decal_v, decal_f)]
    found = coincident_layers(parts)
    assert len(found) == 1
    layer = found[0]
    assert set(layer.parts) == {"front", "logo"} and layer.thinner == "logo"
    top_area = 30.0 * 20.0 * 0.94  # a superellipse of power 6 fills ~94% of its box
    assert 0.6 * top_area <= layer.area_mm2 <= 1.2 * top_area, layer.area_mm2
    fixed = separate_layers(parts, found)
    assert fixed[0] is parts[0]  # the thicker part is not touched
    lift = fixed[1].vertices[:, 2].max() - parts[1].vertices[:, 2].max()
    assert abs(lift - OFFSET_MM) < 1e-6
    assert coincident_layers(fixed) == []


@pytest.mark.parametrize("gap", [0.2, 1.0])
def test_layers_apart_or_facing_each_other_are_not_flagged(gap):
    plate_v, plate_f = _box(60.0, 40.0, 0.0, 2.0)
    above_v, above_f = _box(30.0, 20.0, 2.0 + gap, 3.0 + gap)  # a gap: the depth test copes
    resting_v, resting_f = _box(30.0, 20.0, 2.0, 3.0)  # bottom on the plate's top: back to back
    assert coincident_layers([Part("front", plate_v, plate_f), Part("lens", above_v, above_f)]) == []
    assert coincident_layers([Part("front", plate_v, plate_f), Part("lens", resting_v, resting_f)]) == []


def test_crossing_pieces_are_not_layers():
    from lgcraft.eyewear.synthetic import make_frame

    frame = make_frame(detail=16)
    parts = [Part(n, m.vertices, m.faces) for n, m in frame.parts.items()]
    assert coincident_layers(parts) == []
