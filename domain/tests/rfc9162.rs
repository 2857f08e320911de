//! An independent verifier of RFC 9162 (Certificate Transparency v2) Merkle proofs, written
//! from the RFC's own verification algorithms (§2.1.3.2 and §2.1.4.2: the `fn`/`sn`/`fr`/`sr`
//! bit walks), not by recomputing trees, and sharing no code with `domain::audit::merkle`.
//! Tests of the audit log check the portal's proofs with it so that they do not have to trust
//! the code that made them.
//!
//! It is an integration test of `domain` and is also meant to be included by other crates'
//! tests:
//!
//! ```ignore
//! #[path = "../../../domain/tests/rfc9162.rs"]
//! mod rfc9162;
//! ```
//!
//! Only the `tests` module below refers to `domain::audit::merkle`, to cross-check the two.

use sha2::{Digest, Sha256};

/// `HASH(0x01 || left || right)`, an interior node (RFC 9162 §2.1.1). The verifier never
/// hashes leaves: it is given the leaf hash.
fn hash_children(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Whether `inclusion_path` proves that the leaf whose hash is `leaf_hash` is leaf number
/// `index` (from 0) of the tree of `tree_size` leaves whose root is `root_hash`: RFC 9162
/// §2.1.3.2, step by step.
///
/// The proof binds the index and the root; the tree size is trusted to come with the root
/// (from the same signed tree head), as the RFC assumes.
// A crate including this file may use only one of the verifiers.
#[allow(dead_code)]
pub fn verify_inclusion(
    leaf_hash: &[u8; 32],
    index: u64,
    tree_size: u64,
    inclusion_path: &[[u8; 32]],
    root_hash: &[u8; 32],
) -> bool {
    // 1. A leaf outside the tree is never included.
    if index >= tree_size {
        return false;
    }
    // 2. `fn_` is the RFC's `fn` (a keyword here): the node's index within its level, while
    //    `sn` is the index of the last node of that level.
    let mut fn_ = index;
    let mut sn = tree_size - 1;
    // 3.
    let mut r = *leaf_hash;
    // 4.
    for p in inclusion_path {
        // a. The path is longer than the tree is deep.
        if sn == 0 {
            return false;
        }
        // b. A right child, or the last node of its level, takes its sibling from the left.
        if fn_ & 1 == 1 || fn_ == sn {
            r = hash_children(p, &r);
            // The last node of a level that is a left child has no sibling on the levels
            // above until it becomes a right child: those levels are skipped.
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = hash_children(&r, p);
        }
        // c.
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. `sn == 0` means the path reached the root: not one element short.
    sn == 0 && r == *root_hash
}

/// Whether `consistency_path` proves that the tree of `first` leaves whose root is
/// `first_root` is a prefix of the tree of `second` leaves whose root is `second_root`:
/// RFC 9162 §2.1.4.2, step by step.
///
/// The RFC's algorithm is for `0 < first < second`. Outside it: `first == 0` fails (a log
/// never proves anything about the empty tree), `first > second` fails, and `first == second`
/// holds exactly when the proof is empty and the two roots are equal, which is what
/// `SUBPROOF(m, D[m], true) = {}` (§2.1.4.1) gives.
// A crate including this file may use only one of the verifiers.
#[allow(dead_code)]
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &[u8; 32],
    second_root: &[u8; 32],
    consistency_path: &[[u8; 32]],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return consistency_path.is_empty() && first_root == second_root;
    }
    // 1.
    if consistency_path.is_empty() {
        return false;
    }
    // 2. and 5. A first tree of 2^k leaves is a whole subtree of the second, so the proof
    //    leaves out its root, which the verifier already has; prepending it is the same as
    //    starting `fr` and `sr` from it and walking the whole path.
    let (mut fr, mut sr, rest) = if first.is_power_of_two() {
        (*first_root, *first_root, consistency_path)
    } else {
        (consistency_path[0], consistency_path[0], &consistency_path[1..])
    };
    // 3. `fn_` is the RFC's `fn`, as in `verify_inclusion`.
    let mut fn_ = first - 1;
    let mut sn = second - 1;
    // 4. Climb to the level where the first path element sits: the largest complete subtree
    //    the two trees share at the first tree's right edge.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 6.
    for c in rest {
        // a.
        if sn == 0 {
            return false;
        }
        // b. A left sibling is in both trees, so it goes into both roots; a right sibling is
        //    only in the second tree.
        if fn_ & 1 == 1 || fn_ == sn {
            fr = hash_children(c, &fr);
            sr = hash_children(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = hash_children(&sr, c);
        }
        // c.
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    fr == *first_root && sr == *second_root && sn == 0
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use domain::audit::merkle;

    use super::*;

    /// The largest tree the exhaustive tests build: several levels of ragged right edges.
    const MAX_SIZE: usize = 70;

    /// The RFC 6962 test tree's leaf inputs and the published roots over its first 1..=8
    /// leaves (transparency-dev/merkle `testonly/constants.go`), with the verifier's own
    /// leaf hashing so that these vectors check it without `merkle`.
    const LEAF_INPUTS: [&str; 8] =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn bytes(hex: &str) -> Vec<u8> {
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
    }

    fn hash(hex: &str) -> [u8; 32] {
        bytes(hex).try_into().unwrap()
    }

    fn published_leaf(index: usize) -> [u8; 32] {
        Sha256::new().chain_update([0x00]).chain_update(bytes(LEAF_INPUTS[index])).finalize().into()
    }

    fn published_root(size: u64) -> [u8; 32] {
        hash(ROOTS[size as usize - 1])
    }

    fn flip_bit(hash: &[u8; 32], bit: usize) -> [u8; 32] {
        let mut flipped = *hash;
        flipped[bit / 8 % 32] ^= 1 << (bit % 8);
        flipped
    }

    /// The trees the exhaustive tests check: leaves, roots of every prefix, and every
    /// proof, all made by `merkle`.
    struct Trees {
        leaves: Vec<merkle::Hash>,
        /// `roots[n]` is the root of the first `n` leaves.
        roots: Vec<merkle::Hash>,
        /// `inclusion[n][i]` is leaf `i`'s path in the tree of `n` leaves.
        inclusion: Vec<Vec<Vec<merkle::Hash>>>,
        /// `consistency[m][n]` is the proof from `m` leaves to `n` leaves, for `m <= n`.
        consistency: Vec<Vec<Vec<merkle::Hash>>>,
    }

    /// Built once: every test reads the same trees.
    fn trees() -> &'static Trees {
        static TREES: OnceLock<Trees> = OnceLock::new();
        TREES.get_or_init(build_trees)
    }

    fn build_trees() -> Trees {
        let leaves: Vec<merkle::Hash> =
            (0..MAX_SIZE).map(|i| merkle::leaf_hash(format!("audit event {i}").as_bytes())).collect();
        let roots = (0..=MAX_SIZE).map(|n| merkle::root(&leaves[..n])).collect();
        let inclusion = (0..=MAX_SIZE)
            .map(|n| (0..n).map(|i| merkle::inclusion_path(i as u64, &leaves[..n]).unwrap()).collect())
            .collect();
        let consistency = (0..=MAX_SIZE)
            .map(|m| {
                (0..=MAX_SIZE)
                    .map(|n| {
                        if m == 0 || m > n {
                            Vec::new()
                        } else {
                            merkle::consistency_path(m as u64, &leaves[..n]).unwrap()
                        }
                    })
                    .collect()
            })
            .collect();
        Trees { leaves, roots, inclusion, consistency }
    }

    /// Numbers a wrong index or size is likely to be confused with: its neighbours, its
    /// double and half, and every number one bit away (for an index, the leaf reached by
    /// turning the other way at exactly one level).
    fn near(x: usize) -> impl Iterator<Item = usize> {
        let bits = (0..usize::BITS - MAX_SIZE.leading_zeros()).map(move |b| x ^ (1 << b));
        [x.wrapping_sub(1), x + 1, 2 * x, x / 2].into_iter().chain(bits).filter(|&y| y != usize::MAX)
    }

    fn assert_none_accepted(accepted: Vec<String>) {
        assert!(
            accepted.is_empty(),
            "{} bad proofs verified, e.g.:\n{}",
            accepted.len(),
            accepted[..accepted.len().min(20)].join("\n")
        );
    }

    #[test]
    fn published_proofs_verify_against_published_roots() {
        // transparency-dev/merkle `proof/verify_test.go`, with its 1-based leaf numbers
        // made 0-based.
        let inclusion: [(u64, u64, &[&str]); 5] = [
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
        for (index, size, path) in inclusion {
            let path: Vec<[u8; 32]> = path.iter().map(|h| hash(h)).collect();
            let leaf = published_leaf(index as usize);
            assert!(verify_inclusion(&leaf, index, size, &path, &published_root(size)), "leaf {index} of {size}");
        }

        let consistency: [(u64, u64, &[&str]); 5] = [
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
        for (first, second, path) in consistency {
            let path: Vec<[u8; 32]> = path.iter().map(|h| hash(h)).collect();
            assert!(
                verify_consistency(first, second, &published_root(first), &published_root(second), &path),
                "from {first} to {second}"
            );
        }
    }

    #[test]
    fn every_inclusion_proof_verifies() {
        let t = trees();
        for n in 1..=MAX_SIZE {
            for i in 0..n {
                assert!(
                    verify_inclusion(&t.leaves[i], i as u64, n as u64, &t.inclusion[n][i], &t.roots[n]),
                    "leaf {i} of {n}: {:02x?}",
                    t.inclusion[n][i]
                );
            }
        }
    }

    #[test]
    fn tampered_inclusion_proofs_fail() {
        let t = trees();
        let mut accepted = Vec::new();
        // A macro rather than a closure so that messages are only formatted for failures.
        macro_rules! check {
            ($verified:expr, $($what:tt)+) => {
                if $verified {
                    accepted.push(format!($($what)+));
                }
            };
        }
        for n in 1..=MAX_SIZE {
            let size = n as u64;
            let root = &t.roots[n];
            for i in 0..n {
                let index = i as u64;
                let leaf = &t.leaves[i];
                let path = &t.inclusion[n][i];
                // One bit per element, at a position that moves across the run so that every
                // byte of a hash gets flipped somewhere.
                for (e, element) in path.iter().enumerate() {
                    let bit = (37 * (i + e) + n) % 256;
                    let mut bad = path.clone();
                    bad[e] = flip_bit(element, bit);
                    check!(
                        verify_inclusion(leaf, index, size, &bad, root),
                        "leaf {i} of {n}: bit {bit} of element {e}"
                    );
                }
                for wrong in near(i).map(|w| w as u64).chain([size, u64::MAX]).filter(|&w| w != index) {
                    check!(verify_inclusion(leaf, wrong, size, path, root), "leaf {i} of {n}: claimed as leaf {wrong}");
                }
                // A tree size comes with its root; a proof for one tree may verify for
                // another size only if it is that tree's proof too. With this tree's root
                // it may verify for a size whose walk takes the same turns (see
                // `an_inclusion_proof_relies_on_the_tree_head_for_its_size`), but never for
                // a size whose paths have another length.
                for other in near(n).filter(|&m| m > i && m <= MAX_SIZE && m != n) {
                    let claimed = other as u64;
                    let ok = verify_inclusion(leaf, index, claimed, path, &t.roots[other]);
                    check!(ok != (*path == t.inclusion[other][i]), "leaf {i} of {n}: checked as of {other} gave {ok}");
                    if t.inclusion[other][i].len() != path.len() {
                        check!(
                            verify_inclusion(leaf, index, claimed, path, root),
                            "leaf {i} of {n}: claimed of {other}"
                        );
                    }
                }
                check!(verify_inclusion(leaf, index, 0, path, root), "leaf {i} of {n}: tree size 0");
                if let Some((_, shorter)) = path.split_last() {
                    check!(verify_inclusion(leaf, index, size, shorter, root), "leaf {i} of {n}: last element dropped");
                    check!(
                        verify_inclusion(leaf, index, size, &path[1..], root),
                        "leaf {i} of {n}: first element dropped"
                    );
                }
                for extra in [*root, *leaf, path.last().copied().unwrap_or(*root)] {
                    let longer = [path.as_slice(), &[extra]].concat();
                    check!(verify_inclusion(leaf, index, size, &longer, root), "leaf {i} of {n}: element appended");
                    let longer = [&[extra], path.as_slice()].concat();
                    check!(verify_inclusion(leaf, index, size, &longer, root), "leaf {i} of {n}: element prepended");
                }
                for bad_root in [flip_bit(root, 0), flip_bit(root, 200), t.roots[n - 1], *leaf] {
                    if bad_root != *root {
                        check!(verify_inclusion(leaf, index, size, path, &bad_root), "leaf {i} of {n}: wrong root");
                    }
                }
                for bad_leaf in [flip_bit(leaf, 1), t.leaves[(i + 1) % MAX_SIZE], *root] {
                    if bad_leaf != *leaf {
                        check!(verify_inclusion(&bad_leaf, index, size, path, root), "leaf {i} of {n}: wrong leaf");
                    }
                }
            }
        }
        assert_none_accepted(accepted);
    }

    #[test]
    fn an_inclusion_proof_relies_on_the_tree_head_for_its_size() {
        // Leaf 0's path in the tree of 5 is (leaf 1, node 2..4, leaf 4); in a tree of 6 the
        // same walk would take (leaf 1, node 2..4, node 4..6), so the bits of 6 lead the
        // verifier through the same hashes and it accepts. This is why a client takes the
        // tree size from the signed tree head together with the root, never from the proof.
        let t = trees();
        assert!(verify_inclusion(&t.leaves[0], 0, 6, &t.inclusion[5][0], &t.roots[5]));
        assert!(!verify_inclusion(&t.leaves[0], 0, 6, &t.inclusion[5][0], &t.roots[6]));
    }

    #[test]
    fn every_consistency_proof_verifies() {
        let t = trees();
        for second in 1..=MAX_SIZE {
            for first in 1..=second {
                let proof = &t.consistency[first][second];
                assert!(
                    verify_consistency(first as u64, second as u64, &t.roots[first], &t.roots[second], proof),
                    "from {first} to {second}: {proof:02x?}"
                );
            }
        }
    }

    #[test]
    fn tampered_consistency_proofs_fail() {
        let t = trees();
        let mut accepted = Vec::new();
        // A macro rather than a closure so that messages are only formatted for failures.
        macro_rules! check {
            ($verified:expr, $($what:tt)+) => {
                if $verified {
                    accepted.push(format!($($what)+));
                }
            };
        }
        for second in 1..=MAX_SIZE {
            for first in 1..=second {
                let (m, n) = (first as u64, second as u64);
                let (first_root, second_root) = (&t.roots[first], &t.roots[second]);
                let proof = &t.consistency[first][second];
                let pair = format!("from {first} to {second}");

                for (e, element) in proof.iter().enumerate() {
                    let bit = (37 * (first + e) + second) % 256;
                    let mut bad = proof.clone();
                    bad[e] = flip_bit(element, bit);
                    check!(verify_consistency(m, n, first_root, second_root, &bad), "{pair}: bit {bit} of element {e}");
                }
                check!(verify_consistency(0, n, first_root, second_root, proof), "{pair}: first = 0");
                check!(verify_consistency(0, n, &t.roots[0], second_root, proof), "{pair}: first = 0, empty root");
                check!(verify_consistency(0, n, &t.roots[0], second_root, &[]), "{pair}: first = 0, empty proof");
                for any in [&[][..], &[*first_root], proof] {
                    check!(verify_consistency(m, 0, first_root, &t.roots[0], any), "{pair}: to the empty tree");
                    check!(verify_consistency(n + 1, n, second_root, second_root, any), "{pair}: from a larger tree");
                }
                if first != second {
                    check!(verify_consistency(n, m, second_root, first_root, proof), "{pair}: sizes swapped");
                    check!(verify_consistency(m, n, second_root, first_root, proof), "{pair}: roots swapped");
                }
                // As with inclusion: with their own roots, other sizes may only verify if
                // the proof is also theirs; with these roots, never if their proofs have
                // another length.
                for other in near(first).filter(|&o| o >= 1 && o <= second && o != first) {
                    let claimed = other as u64;
                    let ok = verify_consistency(claimed, n, &t.roots[other], second_root, proof);
                    check!(ok != (*proof == t.consistency[other][second]), "{pair}: checked as from {other} gave {ok}");
                    if t.consistency[other][second].len() != proof.len() {
                        check!(
                            verify_consistency(claimed, n, first_root, second_root, proof),
                            "{pair}: claimed from {other}"
                        );
                    }
                }
                for other in near(second).filter(|&o| o >= first && o <= MAX_SIZE && o != second) {
                    let claimed = other as u64;
                    let ok = verify_consistency(m, claimed, first_root, &t.roots[other], proof);
                    check!(ok != (*proof == t.consistency[first][other]), "{pair}: checked as to {other} gave {ok}");
                    if t.consistency[first][other].len() != proof.len() {
                        check!(
                            verify_consistency(m, claimed, first_root, second_root, proof),
                            "{pair}: claimed to {other}"
                        );
                    }
                }
                if let Some((_, shorter)) = proof.split_last() {
                    check!(verify_consistency(m, n, first_root, second_root, shorter), "{pair}: last element dropped");
                    check!(
                        verify_consistency(m, n, first_root, second_root, &proof[1..]),
                        "{pair}: first element dropped"
                    );
                }
                for extra in [*first_root, *second_root, proof.first().copied().unwrap_or(*first_root)] {
                    let longer = [proof.as_slice(), &[extra]].concat();
                    check!(verify_consistency(m, n, first_root, second_root, &longer), "{pair}: element appended");
                    let longer = [&[extra], proof.as_slice()].concat();
                    check!(verify_consistency(m, n, first_root, second_root, &longer), "{pair}: element prepended");
                }
                for bad in [flip_bit(first_root, 0), flip_bit(first_root, 130), t.roots[first - 1]] {
                    check!(verify_consistency(m, n, &bad, second_root, proof), "{pair}: wrong first root");
                }
                for bad in [flip_bit(second_root, 0), flip_bit(second_root, 130), t.roots[second - 1]] {
                    check!(verify_consistency(m, n, first_root, &bad, proof), "{pair}: wrong second root");
                }
            }
        }
        assert_none_accepted(accepted);
    }
}
