"""Custom pieces: closed single solids, weight against the closed form, the checks
measured on the mesh (a thin wall caught), prongs and the stone's seat."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lgcraft.errors import InputError
from lgcraft.jewelry.custom.make import CustomOptions, make_piece
from lgcraft.jewelry.custom.metals import ALLOYS
from lgcraft.jewelry.custom.order import make_order
from lgcraft.jewelry.custom.pieces import build_piece, mesh_arrays
from lgcraft.jewelry.custom.profiles import band_section, closed_form_volume
from lgcraft.meshes.repair import topology

NO_PREVIEW = CustomOptions(previews=False)


def checks_of(report):
    return {c["name"]: c for c in report["checks"]}


@pytest.mark.parametrize("fields", [
    {"type": "band", "size": "7", "engrave": "李小明 2026"},
    {"type": "band", "size": "9", "profile": "knife-edge", "comfort_fit": True, "engrave": "AB",
     "engrave_side": "outside"},
    {"type": "solitaire", "size": "6.5", "stone_size": "1ct", "engrave": "Forever"},
    {"type": "solitaire", "size": "7", "setting": "6-prong", "cut": "princess", "stone_size": "5.5"},
    {"type": "solitaire", "size": "N 1/2", "size_system": "uk", "setting": "bezel", "cut": "oval",
     "stone_size": "8x6"},
    {"type": "signet", "size": "20", "size_system": "jp", "engrave": "LG 龙", "engrave_side": "top"},
], ids=["band-cjk", "knife-outside", "solitaire", "6-prong-princess", "bezel-oval", "signet-top"])
def test_every_piece_is_one_closed_solid(fields):
    piece = build_piece(make_order(fields))
    vertices, faces, _ = mesh_arrays(piece.metal)
    topo = topology(vertices, faces)
    assert topo.watertight and topo.winding_consistent
    assert topo.components == 1 and len(piece.metal.decompose()) == 1
    assert piece.metal.volume() > 50
    # the finger hole goes through: the solid is a ring (genus >= 1)
    assert piece.metal.genus() >= 1


@pytest.mark.parametrize("size,width,thickness,metal", [("5", 3.0, 1.6, "18k-yellow-gold"),
                                                        ("7", 4.0, 1.8, "platinum"),
                                                        ("11.5", 6.0, 2.2, "sterling-silver")])
def test_court_band_weight_matches_the_closed_form(size, width, thickness, metal, tmp_path):
    order = make_order({"name": "court", "type": "band", "size": size, "profile": "court",
                        "width": width, "thickness": thickness, "metal": metal})
    report = make_piece(order, tmp_path, NO_PREVIEW)
    section = band_section("court", order.size.inner_diameter_mm, width, thickness)
    expected_g = closed_form_volume(section) / 1000 * ALLOYS[metal].density_g_cm3
    assert report["metal_weight_g"] == pytest.approx(expected_g, rel=0.005)
    assert report["volume_mm3"] == pytest.approx(closed_form_volume(section), rel=0.005)


def test_closed_form_volume_is_pappus_for_a_rectangle():
    section = band_section("flat", 16.0, 2.0, 1.0)
    assert closed_form_volume(section) == pytest.approx(math.pi * (9.0 ** 2 - 8.0 ** 2) * 2.0)


def test_a_04_mm_wall_is_caught_and_located(tmp_path):
    order = make_order({"name": "thin", "type": "band", "size": "7", "profile": "flat", "thickness": 0.4})
    report = make_piece(order, tmp_path, NO_PREVIEW)
    wall = checks_of(report)["wall"]
    assert wall["status"] == "fail" and wall["measured_mm"] == pytest.approx(0.4, abs=0.02)
    assert "shank at" in wall["where"] and "o'clock" in wall["where"]
    assert report["status"] == "fail"
    assert (tmp_path / "thin.stl").is_file()  # a failed check still writes the files


def test_a_deep_engraving_leaves_a_thin_wall_under_it(tmp_path):
    order = make_order({"name": "deep", "type": "band", "size": "7", "profile": "flat",
                        "thickness": 1.2, "engrave": "HELLO", "engrave_depth": 0.8})
    report = make_piece(order, tmp_path, NO_PREVIEW)
    wall = checks_of(report)["wall"]
    assert wall["status"] == "fail" and wall["measured_mm"] == pytest.approx(0.4, abs=0.05)
    assert wall["where"].startswith("engraving at 6 o'clock") or wall["where"].startswith("engraving at")
    depth = checks_of(report)["engraving_depth"]
    assert depth["measured_mm"] == pytest.approx(0.8, abs=0.02)


def test_prongs_and_seat_are_measured_on_the_mesh(tmp_path):
    order = make_order({"name": "sol", "type": "solitaire", "size": "7", "stone_size": "6.5",
                        "prong_diameter": 1.2, "seat_depth": 0.3})
    report = make_piece(order, tmp_path, NO_PREVIEW)
    checks = checks_of(report)
    prongs = checks["prong_diameter"]["detail"]["prongs"]
    assert len(prongs) == 4
    # a 1.2 mm prong drawn as a 20-sided polygon is 1.2 * cos(pi/20) wide across flats
    assert all(1.17 <= p["diameter_mm"] <= 1.2 for p in prongs)
    fit = checks["stone_fit"]
    assert fit["status"] == "pass" and fit["detail"]["seats"] == 4
    assert 0 <= fit["detail"]["gap_min_mm"] <= 0.05
    assert fit["detail"]["seat_depth_mm"] == pytest.approx(0.3, abs=0.06)
    assert report["stone"]["carat"] == pytest.approx(1.01, abs=0.03)


def test_thin_prongs_fail(tmp_path):
    order = make_order({"name": "thin-prongs", "type": "solitaire", "size": "7", "stone_size": "4",
                        "prong_diameter": 0.5, "seat_depth": 0.1})
    report = make_piece(order, tmp_path, NO_PREVIEW)
    prong = checks_of(report)["prong_diameter"]
    assert prong["status"] == "fail" and prong["measured_mm"] < 0.5 and prong["where"].startswith("prong")


def test_shrink_scales_the_print_files_not_the_try_on_mesh(tmp_path):
    order = make_order({"name": "s", "type": "band", "size": "7", "shrink": 2.0})
    make_piece(order, tmp_path, NO_PREVIEW)
    stl = np.frombuffer((tmp_path / "s.stl").read_bytes()[84:], dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)),
                                                                       ("a", "<u2")])
    radius = np.hypot(stl["v"][..., 0], stl["v"][..., 1]).min()
    assert 2 * radius == pytest.approx(order.size.inner_diameter_mm / 0.98, abs=0.005)


@pytest.mark.parametrize("fields,message", [
    ({"size": "7", "width": -2}, "--width -2 must be positive"),
    ({"size": "7", "thickness": 0}, "--thickness 0 must be positive"),
    ({"size": "18"}, "ring size '18' is not in the US table"),
    ({"size": "7", "type": "solitaire", "stone_size": "19"}, "larger than a size 7 (US) band can hold"),
    ({"size": "7", "type": "solitaire", "stone_size": "3", "prong_diameter": 1.6}, "too small for 1.6 mm prongs"),
    ({"size": "7", "metal": "platnum"}, "unknown metal 'platnum'"),
    ({"size": "7", "profile": "cort"}, "--profile 'cort' is not one of"),
    ({"size": "7", "engrave_side": "top", "engrave": "A"}, "top needs a signet face"),
    ({"size": "7", "stone": "ruby"}, "--stone applies to solitaires"),
    ({"size": "7", "thickness": 1.0, "engrave": "A", "engrave_depth": 1.0}, "would cut through a 1 mm band"),
    ({"size": "7", "shrink": -3}, "--shrink -3 must be 0 or more"),
])
def test_bad_orders_name_the_value(fields, message):
    with pytest.raises(InputError) as err:
        make_order(fields)
    assert message in err.value.message


def test_text_the_font_lacks_is_refused_by_character():
    order = make_order({"size": "7", "engrave": "A♞"})
    with pytest.raises(InputError) as err:
        build_piece(order)
    assert "no glyph for '♞' (U+265E)" in err.value.message


def test_font_file_option(tmp_path):
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    if not dejavu.is_file():
        pytest.skip("DejaVu not installed")
    order = make_order({"name": "dv", "size": "7", "engrave": "Abc", "font": str(dejavu)})
    report = make_piece(order, tmp_path, NO_PREVIEW)
    assert report["engraving"]["font"]["name"] == "DejaVu Sans Bold"
    with pytest.raises(InputError, match="has no glyph for '李'"):
        build_piece(make_order({"size": "7", "engrave": "李", "font": str(dejavu)}))
