"""The live-camera try-on page in a real browser.

Debian's chromium (headless, SwiftShader WebGL) gets a fake camera that plays a video
made from scikit-image's public-domain astronaut photo. The test clicks Start, waits for
tracking, screenshots the page with and without the 3D layer, and checks from the
pixels that the frame sits over the eyes at true scale, against face landmarks found
independently in Python (mediapipe's own face mesh on the same picture).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from skimage.measure import points_in_poly
from skimage.transform import resize
from typer.testing import CliRunner

from lgcraft.cli import app, main

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
IRIS_MM = 11.7
VIDEO_W, VIDEO_H = 640, 480

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/install.sh)"),
]
runner = CliRunner()


def _astronaut_face() -> np.ndarray:
    """The astronaut photo cropped to head and shoulders, 640x480 (a webcam's framing)."""
    from skimage import data, transform

    crop = data.astronaut()[10:210, 92:358]
    return (transform.resize(crop, (VIDEO_H, VIDEO_W), anti_aliasing=True) * 255).astype(np.uint8)


def _write_y4m(rgb: np.ndarray, path: Path, frames: int = 6) -> None:
    """A raw 4:2:0 Y4M video (what chromium's fake camera plays) of a still picture."""
    r, g, b = (rgb[..., i].astype(float) for i in range(3))
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    h, w = y.shape

    def half(c):
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = [np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in (y, half(u), half(v))]
    frame = b"FRAME\n" + b"".join(planes)
    path.write_bytes(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)


def _landmarks(rgb: np.ndarray) -> np.ndarray:
    """478 face-mesh landmarks (pixels) of the picture, from mediapipe's Python package."""
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True,
                                         max_num_faces=1) as mesh:
        found = mesh.process(rgb)
    assert found.multi_face_landmarks, "mediapipe found no face in the test picture"
    h, w = rgb.shape[:2]
    return np.array([[p.x * w, p.y * h] for p in found.multi_face_landmarks[0].landmark])


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A prepared catalogue (two real frames), the page built from it, the fake camera."""
    root = tmp_path_factory.mktemp("page")
    catalog = root / "catalog"
    frames = [str(REPO / "examples" / "eyewear" / name) for name in ("glasses-01", "glasses-06")]
    result = runner.invoke(app, ["eyewear", "prep", *frames, "--out", str(catalog), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    site = root / "site"
    result = runner.invoke(app, ["--json", "eyewear", "page", "--catalog", str(catalog), "-o", str(site)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    picture = _astronaut_face()
    video = root / "astronaut.y4m"
    _write_y4m(picture, video)
    return {"root": root, "catalog": catalog, "site": site, "summary": summary,
            "video": video, "landmarks": _landmarks(picture)}


@pytest.fixture(scope="module")
def browser(scene):
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={scene['video']}",
            "--use-angle=swiftshader", "--enable-unsafe-swiftshader"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(scene):
    from lgcraft.eyewear.page import serve_site

    httpd = serve_site(scene["site"], 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _recording_server(heard: list):
    """A loopback HTTP server that notes every request it gets."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self):
            heard.append(self.path)
            self.send_response(204)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _open_and_track(browser, url, *, viewport=(1100, 800), mobile=False, min_tracked=3):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  is_mobile=mobile, has_touch=mobile,
                                  device_scale_factor=2 if mobile else 1)
    context.set_default_timeout(180_000)  # a busy 2-core machine renders WebGL on its CPU
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("window.lgcraftTryon && window.lgcraftTryon.status !== undefined")
    assert page.evaluate("lgcraftTryon.sent") == 0
    assert page.evaluate("navigator.mediaDevices && document.querySelector('video').srcObject") is None
    page.click("#start")
    page.wait_for_function(
        f"lgcraftTryon.tracked >= {min_tracked} || lgcraftTryon.status === 'error'")
    state = page.evaluate("({status: lgcraftTryon.status, error: lgcraftTryon.error})")
    assert state["status"] == "tracking", (state, errors)
    return context, page, requests, errors


# MediaPipe's face-oval landmarks, in order around the face
FACE_OUTLINE = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
                400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
                54, 103, 67, 109]


def _shot(page) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(page.locator("#stage").screenshot())).convert("RGB"),
                      dtype=int)


def _frame_mask(page, occluder: bool = True) -> np.ndarray:
    """Pixels the 3D layer changes, in video coordinates (unmirrored), as a bool array."""
    page.evaluate("lgcraftTryon.hold = true")  # a fixed picture for both shots
    page.evaluate(f"lgcraftTryon.setOccluder({'true' if occluder else 'false'})")
    page.wait_for_function("!lgcraftTryon.busy")
    with_frame = _shot(page)
    page.evaluate("document.getElementById('overlay').style.visibility = 'hidden'")
    without = _shot(page)
    page.evaluate("document.getElementById('overlay').style.visibility = ''")
    page.evaluate("lgcraftTryon.setOccluder(true); lgcraftTryon.hold = false")
    diff = np.abs(with_frame - without).sum(axis=2) > 60
    if page.evaluate("document.getElementById('stage').classList.contains('mirrored')"):
        diff = diff[:, ::-1]
    return resize(diff.astype(float), (VIDEO_H, VIDEO_W), order=0) > 0.5


def _disc(mask, centre, radius):
    yy, xx = np.mgrid[:mask.shape[0], :mask.shape[1]]
    inside = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius ** 2
    return mask[inside].mean()


def _check_on_the_eyes(mask, lm, total_width_mm):
    right, left, bridge = lm[468], lm[473], lm[168]
    ipd = np.linalg.norm(left - right)
    # the lenses cover both pupils and the frame's bridge (a wire, on a rimless frame)
    # crosses the nose bridge
    assert _disc(mask, right, 0.08 * ipd) > 0.6
    assert _disc(mask, left, 0.08 * ipd) > 0.6
    assert _disc(mask, bridge, 0.08 * ipd) > 0.05
    # rims on both sides of each eye, at eye height
    band = mask[int(min(right[1], left[1]) - 0.1 * ipd):int(max(right[1], left[1]) + 0.1 * ipd)]
    cols = np.flatnonzero(band.any(axis=0))
    assert cols.min() < right[0] - 0.3 * ipd and cols.max() > left[0] + 0.3 * ipd
    # true scale: the front is as wide as the frame's measured width at the iris scale
    iris_px = np.mean([np.linalg.norm(lm[469] - lm[471]), np.linalg.norm(lm[474] - lm[476])])
    expected_px = total_width_mm * iris_px / IRIS_MM
    width_px = cols.max() - cols.min()
    assert 0.85 < width_px / expected_px < 1.15, (width_px, expected_px)
    # centred on the face: the front's middle within 5% of the pupil distance of the nose bridge
    assert abs(0.5 * (cols.min() + cols.max()) - bridge[0]) < 0.05 * ipd
    # nothing drawn on the mouth and chin
    assert mask[int(lm[1][1] + 0.15 * ipd):].sum() < 0.01 * mask.sum()


def test_page_cli_output(scene):
    summary, site = scene["summary"], scene["site"]
    assert [f["name"] for f in summary["frames"]] == ["glasses-01", "glasses-06"]
    assert set(summary) >= {"site", "index", "url", "frames", "skipped", "files", "bytes"}
    for rel in ("index.html", "app.js", "catalog.js", "style.css", "licenses.txt",
                "frames/glasses-01.glb", "frames/glasses-01.glb.js",
                "mediapipe/face_mesh_solution_simd_wasm_bin.wasm.js",
                "mediapipe/face_mesh_solution_packed_assets.data.js"):
        assert (site / rel).is_file(), rel
    html = (site / "index.html").read_text()
    assert "Nothing leaves your device" in html and "connect-src blob: data:" in html
    # the page reads faces with the photo engine's scale rule
    from lgcraft.tryon.constants import SCALE_RULE

    catalog = json.loads((site / "catalog.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    assert catalog["scaleRule"] == SCALE_RULE
    # no CDN or other host anywhere in what the page runs
    for path in [site / "index.html", site / "app.js", site / "catalog.js"]:
        text = path.read_text(errors="replace")
        assert "cdn.jsdelivr" not in text and "unpkg.com" not in text and "googleapis" not in text


def test_live_page_puts_the_frame_on_the_eyes(scene, browser, server):
    context, page, requests, errors = _open_and_track(browser, f"{server}/index.html")
    try:
        lm = scene["landmarks"]
        mask = _frame_mask(page)
        _check_on_the_eyes(mask, lm, scene["summary"]["frames"][0]["total_width_mm"])
        state = page.evaluate("lgcraftTryon")
        # the page's own placement agrees: bridge anchor at the nose bridge, lenses at the pupils
        ipd = np.linalg.norm(lm[473] - lm[468])
        assert np.linalg.norm(np.array(state["projected"]["bridge"]) - lm[168]) < 0.1 * ipd
        assert 55 < state["pdMm"] < 72
        # nothing left the page: only its own files, fetched with GET; no POST, no other host
        assert all(m == "GET" for m, _ in requests)
        assert all(u.startswith((server, "blob:", "data:")) for _, u in requests), requests
        assert not errors
        # and it cannot: the page's policy refuses any connection, to its own host too,
        # and a server listening on another port hears nothing
        heard = []
        listener = _recording_server(heard)
        target = f"http://127.0.0.1:{listener.server_address[1]}/"
        sent = page.evaluate("""(target) => Promise.all([
            fetch(location.origin + '/x', {method: 'POST', body: 'pixels'}).then(() => 'sent', () => 'blocked'),
            fetch(target, {method: 'POST', body: 'pixels', mode: 'no-cors'}).then(() => 'sent', () => 'blocked'),
            new Promise((done) => { const x = new XMLHttpRequest(); x.open('POST', target);
              x.onload = () => done('sent'); x.onerror = () => done('blocked');
              try { x.send('pixels'); } catch { done('blocked'); } }),
        ])""", target)
        page.wait_for_timeout(300)
        listener.shutdown()
        assert sent == ["blocked", "blocked", "blocked"] and heard == []

        # the occluder: the same pose drawn without it shows the temples through the head
        # (here their inner sides, seen through the tinted lenses); every pixel it changes
        # lies on the face
        page.evaluate("lgcraftTryon.hold = true")
        page.wait_for_function("!lgcraftTryon.busy")
        page.screenshot(path=str(scene["root"] / "desktop.png"))
        occluded = _shot(page)
        page.evaluate("lgcraftTryon.setOccluder(false)")
        bare = _shot(page)
        page.screenshot(path=str(scene["root"] / "no-occluder.png"))
        page.evaluate("lgcraftTryon.setOccluder(true); lgcraftTryon.hold = false")
        changed = np.abs(occluded - bare).sum(axis=2) > 40
        changed = resize(changed[:, ::-1].astype(float), (VIDEO_H, VIDEO_W), order=0) > 0.5
        ys, xs = np.nonzero(changed)
        inside = points_in_poly(np.c_[xs, ys], lm[FACE_OUTLINE]).mean() if len(xs) else 0
        print(f"the occluder hid {len(xs)} px, {inside:.0%} of them on the face")
        assert len(xs) > 50, "the occluder hid nothing"
        assert inside > 0.9, f"only {inside:.0%} of the pixels the occluder hid lie on the face"
    finally:
        context.close()


def test_phone_layout_from_file_url_and_frame_picker(scene, browser):
    # opened straight from disk (file://), on a phone-sized screen
    context, page, requests, errors = _open_and_track(
        browser, (scene["site"] / "index.html").as_uri(), viewport=(390, 844), mobile=True,
        min_tracked=2)
    try:
        assert page.locator("#frames li").count() == 2
        page.locator("#frames li[data-name='glasses-06'] button").click()
        page.wait_for_function("lgcraftTryon.frame === 'glasses-06'")
        tracked = page.evaluate("lgcraftTryon.tracked")
        page.wait_for_function(f"lgcraftTryon.tracked >= {tracked + 2}")
        page.evaluate("lgcraftTryon.hold = true")
        page.wait_for_function("!lgcraftTryon.busy")
        page.screenshot(path=str(scene["root"] / "phone.png"), full_page=True)
        # the stage fits the phone's width, the privacy note is on screen
        box = page.locator("#stage").bounding_box()
        assert box["width"] <= 390 and box["x"] >= 0
        assert page.locator("#privacy").is_visible()
        mask = _frame_mask(page)
        _check_on_the_eyes(mask, scene["landmarks"], scene["summary"]["frames"][1]["total_width_mm"])
        assert all(u.startswith(("file://", "blob:", "data:")) for _, u in requests), requests
    finally:
        context.close()


def test_serve_flag_serves_on_loopback(scene, tmp_path):
    site = tmp_path / "site"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lgcraft", "eyewear", "page", "--catalog", str(scene["catalog"]),
         "-o", str(site), "--serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        url = None
        for line in proc.stderr:
            if "Serving" in line:
                url = line.split(" at ")[1].split()[0]
                break
        assert url and url.startswith("http://127.0.0.1:"), url
        import urllib.request

        with urllib.request.urlopen(url + "index.html", timeout=10) as response:
            assert b"Start camera" in response.read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "../catalog/batch.json", timeout=10)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_bad_catalogues(tmp_path, scene, capsys):
    def page(catalog, out, *more):
        return main(["eyewear", "page", "--catalog", str(catalog), "-o", str(out), *more])

    assert page(tmp_path, tmp_path / "s") == 2
    assert "has no batch.json" in capsys.readouterr().err
    # an unprepared GLB listed in a batch.json
    fake = tmp_path / "fake"
    fake.mkdir()
    shutil.copy(REPO / "examples" / "eyewear" / "frame-52-18-140-m-upside-down.glb", fake / "raw.glb")
    (fake / "batch.json").write_text(json.dumps({"files": [{"name": "raw", "status": "ok", "kind": "frame"}]}))
    assert page(fake, tmp_path / "s") == 2
    assert "run `lgcraft eyewear prep`" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    # a folder that is not a page is never replaced
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert page(scene["catalog"], other) == 2
    assert (other / "keep.txt").read_text() == "mine"
    # node_modules without the packages
    assert page(scene["catalog"], tmp_path / "s", "--node-modules", str(tmp_path)) == 1
    assert "npm install" in capsys.readouterr().err
