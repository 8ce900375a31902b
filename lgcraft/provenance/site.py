"""The retailer's verification page: a static folder that checks a piece's proof in the browser.

`build_site` writes::

    OUTDIR/index.html          the page (config, trust list and node inlined as JSON)
    OUTDIR/verify.js           one script: web/src/*.js + @noble/hashes + @noble/curves,
                               bundled by esbuild from node_modules (nothing from a CDN)
    OUTDIR/trust.toml          the trust list the page was built with (for audit)
    OUTDIR/bundles/ITEM.json   one proof bundle per piece (ITEM = `safe_name(item_id)`)
    OUTDIR/files/SHA256.EXT    photos and certificates the records attach, if given

Any static host, a shop's web site or a USB stick serves it; `serve` opens it on
127.0.0.1. The page's checks and verdicts are `lgcraft provenance verify`'s
(docs/provenance-site.md): the tests hold both to the same verdict on a corpus of
genuine and forged bundles.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from lgcraft.errors import DependencyError, InputError, OperationError

WEB_DIR = Path(__file__).resolve().parent / "web"
ENTRY = WEB_DIR / "src" / "main.js"
MARKER = ".lgcraft-site"
SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
# the only attachment types published under their own extension: the site never serves
# a record's file as HTML or script, whatever media type a bundle claims
PUBLISHED_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
                   "application/pdf": ".pdf"}
RPC_URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?(/[A-Za-z0-9._~!$&()*+,;=:@%/\-]*)?$")


def safe_name(item_id: str) -> str:
    """The file name of an item's bundle: bytes outside ``[A-Za-z0-9._-]`` become ``~XX``
    (the page computes the same name from the item id in its URL).

    >>> safe_name("LG/RING#1")
    'LG~2FRING~231'
    """
    return "".join(chr(b) if chr(b) in SAFE else f"~{b:02X}" for b in item_id.encode("utf-8"))


def page_url(site_url: str, item_id: str, head: str, count: int) -> str:
    """The URL a label's QR code opens: the site, the item and the latest record
    (its hash and position) at the time of printing.

    >>> page_url("https://shop.example/verify/", "R-1", "0xab", 5)
    'https://shop.example/verify/?item=R-1&head=0xab&n=5'
    """
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"--site-url {site_url!r} is not an http(s) URL",
                         hint="e.g. https://shop.example/verify/")
    if parts.query or parts.fragment:
        raise InputError(f"--site-url {site_url!r} must not carry a query or fragment")
    return f"{site_url}?{urlencode({'item': item_id, 'head': head, 'n': count})}"


def label_from_page_url(url: str) -> str:
    """The label payload (``lgcraft-prov:2;item=...;count=...;head=...``) a page URL from
    `page_url` carries, so `verify --label` takes what a phone's scanner reads.

    >>> label_from_page_url("https://shop.example/verify/?item=R-1&head=0xab&n=5")
    'lgcraft-prov:2;item=R-1;count=5;head=0xab'
    """
    from urllib.parse import parse_qs

    from lgcraft.provenance.bundle import Label

    query = parse_qs(urlsplit(url.strip()).query)
    fields = {key: query.get(key, []) for key in ("item", "head", "n")}
    missing = [key for key, values in fields.items() if len(values) != 1]
    if missing:
        raise InputError(f"--label {url[:80]!r}: the page URL carries no single {missing[0]!r}",
                         hint="scan the piece's label again, or give --item and --head")
    if not fields["n"][0].isdigit():
        raise InputError(f"--label: n={fields['n'][0]!r} is not a record count")
    return Label(fields["item"][0], fields["head"][0], int(fields["n"][0])).payload


# --------------------------------------------------------------------------------------------
def node_modules_dir() -> Path:
    """The node_modules folder holding esbuild and the noble packages."""
    from lgcraft.tools import find_tool

    esbuild = find_tool("esbuild")
    if esbuild is None:  # a worktree beside the checkout that holds node_modules
        repo = Path(__file__).resolve().parents[2]
        candidates = [folder / "node_modules" / ".bin" / "esbuild" for folder in (repo, repo.parent)]
        esbuild = next((str(c) for c in candidates if c.is_file()), None)
    if esbuild is None:
        raise DependencyError("esbuild is not installed (it bundles the page's script)",
                              hint="run scripts/install.sh (npm install)")
    folder = Path(esbuild).absolute().parent.parent
    if folder.name != "node_modules":  # a global esbuild: the packages sit beside lgcraft
        folder = Path(__file__).resolve().parents[2] / "node_modules"
    for package in ("@noble/hashes", "@noble/curves"):
        if not (folder / package / "package.json").is_file():
            raise DependencyError(f"npm package {package} is missing in {folder}",
                                  hint="run scripts/install.sh (npm install)")
    return folder


def build_script(output: Path, *, minify: bool = True, entry: Path = ENTRY, global_name: str | None = None) -> int:
    """Bundle the page's script (or ``entry``, its exports under ``global_name``) with
    esbuild into ``output``; returns its size in bytes. The noble packages' licence
    notices are kept at the end of the file."""
    modules = node_modules_dir()
    esbuild = str(modules / ".bin" / "esbuild")
    args = [esbuild, str(entry), "--bundle", "--format=iife", "--target=es2020", "--charset=utf8",
            "--legal-comments=eof", f"--outfile={output}", "--log-level=error"]
    if minify:
        args.append("--minify")
    if global_name:
        args.append(f"--global-name={global_name}")
    env = {**os.environ, "NODE_PATH": str(modules)}
    try:
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    except OSError as exc:
        raise DependencyError(f"cannot run esbuild ({exc.strerror})", hint="run scripts/install.sh") from exc
    if proc.returncode != 0:
        raise OperationError(f"esbuild failed to bundle the page: {proc.stderr.strip()[:500]}")
    return output.stat().st_size


# --------------------------------------------------------------------------------------------
def load_trust_for_page(path: Path | None) -> dict[str, Any] | None:
    """The trust list as the page reads it (None: no list, the page confirms nothing):
    ``{"organisations": [{name, names, roles, addresses, dev, anchors: [{chain_id,
    issuer, contract}]}]}``, read by the same code as `lgcraft provenance verify --trust`."""
    if path is None:
        return None
    from lgcraft.provenance.trust import load_trust

    trust = load_trust(Path(path))
    return {"organisations": [
        {"name": org.name, "names": list(org.names), "roles": list(org.roles), "addresses": list(org.addresses),
         "dev": bool(org.dev),
         "anchors": [{"chain_id": a.chain_id, "issuer": a.issuer, "contract": a.contract} for a in org.anchors]}
        for org in trust.organisations]}


def code_hashes() -> dict[str, str]:
    """keccak-256 of each published anchor contract's runtime code, by contract version:
    the page compares ``eth_getCode`` with these when the trust list pins no contract."""
    from lgcraft.provenance.contract import ARTIFACTS, runtime_code_hash

    return {str(version): runtime_code_hash(version) for version in ARTIFACTS}


@dataclass
class SiteResult:
    folder: str
    items: list[str]
    files: int
    script_bytes: int
    rpc_url: str | None
    trust_organisations: int
    warnings: list[str] = field(default_factory=list)


def _store_items(store) -> list[str]:
    rows = store.conn.execute("SELECT DISTINCT item_id FROM records WHERE batch_id IN "
                              "(SELECT id FROM batches WHERE status = 'anchored') ORDER BY item_id")
    return [r[0] for r in rows]


def _attachment_index(folder: Path | None) -> dict[str, Path]:
    """SHA-256 -> file for every file under ``folder`` (photos, certificates)."""
    if folder is None:
        return {}
    if not folder.is_dir():
        raise InputError(f"--files {folder}: not a folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            found.setdefault(digest.hexdigest(), path)
    return found


def _config_json(config: dict[str, Any]) -> str:
    # inlined in a <script> element: no "<" may survive (no "</script>", no "<!--")
    return json.dumps(config, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def build_site(out_dir: Path, *, store=None, items: list[str] | None = None,
               bundle_files: list[Path] | None = None, trust_path: Path | None = None,
               rpc_url: str | None = None, files_dir: Path | None = None) -> SiteResult:
    """Write the verification site for ``items`` of ``store`` (all its anchored pieces if
    none are named) and the bundle files given, with ``trust_path``'s trust list and
    ``rpc_url`` as the page's node. The folder is built beside ``out_dir`` and moved
    into place at the end: an earlier site there is replaced whole or kept whole."""
    from lgcraft.provenance.bundle import export_bundle, load_bundle

    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MARKER).exists())):
        raise InputError(f"{out_dir} exists and is not an lgcraft site; not overwriting it",
                         hint="give a new or empty folder")
    if rpc_url is not None:
        parts = urlsplit(rpc_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"--rpc-url {rpc_url!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8545")
        if parts.username or parts.password:
            raise InputError("--rpc-url carries credentials; a public page would show them to everyone",
                             hint="give the page a node that needs no secret")
        if not RPC_URL_RE.match(rpc_url):
            raise InputError(f"--rpc-url {rpc_url!r}: only a plain http(s) URL (host, port, path) can go "
                             "into the page", hint="e.g. https://node.example/rpc")
    trust = load_trust_for_page(trust_path)
    bundles: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    if store is not None:
        for item in items or _store_items(store):
            bundle, left_out = export_bundle(store, item)
            if left_out:
                warnings.append(f"{left_out} record(s) of {item} are not anchored yet and are not on the page")
            bundles[item] = bundle
    for path in bundle_files or []:
        bundle = load_bundle(Path(path))
        bundles[bundle["item_id"]] = bundle
    if not bundles:
        raise InputError("no pieces to publish", hint="name items of the store, or give --bundle FILE")
    attachments = _attachment_index(files_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        script_bytes = build_script(staging / "verify.js")
        (staging / "bundles").mkdir()
        published: dict[str, str] = {}
        for item, bundle in bundles.items():
            text = json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"
            (staging / "bundles" / f"{safe_name(item)}.json").write_text(text, encoding="utf-8")
            for rec in bundle["records"]:
                for att in rec["body"].get("attachments", []):
                    source = attachments.get(att.get("sha256", ""))
                    if source is None or att["sha256"] in published:
                        continue
                    ext = PUBLISHED_TYPES.get(att.get("media_type") or "", ".bin")
                    rel = f"files/{att['sha256']}{ext}"
                    (staging / "files").mkdir(exist_ok=True)
                    shutil.copyfile(source, staging / rel)
                    published[att["sha256"]] = rel
        if trust_path is not None:
            shutil.copyfile(trust_path, staging / "trust.toml")
        connect = ""
        if rpc_url:
            parts = urlsplit(rpc_url)
            connect = f"{parts.scheme}://{parts.netloc}"
        config = {"rpc_url": rpc_url, "trust": trust, "code_hashes": code_hashes(), "items": sorted(bundles),
                  "files": published}
        html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
        html = html.replace("__CONNECT_SRC__", connect).replace("__CONFIG__", _config_json(config))
        (staging / "index.html").write_text(html, encoding="utf-8")
        (staging / MARKER).write_text("lgcraft provenance site\n", encoding="utf-8")
        for path in staging.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(staging, 0o755)
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteResult(folder=str(out_dir), items=sorted(bundles), files=len(published),
                      script_bytes=script_bytes, rpc_url=rpc_url,
                      trust_organisations=len(trust["organisations"]) if trust else 0, warnings=warnings)


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.rename(out_dir, old)
        try:
            os.rename(staging, out_dir)
        except OSError:
            os.rename(old, out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, out_dir)


# --------------------------------------------------------------------------------------------
def make_server(folder: Path, port: int = 8000):
    """An HTTP server for ``folder`` on 127.0.0.1 (call ``serve_forever``)."""
    from lgcraft.serve import serve_folder

    return serve_folder(folder, port, built_by="lgcraft provenance site OUTDIR")


def qr_page_label(bundle: dict[str, Any], path: Path, site_url: str) -> str:
    """A QR code PNG that opens the verification page of this piece: the site URL with
    the item id and the hash and count of the latest record at the time of printing."""
    import qrcode

    from lgcraft.files import write_atomic

    payload = page_url(site_url, bundle["item_id"], bundle["records"][-1]["record_hash"], len(bundle["records"]))
    image = qrcode.make(payload, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4)
    write_atomic(path, lambda handle: image.save(handle, format="PNG"))
    return payload
