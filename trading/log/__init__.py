"""The transparency log: an RFC 9162 Merkle tree with C2SP checkpoints."""
