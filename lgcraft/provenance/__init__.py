"""Provenance: signed jewelry records, Merkle batches anchored on an EVM chain."""
