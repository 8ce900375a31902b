"""`eyewear prep` / `jewelry prep --executor ray` on a real local Ray cluster: the same
GLBs, byte for byte, and the same reports as the local executor; a bad file failing
alone; resume; a worker killed mid-batch; the shared-storage probe."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lgcraft.cli import app, main

pytestmark = [pytest.mark.ray, pytest.mark.slow]
runner = CliRunner()


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    """Four frames in odd units and poses, and a file that is not a mesh."""
    from lgcraft.eyewear.synthetic import make_frame, random_rotation

    folder = tmp_path_factory.mktemp("ray-frames")
    rng = np.random.default_rng(5)
    for k, (detail, scale) in enumerate([(16, 0.1), (24, 1.0), (32, 0.1), (40, 1 / 25.4)]):
        suffix = ".stl" if k == 3 else ".obj"
        make_frame(detail=detail).transformed(random_rotation(rng), scale).save(
            folder / f"frame{k}{suffix}")
    (folder / "broken.obj").write_text("v 0 0 0\nnot a mesh\n")
    return folder


def prep(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["--json", *args])
    return result.exit_code, json.loads(result.stdout)


def comparable_report(path: Path, out: Path) -> dict:
    report = json.loads(path.read_text())
    report.pop("timings_s")
    return json.loads(json.dumps(report).replace(str(out), "OUT"))


def test_ray_prep_writes_what_the_local_executor_writes(ray_cluster, frames, tmp_path):
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    code_local, batch_local = prep("eyewear", "prep", str(frames), "--out", str(local), "-j", "2")
    code_ray, batch_ray = prep("eyewear", "prep", str(frames), "--out", str(on_ray),
                               "--executor", "ray")
    assert code_local == code_ray == 1  # the broken file, alone
    statuses = {row["name"]: row["status"] for row in batch_ray["files"]}
    assert statuses == {"broken": "failed", "frame0": "ok", "frame1": "ok", "frame2": "ok",
                        "frame3": "ok"}
    glbs = sorted(p.name for p in local.glob("*.glb"))
    assert len(glbs) == 4 and glbs == sorted(p.name for p in on_ray.glob("*.glb"))
    for name in glbs:
        assert (local / name).read_bytes() == (on_ray / name).read_bytes(), name
        report = name.replace(".glb", ".report.json")
        assert comparable_report(local / report, local) == comparable_report(on_ray / report, on_ray)
    for batch in (batch_local, batch_ray):
        for row in batch["files"]:
            row.pop("seconds")
    assert json.loads(json.dumps(batch_local).replace(str(local), "OUT")) == \
        json.loads(json.dumps(batch_ray).replace(str(on_ray), "OUT"))
    assert not list(on_ray.glob(".*.part"))

    # --resume on Ray skips exactly what it skips locally: every file already made
    before = {p.name: p.stat().st_mtime_ns for p in on_ray.glob("*.glb")}
    code, again = prep("eyewear", "prep", str(frames), "--out", str(on_ray), "--executor", "ray",
                       "--resume")
    assert code == 1
    assert {r["name"]: r["status"] for r in again["files"]} == {**statuses, **{
        n: "skipped" for n, s in statuses.items() if s == "ok"}}
    assert {p.name: p.stat().st_mtime_ns for p in on_ray.glob("*.glb")} == before


def test_jewelry_prep_runs_on_ray_too(ray_cluster, tmp_path):
    from lgcraft.jewelry.synthetic import make_ring

    ring = tmp_path / "ring.stl"
    make_ring(inner_diameter=17.35, detail=24).save(ring)
    code, batch = prep("jewelry", "prep", str(ring), "--out", str(tmp_path / "out"),
                       "--executor", "ray")
    assert code == 0, batch
    assert batch["files"][0]["status"] == "ok" and batch["files"][0]["ring_size_iso"] is not None


def _worker_running(task: str = "ray::lgcraft_file") -> int | None:
    import psutil

    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if cmdline and cmdline[0].startswith(task):
            return process.info["pid"]
    return None


def test_a_worker_killed_mid_batch_is_retried(ray_cluster, tmp_path):
    """SIGKILL the worker process running a file: Ray runs that file again on another
    worker; the batch ends with every file made once, whole, and no temporaries."""
    from lgcraft.eyewear.prep import prep_frame
    from lgcraft.eyewear.synthetic import frame_with_faces, random_rotation
    from lgcraft.meshes.batch import run_batch
    from lgcraft.meshes.prep import PrepSettings
    from lgcraft.run import parse_executor

    inputs = tmp_path / "in"
    inputs.mkdir()
    first = inputs / "heavy0.glb"
    frame_with_faces(120_000).transformed(random_rotation(np.random.default_rng(1)), 1.0).save(first)
    paths = [first] + [shutil.copyfile(first, inputs / f"heavy{k}.glb") for k in range(1, 8)]
    out = tmp_path / "out"
    done: list[str] = []
    outcome: dict = {}

    def batch() -> None:
        outcome["batch"] = run_batch(paths, out, prep_frame, PrepSettings(kind="frame"),
                                     executor=parse_executor("ray"),
                                     on_done=lambda r: done.append(r.name))

    thread = threading.Thread(target=batch)
    thread.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and thread.is_alive() and time.monotonic() < deadline:
        victim = _worker_running()  # the first worker seen drawing a file
        time.sleep(0.02)
    assert victim is not None, "no worker was seen running a file"
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    result = outcome["batch"]
    assert sorted(done) == sorted(f"heavy{k}" for k in range(8))  # each reported once
    assert [f.status for f in result.files] == ["ok"] * 8, [f.error for f in result.files]
    assert sorted(p.name for p in out.glob("*.glb")) == sorted(f"heavy{k}.glb" for k in range(8))
    assert not list(out.glob(".*.part"))
    with pytest.raises(ProcessLookupError):
        os.kill(victim, 0)
    sizes = {p.read_bytes() for p in out.glob("*.glb")}
    assert len(sizes) == 1  # the same input eight times: eight identical GLBs, the retried one too


def test_an_output_folder_the_workers_cannot_see_is_named(ray_cluster, frames, tmp_path, capsys):
    """/proc/self/fd/N is this process's own view of a folder: a Ray worker, another
    process, does not see it there, exactly like a folder on a disk only the driver has."""
    folder = tmp_path / "driver-only"
    folder.mkdir()
    fd = os.open(folder, os.O_RDONLY)
    private = 777
    os.dup2(fd, private)
    os.close(fd)
    try:
        out = f"/proc/self/fd/{private}/out"
        code = main(["eyewear", "prep", str(frames / "frame0.obj"), "--out", out,
                     "--executor", "ray"])
        err = capsys.readouterr().err
        assert code == 2, err
        assert f"Error: --out {out}" in err and "Hint:" in err and "docs/scale-out.md" in err
        assert not list((folder / "out").glob("*.glb"))
    finally:
        os.close(private)


def test_custom_orders_on_ray_build_the_local_files(ray_cluster, tmp_path):
    """`jewelry custom --orders` through the same batch runner: one Ray task per order,
    the same STL, 3MF and GLB bytes and the same reports as a local run."""
    pytest.importorskip("manifold3d")
    repo = Path(__file__).resolve().parents[2]
    orders = tmp_path / "orders.csv"
    lines = (repo / "examples" / "jewelry" / "orders.csv").read_text(encoding="utf-8").splitlines()
    orders.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    outs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        code, batch = prep("jewelry", "custom", "--orders", str(orders), "--out", str(out),
                           "--no-preview", "--executor", executor, "-j", "1")
        assert code == 0, batch
        assert [f["status"] for f in batch["files"]] == ["ok", "ok"]
        outs[executor] = out
    made = sorted(p.name for p in outs["local"].glob("LG-*.*") if not p.name.endswith(".json"))
    assert len(made) == 6 and made == sorted(
        p.name for p in outs["ray"].glob("LG-*.*") if not p.name.endswith(".json"))
    for name in made:
        assert (outs["local"] / name).read_bytes() == (outs["ray"] / name).read_bytes(), name
    for report in outs["local"].glob("LG-*.report.json"):
        assert comparable_report(report, outs["local"]) == \
            comparable_report(outs["ray"] / report.name, outs["ray"])
