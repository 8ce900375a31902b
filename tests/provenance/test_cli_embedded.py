"""End to end through the CLI on the embedded dev chain: separate processes for
record, anchor, export and verify (state persists), and every way a bundle can fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lgcraft.cli import main

DEMO_TRUST = Path(__file__).resolve().parents[2] / "examples" / "provenance" / "demo-trust.toml"
ADDR_A = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account 0: the demo's caster and anchorer


def run_main(args, capsys, monkeypatch, cwd: Path, env: dict | None = None):
    for var in list(__import__("os").environ):
        if var.startswith("LGCRAFT_"):
            monkeypatch.delenv(var)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", "200")
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_flow_in_separate_processes(anchored_store, k):
    lg = k.Lg(anchored_store)
    status = lg.json("provenance", "status")
    assert status["records"] == 9 and status["pending"] == 0 and status["items"] == 2
    assert status["network"]["kind"] == "embedded"
    assert status["network"]["chain_id"] == 131277322940537
    assert status["last_batch"]["status"] == "anchored" and status["last_batch"]["leaf_count"] == 9
    history = lg.json("provenance", "history", "LG-RING-2025-0001")
    steps = [r["biz_step"] for r in history["records"]]
    assert steps == ["casting", "setting", "grading", "hallmarking", "selling"]
    assert {r["status"] for r in history["records"]} == {"anchored"}
    # verify in a later process reads the root from the persisted embedded chain
    report = lg.json("provenance", "verify", "ring.json", "--trust", str(k.DEMO_TRUST), "--issuer", k.ADDR_A,
                     "--file", str(k.EXAMPLES / "GIA-2141438167.pdf"))
    assert report["valid"] is True and report["chain_checked"] is True and report["status"] == "valid"
    assert report["issuers"] == [k.ADDR_A]
    assert report["anchors"][0]["organisation"] == "Shuibei Precision Casting Co."
    assert [s["organisation"] for s in report["signers"]] == [
        "Shuibei Precision Casting Co.", "Longgang Master Setters Workshop", "GIA Laboratory, Hong Kong",
        "Shenzhen Assay Office", "Longgang Jewelry Flagship Store"]
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "record hash": True, "item": True, "signature": True, "hash chain": True, "merkle proof": True,
        "signers": True, "attachment": True, "issuer": True, "contract": True, "anchored": True,
        "transaction": True, "block": True}


def test_bundle_shape(anchored_store):
    bundle = json.loads((anchored_store / "ring.json").read_text())
    assert bundle["format"] == "lgcraft-provenance-bundle" and bundle["version"] == 2
    assert bundle["merkle"] == "lgcraft-merkle/1"
    assert len(bundle["records"]) == 5 and len(bundle["anchors"]) == 1
    anchor = bundle["anchors"][0]
    assert anchor["leaf_count"] == 9 and anchor["tx_hash"].startswith("0x") and anchor["block_number"] >= 1
    assert anchor["contract_version"] == 2
    # the ring's bundle holds no earring record, only hashes of their salted leaves
    text = json.dumps(bundle)
    assert "LG-EAR" not in text and "recycled" not in text


def _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch, *extra):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle) if not isinstance(bundle, str) else bundle)
    return run_main(["provenance", "verify", str(path), "--store", str(anchored_store / ".lgcraft"),
                     "--trust", str(DEMO_TRUST), *extra], capsys, monkeypatch, tmp_path)


@pytest.fixture
def bundle(anchored_store):
    return json.loads((anchored_store / "ring.json").read_text())


def test_verify_valid_in_process(tmp_path, anchored_store, bundle, capsys, monkeypatch):
    code, out, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch)
    assert code == 0, err
    assert "VALID" in out and f"anchored by {ADDR_A} (Shuibei Precision Casting Co.)" in out


def test_edited_field_is_named(tmp_path, anchored_store, bundle, capsys, monkeypatch):
    bundle["records"][1]["body"]["weight_mg"] += 100
    code, _, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch)
    assert code == 1
    assert "NOT valid" in err and "record hash: record 2 (setting, 2025-03-05T15:40:00+08:00)" in err
    assert "a field of this record was changed" in err


def test_edited_field_with_recomputed_hash_fails_signature(tmp_path, anchored_store, bundle, capsys, monkeypatch):
    from lgcraft.provenance.canonical import record_hash

    rec = bundle["records"][2]
    rec["body"]["stones"][0]["colour"] = "D"
    rec["record_hash"] = record_hash(rec["body"])
    code, _, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch)
    assert code == 1 and "signature: record 3 (grading" in err and "but actor.address is" in err


def test_swapped_proof(tmp_path, anchored_store, bundle, capsys, monkeypatch):
    a, b = bundle["records"][0]["proof"], bundle["records"][1]["proof"]
    a["siblings"], b["siblings"] = b["siblings"], a["siblings"]
    code, _, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch)
    assert code == 1 and "merkle proof: record 1 (casting" in err


def test_moved_leaf_index(tmp_path, anchored_store, bundle, capsys, monkeypatch):
    bundle["records"][0]["proof"]["leaf_index"] ^= 1
    code, _, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch)
    assert code == 1 and "merkle proof" in err


def test_removed_record_breaks_hash_chain(tmp_path, anchored_store, bundle, capsys, monkeypatch):
    del bundle["records"][2]
    code, _, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch)
    assert code == 1 and "hash chain: record 3 (hallmarking" in err and "expected 0x" in err


def test_untrusted_issuer(tmp_path, anchored_store, bundle, capsys, monkeypatch, k):
    code, _, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch, "--issuer", k.ADDR_B)
    assert code == 1 and f"was anchored by {k.ADDR_A}, not by a --issuer given" in err


def test_forged_anchor_issuer(tmp_path, anchored_store, bundle, capsys, monkeypatch, k):
    bundle["anchors"][0]["issuer"] = k.ADDR_B
    code, out, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch, "--issuer", k.ADDR_B)
    assert code == 1 and f"anchored by {k.ADDR_B}, which no organisation in the trust list may anchor" in err
    (tmp_path / "forged.json").write_text(json.dumps(bundle))
    code, out, _ = run_main(["--json", "provenance", "verify", "forged.json", "--store", str(anchored_store / ".lgcraft"),
                             "--trust", str(DEMO_TRUST)], capsys, monkeypatch, tmp_path)
    assert code == 1 and any(f"is not anchored by {k.ADDR_B}" in f for f in json.loads(out)["failures"])


def test_root_not_on_chain(tmp_path, anchored_store, capsys, monkeypatch, k):
    """A self-consistent bundle whose root was never anchored (a forger's own tree)."""
    from lgcraft.provenance import merkle

    bundle = json.loads((anchored_store / "ring.json").read_text())
    rec = bundle["records"][0]
    leaf = merkle.leaf_hash(bytes.fromhex(rec["salt"][2:]), bytes.fromhex(rec["record_hash"][2:]),
                            bytes.fromhex(rec["signature"][2:]))
    bundle["records"] = [rec]
    root = "0x" + leaf.hex()
    rec["proof"] = {"root": root, "leaf_index": 0, "leaf_count": 1, "siblings": []}
    bundle["anchors"][0].update(root=root, leaf_count=1)
    code, _, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch)
    assert code == 1 and f"anchored: root {root}" in err and "is not anchored by" in err


def test_unknown_chain_needs_rpc(tmp_path, anchored_store, bundle, capsys, monkeypatch):
    bundle["anchors"][0]["chain_id"] = 5
    code, out, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch)
    # the demo's public development keys count only on development chains
    assert code == 1 and "a public development key counts only on development chains, this is chain 5" in err
    assert "no RPC URL" in out


def test_offline_verify_skips_chain(tmp_path, anchored_store, bundle, capsys, monkeypatch):
    code, out, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch, "--offline")
    assert code == 3 and "offline" in out and "NOT CHECKED" in out and "could not be checked" in err


@pytest.mark.parametrize("mangle, message", [
    (lambda text: text[: len(text) // 2], "truncated"),
    (lambda text: "not json at all", "not valid JSON"),
    (lambda text: json.dumps({**json.loads(text), "version": 3}), "unsupported bundle version 3"),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "anchors"}),
     "malformed bundle at top level: 'anchors' is a required property"),
    (lambda text: text.replace('"salt": "0x', '"salt": "0xzz', 1), "malformed bundle at records[0].salt"),
    (lambda text: json.dumps([1, 2]), "malformed bundle"),
])
def test_malformed_bundles_exit_2(tmp_path, anchored_store, capsys, monkeypatch, mangle, message):
    text = (anchored_store / "ring.json").read_text()
    code, _, err = _verify(tmp_path, anchored_store, mangle(text), capsys, monkeypatch)
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_missing_bundle_exit_2(tmp_path, capsys, monkeypatch):
    code, _, err = run_main(["provenance", "verify", "nope.json"], capsys, monkeypatch, tmp_path)
    assert code == 2 and "bundle nope.json not found" in err


def test_epcis_document(anchored_store, k):
    doc = k.Lg(anchored_store).json("provenance", "epcis", "LG-RING-2025-0001")
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    assert doc["@context"][0] == "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    events = doc["epcisBody"]["eventList"]
    assert [e["type"] for e in events] == ["TransformationEvent", "TransformationEvent", "ObjectEvent",
                                           "ObjectEvent", "TransactionEvent"]
    assert events[2]["bizStep"] == "inspecting"
    assert events[2]["certificationInfo"] == "urn:lgcraft:report:GIA:2141438167"
    assert events[4]["bizStep"] == "retail_selling" and events[4]["disposition"] == "retail_sold"
    assert all(e["eventTimeZoneOffset"] == "+08:00" for e in events)
    assert events[0]["outputEPCList"] == ["urn:lgcraft:item:LG-RING-2025-0001"]
    assert events[0]["lgc:anchor"]["root"].startswith("0x")


def test_export_qr_and_pending_warning(tmp_path, k):
    lg = k.Lg(tmp_path)
    lg("provenance", "init")
    lg("provenance", "record", "--item", "P-1", "--step", "casting", "--actor", "Caster",
       "--metal", "gold:750", "--weight-mg", "3000", "--time", "2025-01-01T10:00:00+08:00")
    lg("provenance", "anchor")
    lg("provenance", "record", "--item", "P-1", "--step", "selling", "--actor", "Shop", "--to", "Customer",
       "--time", "2025-01-05T10:00:00+08:00")
    proc = lg("--json", "provenance", "export", "P-1", "-o", "p.json", "--qr", "p.png")
    data = json.loads(proc.stdout)
    assert data["records"] == 1 and data["not_anchored"] == 1
    assert "1 record(s) of P-1 are not anchored yet" in proc.stderr
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert data["qr_payload"].startswith("lgcraft-prov:2;item=P-1;count=1;head=0x")
    # the second anchor makes a second batch; the new bundle has two roots and verifies
    lg("provenance", "anchor")
    lg("provenance", "export", "P-1", "-o", "p2.json")
    k.allow(tmp_path, k.ADDR_A, ["maker", "retailer"], ["Caster", "Shop"])
    report = lg.json("provenance", "verify", "p2.json")
    assert report["valid"] and report["roots"] == 2 and report["records"] == 2


def test_record_errors_and_duplicates(tmp_path, capsys, monkeypatch, k):
    env = {"LGCRAFT_PRIVATE_KEY": k.KEY_A}
    code, _, err = run_main(["provenance", "status"], capsys, monkeypatch, tmp_path)
    assert code == 2 and "no provenance store (.lgcraft/)" in err
    assert run_main(["provenance", "init"], capsys, monkeypatch, tmp_path)[0] == 0
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps(k.make_event()) + "\n" + json.dumps(k.make_event(weight_mg="4.2")) + "\n")
    code, _, err = run_main(["provenance", "record", "--from", str(events)], capsys, monkeypatch, tmp_path, env)
    assert code == 2 and "record 2.weight_mg" in err
    # all or nothing: the valid first line was not stored either
    code, out, _ = run_main(["--json", "provenance", "status"], capsys, monkeypatch, tmp_path)
    assert json.loads(out)["records"] == 0
    events.write_text(json.dumps(k.make_event()) + "\n")
    code, _, err = run_main(["provenance", "record", "--from", str(events)], capsys, monkeypatch, tmp_path)
    assert code == 2 and "no signing key" in err
    assert run_main(["provenance", "record", "--from", str(events)], capsys, monkeypatch, tmp_path, env)[0] == 0
    code, _, err = run_main(["provenance", "record", "--from", str(events)], capsys, monkeypatch, tmp_path, env)
    assert code == 2 and "already recorded" in err
    code, out, _ = run_main(["--json", "provenance", "record", "--from", str(events), "--skip-existing"],
                            capsys, monkeypatch, tmp_path, env)
    assert code == 0 and json.loads(out)["skipped"] == 1
    other = k.make_event(step="setting", actor={"name": "Setter", "address": k.ADDR_B})
    events.write_text(json.dumps(other))
    events.rename(tmp_path / "e.json")
    code, _, err = run_main(["provenance", "record", "--from", str(tmp_path / "e.json")], capsys, monkeypatch,
                            tmp_path, env)
    assert code == 2 and f"is not the signing key's address {k.ADDR_A}" in err
    code, _, err = run_main(["provenance", "record", "--item", "X", "--step", "casting", "--actor", "A",
                             "--stone", "diamond"], capsys, monkeypatch, tmp_path, env)
    assert code == 2 and "--stone 'diamond': expected key=value pairs" in err
    code, _, err = run_main(["provenance", "anchor", "--confirmations", "0"], capsys, monkeypatch, tmp_path, env)
    assert code == 2 and "--confirmations 0" in err


def test_keystore_signing_and_history(tmp_path, capsys, monkeypatch, k):
    env = {"LGCRAFT_KEYSTORE_PASSWORD": "a long test password"}
    code, out, err = run_main(["--json", "provenance", "keygen", str(tmp_path / "k.json")], capsys, monkeypatch,
                              tmp_path, env)
    assert code == 0, err
    address = json.loads(out)["address"]
    assert "a long test password" not in out + err
    assert run_main(["provenance", "init"], capsys, monkeypatch, tmp_path)[0] == 0
    attachment = tmp_path / "GIA-2141438167.pdf"
    attachment.write_bytes(b"%PDF-1.4 test certificate")
    code, out, err = run_main(["--json", "provenance", "record", "--keystore", str(tmp_path / "k.json"),
                               "--item", "R-9", "--step", "grading", "--actor", "Lab",
                               "--stone", "type=diamond,carat=0.51,colour=G,clarity=SI1,lab=GIA,report=2141438167",
                               "--attach", str(attachment)], capsys, monkeypatch, tmp_path, env)
    assert code == 0, err
    assert json.loads(out)["signer"] == address
    code, out, _ = run_main(["--json", "provenance", "history", "R-9"], capsys, monkeypatch, tmp_path)
    entry = json.loads(out)["records"][0]
    assert entry["status"] == "pending" and entry["actor_address"] == address
    assert "diamond 0.51 ct G SI1 (GIA 2141438167)" in entry["summary"]
    code, _, err = run_main(["provenance", "record", "--keystore", str(tmp_path / "k.json"), "--item", "R-9",
                             "--step", "repairing", "--actor", "Lab"], capsys, monkeypatch, tmp_path,
                            {"LGCRAFT_KEYSTORE_PASSWORD": "wrong password"})
    assert code == 2 and "wrong password" in err


def test_unreachable_node_keeps_records_pending(tmp_path, capsys, monkeypatch, k):
    env = {"LGCRAFT_PRIVATE_KEY": k.KEY_A}
    assert run_main(["provenance", "init"], capsys, monkeypatch, tmp_path)[0] == 0
    code, _, err = run_main(["provenance", "deploy", "--rpc-url", "http://127.0.0.1:9"], capsys, monkeypatch,
                            tmp_path, env)
    assert code == 1 and "connection refused" in err and "Traceback" not in err
    code, _, err = run_main(["provenance", "deploy", "--rpc-url", "ftp://x"], capsys, monkeypatch, tmp_path, env)
    assert code == 2 and "is not an http(s) URL" in err


def test_bundle_schema_file_is_published():
    from lgcraft.provenance.bundle import SCHEMA_PATH, bundle_schema

    assert SCHEMA_PATH.name == "bundle-v2.schema.json"
    assert bundle_schema()["properties"]["version"] == {"const": 2}
    assert bundle_schema(1)["properties"]["version"] == {"const": 1}
    for version in (1, 2):
        assert (Path(__file__).resolve().parents[2] / "docs" / f"provenance-bundle-v{version}.schema.json"
                ).read_text() == (SCHEMA_PATH.parent / f"bundle-v{version}.schema.json").read_text()


def test_help_has_examples():
    from typer.testing import CliRunner

    from lgcraft.cli import app

    runner = CliRunner()
    for command in ("init", "keygen", "record", "sign", "deploy", "anchor", "status", "history", "export", "verify", "epcis"):
        result = runner.invoke(app, ["provenance", command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output, command


def test_grader_signs_for_the_makers_store(tmp_path, k):
    """Each record signed by its own actor: the grader signs elsewhere, the maker records."""
    maker = k.Lg(tmp_path)
    maker("provenance", "init")
    maker("provenance", "record", "--item", "R-7", "--step", "casting", "--actor", "Caster",
          "--time", "2025-01-01T10:00:00+08:00")
    head = maker.json("provenance", "history", "R-7")["records"][-1]["record_hash"]
    grader_dir = tmp_path / "grader"
    grader_dir.mkdir()
    (grader_dir / "grading.json").write_text(json.dumps(k.make_event(
        item="R-7", step="grading", actor={"name": "Lab B"},
        stones=[{"type": "diamond", "carat": "0.70", "lab": "IGI", "report_number": "LG12345678"}])))
    grader = k.Lg(grader_dir, key=k.KEY_B)
    grader("provenance", "sign", "--from", "grading.json", "--prev", f"R-7={head}", "-o", "signed.jsonl")
    signed = (grader_dir / "signed.jsonl").read_text()
    assert k.ADDR_B in signed and "signature" in signed
    # a changed signed record is refused, naming the recovered address
    forged = tmp_path / "forged.jsonl"
    forged.write_text(signed.replace('"carat_hundredths": 70', '"carat_hundredths": 75'))
    refused = maker("provenance", "record", "--from", str(forged), check=2)
    assert "signature: recovers" in refused.stderr and f"not the actor {k.ADDR_B}" in refused.stderr
    # the maker records it without the grader's key (no key at all is needed)
    k.Lg(tmp_path, key=None)("provenance", "record", "--from", str(grader_dir / "signed.jsonl"))
    maker("provenance", "anchor")
    maker("provenance", "export", "R-7", "-o", "r7.json")
    k.allow(tmp_path, k.ADDR_A, ["maker"], ["Caster"])
    unknown = maker("provenance", "verify", "r7.json", check=1)  # the grader is in no trust list yet
    assert f"signed by {k.ADDR_B} (unknown)" in unknown.stderr
    maker("provenance", "trust", "add", "--name", "Lab B", "--role", "lab", "--address", k.ADDR_B, "--dev")
    report = maker.json("provenance", "verify", "r7.json")
    assert report["valid"] is True
    actors = [r["body"]["actor"]["address"] for r in json.loads((tmp_path / "r7.json").read_text())["records"]]
    assert actors == [k.ADDR_A, k.ADDR_B]
    # signed against a stale head: refused with the latest hash named
    stale = maker("provenance", "record", "--from", str(grader_dir / "signed.jsonl"), check=2)
    assert "already recorded" in stale.stderr


def test_verify_checks_files_against_attachments(tmp_path, k):
    lg = k.Lg(tmp_path)
    lg("provenance", "init")
    cert = tmp_path / "GIA-2141438167.pdf"
    cert.write_bytes(b"%PDF-1.4 grading report 2141438167")
    lg("provenance", "record", "--item", "R-5", "--step", "grading", "--actor", "Lab", "--attach", str(cert),
       "--stone", "type=diamond,carat=1.00,lab=GIA,report=2141438167")
    lg("provenance", "anchor")
    lg("provenance", "export", "R-5", "-o", "r5.json")
    k.allow(tmp_path, k.ADDR_A, ["lab"], ["Lab"])
    assert lg.json("provenance", "verify", "r5.json", "--file", str(cert))["valid"]
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"%PDF-1.4 a different report")
    proc = lg("provenance", "verify", "r5.json", "--file", str(fake), check=1)
    assert "attachment: file" in proc.stderr and "is not attached to any record of R-5" in proc.stderr


def test_embedded_bundle_without_its_store(tmp_path, anchored_store, capsys, monkeypatch):
    bundle = tmp_path / "ring.json"
    bundle.write_text((anchored_store / "ring.json").read_text())
    code, out, err = run_main(["provenance", "verify", str(bundle), "--trust", str(DEMO_TRUST)], capsys, monkeypatch,
                              tmp_path)
    assert code == 3 and "anchored on an embedded dev chain" in out and "could not be checked" in err


@pytest.mark.parametrize("url, message", [
    ("http://[::1", "--rpc-url 'http://[::1' is not a valid URL"),
    ("http://127.0.0.1:99999", "--rpc-url 'http://127.0.0.1:99999' is not a valid URL"),
    ("garbage", "--rpc-url 'garbage' is not an http(s) URL"),
])
def test_bad_rpc_url_is_bad_input_not_an_invalid_bundle(tmp_path, anchored_store, bundle, capsys, monkeypatch,
                                                        url, message):
    code, out, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch, "--rpc-url", url)
    assert code == 2, err
    assert message in err and "NOT valid" not in err and "unexpected" not in err


def test_a_refused_rpc_url_does_not_print_its_credentials(tmp_path, anchored_store, bundle, capsys, monkeypatch):
    code, _, err = _verify(tmp_path, anchored_store, bundle, capsys, monkeypatch,
                           "--rpc-url", "ftp://maker:hunter2-secret@node.example")
    assert code == 2 and "is not an http(s) URL" in err
    assert "hunter2-secret" not in err and "ftp://***@node.example" in err


def test_export_into_a_file_as_folder_names_the_path(anchored_store, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    target = blocker / "ring.json"
    code, out, err = run_main(["--json", "provenance", "export", "LG-RING-2025-0001", "-o", str(target),
                               "--store", str(anchored_store / ".lgcraft")], capsys, monkeypatch, tmp_path)
    assert code == 2 and out == ""
    assert f"Error: cannot write {target}: Not a directory" in err
    assert blocker.read_text() == "a file, not a folder"


BAD_CONFIRMATIONS = [(["--confirmations", "-1"], "--confirmations -1: must be 1..1000"),
                     (["--confirmations", "99999999999999999999"],
                      "--confirmations 99999999999999999999: must be 1..1000")]
BAD_TIMEOUTS = [(["--timeout", "nan"], "--timeout nan: must be a positive number of seconds"),
                (["--timeout", "-5"], "--timeout -5.0: must be a positive number of seconds"),
                (["--timeout", "inf"], "--timeout inf: must be a positive number of seconds")]


@pytest.mark.parametrize("command, flags, message",
                         [("deploy", *case) for case in BAD_CONFIRMATIONS]  # deploy has no --timeout
                         + [("anchor", *case) for case in BAD_CONFIRMATIONS + BAD_TIMEOUTS])
def test_deploy_and_anchor_refuse_waits_they_cannot_honour(tmp_path, capsys, monkeypatch, k, command, flags, message):
    env = {"LGCRAFT_PRIVATE_KEY": k.KEY_A}
    assert run_main(["provenance", "init"], capsys, monkeypatch, tmp_path)[0] == 0
    assert run_main(["provenance", "record", "--item", "W-1", "--step", "casting", "--actor", "A"],
                    capsys, monkeypatch, tmp_path, env)[0] == 0
    code, out, err = run_main(["--json", "provenance", command, *flags], capsys, monkeypatch, tmp_path, env)
    assert code == 2 and out == "" and f"Error: {message}" in err
    code, out, _ = run_main(["--json", "provenance", "status"], capsys, monkeypatch, tmp_path)
    assert json.loads(out)["pending"] == 1


def test_a_refused_wait_from_the_environment_names_the_variable(tmp_path, capsys, monkeypatch, k):
    env = {"LGCRAFT_PRIVATE_KEY": k.KEY_A, "LGCRAFT_PROVENANCE_CONFIRMATIONS": "-3"}
    code, out, err = run_main(["--json", "provenance", "anchor"], capsys, monkeypatch, tmp_path, env)
    assert code == 2 and out == ""
    assert "Error: LGCRAFT_PROVENANCE_CONFIRMATIONS=-3: must be 1..1000" in err


def test_keygen_into_an_unwritable_place_names_the_path(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    target = blocker / "k.json"
    code, out, err = run_main(["--json", "provenance", "keygen", str(target)], capsys, monkeypatch, tmp_path,
                              {"LGCRAFT_KEYSTORE_PASSWORD": "a long test password"})
    assert code == 2 and out == ""
    assert f"Error: cannot write {target}: File exists" in err or f"Error: cannot write {target}: Not a directory" in err
    assert blocker.read_text() == "a file, not a folder"


def test_a_missing_keystore_is_named_before_any_password_is_asked(tmp_path, capsys, monkeypatch):
    code, out, err = run_main(["provenance", "record", "--keystore", "missing.json", "--item", "LG-1",
                               "--step", "casting", "--actor", "Shuibei Casting"],
                              capsys, monkeypatch, tmp_path)
    assert code == 2
    assert "Error: keystore missing.json: no such file" in err
