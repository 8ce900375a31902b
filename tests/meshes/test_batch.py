"""The batch runner as a library: any job function, cores shared between files and
threads, resume, per-file errors, batch.json/csv, progress callbacks, atomic reports."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from lgcraft.errors import InputError
from lgcraft.files import write_atomic
from lgcraft.meshes.batch import BatchItem, options_key, run_batch


@dataclass(frozen=True)
class Options:
    scale: int = 1


def count_bytes(item: BatchItem, options: Options) -> dict:
    """A job: the size of the input times ``scale``, written to NAME.txt."""
    data = item.path.read_bytes()
    if data.startswith(b"bad"):
        raise InputError(f"{item.path.name}: starts with bad")
    if data.startswith(b"bug"):
        raise ZeroDivisionError("a bug in the job")
    target = item.out_dir / f"{item.name}.txt"
    write_atomic(target, str(len(data) * options.scale).encode())
    return {"size": len(data), "outputs": {"txt": str(target)}}


def threads_and_pid(item: BatchItem, options: Options) -> dict:
    from lgcraft.meshes._threads import file_threads

    return {"threads": file_threads(), "pid": os.getpid(), "outputs": {}}


def size_row(result) -> dict:
    return {"name": result.name, "status": result.status,
            "size": (result.report or {}).get("size"), "error": result.error}


def _inputs(folder: Path, contents: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, data in enumerate(contents):
        paths.append(folder / f"f{i}.obj")
        paths[-1].write_bytes(data)
    return paths


def test_any_job_runs_with_errors_per_file_and_batch_files(tmp_path):
    paths = _inputs(tmp_path / "in", [b"v 1 2 3\n", b"bad file", b"bug file", b"v 0 0 0\nv 1 1 1\n"])
    seen = []
    batch = run_batch(paths, tmp_path / "out", count_bytes, Options(scale=2), jobs=1,
                      on_done=seen.append, row=size_row, fields=("name", "status", "size", "error"))
    assert [f.status for f in batch.files] == ["ok", "failed", "failed", "ok"]
    assert batch.files[1].error == "f1.obj: starts with bad"
    assert batch.files[2].error.startswith("unexpected ZeroDivisionError")
    assert len(seen) == 4 and (batch.ok, batch.failed) == (2, 2)
    assert (tmp_path / "out" / "f0.txt").read_text() == "16"
    report = json.loads((tmp_path / "out" / "f0.report.json").read_text())
    assert report["settings_key"] == options_key(Options(scale=2)) and len(report["input_sha256"]) == 64
    assert report["outputs"]["report"].endswith("f0.report.json")
    summary = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert summary["settings"] == {"scale": 2} and summary["files"][3]["size"] == 16
    rows = list(csv.DictReader((tmp_path / "out" / "batch.csv").open()))
    assert list(rows[0]) == ["name", "status", "size", "error"] and rows[1]["size"] == ""
    assert not list((tmp_path / "out").glob(".*"))  # no temporaries left


def test_resume_skips_only_unchanged_inputs_and_options(tmp_path):
    paths = _inputs(tmp_path / "in", [b"one", b"two"])
    run_batch(paths, tmp_path / "out", count_bytes, Options(), jobs=1)
    again = run_batch(paths, tmp_path / "out", count_bytes, Options(), jobs=1, resume=True)
    assert [f.status for f in again.files] == ["skipped", "skipped"]
    paths[0].write_bytes(b"changed")
    (tmp_path / "out" / "f1.txt").unlink()  # an output gone: redone
    redo = run_batch(paths, tmp_path / "out", count_bytes, Options(), jobs=1, resume=True)
    assert [f.status for f in redo.files] == ["ok", "ok"]
    other = run_batch(paths, tmp_path / "out", count_bytes, Options(scale=3), jobs=1, resume=True)
    assert [f.status for f in other.files] == ["ok", "ok"]
    assert (tmp_path / "out" / "f0.txt").read_text() == "21"


@pytest.mark.parametrize(("files", "jobs", "threads", "processes"),
                         [(1, 2, 2, 1), (1, 1, 1, 1), (3, 2, 1, 2), (8, 1, 1, 1)])
def test_jobs_are_cores_shared_between_files_and_threads(tmp_path, files, jobs, threads, processes):
    from lgcraft.meshes import _threads

    paths = _inputs(tmp_path, [b"x" * (100 + i) for i in range(files)])
    before = _threads.FILE_THREADS
    batch = run_batch(paths, tmp_path / "out", threads_and_pid, Options(), jobs=jobs)
    assert _threads.FILE_THREADS == before
    assert [f.input for f in batch.files] == [str(p) for p in paths]  # input order kept
    assert {f.report["threads"] for f in batch.files} == {threads}
    pids = {f.report["pid"] for f in batch.files}
    assert (os.getpid() in pids) == (processes == 1)
    assert len(pids) <= processes
