"""Benchmark: a mesh-prep batch on Ray against the local executor, on this machine.

    python bench/ray.py             # 16 frames of ~500k faces (the issue's figure)
    python bench/ray.py --quick     # 6 frames of ~100k faces, a smoke test

Both executors run the same batch in this one process, interleaved, best of N and the
median: `run_batch(..., jobs=2)` (two forked worker processes, the local default on a
2-core machine) against `run_batch(..., executor=ray)` on a local Ray cluster of 2 CPUs
(one task per file, one CPU each). Ray's overhead is ray / local - 1 on the warm runs.
Its start-up is reported apart: `ray.init` of a fresh local cluster, and the first
batch's extra time over the warm ones (worker processes starting and importing).
Every run's GLBs are checked to be byte-identical to the local run's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # as the CLI does before numpy loads

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# this file is bench/ray.py: its own folder must not shadow the ray package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(  # the Ray workers import this checkout
    dict.fromkeys([str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]))

from lgcraft.eyewear.prep import prep_frame, warm_frames  # noqa: E402
from lgcraft.eyewear.synthetic import frame_with_faces, random_rotation  # noqa: E402
from lgcraft.meshes._threads import keep_freed_memory  # noqa: E402
from lgcraft.meshes.batch import run_batch  # noqa: E402
from lgcraft.meshes.prep import PrepSettings  # noqa: E402
from lgcraft.run import parse_executor  # noqa: E402
from lgcraft.run.ray_executor import WORKER_NICENESS  # noqa: E402


def make_frames(folder: Path, count: int, faces: int) -> list[Path]:
    """``count`` frames of about ``faces`` triangles: one model in ``count`` poses and
    scales (mm, cm), so every file is its own input."""
    folder.mkdir(parents=True, exist_ok=True)
    model = frame_with_faces(faces)
    paths = []
    for k in range(count):
        rotation = random_rotation(np.random.default_rng(100 + k))
        path = folder / f"frame{k:02d}.glb"
        model.transformed(rotation, 1.0 if k % 2 else 0.1).save(path)
        paths.append(path)
    return paths


def glb_digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.glb"))}


def timed_batch(paths: list[Path], out: Path, **kwargs) -> tuple[float, float, dict[str, str]]:
    """Wall seconds, the files' own seconds summed (time inside the job), GLB digests."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    batch = run_batch(paths, out, prep_frame, PrepSettings(kind="frame"), **kwargs)
    seconds = time.perf_counter() - start
    if batch.ok != len(paths):
        raise SystemExit(f"batch failed: {[f.error for f in batch.files if f.error]}")
    return seconds, sum(f.seconds for f in batch.files), glb_digests(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 frames of ~100k faces")
    parser.add_argument("--rounds", type=int, default=4, help="warm runs of each executor")
    args = parser.parse_args()
    count, faces = (6, 100_000) if args.quick else (16, 500_000)
    import ray

    results: dict = {"files": count, "faces_per_file": faces, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="lgcraft-bench-ray-", dir="/tmp") as tmp:
        tmpdir = Path(tmp)
        start = time.perf_counter()
        paths = make_frames(tmpdir / "in", count, faces)
        results["generate_s"] = round(time.perf_counter() - start, 1)
        warm_frames(paths, PrepSettings(kind="frame"))
        keep_freed_memory()  # what the CLI does before its local workers fork
        spec = parse_executor("ray")

        # the cluster as `--executor ray` starts it when none runs (workers at normal
        # priority, like the local executor's), here with 2 CPUs and its own temp dir
        start = time.perf_counter()
        saved = os.environ.get(WORKER_NICENESS)
        os.environ.setdefault(WORKER_NICENESS, "0")
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=str(tmpdir / "r"),
                 logging_level="ERROR")
        if saved is None:
            os.environ.pop(WORKER_NICENESS)
        results["ray_init_s"] = round(time.perf_counter() - start, 2)
        try:
            first, _, reference = timed_batch(paths, tmpdir / "ray-first", executor=spec)
            local_times, ray_times, local_inside, ray_inside = [], [], [], []
            for _ in range(args.rounds):  # interleaved: a shared machine's noise hits both
                seconds, inside, digests = timed_batch(paths, tmpdir / "local", jobs=2)
                local_times.append(seconds)
                local_inside.append(inside)
                assert digests == reference, "local and Ray GLBs differ"
                seconds, inside, digests = timed_batch(paths, tmpdir / "ray", executor=spec)
                ray_times.append(seconds)
                ray_inside.append(inside)
                assert digests == reference, "Ray GLBs differ between runs"
        finally:
            ray.shutdown()
    results.update({
        "local_jobs2_s": [round(t, 2) for t in local_times],
        "ray_s": [round(t, 2) for t in ray_times],
        "ray_first_batch_s": round(first, 2),
        "ray_first_batch_extra_s": round(first - min(ray_times), 2),
        "overhead_best": round(min(ray_times) / min(local_times) - 1, 3),
        "overhead_median": round(statistics.median(ray_times) / statistics.median(local_times) - 1, 3),
        # the files' own time summed: what the per-file work cost in each executor's
        # workers; wall / (this / 2) shows how well the two CPUs were kept busy
        "local_file_seconds": [round(t, 1) for t in local_inside],
        "ray_file_seconds": [round(t, 1) for t in ray_inside],
        "glbs_identical": True,
    })
    print(json.dumps(results, indent=2))
    print(f"\n{count} frames of ~{faces // 1000}k faces on {os.cpu_count()} CPUs: "
          f"local --jobs 2 best {min(local_times):.1f} s, Ray best {min(ray_times):.1f} s: "
          f"overhead {results['overhead_best']:+.1%} (medians {results['overhead_median']:+.1%}); "
          f"Ray start-up {results['ray_init_s']:.1f} s + first batch "
          f"{results['ray_first_batch_extra_s']:+.1f} s; GLBs byte-identical")


if __name__ == "__main__":
    main()
