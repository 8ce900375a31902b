# pragma version 0.4.3
# pragma evm-version cancun
"""
@title lgcraft provenance anchor
@notice Records a Merkle root of provenance records once: root -> (anchoring account,
        block time, leaf count), and emits `Anchored`. A root can never be anchored
        twice, so a retried or replayed transaction cannot rewrite history.
@dev The three values are packed into one storage word (one SSTORE per batch):
     bits 96..255 issuer address, bits 32..95 block time, bits 0..31 leaf count.
"""

event Anchored:
    root: indexed(bytes32)
    issuer: indexed(address)
    leaf_count: uint256
    block_time: uint256

packed: HashMap[bytes32, uint256]


@external
def anchor(root: bytes32, leaf_count: uint256):
    """
    @notice Anchor `root`, the Merkle root of `leaf_count` records.
    """
    assert root != empty(bytes32), "empty root"
    assert leaf_count > 0 and leaf_count < 2**32, "bad leaf count"
    assert self.packed[root] == 0, "root already anchored"
    word: uint256 = (convert(msg.sender, uint256) << 96) | (block.timestamp << 32) | leaf_count
    self.packed[root] = word
    log Anchored(root=root, issuer=msg.sender, leaf_count=leaf_count, block_time=block.timestamp)


@view
@external
def anchorOf(root: bytes32) -> (address, uint256, uint256):
    """
    @notice (issuer, block time, leaf count) of `root`; all zero if never anchored.
    """
    word: uint256 = self.packed[root]
    return (convert(word >> 96, address), (word >> 32) & (2**64 - 1), word & (2**32 - 1))
