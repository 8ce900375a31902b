"""CLI: prep and inspect through lgcraft.cli, batch behaviour, errors and exit codes."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lgcraft.cli import app, main

runner = CliRunner()


def _glb_json(path):
    data = path.read_bytes()
    length = struct.unpack("<I", data[12:16])[0]
    return json.loads(data[20:20 + length])


def test_prep_batch_json_outputs_and_resume(tmp_path, frame_files):
    out = tmp_path / "out"
    inputs = [str(frame_files["obj_cm"]), str(frame_files["stl_in"])]
    result = runner.invoke(app, ["--json", "eyewear", "prep", *inputs, "--out", str(out),
                                 "--jobs", "1", "--max-triangles", "3000"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["total"] == 2 and summary["ok"] == 2 and summary["failed"] == 0
    rows = {row["name"]: row for row in summary["files"]}
    assert rows["frame-cm"]["unit"] == "cm" and rows["frame-in"]["unit"] == "in"
    for row in rows.values():
        assert row["marking"] == "52\u25a118-140"
        assert row["triangles_out"] <= 3000
    report = json.loads((out / "frame-cm.report.json").read_text())
    for key in ("input_sha256", "settings_key", "repair", "parts", "boxing", "anchors_m",
                "hausdorff_mm", "outputs", "timings_s", "unit", "rotation"):
        assert key in report
    assert set(report["anchors_m"]) >= {"bridge", "hinge_left", "hinge_right",
                                        "ear_rest_left", "ear_rest_right"}
    doc = _glb_json(out / "frame-cm.glb")
    names = {n.get("name") for n in doc["nodes"]}
    assert {"front", "temple_left", "temple_right", "anchor_bridge", "anchor_hinge_left"} <= names
    temple = next(n for n in doc["nodes"] if n.get("name") == "temple_left")
    x = temple["translation"][0] if "translation" in temple else temple["matrix"][12]
    assert x > 0.05  # pivots at the left hinge (metres)
    assert any("NORMAL" in p["attributes"] for m in doc["meshes"] for p in m["primitives"])
    assert (out / "batch.json").is_file()
    assert (out / "batch.csv").read_text().splitlines()[0].startswith("name,status")
    assert not list(out.glob("*.part")) and not list(out.glob(".*"))
    # resume: same input and settings -> skipped; other settings -> redone
    again = runner.invoke(app, ["--json", "eyewear", "prep", *inputs, "--out", str(out),
                                "--jobs", "1", "--max-triangles", "3000", "--resume"])
    assert json.loads(again.stdout)["skipped"] == 2
    other = runner.invoke(app, ["--json", "eyewear", "prep", *inputs, "--out", str(out),
                                "--jobs", "1", "--max-triangles", "2000", "--resume"])
    assert json.loads(other.stdout)["ok"] == 2


def test_broken_file_fails_alone_with_exit_code(tmp_path, frame_files, capsys):
    broken = tmp_path / "broken.glb"
    broken.write_bytes(frame_files["glb_m"].read_bytes()[:500])
    empty = tmp_path / "empty.obj"
    empty.write_text("")
    out = tmp_path / "out"
    code = main(["--json", "eyewear", "prep", str(frame_files["glb_m"]), str(broken), str(empty),
                 "--out", str(out), "--jobs", "2"])
    captured = capsys.readouterr()
    assert code == 1
    summary = json.loads(captured.out)
    rows = {r["name"]: r for r in summary["files"]}
    assert rows["frame-m"]["status"] == "ok"
    assert rows["broken"]["status"] == "failed" and "truncated GLB" in rows["broken"]["error"]
    assert rows["empty"]["status"] == "failed" and "empty" in rows["empty"]["error"]
    assert "Error: 2 of 3 file(s) failed" in captured.err
    assert "Traceback" not in captured.err
    assert (out / "frame-m.glb").is_file() and not (out / "broken.glb").exists()


def test_bad_flags_exit_2(tmp_path, frame_files, capsys):
    code = main(["eyewear", "prep", str(frame_files["glb_m"]), "--out", str(tmp_path),
                 "--profile", "huge"])
    assert code == 2
    assert "unknown profile 'huge'" in capsys.readouterr().err
    code = main(["eyewear", "prep", str(tmp_path / "nothing.obj"), "--out", str(tmp_path)])
    assert code == 2
    assert "input not found" in capsys.readouterr().err
    for jobs in ("0", "99999999"):
        code = main(["eyewear", "prep", str(frame_files["glb_m"]), "--out", str(tmp_path), "--jobs", jobs])
        assert code == 2
        assert f"--jobs {jobs}: must be 1-256" in capsys.readouterr().err


def test_inspect_names_missing_and_broken_files(tmp_path, capsys):
    assert main(["eyewear", "inspect", str(tmp_path / "missing.obj")]) == 2
    assert "input not found: " + str(tmp_path / "missing.obj") in capsys.readouterr().err
    garbage = tmp_path / "garbage.stl"
    garbage.write_bytes(b"\x00\x13 not a mesh" * 3)
    assert main(["--json", "eyewear", "inspect", str(garbage)]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["files"][0]["status"] == "failed"
    assert f"1 of 1 file(s) could not be inspected; {garbage}: " in captured.err


def test_unknown_unit_is_assumed_or_fails_or_takes_frame_width(tmp_path, capsys):
    from lgcraft.eyewear.synthetic import make_frame

    path = tmp_path / "tiny.glb"
    make_frame(detail=16).transformed(__import__("numpy").eye(4), 2.1 / 132).save(path)
    code = main(["--json", "eyewear", "prep", str(path), "--out", str(tmp_path / "o"), "--jobs", "1"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["files"][0]["scale"] == "assumed"
    code = main(["--json", "eyewear", "prep", str(path), "--out", str(tmp_path / "o"), "--jobs", "1",
                 "--unknown-scale", "fail"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and "cannot tell the unit" in out["files"][0]["error"]
    code = main(["--json", "eyewear", "prep", str(path), "--out", str(tmp_path / "o"), "--jobs", "1",
                 "--frame-width", "132"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["files"][0]["marking"] == "52\u25a118-140"


def test_inspect_reports_topology_and_measurements(tmp_path, frame_files):
    import numpy as np
    import trimesh

    mesh = trimesh.load(frame_files["stl_in"], force="mesh")
    faces = np.asarray(mesh.faces).copy()
    faces[:50] = faces[:50, ::-1]
    bad = tmp_path / "flipped.stl"
    trimesh.Trimesh(mesh.vertices, faces, process=False).export(bad)
    result = runner.invoke(app, ["--json", "eyewear", "inspect", str(bad)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)["files"][0]
    assert info["topology"]["winding_consistent"] is False
    assert info["unit"] == "in"
    assert info["marking"] == "52\u25a118-140"
    assert info["repair_needed"]["faces_flipped"] >= 50
    people = runner.invoke(app, ["eyewear", "inspect", str(bad)], env={"COLUMNS": "250"})
    assert "winding flips" in people.stdout and "52" in people.stdout


def test_help_has_examples():
    for args in (["eyewear", "--help"], ["eyewear", "prep", "--help"], ["eyewear", "inspect", "--help"],
                 ["jewelry", "prep", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Example:" in result.stdout


def test_group_help_does_not_import_heavy_modules():
    code = ("import sys; from lgcraft.cli import main; main(['eyewear', '--help']); "
            "bad = [m for m in ('trimesh', 'scipy', 'pyrender', 'pxr', 'fast_simplification', "
            "'meshoptimizer') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_killed_run_leftovers_are_cleaned_and_outputs_complete(tmp_path, frame_files):
    from lgcraft.eyewear.prep import prep_frames
    from lgcraft.meshes.prep import PrepSettings

    out = tmp_path / "out"
    out.mkdir()
    (out / ".frame-m.glb.abc123.part").write_bytes(b"half a file")
    batch = prep_frames([frame_files["glb_m"]], out, PrepSettings(max_triangles=2000), jobs=1)
    assert batch.ok == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "batch.csv", "batch.json", "frame-m.glb", "frame-m.report.json"]


def test_keep_freed_memory_is_harmless():
    from lgcraft.meshes._threads import keep_freed_memory

    keep_freed_memory()
    keep_freed_memory()
    assert bytearray(1 << 22)[-1] == 0  # allocation still works


FORKED_AFTER_QUERIES = """
import sys
from pathlib import Path

import numpy as np

{preload}


def go(folder):
    from lgcraft.meshes.decimate import point_to_mesh
    from lgcraft.meshes.kdtree import fork_safe
    from lgcraft.eyewear.prep import prep_frames
    from lgcraft.meshes.prep import PrepSettings
    from lgcraft.eyewear.synthetic import make_frame

    frame = make_frame(detail=8)
    front = frame.parts["front"]
    # queries in this process first (an OpenMP pool here would not survive a fork)
    point_to_mesh(np.random.default_rng(0).normal(size=(20000, 3)) * 30, front.vertices, front.faces)
    files = []
    for i in range(3):
        files.append(Path(folder) / f"f{{i}}.glb")
        frame.save(files[-1])
    batch = prep_frames(files, Path(folder) / "out", PrepSettings(max_triangles=2000), jobs=2)
    print(batch.ok, fork_safe())


if __name__ == "__main__":
    go(sys.argv[1])
"""


@pytest.mark.parametrize("preload", [
    "",
    "from pykdtree.kdtree import KDTree  # before lgcraft, with every core",
    "import torch; torch.ones(100_000).sum()  # its OpenMP runtime, loaded globally",
])
def test_batch_workers_never_hang_after_queries_in_the_parent(tmp_path, preload):
    """The KD-tree's OpenMP runtime is pinned to one thread, so forked workers run; if
    the caller loaded pykdtree first (its own thread count) or another OpenMP runtime is
    loaded (torch's: it can serve pykdtree's calls), workers are spawned."""
    script = tmp_path / "batch.py"
    script.write_text(FORKED_AFTER_QUERIES.format(preload=preload))
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    result = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["3", "False" if preload else "True"]


def test_the_real_entry_ends_quickly_with_everything_written(tmp_path, frame_files):
    """`python -m lgcraft` (the console script's path): prep allows the quick exit, so
    stdout, stderr and every file must be complete without Python's teardown."""
    bad = tmp_path / "broken.stl"
    bad.write_bytes(b"solid nothing\nfacet normal 0 0 0\n")
    out = tmp_path / "out"
    ok = subprocess.run([sys.executable, "-m", "lgcraft", "--json", "eyewear", "prep",
                         str(frame_files["glb_m"]), "--out", str(out), "--max-triangles", "3000"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    summary = json.loads(ok.stdout)  # the whole document, flushed before the exit
    assert summary["files"][0]["status"] == "ok"
    report = json.loads((out / "frame-m.report.json").read_text())
    assert report["triangles_out"] <= 3000
    assert (out / "frame-m.glb").stat().st_size > 1000
    failed = subprocess.run([sys.executable, "-m", "lgcraft", "eyewear", "prep", str(bad),
                             "--out", str(tmp_path / "out2")], capture_output=True, text=True)
    assert failed.returncode == 1
    assert "Error: 1 of 1 file(s) failed" in failed.stderr
    assert json.loads((tmp_path / "out2" / "batch.json").read_text())["files"][0]["status"] == "failed"


def test_a_rerun_removes_what_it_no_longer_makes_and_nothing_else(tmp_path, frame_files):
    """A USDZ from a run with --usdz would pass for this run's: the rerun without it
    removes it (it was listed in the previous report); a file the report never listed,
    even with the same prefix, stays."""
    from lgcraft.eyewear.prep import prep_frames
    from lgcraft.meshes.prep import PrepSettings

    out = tmp_path / "out"
    first = prep_frames([frame_files["glb_m"]], out, PrepSettings(max_triangles=2000, usdz=True), jobs=1)
    assert first.ok == 1 and (out / "frame-m.usdz").is_file()
    (out / "frame-m.notes.txt").write_text("mine")
    again = prep_frames([frame_files["glb_m"]], out, PrepSettings(max_triangles=2000), jobs=1)
    assert again.ok == 1
    assert not (out / "frame-m.usdz").exists()
    assert (out / "frame-m.notes.txt").read_text() == "mine"
    report = json.loads((out / "frame-m.report.json").read_text())
    assert set(report["outputs"]) == {"glb", "report"}
