"""The retailer's verification page in a real browser (Debian's chromium, headless, driven
by Playwright) against a real anvil node: on a corpus of genuine and forged bundles -
one per attack of the trust model - the page and `lgcraft provenance verify` reach the
same verdict, and it is the verdict the attack calls for."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import threading
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

from lgcraft.provenance.site import safe_name

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
RING_ID, EAR_ID = "LG-RING-2025-0001", "LG-EAR-2025-0042"
ATTACKER_KEY = "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"  # anvil account 7
PHONE = {"width": 390, "height": 844}


@dataclass
class Case:
    name: str
    bundle: str  # the bundle's text, as served
    expected: int  # the verdict the attack calls for (verify's exit code)
    label: dict | None = None  # {"item", "head", "n"} as the QR carries them
    site: str = "main"  # which site build (trust list and node) the page runs in
    cli: list[str] = field(default_factory=list)  # verify's options for the same situation
    files: dict[str, bytes] = field(default_factory=dict)  # files/ entries replaced on the site


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


class Cli:
    """`lgcraft ...` in this process (lgcraft.cli.main, the console entry's function), in a
    folder, with a signing key or none: the CLI's own code without a Python start per call."""

    def __init__(self, cwd: Path, key: str | None = None) -> None:
        self.cwd = cwd
        self.key = key

    def __call__(self, *args: str, check: int | None = 0) -> Run:
        from lgcraft.cli import main

        saved_env = {k: v for k, v in os.environ.items() if k.startswith("LGCRAFT_")}
        saved_cwd = os.getcwd()
        out, err = io.StringIO(), io.StringIO()
        for name in saved_env:
            del os.environ[name]
        if self.key:
            os.environ["LGCRAFT_PRIVATE_KEY"] = self.key
        try:
            os.chdir(self.cwd)
            with redirect_stdout(out), redirect_stderr(err):
                code = main([str(a) for a in args])
        finally:
            os.chdir(saved_cwd)
            os.environ.pop("LGCRAFT_PRIVATE_KEY", None)
            os.environ.update(saved_env)
        run = Run(code, out.getvalue(), err.getvalue())
        if check is not None and code != check:
            raise AssertionError(f"lgcraft {' '.join(map(str, args))} exited {code}, expected {check}\n"
                                 f"stdout: {run.stdout}\nstderr: {run.stderr}")
        return run


def label_of(bundle: dict) -> dict:
    return {"item": bundle["item_id"], "head": bundle["records"][-1]["record_hash"], "n": len(bundle["records"])}


def label_payload(label: dict) -> str:
    return f"lgcraft-prov:2;item={label['item']};count={label['n']};head={label['head']}"


def dumps(bundle: dict) -> str:
    return json.dumps(bundle, indent=1, ensure_ascii=False)


def browser():
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    return manager, manager.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)


def open_page(chromium, url: str, *, locale: str = "en-US", viewport=PHONE):
    context = chromium.new_context(viewport=viewport, device_scale_factor=2, locale=locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.wait_for_selector("body[data-ready]", timeout=20_000)
    assert not errors, errors
    assert page.get_attribute("body", "data-ready") == "1"
    return context, page


class Server:
    def __init__(self, folder: Path) -> None:
        from lgcraft.provenance.site import make_server

        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text("corpus\n")
        self.httpd = make_server(folder, 0)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory, k):
    """anvil; the maker's store with both example pieces anchored on contract v2; an
    attacker's own store and contract; bundles exported from both."""
    root = tmp_path_factory.mktemp("site")
    node = k.Anvil()
    other = k.Anvil(chain_id=4242)
    try:
        maker = Cli(root / "maker", k.KEY_A)
        (root / "maker").mkdir()
        maker("provenance", "init")
        maker("provenance", "deploy", "--rpc-url", node.url)
        maker("provenance", "record", "--from", str(k.RING))
        maker("provenance", "record", "--from", str(k.EAR))
        maker("provenance", "anchor")
        maker("provenance", "export", RING_ID, "-o", "ring.json")
        maker("provenance", "export", EAR_ID, "-o", "ear.json")
        # a piece anchored in a block that a reorganisation then removes
        snapshot = node.rpc("evm_snapshot")
        maker("provenance", "record", "--item", "LG-PEND-2025-0007", "--step", "casting",
              "--actor", "Shuibei Precision Casting Co.", "--metal", "gold:750", "--weight-mg", "3100")
        maker("provenance", "anchor")
        maker("provenance", "export", "LG-PEND-2025-0007", "-o", "reorged.json")
        node.rpc("evm_revert", [snapshot])
        # the attacker: own key, own store and contract, "1.52 ct D IF, GIA" records
        attacker = Cli(root / "attacker", ATTACKER_KEY)
        (root / "attacker").mkdir()
        attacker("provenance", "init")
        attacker("provenance", "deploy", "--rpc-url", node.url)
        fake = [{"item_id": RING_ID, "biz_step": "grading", "event_time": "2025-03-10T11:05:00+08:00",
                 "actor": {"name": "GIA Laboratory, Hong Kong", "role": "grader"},
                 "stones": [{"type": "diamond", "carat": "1.52", "colour": "D", "clarity": "IF", "lab": "GIA",
                             "report_number": "2141438167"}]}]
        (root / "fake.jsonl").write_text("".join(json.dumps(e) + "\n" for e in fake))
        attacker("provenance", "record", "--from", str(root / "fake.jsonl"))
        attacker("provenance", "anchor")
        attacker("provenance", "export", RING_ID, "-o", "forged.json")
        # one company signing every step with its own key, naming the setter, lab and assay office
        solo = Cli(root / "solo", k.KEY_A)
        (root / "solo").mkdir()
        solo("provenance", "init")
        solo("provenance", "deploy", "--rpc-url", node.url)
        solo("provenance", "record", "--from", str(k.EXAMPLES / "solitaire-ring.jsonl"))
        solo("provenance", "anchor")
        solo("provenance", "export", RING_ID, "-o", "solo.json")
        yield {"root": root, "node": node, "other": other, "maker": maker,
               "ring": json.loads((root / "maker" / "ring.json").read_text()),
               "ear": json.loads((root / "maker" / "ear.json").read_text()),
               "reorged": json.loads((root / "maker" / "reorged.json").read_text()),
               "forged": json.loads((root / "attacker" / "forged.json").read_text()),
               "solo": json.loads((root / "solo" / "solo.json").read_text())}
    finally:
        node.stop()
        other.stop()


def build_corpus(world, k) -> list[Case]:
    ring, ear = world["ring"], world["ear"]
    label = label_of(ring)
    cases = [
        Case("genuine ring", dumps(ring), 0, label),
        Case("genuine earrings", dumps(ear), 0, label_of(ear)),
        Case("genuine ring, no label scanned", dumps(ring), 0, None),
    ]
    # 1. a 38-byte look-alike contract that answers "anchored" for anything
    fake_contract = "0x" + "3a" * 20
    forged_anchor = world["forged"]["anchors"][0]
    code = ("0x7f" + f"{forged_anchor['block_time']:064x}" + "600052"  # mstore(0, block time)
            "7f" + f"{forged_anchor['leaf_count']:064x}" + "602052"  # mstore(32, leaf count)
            "60406000f3")  # return(0, 64)
    world["node"].rpc("anvil_setCode", [fake_contract, code])
    lookalike = json.loads(dumps(world["forged"]))
    for anchor in lookalike["anchors"]:
        anchor["contract"] = fake_contract
        anchor["issuer"] = k.ADDR_A  # "anchored by the maker", says the look-alike
    cases.append(Case("attack 1: look-alike contract", dumps(lookalike), 1, label))
    # 2. the attacker's own key, contract and anchoring
    cases.append(Case("attack 2: attacker-signed and anchored", dumps(world["forged"]), 1, label_of(world["forged"])))
    # 3. the sale and a later record dropped; another piece's bundle at this label
    dropped = json.loads(dumps(ring))
    dropped["records"] = dropped["records"][:-2]
    cases.append(Case("attack 3: last records dropped", dumps(dropped), 1, label))
    cases.append(Case("attack 3: earring bundle at the ring's label", dumps(ear), 1, label))
    # 4. a copied root blocks no one (v2: per issuer); a reorganised anchor is not anchored
    batch_root = ring["anchors"][0]["root"]
    world["node"].rpc("eth_sendTransaction", [{
        "from": "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",  # anvil account 7 (unlocked)
        "to": ring["anchors"][0]["contract"], "data": "0x" + selector("anchor(bytes32,uint256)")
        + batch_root[2:] + f"{ring['anchors'][0]['leaf_count']:064x}"}])
    cases.append(Case("attack 4: root copied by another account", dumps(ring), 0, label))
    cases.append(Case("attack 4: anchor undone by a reorganisation", dumps(world["reorged"]), 1,
                      label_of(world["reorged"])))
    # 5. setter, lab and assay office records all signed by the maker's key
    cases.append(Case("attack 5: every step signed by the maker", dumps(world["solo"]), 1, label_of(world["solo"])))
    # 6. duplicate keys, node down, offline, wrong transaction, 100k nested arrays
    text = dumps(ring)
    duplicated = text.replace('"carat_hundredths": 102', '"carat_hundredths": 152,\n "carat_hundredths": 102', 1)
    assert duplicated != text
    cases.append(Case("attack 6: duplicate keys", duplicated, 2, label))
    cases.append(Case("attack 6: node down", dumps(ring), 3, label, site="dead"))
    cases.append(Case("attack 6: offline", dumps(ring), 3, label, site="offline"))
    wrong_tx = json.loads(dumps(ring))
    wrong_tx["anchors"][0]["tx_hash"] = world["ear"]["anchors"][0]["tx_hash"][:-4] + "beef"
    cases.append(Case("attack 6: anchoring transaction not the bundle's", dumps(wrong_tx), 1, label))
    wrong_block = json.loads(dumps(ring))
    wrong_block["anchors"][0]["block_number"] += 1
    cases.append(Case("attack 6: anchoring block not the bundle's", dumps(wrong_block), 1, label))
    cases.append(Case("attack 6: 100k nested arrays", "[" * 100_000 + "]" * 100_000, 2, label))
    deep = dumps(ring).replace('"note": "', '"note": ' + "[" * 29 + '"', 1).replace(
        'shank."', 'shank."' + "]" * 29, 1)  # 33 levels with the bundle's own 4
    assert deep.count("[" * 29) == 1
    cases.append(Case("attack 6: a record nested 33 deep", deep, 2, label))
    # what was right before and stays right
    edited = json.loads(dumps(ring))
    edited["records"][2]["body"]["stones"][0]["carat_hundredths"] = 152
    cases.append(Case("field edited (1.02 -> 1.52 ct)", dumps(edited), 1, label))
    reordered = json.loads(dumps(ring))
    reordered["records"][1], reordered["records"][2] = reordered["records"][2], reordered["records"][1]
    cases.append(Case("records reordered", dumps(reordered), 1, label))
    swapped = json.loads(dumps(ring))
    swapped["records"][1] = ear["records"][1]
    cases.append(Case("a record swapped in from another piece", dumps(swapped), 1, label))
    moved = json.loads(dumps(ring))
    moved["records"][0]["proof"]["leaf_index"] ^= 1
    cases.append(Case("proof moved to another leaf", dumps(moved), 1, label))
    floated = dumps(ring).replace('"weight_mg": 4586', '"weight_mg": 4586.0', 1)
    cases.append(Case("a float in a record", floated, 1, label))
    proto = json.loads(dumps(ring))
    proto["records"][4]["body"]["biz_step"] = "__proto__"  # record text is data, never a key
    cases.append(Case("a step named __proto__", dumps(proto), 1, label))
    cases.append(Case("wrong chain's node", dumps(ring), 3, label, site="other"))
    cases.append(Case("no trust list", dumps(ring), 1, label, site="untrusted"))
    v1 = (k.REPO / "tests" / "provenance" / "data" / "ring.v1.bundle.json").read_text()
    cases.append(Case("a version 1 bundle (before the trust model)", v1, 1, None))
    cases.append(Case("certificate on the site replaced", dumps(ring), 1, label,
                      files={"GIA-2141438167.pdf": b"%PDF-1.4 a different report\n"}))
    return cases


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def selector(signature: str) -> str:
    from eth_hash.auto import keccak

    return keccak(signature.encode()).hex()[:8]


# --------------------------------------------------------------------------------------------
def test_page_and_verify_agree_on_the_corpus(world, k, tmp_path):
    root = world["root"]
    node, other = world["node"], world["other"]
    corpus = build_corpus(world, k)
    assert len(corpus) >= 20
    shop = tmp_path / "shop"  # a retailer with bundle files and no store (no default trust list)
    shop.mkdir()
    retailer = Cli(shop)
    ring_file, ear_file = str(root / "maker" / "ring.json"), str(root / "maker" / "ear.json")
    dead = f"http://127.0.0.1:{free_port()}"
    sites = {
        "main": ["--trust", str(k.DEMO_TRUST), "--rpc-url", node.url],
        "dead": ["--trust", str(k.DEMO_TRUST), "--rpc-url", dead],
        "offline": ["--trust", str(k.DEMO_TRUST)],
        "other": ["--trust", str(k.DEMO_TRUST), "--rpc-url", other.url],
        "untrusted": ["--rpc-url", node.url],
    }
    cli_for = {
        "main": ["--trust", str(k.DEMO_TRUST), "--rpc-url", node.url],
        "dead": ["--trust", str(k.DEMO_TRUST), "--rpc-url", dead],
        "offline": ["--trust", str(k.DEMO_TRUST), "--offline"],
        "other": ["--trust", str(k.DEMO_TRUST), "--rpc-url", other.url],
        "untrusted": ["--rpc-url", node.url],
    }
    serve_root = tmp_path / "www"
    serve_root.mkdir()
    for name, options in sites.items():
        retailer("provenance", "site", str(serve_root / f"_{name}"), "--bundle", ring_file, "--bundle", ear_file,
           "--files", str(k.EXAMPLES), *options)
    jobs = []
    for i, case in enumerate(corpus):
        folder = serve_root / f"case{i:02d}"
        shutil.copytree(serve_root / f"_{case.site}", folder)
        item = case.label["item"] if case.label else json.loads(case.bundle)["item_id"]
        (folder / "bundles" / f"{safe_name(item)}.json").write_text(case.bundle, encoding="utf-8")
        bundle_path = shop / f"case{i:02d}.json"
        bundle_path.write_text(case.bundle, encoding="utf-8")
        args = ["--json", "provenance", "verify", str(bundle_path), *cli_for[case.site]]
        if case.label:
            args += ["--label", label_payload(case.label)]
        for name, content in case.files.items():
            config = json.loads(re.search(r'<script id="lgcraft-config" type="application/json">(.*?)</script>',
                                          (folder / "index.html").read_text()).group(1))
            digest = next(a["sha256"] for r in json.loads(case.bundle)["records"]
                          for a in r["body"].get("attachments", []) if a["name"] == name)
            (folder / config["files"][digest]).write_bytes(content)
            held = shop / f"case{i:02d}-{name}"
            held.write_bytes(content)
            args += ["--file", str(held)]
        query = {"item": item}
        if case.label:
            query.update(head=case.label["head"], n=case.label["n"])
        jobs.append((case, f"/case{i:02d}/?{urlencode(query)}", args))

    cli_runs = [retailer(*args, check=None) for _, _, args in jobs]
    server = Server(serve_root)
    manager, chromium = browser()
    try:
        rows = []
        for (case, path, _), proc in zip(jobs, cli_runs, strict=True):
            assert "Traceback" not in proc.stderr, proc.stderr
            context, page = open_page(chromium, server.url + path)
            verdict = int(page.get_attribute("#verdict", "data-verdict"))
            report = page.evaluate("window.lgcraftReport")
            lines = {li.get_attribute("data-check"): li.get_attribute("data-state")
                     for li in page.query_selector_all("#checks li")}
            if os.environ.get("LGCRAFT_SITE_SHOTS"):  # for a person to look at every verdict's page
                page.screenshot(path=str(Path(os.environ["LGCRAFT_SITE_SHOTS"]) / f"{path.split('/')[1]}.png"))
            context.close()
            rows.append((case, verdict, proc, report, lines))
    finally:
        chromium.close()
        manager.stop()
        server.stop()
    problems = []
    for case, verdict, proc, report, lines in rows:
        print(f"{case.name:55s} page {verdict} verify {proc.returncode} expected {case.expected}")
        if not (verdict == proc.returncode == case.expected):
            problems.append(f"{case.name}: page {verdict}, verify {proc.returncode}, expected {case.expected}\n"
                            f"  page failures {report['failures']} unchecked {report['unchecked']}\n"
                            f"  verify: {proc.stderr.strip()[:400]}")
            continue
        if proc.returncode in (0, 1, 3):
            cli = json.loads(proc.stdout)
            cli_failed = sorted({c["name"] for c in cli["checks"] if c["ok"] is False})
            page_failed = sorted({name for name, ok in report["results"].items() if ok is False})
            if cli_failed != page_failed:
                problems.append(f"{case.name}: failed checks differ: page {page_failed}, verify {cli_failed}")
        # the lines a shop assistant reads: red where it failed, none red on a genuine piece
        if verdict == 0:
            assert set(lines.values()) == {"ok"}, (case.name, lines)
        elif verdict in (1, 2):
            assert "bad" in lines.values(), (case.name, lines)
        else:
            assert lines["chain"] == "skip" and "bad" not in lines.values(), (case.name, lines)
    assert not problems, "\n".join(problems)


def test_page_on_a_phone_in_two_languages(world, k, tmp_path):
    """What a shopper sees: the phone-sized page in English and Chinese, every request to
    the site or the node (nothing from a CDN), bundle text shown as text, never as HTML."""
    shop = tmp_path / "shop"
    shop.mkdir()
    retailer = Cli(shop)
    root = world["root"]
    site = tmp_path / "www" / "verify"
    retailer("provenance", "site", str(site), "--bundle", str(root / "maker" / "ring.json"),
             "--trust", str(k.DEMO_TRUST), "--rpc-url", world["node"].url, "--files", str(k.EXAMPLES))
    forged_site = tmp_path / "www" / "forged"
    shutil.copytree(site, forged_site)
    ring = world["ring"]
    edited = json.loads(dumps(ring))
    edited["records"][2]["body"]["stones"][0]["carat_hundredths"] = 152  # 1.02 ct sold as 1.52 ct
    edited["records"][3]["body"]["note"] = '<img src=x onerror="document.title=\'pwned\'">'
    (forged_site / "bundles" / f"{safe_name(RING_ID)}.json").write_text(dumps(edited))
    query = urlencode({"item": RING_ID, "head": ring["records"][-1]["record_hash"], "n": len(ring["records"])})
    server = Server(tmp_path / "www")
    manager, chromium = browser()
    shots = Path(os.environ["LGCRAFT_SITE_SHOTS"]) if os.environ.get("LGCRAFT_SITE_SHOTS") else tmp_path
    try:
        context, page = open_page(chromium, f"{server.url}/verify/?{query}")
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.get_attribute("#verdict", "data-verdict") == "0"
        assert page.inner_text("#verdict h2") == "Genuine record"
        assert "Longgang Master Setters Workshop" in page.inner_text("#timeline")
        assert page.get_attribute("[data-attachment='GIA-2141438167.pdf']", "data-state") == "ok"
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        origins = {re.match(r"(https?://[^/]+|data:|blob:)", url).group(1) for url in requests}
        assert origins <= {server.url, world["node"].url, "data:", "blob:"}, origins
        page.screenshot(path=str(shots / "provenance-page-genuine.png"), full_page=True)
        context.close()
        # the browser's language picks Chinese; ?lang=en overrides it
        context, page = open_page(chromium, f"{server.url}/forged/?{query}", locale="zh-CN")
        assert page.get_attribute("#verdict", "data-verdict") == "1"
        assert page.inner_text("#verdict h2") == "请勿采信此记录"
        assert "第3条记录（实验室鉴定）在签名后被修改过" in page.inner_text("#checks")
        assert page.get_attribute("[data-check='unchanged']", "data-state") == "bad"
        assert page.get_attribute("[data-check='chain']", "data-state") == "ok"  # the batch itself is genuine
        assert page.title() != "pwned" and not page.query_selector("#timeline img[src='x']")
        assert '<img src=x onerror="document.title=' in page.inner_text("#timeline")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(shots / "provenance-page-forged-zh.png"))
        context.close()
        context, page = open_page(chromium, f"{server.url}/forged/?{query}&lang=en", locale="zh-CN")
        assert page.inner_text("#verdict h2") == "Do not rely on this record"
        assert "Record 3 (Lab report) was changed after it was signed." in page.inner_text("#verdict")
        page.screenshot(path=str(shots / "provenance-page-forged.png"))
        context.close()
    finally:
        chromium.close()
        manager.stop()
        server.stop()


def test_label_qr_opens_the_page_of_its_piece(world, k, tmp_path):
    """export --qr --site-url: the phone's camera reads the page URL with the item and the
    latest record (hash and count); that URL, opened, verifies the piece."""
    import cv2

    server = Server(tmp_path / "www")
    try:
        site_url = f"{server.url}/verify/"
        maker = Cli(world["root"] / "maker")
        out = json.loads(maker("--json", "provenance", "export", RING_ID, "-o", str(tmp_path / "ring.json"),
                               "--qr", str(tmp_path / "tag.png"), "--site-url", site_url).stdout)
        image = cv2.imread(str(tmp_path / "tag.png"))
        # OpenCV's classic detector misses about 2 in 100 clean codes; the ArUco-based one none of 150
        decoded = (cv2.QRCodeDetectorAruco().detectAndDecode(image)[0]
                   or cv2.QRCodeDetector().detectAndDecode(image)[0])
        ring = world["ring"]
        assert decoded == out["qr_payload"] == (f"{site_url}?item={RING_ID}&head={ring['records'][-1]['record_hash']}"
                                                f"&n={len(ring['records'])}")
        # the counter's CLI takes the same scan: verify --label URL
        shop = Cli(tmp_path)
        shop("provenance", "verify", str(tmp_path / "ring.json"), "--label", decoded, "--trust", str(k.DEMO_TRUST),
             "--rpc-url", world["node"].url)
        other = decoded.replace(f"item={RING_ID}", f"item={EAR_ID}")
        run = shop("provenance", "verify", str(tmp_path / "ring.json"), "--label", other, "--trust",
                   str(k.DEMO_TRUST), "--rpc-url", world["node"].url, check=1)
        assert f"the label for {EAR_ID}" in run.stderr
        assert "no single 'head'" in shop("provenance", "verify", str(tmp_path / "ring.json"), "--label",
                                          site_url + f"?item={RING_ID}", check=2).stderr
        Cli(tmp_path)("provenance", "site", str(tmp_path / "www" / "verify"), "--bundle", str(tmp_path / "ring.json"),
                      "--trust", str(k.DEMO_TRUST), "--rpc-url", world["node"].url)
        manager, chromium = browser()
        try:
            context, page = open_page(chromium, decoded)
            assert page.get_attribute("#verdict", "data-verdict") == "0"
            assert page.get_attribute("[data-check='history']", "data-state") == "ok"
            context.close()
        finally:
            chromium.close()
            manager.stop()
    finally:
        server.stop()


def test_site_refuses_bad_input_and_keeps_what_is_there(world, k, tmp_path):
    shop = Cli(tmp_path)
    ring = str(world["root"] / "maker" / "ring.json")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("the shop's own file")
    run = shop("provenance", "site", str(taken), "--bundle", ring, check=2)
    assert "is not an lgcraft site" in run.stderr and (taken / "notes.txt").read_text() == "the shop's own file"
    run = shop("provenance", "site", str(tmp_path / "s"), "--bundle", ring, "--rpc-url", "ftp://node", check=2)
    assert "is not an http(s) URL" in run.stderr
    run = shop("provenance", "site", str(tmp_path / "s"), "--bundle", ring,
               "--rpc-url", 'http://node"><script>alert(1)</script>', check=2)
    assert "only a plain http(s) URL" in run.stderr
    run = shop("provenance", "site", str(tmp_path / "s"), "--bundle", ring,
               "--rpc-url", "https://user:s3cret@node.example", check=2)
    assert "credentials" in run.stderr and "s3cret" not in run.stderr
    dup = tmp_path / "dup.json"
    dup.write_text('{"format": "lgcraft-provenance-bundle", "format": "x"}')
    run = shop("provenance", "site", str(tmp_path / "s"), "--bundle", str(dup), check=2)
    assert "duplicate key 'format'" in run.stderr
    run = shop("provenance", "site", str(tmp_path / "s"), "--bundle", ring, "--trust", str(tmp_path / "nope.toml"),
               check=2)
    assert "nope.toml" in run.stderr
    assert not (tmp_path / "s").exists() and not list(tmp_path.glob(".s.*"))  # nothing half-written
    run = shop("provenance", "export", RING_ID, "-o", str(tmp_path / "x.json"), "--site-url", "https://shop/", check=2)
    assert "give --qr PNG too" in run.stderr
    # an earlier site is replaced whole: pieces no longer named are gone
    site = tmp_path / "site"
    shop("provenance", "site", str(site), "--bundle", ring, "--bundle", str(world["root"] / "maker" / "ear.json"))
    assert {p.name for p in (site / "bundles").iterdir()} == {f"{RING_ID}.json", f"{EAR_ID}.json"}
    data = json.loads(shop("--json", "provenance", "site", str(site), "--bundle", ring).stdout)
    assert data["items"] == [RING_ID] and data["trust_organisations"] == 0
    assert {p.name for p in (site / "bundles").iterdir()} == {f"{RING_ID}.json"}
    assert sorted(p.name for p in site.iterdir()) == [".lgcraft-site", "bundles", "index.html", "verify.js"]
    assert "cdn" not in (site / "index.html").read_text().lower()
    # from the maker's store: the pieces named, or every anchored piece
    maker = Cli(world["root"] / "maker")
    data = json.loads(maker("--json", "provenance", "site", str(tmp_path / "one"), RING_ID).stdout)
    assert data["items"] == [RING_ID] and data["trust_organisations"] >= 1  # the store's own trust.toml
    data = json.loads(maker("--json", "provenance", "site", str(tmp_path / "all")).stdout)
    assert set(data["items"]) >= {RING_ID, EAR_ID}
    assert "no records of item 'NOPE-1'" in maker("provenance", "site", str(tmp_path / "none"), "NOPE-1",
                                                  check=2).stderr


def test_serve_opens_the_folder_on_localhost(world, tmp_path):
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    site = tmp_path / "site"
    Cli(tmp_path)("provenance", "site", str(site), "--bundle", str(world["root"] / "maker" / "ear.json"))
    proc = subprocess.Popen([sys.executable, "-m", "lgcraft", "provenance", "site", str(site), "--bundle",
                             str(world["root"] / "maker" / "ear.json"), "--serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        line, deadline = "", time.monotonic() + 60
        while "serving on" not in line and time.monotonic() < deadline:
            line += proc.stdout.readline()
        url = re.search(r"serving on (http://127\.0\.0\.1:\d+/)", line).group(1)
        with urllib.request.urlopen(url + f"bundles/{EAR_ID}.json") as response:
            assert json.loads(response.read())["item_id"] == EAR_ID
        with urllib.request.urlopen(url + "verify.js") as response:
            assert response.headers["Content-Type"].startswith("text/javascript")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0


def test_page_from_a_usb_stick_asks_for_the_bundle_file(world, k, tmp_path):
    """Opened from a folder (file://), the browser may not read bundles/: the page asks
    for the file, then checks it the same way (here against the node, 0)."""
    site = tmp_path / "stick"
    Cli(tmp_path)("provenance", "site", str(site), "--bundle", str(world["root"] / "maker" / "ear.json"),
                  "--trust", str(k.DEMO_TRUST), "--rpc-url", world["node"].url)
    ear = world["ear"]
    query = urlencode({"item": EAR_ID, "head": ear["records"][-1]["record_hash"], "n": len(ear["records"])})
    manager, chromium = browser()
    try:
        context = chromium.new_context(viewport=PHONE)
        page = context.new_page()
        page.goto(f"{(site / 'index.html').as_uri()}?{query}")
        page.wait_for_selector("body[data-ready='pick']", timeout=20_000)
        page.set_input_files("#bundle-file", str(site / "bundles" / f"{EAR_ID}.json"))
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        assert page.get_attribute("#verdict", "data-verdict") == "0"
        # with no item in the URL the page lists the site's pieces
        page.goto((site / "index.html").as_uri())
        page.wait_for_selector("body[data-ready='1']")
        assert page.inner_text("ul.items") == EAR_ID
        context.close()
    finally:
        chromium.close()
        manager.stop()
