//! RFC 9162 Merkle tree hashes and proofs (being written).
