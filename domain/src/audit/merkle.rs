//! The Merkle tree over the audit log, exactly as RFC 9162 (Certificate Transparency v2)
//! §2.1 defines it: SHA-256, leaf and interior hashes domain-separated by a 0x00 / 0x01
//! prefix, and trees of any size split at the largest power of two below it.
//!
//! Only the hash functions and the proofs a log serves live here; verifying proofs is a
//! client's job (and the tests check these proofs with an independent verifier written from
//! §2.1.3.2 and §2.1.4.2, in `domain/tests/rfc9162.rs`).
//!
//! `root` and the proofs take the leaf hashes of the whole tree and recompute the subtree
//! roots they need: O(n) hashing, a recursion as deep as the tree (at most 64) and no
//! allocation beyond the proof itself.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree head's root hash.
pub type Hash = [u8; 32];

/// Why a proof cannot be produced for the tree it was asked of.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// An inclusion proof was asked for a leaf the tree does not have.
    #[error("leaf index {index} is outside a tree of {tree_size} leaves")]
    IndexOutOfRange { index: u64, tree_size: u64 },
    /// A consistency proof was asked from the empty tree. RFC 9162 §2.1.4.1 defines
    /// `PROOF(m, D[n])` only for `0 < m`: every tree extends the empty one, so there is
    /// nothing to prove.
    #[error("a consistency proof needs a first tree of at least one leaf, not 0")]
    EmptyFirstTree,
    /// A consistency proof was asked from a tree larger than the current one.
    #[error("the first tree of {first} leaves is larger than the tree of {tree_size} leaves")]
    FirstTreeTooLarge { first: u64, tree_size: u64 },
}

/// The hash of a leaf, `SHA-256(0x00 || entry)` (RFC 9162 §2.1.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    Sha256::new().chain_update([0x00]).chain_update(entry).finalize().into()
}

/// The hash of an interior node, `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new().chain_update([0x01]).chain_update(left).chain_update(right).finalize().into()
}

/// The Merkle Tree Hash `MTH(D[n])` of the tree whose leaf hashes are `leaves`
/// (RFC 9162 §2.1.1); the empty tree's is the SHA-256 of the empty string.
pub fn root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Sha256::digest([]).into();
    }
    subtree_root(leaves)
}

/// The audit path `PATH(m, D[n])` of leaf `index` in the tree of all `leaves`
/// (RFC 9162 §2.1.3.1): the sibling subtree roots from the leaf up to the root, in the
/// order a verifier consumes them (§2.1.3.2).
pub fn inclusion_path(index: u64, leaves: &[Hash]) -> Result<Vec<Hash>, ProofError> {
    let tree_size = leaves.len() as u64;
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    // The RFC's recursion, walked from the root down; the siblings met on the way are the
    // path from the top, so the path is their reverse. (`index` is below `leaves.len()`, so
    // it fits in a usize.)
    let mut m = index as usize;
    let mut subtree = leaves;
    let mut path = Vec::with_capacity(depth(leaves.len()));
    while subtree.len() > 1 {
        let k = split(subtree.len());
        let (left, right) = subtree.split_at(k);
        if m < k {
            path.push(subtree_root(right));
            subtree = left;
        } else {
            path.push(subtree_root(left));
            m -= k;
            subtree = right;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof `PROOF(m, D[n])` between the tree of the first `first` leaves
/// and the tree of all `leaves` (RFC 9162 §2.1.4.1, `SUBPROOF(m, D[n], true)`), in the
/// order a verifier consumes it (§2.1.4.2). The RFC defines it for `0 < first < n`; for
/// `first == n` this returns `SUBPROOF(n, D[n], true)`, the empty proof, since the two tree
/// heads must then simply be equal.
pub fn consistency_path(first: u64, leaves: &[Hash]) -> Result<Vec<Hash>, ProofError> {
    let tree_size = leaves.len() as u64;
    if first == 0 {
        return Err(ProofError::EmptyFirstTree);
    }
    if first > tree_size {
        return Err(ProofError::FirstTreeTooLarge { first, tree_size });
    }
    // SUBPROOF walked from the root down, as in `inclusion_path`. `whole_first_tree` is the
    // RFC's `b`: it stays true while every step went left, so that the subtree the walk
    // ends in is the first tree itself, whose root the verifier already has and the proof
    // leaves out. (`first` is at most `leaves.len()`, so it fits in a usize.)
    let mut m = first as usize;
    let mut subtree = leaves;
    let mut whole_first_tree = true;
    let mut path = Vec::with_capacity(depth(leaves.len()) + 1);
    while m < subtree.len() {
        let k = split(subtree.len());
        let (left, right) = subtree.split_at(k);
        if m <= k {
            path.push(subtree_root(right));
            subtree = left;
        } else {
            path.push(subtree_root(left));
            m -= k;
            subtree = right;
            whole_first_tree = false;
        }
    }
    if !whole_first_tree {
        path.push(subtree_root(subtree));
    }
    path.reverse();
    Ok(path)
}

/// `MTH` of a non-empty run of leaves. The recursion is the RFC's own split, so its depth is
/// the tree's height (at most 64) and it hashes each interior node exactly once.
fn subtree_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => unreachable!("subtree_root is only called on non-empty subtrees"),
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split(leaves.len()));
            node_hash(&subtree_root(left), &subtree_root(right))
        }
    }
}

/// The RFC's `k`: the largest power of two smaller than `n`, for `n > 1`.
fn split(n: usize) -> usize {
    debug_assert!(n > 1);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The height of a tree of `n` leaves, which bounds the length of its proofs.
fn depth(n: usize) -> usize {
    (usize::BITS - n.saturating_sub(1).leading_zeros()) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leaf inputs of the RFC 6962 test tree, as published with Certificate
    /// Transparency's reference implementations (transparency-dev/merkle
    /// `testonly/constants.go`, and google/certificate-transparency before it).
    const LEAF_INPUTS: [&str; 8] =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

    /// The published roots of the trees over the first 0..=8 of `LEAF_INPUTS`.
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// Published inclusion proofs: (leaf index, tree size, path). Note that the source
    /// (transparency-dev/merkle `proof/verify_test.go`) numbers leaves from 1; these are
    /// 0-based.
    const INCLUSION_PROOFS: [(u64, usize, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    /// Published consistency proofs: (first size, second size, proof), from the same file.
    const CONSISTENCY_PROOFS: [(u64, usize, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    fn bytes(hex: &str) -> Vec<u8> {
        assert!(hex.len().is_multiple_of(2), "odd-length hex {hex:?}");
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
    }

    fn hash(hex: &str) -> Hash {
        bytes(hex).try_into().unwrap_or_else(|_| panic!("{hex:?} is not 32 bytes"))
    }

    fn hashes(hexes: &[&str]) -> Vec<Hash> {
        hexes.iter().map(|h| hash(h)).collect()
    }

    fn reference_leaves() -> Vec<Hash> {
        LEAF_INPUTS.iter().map(|input| leaf_hash(&bytes(input))).collect()
    }

    #[test]
    fn roots_match_the_published_tree_heads() {
        let leaves = reference_leaves();
        for (size, expected) in ROOTS.iter().enumerate() {
            assert_eq!(root(&leaves[..size]), hash(expected), "tree of {size} leaves");
        }
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        // Level 0 and level 1 of the published node hashes of the reference tree.
        let leaves = reference_leaves();
        assert_eq!(leaves[1], hash("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"));
        assert_eq!(
            node_hash(&leaves[2], &leaves[3]),
            hash("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e")
        );
        // Without the prefixes a leaf could pass for an interior node.
        let plain: Hash = Sha256::digest([leaves[0], leaves[1]].concat()).into();
        assert_ne!(node_hash(&leaves[0], &leaves[1]), plain);
    }

    #[test]
    fn inclusion_paths_match_the_published_proofs() {
        let leaves = reference_leaves();
        for (index, size, expected) in INCLUSION_PROOFS {
            assert_eq!(
                inclusion_path(index, &leaves[..size]),
                Ok(hashes(expected)),
                "leaf {index} in the tree of {size} leaves"
            );
        }
    }

    #[test]
    fn consistency_paths_match_the_published_proofs() {
        let leaves = reference_leaves();
        for (first, size, expected) in CONSISTENCY_PROOFS {
            assert_eq!(consistency_path(first, &leaves[..size]), Ok(hashes(expected)), "from {first} to {size} leaves");
        }
    }

    #[test]
    fn proofs_outside_the_tree_are_refused() {
        let leaves = reference_leaves();
        assert_eq!(inclusion_path(5, &leaves[..5]), Err(ProofError::IndexOutOfRange { index: 5, tree_size: 5 }));
        assert_eq!(inclusion_path(0, &[]), Err(ProofError::IndexOutOfRange { index: 0, tree_size: 0 }));
        assert_eq!(consistency_path(0, &leaves), Err(ProofError::EmptyFirstTree));
        assert_eq!(consistency_path(0, &[]), Err(ProofError::EmptyFirstTree));
        assert_eq!(consistency_path(9, &leaves), Err(ProofError::FirstTreeTooLarge { first: 9, tree_size: 8 }));
        assert_eq!(
            ProofError::IndexOutOfRange { index: 7, tree_size: 5 }.to_string(),
            "leaf index 7 is outside a tree of 5 leaves"
        );
    }

    #[test]
    fn a_whole_tree_is_consistent_with_itself_by_an_empty_proof() {
        let leaves = reference_leaves();
        for size in 1..=leaves.len() {
            assert_eq!(consistency_path(size as u64, &leaves[..size]), Ok(vec![]), "tree of {size}");
        }
    }

    #[test]
    fn proofs_are_as_long_as_the_tree_is_deep() {
        // Every path element is a distinct level, so the length is bounded by the height;
        // a quick guard that the walk never revisits a level.
        let leaves: Vec<Hash> = (0u32..130).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for size in 1..=leaves.len() {
            let height = depth(size);
            for index in [0, size / 2, size - 1] {
                let path = inclusion_path(index as u64, &leaves[..size]).unwrap();
                assert!(path.len() <= height, "leaf {index} of {size}: {} > {height}", path.len());
            }
            for first in [1, size / 2 + 1, size] {
                let proof = consistency_path(first as u64, &leaves[..size]).unwrap();
                assert!(proof.len() <= height + 1, "from {first} to {size}: {}", proof.len());
            }
        }
    }

    #[test]
    fn split_is_the_largest_power_of_two_below_n() {
        for (n, k) in [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1 << 20, 1 << 19), ((1 << 20) + 1, 1 << 20)] {
            assert_eq!(split(n), k, "n = {n}");
        }
        for (n, d) in [(0, 0), (1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (9, 4)] {
            assert_eq!(depth(n), d, "n = {n}");
        }
    }
}
