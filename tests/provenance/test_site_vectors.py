"""The page's hashing in the browser (Debian's chromium, headless) against the documented
vectors (docs/provenance-merkle.md) and lgcraft's Python implementation: RFC 8785 on
awkward JSON, record hashes, leaves, roots and proofs of every batch size up to 40,
EIP-712 digests and signer recovery."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from lgcraft.provenance import merkle
from lgcraft.provenance.canonical import canonical_bytes_reference
from lgcraft.provenance.signing import signer_from_private_key, signing_digest
from lgcraft.provenance.site import WEB_DIR, build_script

pytestmark = [pytest.mark.slow]

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
SPEC_BODY = ('{"actor":{"address":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","name":"GIA Laboratory, Hong Kong"},'
             '"biz_step":"grading","event_time":"2025-03-10T11:05:00+08:00","event_type":"ObjectEvent",'
             '"item_id":"LG-RING-2025-0001","prev":"0x0000000000000000000000000000000000000000000000000000000000000000",'
             '"schema":"lgcraft-provenance-record/1","stones":[{"carat_hundredths":102,"clarity":"VS1","colour":"F",'
             '"lab":"GIA","report_number":"2141438167","type":"diamond"}]}')


def h(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def awkward_values() -> list:
    rng = random.Random(15)
    alphabet = ["a", "B", "é", "ß", "中", "文", "\u20ac", "\U0001f48e", "\ud7ff", "\ue000", "\u0000", "\u001f", "\"",
                "\\", "/", "\u2028", "\x7f", " ", "1", "_"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))

    def value(depth: int):
        kind = rng.randint(0, 6 if depth < 4 else 3)
        if kind == 0:
            return text()
        if kind == 1:
            return rng.choice([0, -1, 1, 2**53 - 1, -(2**53 - 1), 102, 4586, 10**15])
        if kind == 2:
            return rng.choice([True, False, None])
        if kind == 3:
            return text()
        if kind in (4, 5):
            return {text(): value(depth + 1) for _ in range(rng.randint(0, 5))}
        return [value(depth + 1) for _ in range(rng.randint(0, 4))]

    fixed = [{"\U0001f48e": 1, "\ue000": 2, "z": 3, "": 4}, {"b": [], "a": {}}, "\u2028\u2029", -0, 2**53 - 1]
    return fixed + [value(0) for _ in range(150)]


def test_page_hashing_matches_the_spec_and_python(tmp_path):
    from playwright.sync_api import sync_playwright

    script = tmp_path / "verify-lib.js"
    build_script(script, entry=WEB_DIR / "src" / "verify.js", global_name="lgcraftVerify")
    values = awkward_values()
    leaves_in = [{"salt": "0x" + h(f"salt-{i}").hex(), "record_hash": "0x" + h(f"record-{i}").hex(),
                  "signature": "0x" + (h(f"sig-r-{i}") + h(f"sig-s-{i}") + bytes([27])).hex()} for i in range(40)]
    leaves = [merkle.leaf_hash(*(bytes.fromhex(x[k][2:]) for k in ("salt", "record_hash", "signature")))
              for x in leaves_in]
    proofs = []
    for n in range(1, 41):
        levels = merkle.build_levels(leaves[:n])
        proofs += [{"n": n, "i": i, "siblings": ["0x" + s.hex() for s in merkle.proof_for(levels, i)],
                    "root": "0x" + levels[-1][0].hex()} for i in range(n)]
    signer = signer_from_private_key(KEY)
    body = json.loads(SPEC_BODY)
    records = []
    for i in range(5):
        rec = {**body, "item_id": f"LG-{i}", "event_time": f"2025-03-1{i}T11:05:00+08:00"}
        rec_hash = "0x" + hashlib.sha256(canonical_bytes_reference(rec)).hexdigest()
        records.append({"body": rec, "hash": rec_hash, "signature": signer.sign_record(rec, rec_hash),
                        "digest": signing_digest(rec, rec_hash).hex()})
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto("about:blank")
            page.add_script_tag(content=script.read_text())
            out = page.evaluate("""([texts, leavesIn, proofs, records, specBody]) => {
              const V = lgcraftVerify;
              const canon = texts.map((t) => { const v = V.parseStrictForTests(t); return V.canonicalTextForTests(v); });
              const leaves = leavesIn.map((x) => V.hex(V.leafHash(x.salt, x.record_hash, x.signature)));
              const roots = proofs.map((p) => V.rootFromProof(V.unhexForTests(leaves[p.i]), p.i, p.n, p.siblings));
              const recs = records.map((r) => ({
                hash: '0x' + V.sha256Hex(new TextEncoder().encode(V.canonicalTextForTests(r.body))),
                digest: V.hex(V.signingDigest(r.body, r.hash)),
                signer: V.recoverSigner(r.body, r.hash, r.signature),
              }));
              const spec = V.parseStrictForTests(specBody);
              const specHash = '0x' + V.sha256Hex(new TextEncoder().encode(V.canonicalTextForTests(spec)));
              return { canon, leaves, roots, recs, specHash, specDigest: V.hex(V.signingDigest(spec, specHash)),
                       specCanon: V.canonicalTextForTests(spec) };
            }""", [[json.dumps(v, ensure_ascii=bool(i % 2)) for i, v in enumerate(values)], leaves_in, proofs,
                   records, SPEC_BODY])
        finally:
            browser.close()
    assert out["canon"] == [canonical_bytes_reference(v).decode("utf-8") for v in values]
    assert out["leaves"][:7] == [  # docs/provenance-merkle.md section 6
        "af005ca413adef0bd7c35fa7159952e450de1f4c162217953891b4ee006f91cb",
        "97ddaa02d5faed2409571a442ccd1eeb93b152d8d39189463e3b702ac4246069",
        "e055d1fd252c0cb03db76ea5d5a40d035d9368ddd4297372f75395b07d5bda79",
        "a8f92e620712abe78678ec9031e26a108cd7df1714cf5b61d940691423a7ea5c",
        "e35abfe18deca89d2580211a255b58bafc3ff19ea6a3314d800c1dbfe551f217",
        "65c1b480f7bcef675fc91d81a039c41c759ec07103fb6c261addc1a274955b6d",
        "c8f3901bb9c679f69e26e4be8ce9869741d143ca5d976e0b2fa91347d267d73e"]
    assert out["leaves"] == [leaf.hex() for leaf in leaves]
    assert out["roots"] == [p["root"] for p in proofs]
    assert next(r for p, r in zip(proofs, out["roots"], strict=True) if p["n"] == 7 and p["i"] == 6) == \
        "0x3189b293f5305af0b4e2f2d5a841111b028bf8968ac9304db03a057d160ce9d8"
    assert out["specCanon"] == SPEC_BODY  # the spec's body is its own canonical text
    assert out["specHash"] == "0x0e8bf92608b311c9524b4541836500df698f7ea2b29b7417e54efdd883a52ff2"
    assert out["specDigest"] == "3137b134acaacec16ff133b6881e4b62a67b3da8fce29238179799b2a03c4a8c"
    assert [r["hash"] for r in out["recs"]] == [r["hash"] for r in records]
    assert [r["digest"] for r in out["recs"]] == [r["digest"] for r in records]
    assert {r["signer"] for r in out["recs"]} == {signer.address}
