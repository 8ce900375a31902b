# pragma version 0.4.3
# pragma evm-version cancun
"""
@title lgcraft provenance anchor, version 2
@notice Records Merkle roots of provenance records per issuer: (issuer, root) ->
        (block time, leaf count), and emits `Anchored`. Each account writes only its
        own slots, so a root copied from the mempool by someone else is stored under
        their address and blocks no one; an issuer can never anchor the same root twice.
@dev The two values are packed into one storage word (one SSTORE per batch):
     bits 32..95 block time, bits 0..31 leaf count.
"""

event Anchored:
    issuer: indexed(address)
    root: indexed(bytes32)
    leaf_count: uint256
    block_time: uint256

VERSION: public(constant(uint256)) = 2

packed: HashMap[address, HashMap[bytes32, uint256]]


@external
def anchor(root: bytes32, leaf_count: uint256):
    """
    @notice Anchor `root`, the Merkle root of `leaf_count` records, as msg.sender.
    """
    assert root != empty(bytes32), "empty root"
    assert leaf_count > 0 and leaf_count < 2**32, "bad leaf count"
    assert self.packed[msg.sender][root] == 0, "root already anchored"
    self.packed[msg.sender][root] = (block.timestamp << 32) | leaf_count
    log Anchored(issuer=msg.sender, root=root, leaf_count=leaf_count, block_time=block.timestamp)


@view
@external
def anchored(issuer: address, root: bytes32) -> (uint256, uint256):
    """
    @notice (block time, leaf count) of `root` anchored by `issuer`; zeros if never.
    """
    word: uint256 = self.packed[issuer][root]
    return ((word >> 32) & (2**64 - 1), word & (2**32 - 1))
