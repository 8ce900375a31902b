"""Benchmark: `lgcraft jewelry draft -n 4` against a plain diffusers script.

Both run as whole processes (imports, model load, four images, PNG writes) from the
same generated model folder, alternated in one run so machine noise hits both
alike. The baseline writes plain PNGs; lgcraft also writes recipes, sidecars, the
quality checks and the run report. The script checks that both produced the same
pixels, then prints the median wall time of each, their ratio (target <= 1.10),
seconds per image and peak memory (max RSS of the process).

    python bench/drafts.py                  # small generated SD-style model, 3 rounds
    python bench/drafts.py --model DIR --steps 4 --size 512x512 --rounds 2
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = r'''
import json, sys, time
t0 = time.perf_counter()
import torch
from diffusers import StableDiffusionPipeline
cfg = json.loads(sys.argv[1])
pipe = StableDiffusionPipeline.from_pretrained(cfg["model"], local_files_only=True, use_safetensors=True)
pipe.set_progress_bar_config(disable=True)
t1 = time.perf_counter()
for n, job in enumerate(cfg["jobs"]):
    image = pipe(job["prompt"], negative_prompt=job["negative_prompt"], num_inference_steps=cfg["steps"],
                 guidance_scale=cfg["guidance"], width=cfg["width"], height=cfg["height"],
                 generator=torch.Generator("cpu").manual_seed(job["seed"])).images[0]
    image.save(f"{cfg['out']}/{n}.png")
print(json.dumps({"seconds_per_image": (time.perf_counter() - t1) / len(cfg["jobs"])}))
'''


def _tinymodels():
    spec = importlib.util.spec_from_file_location("tinymodels", ROOT / "tests" / "jewelry" / "tinymodels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB, stdout of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    out_chunks = []
    import threading

    def drain(stream, sink):
        sink.append(stream.read())

    threads = [threading.Thread(target=drain, args=(proc.stdout, out_chunks)),
               threading.Thread(target=drain, args=(proc.stderr, []))]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss / 1024, out_chunks[0].decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="diffusers StableDiffusion folder (default: generate one)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", default="64x64")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="lgcraft-bench-") as tmp:
        tmp = Path(tmp)
        model = Path(args.model) if args.model else _tinymodels().build_tiny_sd(
            tmp / "model", sample_size=height // 8 if width == height else 16, channels=(32, 64))
        draft_args = ["--type", "ring", "--metal", "platinum", "--stone", "diamond", "--cut", "oval",
                      "-n", "4", "--seed", "11", "--steps", str(args.steps), "--guidance", "7",
                      "--size", args.size, "--model", str(model)]
        plan = json.loads(subprocess.run(
            [sys.executable, "-m", "lgcraft", "--json", "jewelry", "draft", *draft_args, "--dry-run"],
            capture_output=True, text=True, check=True, env=env, cwd=ROOT).stdout)
        results: dict[str, list] = {"lgcraft": [], "diffusers": []}
        per_image: dict[str, list] = {"lgcraft": [], "diffusers": []}
        same_pixels = True
        for round_no in range(args.rounds):
            order = ["lgcraft", "diffusers"] if round_no % 2 == 0 else ["diffusers", "lgcraft"]
            for name in order:
                out = tmp / f"{name}-{round_no}"
                out.mkdir()
                if name == "lgcraft":
                    cmd = [sys.executable, "-m", "lgcraft", "--json", "jewelry", "draft",
                           *draft_args, "--out", str(out)]
                else:
                    cfg = {"model": str(model), "jobs": plan["jobs"], "steps": args.steps, "guidance": 7.0,
                           "width": width, "height": height, "out": str(out)}
                    cmd = [sys.executable, "-c", BASELINE, json.dumps(cfg)]
                seconds, rss, stdout = run(cmd, env)
                print(f"round {round_no + 1} {name}: {seconds:.2f} s, {rss:.0f} MiB", file=sys.stderr, flush=True)
                results[name].append((seconds, rss))
                per_image[name].append(json.loads(stdout)["seconds_per_image"])
            from PIL import Image

            ours = sorted((tmp / f"lgcraft-{round_no}").glob("*.png"))
            theirs = [tmp / f"diffusers-{round_no}" / f"{n}.png" for n in range(4)]
            same_pixels &= all(Image.open(a).tobytes() == Image.open(b).tobytes() for a, b in zip(ours, theirs, strict=True))
        summary = {}
        for name, runs in results.items():
            summary[name] = {"median_seconds": round(statistics.median(s for s, _ in runs), 2),
                             "min_seconds": round(min(s for s, _ in runs), 2),
                             "seconds": [round(s, 2) for s, _ in runs],
                             "seconds_per_image": round(statistics.median(per_image[name]), 3),
                             "peak_rss_mib": round(max(r for _, r in runs))}
        ratio = summary["lgcraft"]["median_seconds"] / summary["diffusers"]["median_seconds"]
        ratio_min = summary["lgcraft"]["min_seconds"] / summary["diffusers"]["min_seconds"]
        report = {"ratio_of_fastest": round(ratio_min, 3),"model": "generated" if not args.model else str(model), "size": args.size,
                  "steps": args.steps, "images": 4, "rounds": args.rounds, "same_pixels": same_pixels,
                  "ratio": round(ratio, 3), "target": 1.10, **summary}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"lgcraft jewelry draft -n 4 vs plain diffusers, {args.size}, {args.steps} steps, "
          f"{args.rounds} alternated rounds; same pixels: {same_pixels}")
    for name in ("lgcraft", "diffusers"):
        s = summary[name]
        print(f"  {name:9s} median {s['median_seconds']:6.2f} s  runs {s['seconds']}  "
              f"{s['seconds_per_image']:.3f} s/image  peak RSS {s['peak_rss_mib']} MiB")
    print(f"  ratio lgcraft/diffusers = {ratio:.3f} of medians, {ratio_min:.3f} of fastest runs "
          "(target <= 1.10)")


if __name__ == "__main__":
    main()
