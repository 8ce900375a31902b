"""The live-camera try-on page: a self-contained static folder built from a prep output.

`build_page` writes SITE/ with index.html, one JavaScript bundle (the page's sources in
``web/`` plus three.js, bundled by esbuild from node_modules), MediaPipe's face-mesh
wasm and model files and the prepared GLBs. Nothing loads from a CDN and the page never
connects anywhere (its Content-Security-Policy forbids it), so it works from a local
folder (file://) or any static host, offline.

Binary files are written as small scripts (``__lgcraftAsset(name, base64)``): browsers
refuse fetch() and XHR of file:// URLs but run classic scripts, so one loading path
works everywhere. The GLBs are also copied as they are, for a shop's own use.

The bundle is built at `page` time, not shipped prebuilt: MediaPipe's wasm and model
(about 10 MB) must be copied from the npm package anyway, so node_modules is needed in
either case, and bundling three.js from the same node_modules keeps one version source
(package.json) instead of a committed 700 kB minified file. esbuild takes well under a
second.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lgcraft.errors import DependencyError, InputError, OperationError
from lgcraft.tryon.constants import SCALE_RULE

WEB = Path(__file__).with_name("web")
MARKER = ".lgcraft-page.json"  # says a folder is a page this module wrote (safe to replace)
GLB_MAGIC = b"glTF"

# MediaPipe face mesh (legacy solution package, 478 landmarks with the iris refinement):
# the SIMD build only; every current browser has wasm SIMD and the page says so otherwise.
FACE_MESH_PACKAGE = "@mediapipe/face_mesh"
FACE_MESH_FILES = (
    "face_mesh.binarypb",
    "face_mesh_solution_packed_assets_loader.js",
    "face_mesh_solution_packed_assets.data",
    "face_mesh_solution_simd_wasm_bin.js",
    "face_mesh_solution_simd_wasm_bin.wasm",
)
NPM_NEEDED = {
    FACE_MESH_PACKAGE: f"{FACE_MESH_PACKAGE}/face_mesh.js",
    "three": "three/package.json",
    "esbuild": "esbuild/package.json",
}
# this release's graph aborts on load in every browser (google-ai-edge/mediapipe#3504; npm
# withdrew it as "latest" and later restored it): package.json pins the one before
BROKEN_FACE_MESH = {"0.4.1657299874"}
LICENSE_FILES = {"three.js (MIT)": "three/LICENSE",
                 "MediaPipe face mesh (Apache-2.0)": f"{FACE_MESH_PACKAGE}/README.md"}


@dataclass
class PageFrame:
    """One frame offered by the page's picker (sizes in mm, from the prep report)."""

    name: str
    glb: str  # path inside SITE
    marking: str | None = None
    lens_width_mm: float | None = None
    bridge_mm: float | None = None
    temple_length_mm: float | None = None
    total_width_mm: float | None = None
    lens_height_mm: float | None = None
    thumbnail: str | None = None
    license: str | None = None
    bytes: int = 0


@dataclass
class PageResult:
    site: Path
    index: Path
    frames: list[PageFrame]
    skipped: list[dict] = field(default_factory=list)  # catalogue entries left out, with why
    files: int = 0
    bytes: int = 0
    bundle_bytes: int = 0
    node_modules: Path | None = None
    seconds: float = 0.0


def find_node_modules(explicit: Path | None, search_from: list[Path]) -> Path:
    """The node_modules folder holding the page's npm packages.

    ``explicit`` (a flag or setting) wins; otherwise each folder of ``search_from`` and its
    parents are tried. A missing package is a `DependencyError` naming it.
    """
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(Path(explicit))
    else:
        for start in search_from:
            start = start.resolve()
            candidates += [d / "node_modules" for d in (start, *start.parents)]
    tried = []
    for folder in candidates:
        if not folder.is_dir():
            tried.append(str(folder))
            continue
        missing = [pkg for pkg, probe in NPM_NEEDED.items() if not (folder / probe).is_file()]
        if not missing:
            _check_face_mesh_version(folder)
            return folder
        if explicit is not None:
            raise DependencyError(
                f"node_modules {folder} lacks {', '.join(missing)}",
                hint="run `npm install` in the lgcraft checkout (scripts/install.sh does it)")
        tried.append(f"{folder} (lacks {', '.join(missing)})")
    if explicit is not None:
        raise InputError(f"--node-modules {explicit} is not a folder")
    raise DependencyError(
        "the page's npm packages (@mediapipe/face_mesh, three, esbuild) were not found; "
        f"looked in {', '.join(tried[:4])}{' ...' if len(tried) > 4 else ''}",
        hint="run `npm install` in the lgcraft checkout (scripts/install.sh does it), "
             "or pass --node-modules DIR")


def _check_face_mesh_version(node_modules: Path) -> None:
    try:
        meta = json.loads((node_modules / FACE_MESH_PACKAGE / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return
    if meta.get("version") in BROKEN_FACE_MESH:
        raise DependencyError(
            f"{node_modules / FACE_MESH_PACKAGE} is version {meta['version']}, a broken release "
            "(its face-detection graph aborts on load: google-ai-edge/mediapipe#3504)",
            hint="run `npm install` in the lgcraft checkout: package.json pins 0.4.1633559619")


def esbuild_binary(node_modules: Path) -> Path:
    for candidate in (node_modules / "esbuild" / "bin" / "esbuild", node_modules / ".bin" / "esbuild"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise DependencyError(f"esbuild is installed in {node_modules} but has no executable",
                          hint="run `npm rebuild esbuild` in that folder's parent")


def glb_json(path: Path) -> dict:
    """The JSON chunk of a GLB file (cheap: the binary chunk is not read)."""
    with path.open("rb") as handle:
        header = handle.read(20)
        if len(header) < 20 or header[:4] != GLB_MAGIC:
            raise InputError(f"{path} is not a GLB file")
        length = int.from_bytes(header[12:16], "little")
        if header[16:20] != b"JSON" or length > 64 * 2**20:
            raise InputError(f"{path} is not a GLB file (no JSON chunk)")
        try:
            return json.loads(handle.read(length))
        except ValueError as exc:
            raise InputError(f"{path}: its GLB JSON chunk is broken") from exc


def check_prepared(path: Path) -> None:
    """A GLB the page can place: it has the anchors `lgcraft eyewear prep` writes."""
    names = {node.get("name") for node in glb_json(path).get("nodes", [])}
    if "anchor_bridge" not in names:
        raise InputError(f"{path.name} was not prepared for try-on (no anchor_bridge node)",
                         hint="run `lgcraft eyewear prep` on it first")


def read_catalog(catalog: Path) -> tuple[Path, list[dict], list[dict]]:
    """The prep output folder's frames (from batch.json): (folder, usable, skipped)."""
    batch_path = catalog / "batch.json" if catalog.is_dir() else catalog
    if not batch_path.is_file():
        raise InputError(f"--catalog {catalog} has no batch.json",
                         hint="pass a folder written by `lgcraft eyewear prep INPUT --out DIR`")
    try:
        batch = json.loads(batch_path.read_text(encoding="utf-8"))
        entries = batch["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{batch_path} is not a prep batch.json") from exc
    folder = batch_path.parent
    usable, skipped = [], []
    for entry in entries:
        name = str(entry.get("name", ""))
        why = None
        if entry.get("status") not in ("ok", "skipped"):
            why = f"prep {entry.get('status')}: {entry.get('error')}"
        elif entry.get("kind", "frame") != "frame":
            why = f"a {entry.get('kind')}, not a frame"
        elif not name or "/" in name or "\\" in name or name.startswith("."):
            why = "bad name"
        elif not (folder / f"{name}.glb").is_file():
            why = f"{name}.glb is missing"
        if why:
            skipped.append({"name": name, "reason": why})
        else:
            usable.append(entry)
    if not usable:
        reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in skipped[:3]) or "it lists no files"
        raise InputError(f"--catalog {catalog} has no prepared frames ({reasons})",
                         hint="run `lgcraft eyewear prep FRAMES --out DIR` and pass that DIR")
    for entry in usable:
        check_prepared(folder / f"{entry['name']}.glb")
    return folder, usable, skipped


def asset_script(name: str, data: bytes) -> bytes:
    """A classic script handing ``data`` to the page (see the module docstring)."""
    return (f"__lgcraftAsset({json.dumps(name)},\"".encode() + base64.b64encode(data) + b"\");\n")


def _bundle(node_modules: Path, out_file: Path) -> None:
    cmd = [str(esbuild_binary(node_modules)), str(WEB / "src" / "main.js"), "--bundle",
           "--format=iife", "--minify", "--target=es2020", "--legal-comments=eof",
           "--log-level=error", f"--outfile={out_file}"]
    env = {**os.environ, "NODE_PATH": str(node_modules)}
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OperationError(f"esbuild could not run: {exc}") from exc
    if done.returncode != 0:
        raise OperationError(f"esbuild failed to bundle the page: {done.stderr.strip()[:500]}")


def _write(path: Path, data: bytes) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def _fnum(value) -> float | None:
    return round(float(value), 1) if isinstance(value, int | float) else None


def build_page(catalog: Path, site: Path, *, node_modules: Path, title: str = "Try on frames",
               on_file=None) -> PageResult:
    """Write the try-on page for the prep output ``catalog`` to the folder ``site``.

    All or nothing: the page is assembled in a temporary folder beside ``site`` and renamed
    into place; an existing ``site`` is replaced only if this function wrote it before.

    >>> build_page(Path("out/eyewear"), Path("out/site"), node_modules=Path("node_modules"))  # doctest: +SKIP
    """
    started = time.perf_counter()
    folder, entries, skipped = read_catalog(catalog)
    site = Path(site)
    if site.exists() and not site.is_dir():
        raise InputError(f"-o {site} exists and is not a folder")
    if site.is_dir() and any(site.iterdir()) and not (site / MARKER).is_file():
        raise InputError(f"-o {site} is a folder with other files in it; not replacing it",
                         hint="choose an empty or new folder (a page folder lgcraft wrote is replaced)")
    try:
        site.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{site.name}.", suffix=".part", dir=site.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's folder is owner-only; a site is for serving
    except OSError as exc:
        raise InputError(f"cannot write {site}: {exc.strerror}") from exc
    try:
        result = _assemble(folder, entries, tmp, node_modules, title, on_file)
        _swap_into_place(tmp, site)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.site, result.index, result.skipped = site, site / "index.html", skipped
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _swap_into_place(tmp: Path, site: Path) -> None:
    old = None
    if site.exists():
        old = site.with_name(f".{site.name}.old.{os.getpid()}")
        os.replace(site, old)
    try:
        os.replace(tmp, site)
    except OSError as exc:
        if old is not None:
            os.replace(old, site)
        raise InputError(f"cannot write {site}: {exc.strerror}") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _assemble(folder: Path, entries: list[dict], out: Path, node_modules: Path, title: str,
              on_file) -> PageResult:
    total = 0
    for name in ("index.html", "style.css"):
        text = (WEB / name).read_text(encoding="utf-8")
        if name == "index.html":
            from html import escape

            text = text.replace("<title>Try on frames</title>", f"<title>{escape(title)}</title>")
            text = text.replace('<h1 id="title">Try on frames</h1>', f'<h1 id="title">{escape(title)}</h1>')
        total += _write(out / name, text.encode("utf-8"))
    _bundle(node_modules, out / "app.js")
    bundle_bytes = (out / "app.js").stat().st_size
    total += bundle_bytes

    mediapipe = {}
    source = node_modules / FACE_MESH_PACKAGE
    for name in FACE_MESH_FILES:
        path = source / name
        if not path.is_file():
            raise DependencyError(f"{path} is missing from the npm package",
                                  hint=f"reinstall it: npm install {FACE_MESH_PACKAGE}")
        script = f"mediapipe/{name}.js"
        total += _write(out / script, asset_script(name, path.read_bytes()))
        mediapipe[name] = script
        if on_file:
            on_file(name)

    frames: list[PageFrame] = []
    for entry in entries:
        name = entry["name"]
        data = (folder / f"{name}.glb").read_bytes()
        glb = f"frames/{name}.glb"
        total += _write(out / glb, data)
        total += _write(out / f"{glb}.js", asset_script(glb, data))
        frame = PageFrame(
            name=name, glb=glb, marking=entry.get("marking"), bytes=len(data),
            lens_width_mm=_fnum(entry.get("lens_width_mm")), bridge_mm=_fnum(entry.get("bridge_mm")),
            temple_length_mm=_fnum(entry.get("temple_length_mm")),
            total_width_mm=_fnum(entry.get("total_width_mm")),
            lens_height_mm=_fnum(entry.get("lens_height_mm")))
        for suffix, attr in ((".front.png", "thumbnail"), (".license.txt", "license")):
            extra = folder / f"{name}{suffix}"
            if extra.is_file():
                target = f"frames/{name}{suffix}"
                total += _write(out / target, extra.read_bytes())
                setattr(frame, attr, target)
        frames.append(frame)
        if on_file:
            on_file(name)

    catalog = {
        "title": title,
        "frames": [{**frame.__dict__, "asset": frame.glb, "script": f"{frame.glb}.js"} for frame in frames],
        "mediapipe": mediapipe,
        "scaleRule": SCALE_RULE,  # the photo engine's scale rule, so both read faces alike
    }
    total += _write(out / "catalog.js", ("globalThis.LGCRAFT_CATALOG = " + json.dumps(catalog, indent=1)
                                         + ";\n").encode("utf-8"))
    licences = ["Licences of what this page contains.\n"]
    for label, rel in LICENSE_FILES.items():
        path = node_modules / rel
        licences.append(f"\n==== {label}: {rel} ====\n")
        licences.append(path.read_text(encoding="utf-8", errors="replace") if path.is_file()
                        else "(licence file not found in node_modules)\n")
    for frame in frames:
        if frame.license:
            licences.append(f"\n==== frame {frame.name}: {frame.license} ====\n")
            licences.append((out / frame.license).read_text(encoding="utf-8", errors="replace"))
    total += _write(out / "licenses.txt", "".join(licences).encode("utf-8"))
    total += _write(out / MARKER, json.dumps({"written_by": "lgcraft eyewear page",
                                              "frames": [f.name for f in frames]}).encode())
    files = sum(1 for p in out.rglob("*") if p.is_file())
    return PageResult(site=out, index=out / "index.html", frames=frames, files=files, bytes=total,
                      bundle_bytes=bundle_bytes, node_modules=node_modules)


def serve_site(site: Path, port: int = 8000, host: str = "127.0.0.1"):
    """An HTTP server for ``site`` on ``host`` (loopback by default; port 0 picks a free one).

    Returns the server; call ``serve_forever()`` on it. Only files under ``site`` are served.
    """
    from lgcraft.serve import serve_folder

    return serve_folder(site, port, built_by="lgcraft eyewear page", host=host)
