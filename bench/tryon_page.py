"""Benchmark: the live try-on page's tracking frame rate and jitter in headless chromium.

    python bench/tryon_page.py             # 40 s per mode
    python bench/tryon_page.py --seconds 15

Every figure comes from one run, in one browser, on the same fake camera:

1. Page build: `lgcraft eyewear page` on a catalogue of the two example frames (the prep
   is not timed), wall time and folder size.
2. Tracking rate (landmark results per second, 478 points each) of the whole page
   (face mesh + pose + One-Euro + three.js render of a 50k-triangle frame + occluder)
   against the baseline of the same page with rendering off (``?render=0``: the
   face model alone). The ratio says what the 3D layer costs.
3. Jitter: the camera plays the astronaut photo with fresh sensor noise in every frame
   (Gaussian, sigma 4 levels, a webcam in room light), so the head is still and every
   movement of the frame is noise. The bridge point's spread (RMS distance from its
   mean, video pixels and millimetres) with One-Euro smoothing against the same frames
   unsmoothed; ratio smoothed / raw.

Chromium runs headless with SwiftShader (software WebGL): on a machine with a GPU the
page runs several times faster; the ratios are the figures that carry over.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CHROMIUM = "/usr/bin/chromium"
WEB = REPO / "lgcraft" / "eyewear" / "web" / "src"


def astronaut_video(path: Path, frames: int, noise: float) -> None:
    from skimage import data, transform

    crop = data.astronaut()[10:210, 92:358]
    rgb = transform.resize(crop, (480, 640), anti_aliasing=True) * 255
    rng = np.random.default_rng(1)
    out = [b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n"]
    for _ in range(frames):
        noisy = rgb + rng.normal(0, noise, rgb.shape)
        r, g, b = (noisy[..., i] for i in range(3))
        y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
        u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
        v = 128 + 0.439 * r - 0.368 * g - 0.071 * b

        def half(c):
            return c.reshape(240, 2, 320, 2).mean(axis=(1, 3))

        out.append(b"FRAME\n")
        out += [np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in (y, half(u), half(v))]
    path.write_bytes(b"".join(out))


def run_mode(browser, url: str, seconds: float) -> dict:
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    started = time.perf_counter()
    page.goto(url)
    page.click("#start")
    page.wait_for_function("lgcraftTryon.tracked >= 1", timeout=180_000)
    first = time.perf_counter() - started
    page.wait_for_function("lgcraftTryon.tracked >= 3", timeout=180_000)  # filters settled
    n0, t0 = page.evaluate("[lgcraftTryon.tracked, performance.now()]")
    page.evaluate("lgcraftTryon.trace.length = 0")
    time.sleep(seconds)
    n1, t1, trace, pd = page.evaluate(
        "[lgcraftTryon.tracked, performance.now(), lgcraftTryon.trace, lgcraftTryon.pdMm]")
    page.close()
    return {"fps": (n1 - n0) / ((t1 - t0) / 1000), "first_track_s": first, "trace": trace,
            "frames": n1 - n0, "pd_mm": pd}


def spread(points) -> float:
    p = np.asarray(points, dtype=float)
    return float(np.sqrt(((p - p.mean(axis=0)) ** 2).sum(axis=1).mean())) if len(p) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from lgcraft.eyewear.page import serve_site

    work = Path(tempfile.mkdtemp(prefix="lgcraft-bench-page-"))
    catalog, site = work / "catalog", work / "site"
    lgcraft = [sys.executable, "-m", "lgcraft"]
    subprocess.run([*lgcraft, "eyewear", "prep", str(REPO / "examples/eyewear/glasses-01"),
                    str(REPO / "examples/eyewear/glasses-06"), "--out", str(catalog)],
                   check=True, capture_output=True, cwd=REPO)
    started = time.perf_counter()
    done = subprocess.run([*lgcraft, "--json", "eyewear", "page", "--catalog", str(catalog),
                           "-o", str(site)], check=True, capture_output=True, text=True, cwd=REPO)
    build_s = time.perf_counter() - started
    summary = json.loads(done.stdout)
    print(f"page build: {build_s:.2f} s (whole process), {summary['files']} files, "
          f"{summary['bytes'] / 1e6:.1f} MB (bundle {summary['bundle_bytes'] / 1e3:.0f} kB)")

    video = work / "astronaut-noisy.y4m"
    astronaut_video(video, frames=30, noise=4.0)
    server = serve_site(site, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}",
            "--use-angle=swiftshader", "--enable-unsafe-swiftshader"])
        runs = {}
        for name, query in (("landmarks only (?render=0)", "?render=0"),
                            ("whole page", ""), ("whole page, unsmoothed (?smooth=0)", "?smooth=0")):
            runs[name] = run_mode(browser, base + query, args.seconds)
            r = runs[name]
            print(f"{name:36s} {r['fps']:5.2f} tracked frames/s over {r['frames']} frames; "
                  f"first track {r['first_track_s']:.1f} s after load")
        browser.close()
    server.shutdown()

    whole, base_run = runs["whole page"], runs["landmarks only (?render=0)"]
    print(f"\ntracking rate, whole page / landmarks only: {whole['fps'] / base_run['fps']:.2f}x")
    trace = whole["trace"]
    raw = spread([t["raw"] for t in trace])
    smooth = spread([t["smooth"] for t in trace])
    mm_per_px = statistics.fmean(t["mmPerPx"] for t in trace)  # the page's iris scale

    def mm(v):
        return f" = {v * mm_per_px:.2f} mm"

    print(f"bridge jitter over {len(trace)} frames of a still, noisy camera: raw {raw:.2f} px{mm(raw)}, "
          f"One-Euro {smooth:.2f} px{mm(smooth)}; smoothed / raw {smooth / raw:.2f}x")
    # at camera rate: the page's own filter module (its head-centre settings) over the same
    # raw positions, re-timed to 30 frames per second
    script = (f"import {{ OneEuroVector }} from {json.dumps((WEB / 'oneeuro.js').as_uri())};"
              "const raw = JSON.parse(process.argv[1]); const f = new OneEuroVector(2, 1.0, 0.02);"
              "console.log(JSON.stringify(raw.map((p, i) => f.filter(p, i / 30))));")
    raw_points = [t["raw"] for t in trace]
    node = subprocess.run(["node", "--input-type=module", "-e", script, json.dumps(raw_points)],
                          capture_output=True, text=True, check=True)
    at_30 = spread(json.loads(node.stdout)[5:])
    print(f"the same raw positions through the page's filter at 30 frames/s: {at_30:.2f} px{mm(at_30)}; "
          f"smoothed / raw {at_30 / spread(raw_points[5:]):.2f}x")
    unsmoothed = spread([t["smooth"] for t in runs["whole page, unsmoothed (?smooth=0)"]["trace"]])
    print(f"(check: with ?smooth=0 the drawn bridge spreads {unsmoothed:.2f} px)")
    print(f"PD the page reads from the iris: {whole['pd_mm']:.1f} mm")
    print(f"mean time per tracked frame, whole page: {1000 / whole['fps']:.0f} ms; landmarks only: "
          f"{1000 / base_run['fps']:.0f} ms (1-minute load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
