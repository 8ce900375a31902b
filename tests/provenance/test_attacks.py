"""The six attack groups of issue 14, tried as an attacker would, on a real anvil node:
a fake never verifies, a genuine piece is never made to fail, and a check that cannot
run says so (exit 3) instead of passing or failing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lgcraft.cli import main

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def run_main(args, capsys, monkeypatch, cwd: Path):
    import os

    for var in list(os.environ):
        if var.startswith("LGCRAFT_"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", "200")
    code = main(["--json", *args])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip().startswith("{") else None), out.err


@pytest.fixture(scope="module")
def node(k):
    anvil = k.Anvil()
    yield anvil
    anvil.stop()


@pytest.fixture(scope="module")
def maker(node, k, tmp_path_factory):
    """The maker (anvil account 0, the demo's caster) anchors both example pieces, each
    record signed by its own party, on contract v2 on anvil."""
    folder = tmp_path_factory.mktemp("maker")
    lg = k.Lg(folder)
    lg("provenance", "init")
    lg("provenance", "deploy", "--rpc-url", node.url, "--organisation", "Shuibei Precision Casting Co.")
    lg("provenance", "record", "--from", str(k.RING))
    lg("provenance", "record", "--from", str(k.EAR))
    lg("provenance", "anchor")
    ring = lg.json("provenance", "export", "LG-RING-2025-0001", "-o", "ring.json")
    lg("provenance", "export", "LG-EAR-2025-0042", "-o", "ear.json")
    return {"dir": folder, "lg": lg, "label": ring["label"],
            "contract": json.loads((folder / "ring.json").read_text())["anchors"][0]["contract"]}


def verify(capsys, monkeypatch, cwd, bundle, *args, k):
    return run_main(["provenance", "verify", str(bundle), "--trust", str(k.DEMO_TRUST), *args],
                    capsys, monkeypatch, cwd)


def test_genuine_pieces_verify_and_name_their_anchorer(maker, node, k, capsys, monkeypatch, tmp_path):
    code, report, err = verify(capsys, monkeypatch, maker["dir"], maker["dir"] / "ring.json", "--rpc-url", node.url,
                               "--label", maker["label"], "--file", str(k.EXAMPLES / "GIA-2141438167.pdf"), k=k)
    assert code == 0, err
    assert report["status"] == "valid" and report["anchors"][0]["organisation"] == "Shuibei Precision Casting Co."
    assert report["anchors"][0]["contract_version"] == 2
    # the maker's own store trust list got its entry from deploy, pinned to its contract
    trust = (maker["dir"] / ".lgcraft" / "trust.toml").read_text()
    assert f'contract = "{maker["contract"]}"' in trust and "chain_id = 31337" in trust


@pytest.fixture(scope="module")
def attacker(node, k, tmp_path_factory):
    """An attacker with their own key signs "1.52 ct D IF, GIA" records, deploys a
    genuine contract and anchors them."""
    from eth_account import Account

    folder = tmp_path_factory.mktemp("attacker")
    account = Account.create()
    node.rpc("anvil_setBalance", [account.address, hex(10**20)])
    lg = k.Lg(folder, key="0x" + bytes(account.key).hex())
    lg("provenance", "init")
    lg("provenance", "deploy", "--rpc-url", node.url, "--organisation", "Shuibei Precision Casting Co.")
    events = [k.make_event(item="LG-RING-2025-7777", step="casting", actor={"name": "Shuibei Precision Casting Co.",
                                                                            "role": "manufacturer"}),
              k.make_event(item="LG-RING-2025-7777", step="grading", actor={"name": "GIA Laboratory, Hong Kong"},
                           stones=[{"type": "diamond", "carat_hundredths": 152, "colour": "D", "clarity": "IF",
                                    "lab": "GIA", "report_number": "2141438168"}])]
    (folder / "fake.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    lg("provenance", "record", "--from", "fake.jsonl")
    lg("provenance", "anchor")
    lg("provenance", "export", "LG-RING-2025-7777", "-o", "fake.json")
    return {"dir": folder, "address": account.address, "key": bytes(account.key)}


def _deploy_raw(node, key: bytes, runtime: bytes) -> str:
    """Deploy ``runtime`` bytecode as-is (an attacker's contract) and return its address."""
    from eth_account import Account

    init = bytes([0x60, len(runtime), 0x60, 12, 0x60, 0, 0x39, 0x60, len(runtime), 0x60, 0, 0xF3]) + runtime
    sender = Account.from_key(key)
    nonce = int(node.rpc("eth_getTransactionCount", [sender.address, "pending"]), 16)
    tx = {"data": "0x" + init.hex(), "gas": 200_000, "nonce": nonce, "chainId": 31337,
          "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9}
    tx_hash = node.rpc("eth_sendRawTransaction", ["0x" + bytes(Account.sign_transaction(tx, key).raw_transaction).hex()])
    for _ in range(200):  # mined at once by anvil, but the receipt may lag the reply
        receipt = node.rpc("eth_getTransactionReceipt", [tx_hash])
        if receipt is not None:
            return receipt["contractAddress"]
        time.sleep(0.05)
    raise AssertionError(f"no receipt for the attacker's deployment {tx_hash}")


def test_1_a_contract_that_says_yes_is_not_lgcraft_s(maker, attacker, node, k, capsys, monkeypatch):
    """Group 1: a tiny contract answering "anchored" for any root and issuer."""
    fake = json.loads((attacker["dir"] / "fake.json").read_text())
    anchor = fake["anchors"][0]
    block_time, leaf_count = anchor["block_time"], anchor["leaf_count"]
    runtime = (bytes([0x63]) + block_time.to_bytes(4, "big") + bytes([0x60, 0, 0x52, 0x60, leaf_count, 0x60, 0x20,
                                                                       0x52, 0x60, 0x40, 0x60, 0, 0xF3]))
    says_yes = _deploy_raw(node, attacker["key"], runtime)
    anchor.update(contract=says_yes, issuer=k.ADDR_A)  # "anchored by the maker", says the fake contract
    path = attacker["dir"] / "fake-contract.json"
    path.write_text(json.dumps(fake))
    code, report, err = verify(capsys, monkeypatch, attacker["dir"], path, "--rpc-url", node.url,
                               "--issuer", k.ADDR_A, k=k)
    assert code == 1 and report["status"] == "invalid"
    assert any(f.startswith("contract:") and "is not an lgcraft anchor contract" in f for f in report["failures"])
    # the maker's own trust list pins its contract: another contract is refused without asking the chain
    code, report, _ = run_main(["provenance", "verify", str(path), "--trust", str(maker["dir"] / ".lgcraft" /
                                                                                  "trust.toml"), "--offline"],
                               capsys, monkeypatch, attacker["dir"])
    assert code == 1 and any("anchor only with " + maker["contract"] in f for f in report["failures"])
    # a store pointed at that contract refuses to anchor into it, loudly, and keeps its records pending
    from lgcraft.provenance.store import Store

    with Store(attacker["dir"] / ".lgcraft") as store:
        network = store.get_meta("network")
        with store.transaction() as conn:
            store.set_meta("network", {**network, "contract": says_yes}, conn)
    lg = k.Lg(attacker["dir"], key="0x" + attacker["key"].hex())
    lg("provenance", "record", "--item", "LG-RING-2025-7777", "--step", "shipping", "--actor", "Courier")
    refused = lg("provenance", "anchor", check=1)
    assert f"{says_yes} on chain 31337 is not the lgcraft anchor contract" in refused.stderr
    assert "1 record(s) stay pending" in refused.stderr
    with Store(attacker["dir"] / ".lgcraft") as store, store.transaction() as conn:
        store.set_meta("network", network, conn)


def test_2_an_attacker_s_own_key_and_contract_are_not_trusted(attacker, node, k, capsys, monkeypatch):
    """Group 2: genuine contract, attacker-signed records, anchored by the attacker."""
    code, report, err = verify(capsys, monkeypatch, attacker["dir"], attacker["dir"] / "fake.json",
                               "--rpc-url", node.url, k=k)
    assert code == 1
    assert report["anchors"][0]["issuer"] == attacker["address"] and report["anchors"][0]["organisation"] is None
    assert f"signed by {attacker['address']} (unknown)" in err
    assert any(f.startswith("issuer:") and "no organisation in the trust list" in f for f in report["failures"])
    # the chain checks themselves pass: only trust is missing, and it is what fails
    assert {c["name"]: c["ok"] for c in report["checks"]}["anchored"] is True
    # without any trust list there is no VALID at all
    code, _, err = run_main(["provenance", "verify", str(attacker["dir"] / "fake.json"), "--rpc-url", node.url],
                            capsys, monkeypatch, attacker["dir"].parent)
    assert code == 1 and "no trust list" in err


def test_3_a_shortened_or_other_piece_s_bundle_fails_the_label(maker, node, k, capsys, monkeypatch, tmp_path):
    """Group 3: the sale dropped from the ring's bundle; the earrings' bundle at the ring's counter."""
    ring = json.loads((maker["dir"] / "ring.json").read_text())
    ring["records"] = ring["records"][:-1]
    short = tmp_path / "short.json"
    short.write_text(json.dumps(ring))
    code, report, _ = verify(capsys, monkeypatch, tmp_path, short, "--rpc-url", node.url, "--label", maker["label"],
                             k=k)
    assert code == 1 and any(f.startswith("label:") and "stop before the label's latest record" in f
                             for f in report["failures"])
    code, report, _ = verify(capsys, monkeypatch, tmp_path, maker["dir"] / "ear.json", "--rpc-url", node.url,
                             "--item", "LG-RING-2025-0001", k=k)
    assert code == 1 and "label: the bundle is for LG-EAR-2025-0042, the label for LG-RING-2025-0001" in \
        report["failures"]
    code, _, err = verify(capsys, monkeypatch, tmp_path, short, "--label", "lgcraft-prov:1;item=X", k=k)
    assert code == 2 and "not an lgcraft label" in err


def test_4_a_copied_root_blocks_no_one_and_a_reorganised_batch_is_anchored_again(maker, node, k, capsys,
                                                                                   monkeypatch):
    """Group 4: front-running the maker's root (higher tip), then a reorganisation."""
    from eth_account import Account

    lg = maker["lg"]
    lg("provenance", "record", "--item", "LG-RING-2025-0001", "--step", "repairing",
       "--actor", "Shuibei Precision Casting Co.", "--time", "2025-05-01T10:00:00+08:00")
    thief = Account.create()
    node.rpc("anvil_setBalance", [thief.address, hex(10**20)])
    node.rpc("evm_setAutomine", [False])
    proc = subprocess.Popen([sys.executable, "-m", "lgcraft", "--json", "provenance", "anchor"], cwd=maker["dir"],
                            env=k.clean_env(LGCRAFT_PRIVATE_KEY=k.KEY_A), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        pending = None
        while pending is None and time.monotonic() < deadline and proc.poll() is None:
            pool = node.rpc("txpool_content")["pending"]
            mine = {a.lower(): txs for a, txs in pool.items()}.get(k.ADDR_A.lower())
            pending = next(iter(mine.values())) if mine else None
            time.sleep(0.2)
        assert pending is not None, proc.communicate()
        from eth_utils import to_checksum_address

        copy = {"to": to_checksum_address(pending["to"]), "data": pending["input"], "gas": 200_000, "nonce": 0, "chainId": 31337,
                "maxFeePerGas": 10**12, "maxPriorityFeePerGas": int(pending["maxPriorityFeePerGas"], 16) + 10**10}
        node.rpc("eth_sendRawTransaction", ["0x" + bytes(Account.sign_transaction(copy, thief.key).raw_transaction)
                                           .hex()])
        node.rpc("evm_mine")
        out, err = proc.communicate(timeout=120)
    finally:
        node.rpc("evm_setAutomine", [True])
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    block = node.rpc("eth_getBlockByNumber", ["latest", False])
    assert len(block["transactions"]) == 2  # the thief's copy and the maker's own, both mined
    lg("provenance", "export", "LG-RING-2025-0001", "-o", "ring6.json")
    code, report, err = verify(capsys, monkeypatch, maker["dir"], maker["dir"] / "ring6.json", "--rpc-url",
                               node.url, k=k)
    assert code == 0, err
    # a reorganisation: the batch anchored after the snapshot leaves the chain
    snapshot = node.rpc("evm_snapshot")
    lg("provenance", "record", "--item", "LG-EAR-2025-0042", "--step", "repairing",
       "--actor", "Shuibei Precision Casting Co.", "--time", "2025-05-02T10:00:00+08:00")
    lg("provenance", "anchor")
    assert node.rpc("evm_revert", [snapshot]) is True
    node.rpc("anvil_mine", ["0x3"])
    status = lg.json("provenance", "status")
    assert status["pending"] == 1 and status["recheck"]["reverted"][0]["records"] == 1
    again = lg.json("provenance", "anchor")
    assert again["batches"][0]["leaf_count"] == 1 and again["pending_left"] == 0
    lg("provenance", "export", "LG-EAR-2025-0042", "-o", "ear2.json")
    code, report, err = verify(capsys, monkeypatch, maker["dir"], maker["dir"] / "ear2.json", "--rpc-url", node.url,
                               k=k)
    assert code == 0, err


def test_5_one_key_cannot_speak_for_the_setter_the_lab_and_the_assay_office(maker, node, k, capsys, monkeypatch,
                                                                              tmp_path):
    """Group 5: the maker's key signs records naming other organisations."""
    text = (k.EXAMPLES / "solitaire-ring.jsonl").read_text().replace("LG-RING-2025-0001", "LG-RING-2025-0555")
    (tmp_path / "ring555.jsonl").write_text(text)
    lg = maker["lg"]
    lg("provenance", "record", "--from", str(tmp_path / "ring555.jsonl"))
    lg("provenance", "anchor")
    lg("provenance", "export", "LG-RING-2025-0555", "-o", str(tmp_path / "r555.json"))
    code, report, _ = verify(capsys, monkeypatch, tmp_path, tmp_path / "r555.json", "--rpc-url", node.url, k=k)
    assert code == 1
    signers = [f for f in report["failures"] if f.startswith("signers:")]
    assert len(signers) == 4  # setting, grading, hallmarking, selling; the casting is the maker's own
    assert "record 3 (grading" in signers[1] and "step grading needs lab" in signers[1]
    assert "it names 'GIA Laboratory, Hong Kong'" in signers[1]
    assert [s["organisation"] for s in report["signers"]] == ["Shuibei Precision Casting Co."] * 5


def test_6_strict_input_and_checks_that_cannot_run(maker, node, k, capsys, monkeypatch, tmp_path):
    """Group 6: duplicate keys, nesting, offline, node down, tx/block, disagreeing nodes."""
    liar = k.Anvil()  # a second, empty node of the same chain id (started before any chdir)
    text = (maker["dir"] / "ring.json").read_text()
    dup = text.replace('"carat_hundredths": 102', '"carat_hundredths": 152, "carat_hundredths": 102', 1)
    assert dup != text
    (tmp_path / "dup.json").write_text(dup)
    code, _, err = verify(capsys, monkeypatch, tmp_path, tmp_path / "dup.json", "--rpc-url", node.url, k=k)
    assert code == 2 and "duplicate key 'carat_hundredths' in record 2 (records[1].body.stones[0])" in err
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = verify(capsys, monkeypatch, tmp_path, tmp_path / "deep.json", k=k)
    assert code == 2 and "nested 100000 levels deep" in err and "RecursionError" not in err
    ring = maker["dir"] / "ring.json"
    code, report, err = verify(capsys, monkeypatch, tmp_path, ring, "--offline", "--issuer", k.ADDR_A, k=k)
    assert code == 3 and report["status"] == "unchecked" and "could not be checked" in err
    code, report, err = verify(capsys, monkeypatch, tmp_path, ring, "--rpc-url", "http://127.0.0.1:9", k=k)
    assert code == 3 and "connection refused" in err
    bundle = json.loads(ring.read_text())
    other = node.rpc("eth_getBlockByNumber", ["0x1", False])["hash"]
    for field, value, message in (("block_hash", other, "the bundle says"),
                                  ("tx_hash", "0x" + "ab" * 32, "is not on the chain")):
        edited = json.loads(json.dumps(bundle))
        edited["anchors"][0][field] = value
        path = tmp_path / f"{field}.json"
        path.write_text(json.dumps(edited))
        code, report, _ = verify(capsys, monkeypatch, tmp_path, path, "--rpc-url", node.url, k=k)
        assert code == 1 and any(f.startswith("transaction:") and message in f for f in report["failures"]), field
    flipped = json.loads(json.dumps(bundle))
    flipped["anchors"][0]["contract_version"] = 1  # ask the v2 contract the v1 question
    (tmp_path / "flipped.json").write_text(json.dumps(flipped))
    code, report, _ = run_main(["provenance", "verify", str(tmp_path / "flipped.json"), "--rpc-url", node.url,
                                "--trust", str(maker["dir"] / ".lgcraft" / "trust.toml"), "--trust", str(k.DEMO_TRUST)],
                               capsys, monkeypatch, tmp_path)
    assert code == 1 and any("the contract is version 2, the bundle says 1" in f for f in report["failures"])
    # two nodes that must agree: the empty one disagrees, so nothing is decided on its word
    try:
        code, report, err = verify(capsys, monkeypatch, tmp_path, ring, "--rpc-url", node.url, "--rpc-url", liar.url,
                                   k=k)
    finally:
        liar.stop()
    assert code == 3 and "the nodes disagree" in err
