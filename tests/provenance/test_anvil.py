"""Integration against a real anvil node started on 127.0.0.1 (never skipped: a
missing anvil fails, since CI installs it from npm)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_deploy_anchor_export_verify_on_anvil(tmp_path, anvil, k):
    lg = k.Lg(tmp_path)
    lg("provenance", "init")
    deployed = lg.json("provenance", "deploy", "--rpc-url", anvil.url)
    assert deployed["chain_id"] == 31337 and deployed["network"] == "rpc" and not deployed["reused"]
    # deploying again reuses the remembered contract
    assert lg.json("provenance", "deploy", "--rpc-url", anvil.url)["reused"] is True
    lg("provenance", "record", "--from", str(k.RING))
    lg("provenance", "record", "--from", str(k.EAR))
    result = lg.json("provenance", "anchor")  # no flags: endpoint remembered at deploy
    batch = result["batches"][0]
    assert batch["leaf_count"] == 9 and batch["chain_id"] == 31337
    assert batch["gas_used"] < 60_000  # one transaction for the whole batch
    receipt = anvil.rpc("eth_getTransactionReceipt", [batch["tx_hash"]])
    assert receipt["status"] == "0x1"
    lg("provenance", "export", "LG-EAR-2025-0042", "-o", "ear.json")
    trust = ["--trust", str(k.DEMO_TRUST)]
    report = lg.json("provenance", "verify", "ear.json", "--rpc-url", anvil.url, *trust)
    assert report["valid"] is True and report["chain_checked"] is True
    # a retailer without any store verifies from the bundle and the node alone
    shop = tmp_path.parent / (tmp_path.name + "-shop")  # outside the maker's folder: no store, no trust list
    shop.mkdir()
    (shop / "ear.json").write_text((tmp_path / "ear.json").read_text())
    retailer = k.Lg(shop, key=None)
    assert retailer.json("provenance", "verify", "ear.json", "--rpc-url", anvil.url, *trust, "--issuer", k.ADDR_A)["valid"]
    untrusted = retailer("provenance", "verify", "ear.json", "--rpc-url", anvil.url, *trust, "--issuer", k.ADDR_B,
                         check=1)
    assert "not by a --issuer given" in untrusted.stderr
    # no trust list at all: never VALID
    bare = retailer("provenance", "verify", "ear.json", "--rpc-url", anvil.url, check=1)
    assert "no trust list" in bare.stderr and "Hint: verify trusts only what a trust list names" in bare.stderr
    # the same bundle checked against another chain: wrong chain, named
    other = k.Anvil(chain_id=4242)
    try:
        wrong = retailer("provenance", "verify", "ear.json", "--rpc-url", other.url, *trust, check=3)
        assert "wrong chain" in wrong.stderr and "chain id 4242, expected 31337" in wrong.stderr
        # anchoring through a node of another chain is refused before anything is sent
        lg("provenance", "record", "--item", "X-1", "--step", "casting", "--actor", "Caster")
        refused = lg("provenance", "anchor", "--rpc-url", other.url, check=1)
        assert "wrong chain" in refused.stderr and "1 record(s) stay pending" in refused.stderr
    finally:
        other.stop()


def test_embedded_bundle_against_anvil_is_wrong_chain(anchored_store, anvil, k):
    proc = k.Lg(anchored_store, key=None)("provenance", "verify", "ring.json", "--rpc-url", anvil.url,
                                          "--trust", str(k.DEMO_TRUST), check=3)
    assert "wrong chain" in proc.stderr and "expected 131277322940537" in proc.stderr


def test_node_unreachable_records_stay_pending(tmp_path, k):
    node = k.Anvil()
    lg = k.Lg(tmp_path)
    try:
        lg("provenance", "init")
        lg("provenance", "deploy", "--rpc-url", node.url)
        lg("provenance", "record", "--from", str(k.RING))
    finally:
        node.stop()
    proc = lg("provenance", "anchor", check=1)
    assert "connection refused" in proc.stderr and "5 record(s) stay pending" in proc.stderr
    assert "Traceback" not in proc.stderr
    status = lg.json("provenance", "status")
    assert status["pending"] == 5 and status["batches_anchored"] == 0


def test_kill_during_anchor_on_anvil(tmp_path, anvil, k):
    from importlib import util

    spec = util.spec_from_file_location("crash", __file__.replace("test_anvil.py", "test_crash.py"))
    crash = util.module_from_spec(spec)
    spec.loader.exec_module(crash)
    crash.crash_and_resume(tmp_path, k, "broadcast", rpc=["--rpc-url", anvil.url], rpc_url=anvil.url)


def test_second_store_adopts_deployed_contract(tmp_path, anvil, k):
    first = k.Lg(tmp_path / "a")
    (tmp_path / "a").mkdir()
    first("provenance", "init")
    address = first.json("provenance", "deploy", "--rpc-url", anvil.url)["contract"]
    second_dir = tmp_path / "b"
    second_dir.mkdir()
    second = k.Lg(second_dir, key=k.KEY_B)
    second("provenance", "init")
    bad = second("provenance", "deploy", "--rpc-url", anvil.url, "--contract", k.ADDR_A, check=1)
    assert "is not the lgcraft anchor contract" in bad.stderr
    adopted = second.json("provenance", "deploy", "--rpc-url", anvil.url, "--contract", address)
    assert adopted["contract"] == address and adopted["reused"] is True
    second("provenance", "record", "--item", "B-1", "--step", "casting", "--actor", "Caster B")
    batch = second.json("provenance", "anchor")["batches"][0]
    assert batch["contract"] == address and batch["issuer"] == k.ADDR_B
    second("provenance", "export", "B-1", "-o", "b1.json")
    k.allow(second_dir, k.ADDR_B, ["maker"], ["Caster B"])
    report = second.json("provenance", "verify", "b1.json", "--rpc-url", anvil.url, "--issuer", k.ADDR_B)
    assert report["valid"] is True and report["anchors"][0]["organisation"]
