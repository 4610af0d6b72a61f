//! A `.torrent` from the internet: `Metainfo::parse` takes any bytes. What it accepts
//! must hold together: every file inside the byte space and in order, lengths that sum
//! to the total, safe path elements, a piece hash per piece, each piece layer hashing
//! to a file's root, and the infohash of the info bytes it kept.
#![no_main]

use ferry_proto::torrent::merkle;
use ferry_proto::torrent::metainfo::{InfoHashes, Metainfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Metainfo::parse(data) else { return };
    let info = &m.info;
    let mut end = 0u64;
    for f in &info.files {
        assert!(f.offset >= end, "files overlap");
        end = f.offset + f.length;
        assert!(!f.path.is_empty());
        for e in &f.path {
            assert!(!matches!(e.as_str(), "" | "." | ".."));
            assert!(!e.contains(['/', '\\', '\0']));
        }
    }
    assert_eq!(end, info.total_length());
    assert!(i64::try_from(end).is_ok());
    if info.version.has_v1() {
        assert_eq!(info.pieces_v1.len() as u64, info.piece_count());
    }
    let per_piece = (info.piece_length / merkle::BLOCK_SIZE) as usize;
    for (root, layer) in &m.piece_layers {
        assert_eq!(merkle::root_from_layer(layer, per_piece), *root);
    }
    assert_eq!(InfoHashes::of(&m.info_bytes, info.version), info.hashes);
});
