"""The Merkle construction of lgcraft provenance batches, version ``lgcraft-merkle/1``.

Format-critical: a change here breaks every proof already handed out. The normative
description with fixed test vectors is docs/provenance-merkle.md; tests pin the
vectors. In short (all hashes SHA-256, ``||`` is concatenation):

- leaf  = H(0x00 || salt[32] || record_hash[32] || signature[65])
- node  = H(0x01 || left[32] || right[32])
- levels are built left to right; an odd last node is promoted unchanged to the next
  level (never duplicated, so two different batches cannot share a root);
- a proof is the list of sibling hashes from the leaf up; which side each sibling
  sits on follows from (leaf_index, leaf_count), which the proof carries, so a proof
  moved to another position or batch size does not verify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

MERKLE_VERSION = "lgcraft-merkle/1"
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
SALT_BYTES = 32
SIGNATURE_BYTES = 65


class MerkleError(ValueError):
    """A malformed input to the Merkle functions (wrong lengths, index out of range)."""


def leaf_hash(salt: bytes, record_hash: bytes, signature: bytes) -> bytes:
    """The leaf of one record.

    >>> leaf_hash(bytes(32), bytes(32), bytes(65)).hex()[:16]
    'e55a5c27736a8761'
    """
    if len(salt) != SALT_BYTES:
        raise MerkleError(f"salt must be {SALT_BYTES} bytes, got {len(salt)}")
    if len(record_hash) != 32:
        raise MerkleError(f"record hash must be 32 bytes, got {len(record_hash)}")
    if len(signature) != SIGNATURE_BYTES:
        raise MerkleError(f"signature must be {SIGNATURE_BYTES} bytes, got {len(signature)}")
    return hashlib.sha256(LEAF_PREFIX + salt + record_hash + signature).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def build_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """All levels of the tree, leaves first, root last (a one-element level)."""
    if not leaves:
        raise MerkleError("a Merkle tree needs at least one leaf")
    for leaf in leaves:
        if len(leaf) != 32:
            raise MerkleError(f"leaf must be 32 bytes, got {len(leaf)}")
    levels = [list(leaves)]
    sha = hashlib.sha256
    while len(levels[-1]) > 1:
        level = levels[-1]
        parent = [sha(NODE_PREFIX + level[i] + level[i + 1]).digest()
                  for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            parent.append(level[-1])
        levels.append(parent)
    return levels


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    return build_levels(leaves)[-1][0]


def proof_for(levels: list[list[bytes]], index: int) -> list[bytes]:
    """Sibling hashes of leaf ``index`` from the bottom up (promoted levels add none)."""
    if not 0 <= index < len(levels[0]):
        raise MerkleError(f"leaf index {index} out of range for {len(levels[0])} leaves")
    siblings = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            siblings.append(level[sibling])
        index //= 2
    return siblings


def root_from_proof(leaf: bytes, index: int, count: int, siblings: Sequence[bytes]) -> bytes:
    """Walk a proof up to the root. Raises `MerkleError` if the proof has the wrong
    number of siblings for (index, count)."""
    if count < 1 or not 0 <= index < count:
        raise MerkleError(f"leaf index {index} out of range for {count} leaves")
    node, width, used = leaf, count, 0
    while width > 1:
        sibling = index ^ 1
        if sibling < width:
            if used >= len(siblings):
                raise MerkleError(f"proof too short: {len(siblings)} siblings for leaf {index} of {count}")
            other = siblings[used]
            if len(other) != 32:
                raise MerkleError(f"sibling {used} must be 32 bytes, got {len(other)}")
            used += 1
            node = node_hash(other, node) if index & 1 else node_hash(node, other)
        index //= 2
        width = (width + 1) // 2
    if used != len(siblings):
        raise MerkleError(f"proof too long: {len(siblings)} siblings, {used} expected for leaf of {count}")
    return node
