use super::*;
use crate::torrent::build::tests::make;
use crate::torrent::build::Extras;
use crate::torrent::metainfo::{Metainfo, Version};
use crate::torrent::swarm::Shape;

const K16: u64 = 16 * 1024;

/// Byte i of the file with seed s is (i * 31 + s) mod 256 (as make_hybrid.py).
fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The vector's tree: two pieces of `a`, a file smaller than a block, an empty file,
/// a file of exactly one piece.
fn tree() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a", bytes(20_000, 1)),
        ("b/c", bytes(100, 2)),
        ("b/empty", Vec::new()),
        ("d", bytes(16_384, 3)),
    ]
}

fn torrent(files: &[(&str, Vec<u8>)], piece: u64, version: Version) -> Metainfo {
    Metainfo::parse(&make("t", files, piece, version, &Extras::default())).unwrap()
}

/// Piece `piece` assembled from the files' contents (zeros for pad spans).
fn piece_data(meta: &Metainfo, map: &PieceMap, files: &[(&str, Vec<u8>)], piece: u32) -> Vec<u8> {
    let mut out = vec![0u8; map.piece_size(piece) as usize];
    for span in map.spans(piece) {
        if let Span::File {
            file, offset, len, ..
        } = span
        {
            let path = meta.info.files[file].path.join("/");
            let content = &files.iter().find(|(p, _)| *p == path).unwrap().1;
            let from = offset as usize;
            out[span.range_in_piece()].copy_from_slice(&content[from..from + len as usize]);
        }
    }
    out
}

/// Every piece verifies; one flipped byte, one byte short or the wrong index does not.
fn all_verify_and_corruption_is_refused(meta: &Metainfo, files: &[(&str, Vec<u8>)]) {
    let map = PieceMap::new(&meta.info);
    for piece in 0..map.pieces() {
        let mut data = piece_data(meta, &map, files, piece);
        assert!(verify_piece(meta, &map, piece, &data), "piece {piece}");
        let last = data.len() - 1;
        assert!(!verify_piece(meta, &map, piece, &data[..last]));
        data[last / 2] ^= 1;
        assert!(!verify_piece(meta, &map, piece, &data), "corrupt {piece}");
    }
    let first = piece_data(meta, &map, files, 0);
    assert!(!verify_piece(meta, &map, map.pieces(), &first));
}

fn file(file: usize, offset: u64, len: u64, at: u64) -> Span {
    Span::File {
        file,
        offset,
        len,
        at,
    }
}

#[test]
fn v1_pieces_run_across_files_and_the_last_is_short() {
    let meta = torrent(&tree(), K16, Version::V1);
    let map = PieceMap::new(&meta.info);
    // a (20,000) | b/c (100) | b/empty | d (16,384): 36,484 bytes, three pieces.
    assert_eq!(map.pieces(), 3);
    assert_eq!(map.piece_size(2), 36_484 - 2 * K16);
    assert_eq!(
        map.spans(1),
        vec![
            file(0, K16, 3_616, 0),
            file(1, 0, 100, 3_616),
            file(3, 0, 12_668, 3_716)
        ]
    );
    assert_eq!(map.spans(2), vec![file(3, 12_668, 3_716, 0)]);
    assert_eq!(
        map.spans_in(1, 3_600..3_700),
        vec![file(0, 19_984, 16, 0), file(1, 0, 84, 16)]
    );
    assert_eq!(
        (map.file_pieces(0), map.file_pieces(2), map.file_pieces(3)),
        (0..2, 0..0, 1..3)
    );
    assert_eq!(map.shape(), Shape::linear(3, K16 as u32, 36_484));
    all_verify_and_corruption_is_refused(&meta, &tree());
}

#[test]
fn v1_single_file_of_one_short_piece() {
    let files = [("t", bytes(5, 9))];
    let meta = torrent(&files, K16, Version::V1);
    let map = PieceMap::new(&meta.info);
    assert_eq!(
        (map.pieces(), map.piece_size(0), map.piece_size(1)),
        (1, 5, 0)
    );
    assert_eq!(map.spans(0), vec![file(0, 0, 5, 0)]);
    all_verify_and_corruption_is_refused(&meta, &files);
}

/// libtorrent's own hybrid (test-vectors/torrent/hybrid.torrent): pad files after `a`
/// and `b/c` are spans of zeros, never files; `b/c` is smaller than one block.
#[test]
fn libtorrent_hybrid_vector_pieces_and_pads() {
    let meta = Metainfo::parse(include_bytes!(
        "../../../../../test-vectors/torrent/hybrid.torrent"
    ))
    .unwrap();
    let map = PieceMap::new(&meta.info);
    let names: Vec<String> = meta.info.files.iter().map(|f| f.path.join("/")).collect();
    assert_eq!(
        names,
        ["a", ".pad/12768", "b/c", ".pad/16284", "b/empty", "d"]
    );
    assert_eq!(map.pieces(), 4);
    assert!((0..4).all(|p| map.piece_size(p) == K16));
    assert_eq!(
        map.spans(1),
        vec![
            file(0, K16, 3_616, 0),
            Span::Pad {
                len: 12_768,
                at: 3_616
            }
        ]
    );
    assert_eq!(
        map.spans(2),
        vec![
            file(2, 0, 100, 0),
            Span::Pad {
                len: 16_284,
                at: 100
            }
        ]
    );
    assert_eq!(map.spans(3), vec![file(5, 0, K16, 0)]);
    assert_eq!((map.file_pieces(1), map.file_pieces(4)), (0..0, 0..0));
    all_verify_and_corruption_is_refused(&meta, &tree());
    // Pad bytes must be zeros, whatever else the piece holds.
    let mut data = piece_data(&meta, &map, &tree(), 2);
    data[200] = 1;
    assert!(!verify_piece(&meta, &map, 2, &data));
}

/// BEP 52: every file starts on a piece boundary and its last piece is short; an
/// empty file has no piece; the index space runs on file after file.
#[test]
fn v2_pieces_are_per_file() {
    let files = [
        ("a", bytes(40_000, 1)),
        ("b", bytes(100, 2)),
        ("c", Vec::new()),
        ("d", bytes(70_000, 3)),
    ];
    let meta = torrent(&files, 2 * K16, Version::V2);
    let map = PieceMap::new(&meta.info);
    let sizes: Vec<u64> = (0..map.pieces()).map(|p| map.piece_size(p)).collect();
    assert_eq!(sizes, [32_768, 7_232, 100, 32_768, 32_768, 4_464]);
    assert_eq!(
        map.shape(),
        Shape::Sizes(sizes.iter().map(|&s| s as u32).collect())
    );
    assert_eq!(map.spans(1), vec![file(0, 32_768, 7_232, 0)]);
    assert_eq!(map.spans(2), vec![file(1, 0, 100, 0)]);
    assert_eq!(map.spans(5), vec![file(3, 65_536, 4_464, 0)]);
    assert_eq!((map.file_pieces(2), map.file_pieces(3)), (0..0, 3..6));
    all_verify_and_corruption_is_refused(&meta, &files);
}

/// A magnet's v2 torrent before the piece layers arrive: pieces of multi-piece
/// files cannot be verified yet; a file of one piece is checked against its root.
#[test]
fn v2_without_piece_layers_verifies_only_one_piece_files() {
    let files = [("a", bytes(40_000, 1)), ("b", bytes(100, 2))];
    let mut meta = torrent(&files, 2 * K16, Version::V2);
    let map = PieceMap::new(&meta.info);
    let data: Vec<Vec<u8>> = (0..3).map(|p| piece_data(&meta, &map, &files, p)).collect();
    let layers = std::mem::take(&mut meta.piece_layers);
    assert!(!verify_piece(&meta, &map, 0, &data[0]));
    assert!(verify_piece(&meta, &map, 2, &data[2]));
    // The layer arrives (BEP 52 hashes from a peer): checked against the root first.
    let (root, layer) = layers.into_iter().next().unwrap();
    let mut wrong = layer.concat();
    wrong[0] ^= 1;
    assert!(meta.add_piece_layer(root, &wrong).is_err());
    assert!(meta.add_piece_layer(root, &layer.concat()[32..]).is_err());
    assert!(meta.add_piece_layer([7; 32], &layer.concat()).is_err());
    meta.add_piece_layer(root, &layer.concat()).unwrap();
    assert!(verify_piece(&meta, &map, 0, &data[0]) && verify_piece(&meta, &map, 1, &data[1]));
}

#[test]
fn hybrid_needs_both_hashes() {
    let files = [("a", bytes(40_000, 1)), ("b", bytes(100, 2))];
    let mut meta = torrent(&files, 2 * K16, Version::Hybrid);
    let map = PieceMap::new(&meta.info);
    let data = piece_data(&meta, &map, &files, 0);
    assert!(verify_piece(&meta, &map, 0, &data));
    let mut v1_wrong = meta.clone();
    v1_wrong.info.pieces_v1[0] = [0; 20];
    assert!(!verify_piece(&v1_wrong, &map, 0, &data));
    meta.piece_layers.values_mut().for_each(|l| l[0] = [0; 32]);
    assert!(!verify_piece(&meta, &map, 0, &data));
}
