"""EIP-712 signatures, keys and keystores; the anchor contract artifact."""

from __future__ import annotations

import json

import pytest

from lgcraft.errors import InputError
from lgcraft.provenance import contract
from lgcraft.provenance.records import ZERO_HASH, validate_event
from lgcraft.provenance.signing import (
    new_keystore,
    recover_signer,
    signer_from_keystore,
    signer_from_private_key,
    signing_digest,
    typed_data,
)


def _body(k, address):
    body = validate_event(k.make_event())
    body["actor"]["address"] = address
    body["prev"] = ZERO_HASH
    return body


def test_digest_matches_eth_account_and_recovers(k):
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signer = signer_from_private_key(k.KEY_A)
    assert signer.address == k.ADDR_A
    body = _body(k, signer.address)
    rh = "0x" + "ab" * 32
    signature = signer.sign_record(body, rh)
    reference = Account.sign_typed_data(k.KEY_A, full_message=typed_data(body, rh))
    assert signature == "0x" + bytes(reference.signature).hex()
    message = encode_typed_data(full_message=typed_data(body, rh))
    assert Account.recover_message(message, signature=signature) == k.ADDR_A
    assert recover_signer(body, rh, signature) == k.ADDR_A
    assert signing_digest(body, rh) != signing_digest(body, "0x" + "ac" * 32)
    # another record hash recovers another address
    assert recover_signer(body, "0x" + "ac" * 32, signature) != k.ADDR_A


def test_key_never_in_repr_or_errors(k):
    signer = signer_from_private_key(k.KEY_A)
    assert k.KEY_A[2:] not in repr(signer)
    with pytest.raises(InputError) as err:
        signer_from_private_key("0x1234nothex")
    assert "1234nothex" not in str(err.value)
    with pytest.raises(InputError, match="32-byte"):
        signer_from_private_key("0x1234")


def test_keystore_round_trip(tmp_path):
    path = tmp_path / "key.json"
    address = new_keystore(path, "correct horse battery")
    assert (path.stat().st_mode & 0o777) == 0o600
    assert signer_from_keystore(path, "correct horse battery").address == address
    with pytest.raises(InputError, match="wrong password"):
        signer_from_keystore(path, "wrong password!")
    with pytest.raises(InputError, match="already exists"):
        new_keystore(path, "correct horse battery")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="not a JSON keystore"):
        signer_from_keystore(tmp_path / "bad.json", "x")


@pytest.mark.parametrize("version", [1, 2])
def test_committed_artifact_matches_a_fresh_compile(version):
    """Anchor.json / AnchorV2.json must be what vyper (from PyPI, in-process) makes of their sources."""
    fresh = contract.compile_anchor(version)
    committed = json.loads(contract.ARTIFACTS[version].read_text())
    assert committed["source_sha256"] == fresh["source_sha256"], "source changed: rerun python -m lgcraft.provenance.contract"
    assert committed["compiler"] == fresh["compiler"]
    assert committed["abi"] == fresh["abi"]
    assert committed["bytecode"] == fresh["bytecode"]
    assert committed["bytecode_runtime"] == fresh["bytecode_runtime"]


def test_contract_interface():
    v1 = {entry.get("name"): entry for entry in contract.load_artifact(1)["abi"]}
    assert [i["type"] for i in v1["anchor"]["inputs"]] == ["bytes32", "uint256"]
    assert [o["type"] for o in v1["anchorOf"]["outputs"]] == ["address", "uint256", "uint256"]
    v2 = {entry.get("name"): entry for entry in contract.load_artifact(2)["abi"]}
    assert [i["type"] for i in v2["anchor"]["inputs"]] == ["bytes32", "uint256"]
    assert [i["type"] for i in v2["anchored"]["inputs"]] == ["address", "bytes32"]
    assert [i["name"] for i in v2["Anchored"]["inputs"]] == ["issuer", "root", "leaf_count", "block_time"]
    from eth_hash.auto import keccak

    assert "0x" + keccak(b"Anchored(address,bytes32,uint256,uint256)").hex() == contract.ANCHORED_V2_TOPIC
    assert contract.runtime_code_hash(1) != contract.runtime_code_hash(2)
