"""Verification page benchmark: how long the retailer's page takes to check one bundle.

Starts anvil, anchors the example ring (5 records signed by five organisations) on
contract v2, builds the site (`lgcraft provenance site`) and opens the label's URL in
headless chromium (a phone viewport), --rounds times in fresh tabs. The page reports its
own times (``window.lgcraftReport.timing``): the checks' computing time (strict parse,
RFC 8785 + SHA-256, EIP-712 recovery, trust list, Merkle paths, decoding the node's
answers) and, apart, the node's round trips. Target: under 200 ms plus the round trips.
Baseline in the same run: `lgcraft.provenance.bundle.verify_bundle` in this process on
the same bundle, trust list and node.

    python bench/provenance_page.py [--rounds 10] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "provenance"
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil dev account 0
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]


def lgcraft(cwd: Path, *args: str) -> str:
    from lgcraft.cli import main

    out = io.StringIO()
    here = os.getcwd()
    os.environ["LGCRAFT_PRIVATE_KEY"] = KEY
    try:
        os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(io.StringIO()):
            code = main(list(args))
    finally:
        os.chdir(here)
        del os.environ["LGCRAFT_PRIVATE_KEY"]
    if code != 0:
        raise SystemExit(f"lgcraft {' '.join(args)} exited {code}")
    return out.getvalue()


def start_anvil() -> tuple[subprocess.Popen, str]:
    from lgcraft.tools import find_tool

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([find_tool("anvil") or "anvil", "--port", str(port), "--silent"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("anvil did not start")


def python_baseline(bundle_path: Path, trust_path: Path, url: str, rounds: int) -> dict:
    from lgcraft.provenance.bundle import load_bundle, verify_bundle
    from lgcraft.provenance.chain import open_rpc
    from lgcraft.provenance.trust import load_trust

    client = open_rpc(url)
    trust = load_trust(trust_path)
    online, offline = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        bundle = load_bundle(bundle_path)
        report = verify_bundle(bundle, trust=trust, chain=lambda chain_id: client)
        online.append((time.perf_counter() - started) * 1000)
        assert report.exit_code == 0, report.failures
        started = time.perf_counter()
        verify_bundle(load_bundle(bundle_path), trust=trust, chain=None)
        offline.append((time.perf_counter() - started) * 1000)
    return {"python_online_ms": statistics.median(online), "python_offline_ms": statistics.median(offline)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from lgcraft.provenance.site import make_server

    work = Path(tempfile.mkdtemp(prefix="lgcraft-page-bench-"))
    anvil, url = start_anvil()
    try:
        lgcraft(work, "provenance", "init")
        lgcraft(work, "provenance", "deploy", "--rpc-url", url)
        lgcraft(work, "provenance", "record", "--from", str(EXAMPLES / "solitaire-ring.signed.jsonl"))
        lgcraft(work, "provenance", "anchor")
        lgcraft(work, "provenance", "export", "LG-RING-2025-0001", "-o", "ring.json")
        trust = EXAMPLES / "demo-trust.toml"
        lgcraft(work, "provenance", "site", "site", "LG-RING-2025-0001", "--trust", str(trust), "--rpc-url", url,
                "--files", str(EXAMPLES))
        ring = json.loads((work / "ring.json").read_text())
        query = urlencode({"item": ring["item_id"], "head": ring["records"][-1]["record_hash"],
                           "n": len(ring["records"])})
        server = make_server(work / "site", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        page_url = f"http://127.0.0.1:{server.server_address[1]}/?{query}"
        runs: dict[str, list[dict]] = {"online": [], "offline": []}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for _ in range(options.rounds):
                for mode, suffix in (("online", ""), ("offline", "&offline=1")):
                    context = browser.new_context(viewport={"width": 390, "height": 844})
                    page = context.new_page()
                    page.goto(page_url + suffix)
                    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                    report = page.evaluate("window.lgcraftReport")
                    assert report["verdict"] == (0 if mode == "online" else 3), report["failures"]
                    runs[mode].append(report["timing"])
                    context.close()
            browser.close()
        server.shutdown()
        baseline = python_baseline(work / "ring.json", trust, url, options.rounds)
    finally:
        anvil.terminate()
        anvil.wait()
        shutil.rmtree(work, ignore_errors=True)

    def med(mode: str, key: str) -> float:
        return statistics.median(t[key] for t in runs[mode])

    results = {
        "records": len(ring["records"]), "rounds": options.rounds,
        "page_compute_ms": med("online", "computeMs"), "page_compute_ms_first": runs["online"][0]["computeMs"],
        "page_rpc_ms": med("online", "rpcMs"), "page_rpc_calls": runs["online"][0]["rpcCalls"],
        "page_total_ms": med("online", "totalMs"), "page_offline_ms": med("offline", "computeMs"),
        **baseline,
    }
    results["page_vs_python_offline"] = results["page_offline_ms"] / results["python_offline_ms"]
    if options.json:
        print(json.dumps(results, indent=2))
        return
    r = results
    print(f"page, one bundle ({r['records']} records), median of {r['rounds']} fresh tabs:")
    print(f"  checks computed in the browser: {r['page_compute_ms']:.1f} ms (first tab {r['page_compute_ms_first']:.1f} ms;"
          f" target < 200 ms) + {r['page_rpc_calls']} node round trips {r['page_rpc_ms']:.1f} ms"
          f" = {r['page_total_ms']:.1f} ms")
    print(f"  offline (no node): {r['page_offline_ms']:.1f} ms; Python verify_bundle offline "
          f"{r['python_offline_ms']:.2f} ms -> page/Python {r['page_vs_python_offline']:.1f}x")
    print(f"  Python verify_bundle with the node: {r['python_online_ms']:.1f} ms")


if __name__ == "__main__":
    main()
