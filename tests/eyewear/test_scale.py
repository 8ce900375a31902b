"""Catalogues of unknown scale: markings CSV, check-size, `scale: assumed`, --unknown-scale."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from lgcraft.cli import app
from lgcraft.errors import InputError
from lgcraft.eyewear.markings import format_marking, parse_marking, read_markings

runner = CliRunner()


@pytest.mark.parametrize("text", ["52□18-140", "52[]18-140", "52-18-140", "52 18 140",
                                  "52x18x140", "52/18/140", " 52 □ 18 - 140 "])
def test_marking_spellings(text):
    assert parse_marking(text) == (52.0, 18.0, 140.0)


def test_marking_without_temple_and_bad_markings():
    assert parse_marking("49□21") == (49.0, 21.0, None)
    for bad in ("", "52", "140-18-52", "fifty□18-140", "52□18-140-3"):
        with pytest.raises(InputError):
            parse_marking(bad)


@given(st.integers(25, 80), st.integers(5, 35), st.one_of(st.none(), st.integers(100, 175)))
def test_marking_round_trip(a, dbl, temple):
    assert parse_marking(format_marking(a, dbl, temple)) == (a, dbl, temple)


def test_markings_csv_forms_and_errors(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("SKU-1,52□18-140\nframe.glb;x\n".replace(";x", ",50-20-145"), encoding="utf-8")
    assert read_markings(plain) == (("SKU-1", (52.0, 18.0, 140.0)), ("frame.glb", (50.0, 20.0, 145.0)))
    columns = tmp_path / "columns.csv"
    columns.write_text("lens,bridge,temple,sku\n52,18,140,A1\n54,16,,A2\n", encoding="utf-8")
    assert read_markings(columns) == (("A1", (52.0, 18.0, 140.0)), ("A2", (54.0, 16.0, None)))
    bad = tmp_path / "bad.csv"
    bad.write_text("file,marking\nA1,52□18-140\nA2,18□52-140\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 3"):
        read_markings(bad)
    twice = tmp_path / "twice.csv"
    twice.write_text("A1,52□18-140\na1,52□18-140\n", encoding="utf-8")
    with pytest.raises(InputError, match="twice"):
        read_markings(twice)
    with pytest.raises(InputError, match="no such file"):
        read_markings(tmp_path / "missing.csv")


@pytest.fixture(scope="module")
def odd_frames(tmp_path_factory):
    """A 50□20-145 frame normalised to arbitrary sizes (like marketplace models), and one
    in cm."""
    from lgcraft.eyewear.synthetic import make_frame, random_rotation

    folder = tmp_path_factory.mktemp("odd")
    frame = make_frame(lens_width=50, bridge=20, temple_length=145, detail=12)
    width = frame.truth.get("total_width_mm") or 130.0
    rng = np.random.default_rng(5)
    files = {"a": folder / "odd-a.obj", "b": folder / "SKU-B.glb", "c": folder / "cm-c.obj"}
    frame.transformed(random_rotation(rng), 3.618 / width).save(files["a"])
    frame.transformed(random_rotation(rng), 2.095 / width).save(files["b"])
    frame.transformed(random_rotation(rng), 0.1).save(files["c"])
    return files


def _prep(files, out, *extra):
    return runner.invoke(app, ["--json", "eyewear", "prep", *map(str, files), "--out", str(out),
                               "--jobs", "1", *extra])


def test_unknown_scale_is_assumed_marked_and_warned_once(tmp_path, odd_frames):
    out = tmp_path / "out"
    result = _prep([odd_frames["a"], odd_frames["b"], odd_frames["c"]], out)
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["files"]}
    assert rows["odd-a"]["scale"] == rows["SKU-B"]["scale"] == "assumed"
    assert rows["cm-c"]["scale"] == "unit" and rows["cm-c"]["unit"] == "cm"
    assert abs(rows["odd-a"]["total_width_mm"] - 140.0) < 1.0  # the typical adult frame
    assert result.stderr.count("Warning:") == 1 and "scale: assumed" in result.stderr
    assert "--markings" in result.stderr and "odd-a" in result.stderr
    batch = json.loads((out / "batch.json").read_text())
    assert {r["name"]: r["scale"] for r in batch["files"]}["odd-a"] == "assumed"
    header, *lines = (out / "batch.csv").read_text(encoding="utf-8").splitlines()
    assert "scale" in header.split(",") and sum(",assumed," in line for line in lines) == 2
    report = json.loads((out / "odd-a.report.json").read_text())
    assert report["scale"] == "assumed" and any("140 mm" in w for w in report["warnings"])
    strict = _prep([odd_frames["a"], odd_frames["c"]], tmp_path / "strict", "--unknown-scale", "fail")
    assert strict.exit_code == 1
    failed = {r["name"]: r for r in json.loads(strict.stdout)["files"]}
    assert failed["odd-a"]["status"] == "failed" and "cannot tell the unit" in failed["odd-a"]["error"]
    assert failed["cm-c"]["status"] == "ok"

def test_bad_scale_flags_exit_2(tmp_path, odd_frames, capsys):
    from lgcraft.cli import main

    base = ["eyewear", "prep", str(odd_frames["a"]), "--out", str(tmp_path / "o")]
    assert main([*base, "--unknown-scale", "guess"]) == 2
    assert "--unknown-scale guess: must be assume or fail" in capsys.readouterr().err
    assert main([*base, "--size-tolerance", "1,1"]) == 2
    assert "A,DBL,TEMPLE" in capsys.readouterr().err
    assert main([*base, "--markings", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing started


def test_markings_give_the_scale_and_check_size(tmp_path, odd_frames):
    markings = tmp_path / "markings.csv"
    markings.write_text("sku,marking\nSKU-B,50□20-145\nodd-a,50-20-145\ncm-c.obj,52□18-140\n",
                        encoding="utf-8")
    out = tmp_path / "out"
    files = [odd_frames["a"], odd_frames["b"], odd_frames["c"]]
    result = _prep(files, out, "--markings", str(markings))
    assert result.exit_code == 0, result.output
    assert "Warning:" not in result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)["files"]}
    for name in ("odd-a", "SKU-B"):
        assert rows[name]["scale"] == "marking"
        assert abs(rows[name]["lens_width_mm"] - 50) < 0.5 and abs(rows[name]["bridge_mm"] - 20) < 0.5
        assert abs(rows[name]["temple_length_mm"] - 145) < 3
        assert rows[name]["check_size"] is None  # no unit to check against
    # cm-c is a 50□20-145 frame listed as 52□18-140: the wrong SKU, caught by check-size
    assert rows["cm-c"]["scale"] == "marking"
    assert "lens width -2.0 mm" in rows["cm-c"]["check_size"]
    report = json.loads((out / "cm-c.report.json").read_text())
    assert report["check_size"]["ok"] is False and report["settings"]["marking"] == [52.0, 18.0, 140.0]
    assert any("check-size" in w for w in report["warnings"])
    loose = _prep([odd_frames["c"]], tmp_path / "loose", "--markings", str(markings),
                  "--size-tolerance", "2.5,2.5,6")
    assert json.loads(loose.stdout)["files"][0]["check_size"] == "ok"
    right = tmp_path / "right.csv"
    right.write_text("cm-c,50□20-145\n", encoding="utf-8")
    checked = _prep([odd_frames["c"]], tmp_path / "right", "--markings", str(right))
    assert json.loads(checked.stdout)["files"][0]["check_size"] == "ok"
    # resume: a changed marking redoes only its own file
    markings.write_text("sku,marking\nSKU-B,50□20-145\nodd-a,51-20-145\ncm-c.obj,52□18-140\n",
                        encoding="utf-8")
    again = _prep(files, out, "--markings", str(markings), "--resume")
    assert {r["name"]: r["status"] for r in json.loads(again.stdout)["files"]} == {
        "odd-a": "ok", "SKU-B": "skipped", "cm-c": "skipped"}
