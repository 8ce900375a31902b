"""Rings (axis, centre, inner diameter -> ISO 8653 / US) and earrings (post/hook anchor)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.cli import main
from lgcraft.jewelry.meshprep import analyse_jewelry, ring_sizes
from lgcraft.jewelry.synthetic import (
    make_hook_earring,
    make_ring,
    make_stud_earring,
    random_rotation,
)
from lgcraft.meshes.part import Part
from lgcraft.meshes.prep import PrepSettings

UNITS = {"mm": 1.0, "cm": 0.1, "m": 0.001}


def _parts(model):
    return [Part(name, p.vertices, p.faces) for name, p in model.parts.items()]


@pytest.mark.parametrize(("diameter", "iso", "us"), [
    (14.07, 44, 3.0), (14.9, 47, 4.0), (17.35, 55, 7.0), (18.19, 57, 8.0), (19.84, 62, 10.0), (22.2, 70, 13.0)])
def test_ring_size_tables(diameter, iso, us):
    sizes = ring_sizes(diameter)
    assert sizes["size_iso"] == iso
    assert sizes["size_us"] == us


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), diameter=st.floats(14.0, 23.0),
       unit=st.sampled_from(sorted(UNITS)), head=st.booleans())
def test_ring_of_known_size_measures_right(seed, diameter, unit, head):
    rng = np.random.default_rng(seed)
    rotation = random_rotation(rng)
    rotation[:3, 3] = rng.normal(size=3) * 5
    model = make_ring(inner_diameter=diameter, head=head, detail=32).transformed(rotation, UNITS[unit])
    result = analyse_jewelry(_parts(model), PrepSettings(kind="jewelry"), "ring")
    ring = result.measurements["ring"]
    assert result.kind == "ring" and result.unit == unit
    assert abs(ring["inner_diameter_mm"] - diameter) < 0.1
    assert ring["size_iso"] == round(np.pi * diameter)
    # axis recovered: the band's axis (model +Z) maps onto the output Z
    axis_in = rotation[:3, :3] @ np.array([0.0, 0.0, 1.0])
    assert abs(result.rotation[2] @ axis_in) > 0.999
    # centred: the band is symmetric about the origin in X/Y
    band = np.vstack([p.vertices for p in result.parts if p.name == "band"])
    assert np.abs(np.linalg.norm(band[:, :2], axis=1).min() - diameter / 2) < 0.1
    if head:  # the head points up (+Y)
        head_part = next(p for p in result.parts if p.name == "head")
        assert head_part.vertices[:, 1].mean() > diameter / 2


def _anchor_in_input(result, model):
    first = next(iter(model.parts.values()))
    v_in = first.vertices[0] * result.mm_per_unit
    v_out = result.parts[0].vertices[0]
    return v_in - result.rotation.T @ v_out


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), unit=st.sampled_from(sorted(UNITS)),
       style=st.sampled_from(["post", "hook"]))
def test_earring_anchor(seed, unit, style):
    rotation = random_rotation(np.random.default_rng(seed))
    base = make_stud_earring() if style == "post" else make_hook_earring()
    model = base.transformed(rotation, UNITS[unit])
    result = analyse_jewelry(_parts(model), PrepSettings(kind="jewelry"), "earring")
    assert result.kind == "earring" and result.unit == unit
    assert result.measurements["earring"]["style"] == style
    truth = rotation[:3, :3] @ np.array(base.truth["anchor"]) * UNITS[unit] * result.mm_per_unit
    assert np.linalg.norm(_anchor_in_input(result, model) - truth) < 1.5
    if style == "post":  # the post points back, -Z
        post = next(p for p in result.parts if p.name == "post")
        assert post.vertices[:, 2].mean() < -3
    else:  # hanging down from the hook
        drop = next(p for p in result.parts if p.name == "drop")
        assert drop.vertices[:, 1].mean() < -10


def test_jewelry_prep_cli(tmp_path, jewelry_files, capsys):
    out = tmp_path / "out"
    code = main(["--json", "jewelry", "prep", *map(str, jewelry_files.values()), "--out", str(out),
                 "--jobs", "1"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    rows = {r["name"]: r for r in summary["files"]}
    assert rows["ring"]["kind"] == "ring" and rows["ring"]["ring_size_iso"] == 55
    assert rows["ring"]["ring_size_us"] == 7.0
    assert rows["stud"]["kind"] == "earring" and rows["hook"]["kind"] == "earring"
    report = json.loads((out / "stud.report.json").read_text())
    assert report["earring"]["style"] == "post" and "piercing" in report["anchors_m"]
    ring_report = json.loads((out / "ring.report.json").read_text())
    assert set(ring_report["anchors_m"]) == {"ring_centre", "ring_top"}


def test_forcing_ring_on_an_earring_fails_clearly(tmp_path, jewelry_files, capsys):
    code = main(["--json", "jewelry", "prep", str(jewelry_files["stud"]), "--out", str(tmp_path),
                 "--kind", "ring", "--jobs", "1"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and "no ring found" in summary["files"][0]["error"]
    assert main(["jewelry", "prep", str(jewelry_files["stud"]), "--out", str(tmp_path),
                 "--kind", "bracelet"]) == 2


def test_simplified_jewelry_stays_on_its_posed_original(tmp_path, jewelry_files, capsys):
    """Simplified on the input (beside the analysis), then mapped into the canonical
    pose: a wrong map would show as an error of millimetres."""
    out = tmp_path / "out"
    code = main(["--json", "jewelry", "prep", *map(str, jewelry_files.values()), "--out", str(out),
                 "--max-triangles", "400"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    for name in jewelry_files:
        report = json.loads((out / f"{name}.report.json").read_text())
        assert report["triangles_in"] > 400 >= report["triangles_out"] - 48 * len(report["parts"])
        # (a stud's disc and post simplify exactly: flat faces and straight sides)
        assert (0 < report["hausdorff_mm"] if name != "stud" else 0 <= report["hausdorff_mm"])
        assert report["hausdorff_mm"] < 0.5 and report["origin_input"] is not None
