use super::*;

fn h(data: &[u8]) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&SHA256, data).as_ref());
    out
}

fn cat(a: &Hash, b: &Hash) -> Hash {
    h(&[a.as_slice(), b.as_slice()].concat())
}

#[test]
fn a_one_block_file_is_its_own_root() {
    let leaf = block_hash(b"hello");
    assert_eq!(leaf, h(b"hello"));
    assert_eq!(small_file_root(&[leaf]), leaf);
}

#[test]
fn three_blocks_pad_with_a_zero_leaf() {
    let leaves = [h(b"a"), h(b"b"), h(b"c")];
    let want = cat(&cat(&leaves[0], &leaves[1]), &cat(&leaves[2], &[0; 32]));
    assert_eq!(small_file_root(&leaves), want);
}

#[test]
fn a_piece_pads_to_its_own_width() {
    let leaves = [h(b"a")];
    let zero = [0u8; 32];
    let want = cat(&cat(&leaves[0], &zero), &cat(&zero, &zero));
    assert_eq!(piece_root(&leaves, 4), want);
    assert_eq!(pad_hash(4), cat(&cat(&zero, &zero), &cat(&zero, &zero)));
    assert_eq!(pad_hash(1), zero);
}

#[test]
fn the_root_from_the_layer_equals_the_whole_tree() {
    // 5 blocks, 2 blocks a piece: layer of 3, padded with a zero-subtree node.
    let leaves: Vec<Hash> = (0u8..5).map(|i| h(&[i])).collect();
    let layer: Vec<Hash> = leaves.chunks(2).map(|c| piece_root(c, 2)).collect();
    assert_eq!(layer.len(), 3);
    let whole = root_padded(&leaves, 8, [0; 32]);
    assert_eq!(root_from_layer(&layer, 2), whole);
    let pad = cat(&[0; 32], &[0; 32]);
    assert_eq!(
        whole,
        cat(&cat(&layer[0], &layer[1]), &cat(&layer[2], &pad))
    );
}

#[test]
fn block_counts() {
    assert_eq!(block_count(0), 0);
    assert_eq!(block_count(1), 1);
    assert_eq!(block_count(BLOCK_SIZE), 1);
    assert_eq!(block_count(BLOCK_SIZE + 1), 2);
}
