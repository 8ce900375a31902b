"""The Merkle construction against the fixed vectors of docs/provenance-merkle.md,
and proofs for every batch size 1..1000."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgcraft.provenance import merkle

DOC = Path(__file__).resolve().parents[2] / "docs" / "provenance-merkle.md"


def h(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def vector_leaf(i: int) -> bytes:
    return merkle.leaf_hash(h(f"salt-{i}"), h(f"record-{i}"), h(f"sig-r-{i}") + h(f"sig-s-{i}") + bytes([27]))


LEAVES = [
    "af005ca413adef0bd7c35fa7159952e450de1f4c162217953891b4ee006f91cb",
    "97ddaa02d5faed2409571a442ccd1eeb93b152d8d39189463e3b702ac4246069",
    "e055d1fd252c0cb03db76ea5d5a40d035d9368ddd4297372f75395b07d5bda79",
    "a8f92e620712abe78678ec9031e26a108cd7df1714cf5b61d940691423a7ea5c",
    "e35abfe18deca89d2580211a255b58bafc3ff19ea6a3314d800c1dbfe551f217",
    "65c1b480f7bcef675fc91d81a039c41c759ec07103fb6c261addc1a274955b6d",
    "c8f3901bb9c679f69e26e4be8ce9869741d143ca5d976e0b2fa91347d267d73e",
]
ROOTS = {
    1: "af005ca413adef0bd7c35fa7159952e450de1f4c162217953891b4ee006f91cb",
    2: "3ee1559477c1645ccf044b4768cf79d80a7adf85bd64faa4960841694d9f4709",
    3: "6e8d3bd52b5c065977a05018b3fa5632b8bac6a3ecae106c81d79df325b42b4f",
    4: "aa8cfedc6cebc73abaccfc7b712fb0e61b644aebe89c6384852e7b00c2f965cc",
    5: "8804347b6b600cef0eb195b39604f522ef17d885eb4653d4d1630113fc67ec5f",
    6: "6a52d91f6bd17bb3d85781c1601c50ec62c51a45310c9e8e33bdf01164a0bdfa",
    7: "3189b293f5305af0b4e2f2d5a841111b028bf8968ac9304db03a057d160ce9d8",
}


def test_leaf_vectors():
    assert [vector_leaf(i).hex() for i in range(7)] == LEAVES


@pytest.mark.parametrize("n", sorted(ROOTS))
def test_root_vectors(n):
    assert merkle.merkle_root([bytes.fromhex(x) for x in LEAVES[:n]]).hex() == ROOTS[n]


def test_proof_vectors():
    leaves = [bytes.fromhex(x) for x in LEAVES]
    assert [s.hex() for s in merkle.proof_for(merkle.build_levels(leaves[:5]), 4)] == [ROOTS[4]]
    proof = merkle.proof_for(merkle.build_levels(leaves), 2)
    assert [s.hex() for s in proof] == [
        LEAVES[3], ROOTS[2], "d97675fbe2059244346500d2001b7345da310d20708003d4df90084dd1663290"]
    assert merkle.root_from_proof(leaves[2], 2, 7, proof).hex() == ROOTS[7]


def test_doc_holds_the_same_vectors():
    text = DOC.read_text(encoding="utf-8")
    assert "lgcraft-merkle/1" in text
    for value in LEAVES + list(ROOTS.values()):
        assert value in text
    roots_section = text.split("Roots of the first")[1].split("Proofs:")[0]
    documented = re.findall(r"^\| (\d) \| ([0-9a-f]{64}) \|$", roots_section, flags=re.M)
    assert {int(n): r for n, r in documented} == ROOTS


def test_record_hash_and_digest_vector():
    from lgcraft.provenance.canonical import canonical_bytes, sha256_hex
    from lgcraft.provenance.signing import signing_digest

    text = DOC.read_text(encoding="utf-8")
    body_line = next(line.strip() for line in text.splitlines() if line.strip().startswith('{"actor"'))
    import json

    body = json.loads(body_line)
    assert canonical_bytes(body).decode() == body_line
    record_hash = sha256_hex(canonical_bytes(body))
    assert record_hash == "0x0e8bf92608b311c9524b4541836500df698f7ea2b29b7417e54efdd883a52ff2"
    assert signing_digest(body, record_hash).hex() == "3137b134acaacec16ff133b6881e4b62a67b3da8fce29238179799b2a03c4a8c"


def test_odd_node_is_promoted_not_duplicated():
    a, b, c = (h(x) for x in "abc")
    assert merkle.merkle_root([a, b, c]) != merkle.merkle_root([a, b, c, c])
    assert merkle.merkle_root([a, b, c]) == merkle.node_hash(merkle.node_hash(a, b), c)


def test_domain_separation():
    a, b = h("a"), h("b")
    node = merkle.node_hash(a, b)
    assert node == hashlib.sha256(b"\x01" + a + b).digest()
    assert merkle.leaf_hash(bytes(32), bytes(32), bytes(65)) == hashlib.sha256(b"\x00" + bytes(129)).digest()


# every batch size 1..1000: all leaves for small trees, first/last/middle for the rest,
# plus hypothesis-chosen indices; tampering a sibling or moving the index must fail
LEAF_POOL = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(1000)]


def _check(levels, n, i):
    proof = merkle.proof_for(levels, i)
    assert merkle.root_from_proof(LEAF_POOL[i], i, n, proof) == levels[-1][0]
    if proof:
        bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:]] + proof[1:]
        assert merkle.root_from_proof(LEAF_POOL[i], i, n, bad) != levels[-1][0]
    if n > 1:
        other = (i + 1) % n
        try:
            moved = merkle.root_from_proof(LEAF_POOL[i], other, n, proof)
        except merkle.MerkleError:
            moved = None
        assert moved != levels[-1][0]


def test_every_batch_size_1_to_1000():
    for n in range(1, 1001):
        levels = merkle.build_levels(LEAF_POOL[:n])
        indices = range(n) if n <= 64 else {0, 1, n // 2, n - 2, n - 1, (n * 7) // 11}
        for i in indices:
            _check(levels, n, i)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 1000), data=st.data())
def test_proofs_property(n, data):
    levels = merkle.build_levels(LEAF_POOL[:n])
    i = data.draw(st.integers(0, n - 1))
    _check(levels, n, i)
    # a proof with an extra or missing sibling is refused outright
    proof = merkle.proof_for(levels, i)
    with pytest.raises(merkle.MerkleError):
        merkle.root_from_proof(LEAF_POOL[i], i, n, proof + [LEAF_POOL[0]])
    if proof:
        with pytest.raises(merkle.MerkleError):
            merkle.root_from_proof(LEAF_POOL[i], i, n, proof[:-1])


def test_bad_inputs():
    with pytest.raises(merkle.MerkleError):
        merkle.build_levels([])
    with pytest.raises(merkle.MerkleError):
        merkle.leaf_hash(bytes(31), bytes(32), bytes(65))
    with pytest.raises(merkle.MerkleError):
        merkle.root_from_proof(bytes(32), 5, 5, [])
