use super::*;
use crate::torrent::metainfo::{Info, Metainfo, MetainfoError};

/// Builds a torrent from in-memory files: `(path under the directory, content)`; a
/// single file whose path is `name` makes a single-file torrent.
pub(crate) fn make(
    name: &str,
    files: &[(&str, Vec<u8>)],
    piece: u64,
    version: Version,
    extras: &Extras,
) -> Vec<u8> {
    let single = files.len() == 1 && files[0].0 == name;
    let specs = files
        .iter()
        .map(|(p, c)| FileSpec {
            path: p.split('/').map(str::to_owned).collect(),
            length: c.len() as u64,
        })
        .collect();
    let mut plan = Plan::new(name, specs, single, piece, version).unwrap();
    let contents: Vec<&[u8]> = plan
        .files
        .iter()
        .map(|f| {
            let path = f.path.join("/");
            files
                .iter()
                .find(|(p, _)| *p == path)
                .map_or(&[][..], |(_, c)| c.as_slice())
        })
        .collect();
    let hashed = plan
        .hash_with(|i, off, buf| {
            let off = off as usize;
            buf.copy_from_slice(&contents[i][off..off + buf.len()]);
            Ok::<(), ()>(())
        })
        .unwrap();
    let info = plan.info(&hashed);
    torrent(&info, version, &hashed, extras)
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

const K16: u64 = 16 * 1024;

#[test]
fn default_piece_lengths_follow_libtorrent() {
    assert_eq!(default_piece_length(0), K16);
    assert_eq!(default_piece_length(2_684_355), K16);
    assert_eq!(default_piece_length(2_684_356), 2 * K16);
    assert_eq!(default_piece_length(1 << 30), 512 * 1024);
    assert_eq!(default_piece_length(703_687_441_778), 16 << 20);
    assert_eq!(default_piece_length(u64::MAX), 16 << 20);
}

#[test]
fn a_hybrid_pads_every_unaligned_file_and_sorts_by_path() {
    let files = [
        ("b", bytes(40_000, 1)),
        ("a-b", bytes(9, 2)),
        ("a/z", bytes(7, 3)),
        ("empty", Vec::new()),
        ("whole", bytes(2 * K16 as usize, 4)),
    ];
    let t = make("d", &files, K16, Version::Hybrid, &Extras::default());
    let m = Metainfo::parse(&t).unwrap();
    let names: Vec<String> = m.info.files.iter().map(|f| f.path.join("/")).collect();
    assert_eq!(
        names,
        [
            "a-b",
            ".pad/16375",
            "a/z",
            ".pad/16377",
            "b",
            ".pad/9152",
            "empty",
            "whole"
        ]
    );
    assert_eq!(m.info.total_length(), 7 * K16);
    assert_eq!(m.info.pieces_v1.len(), 7);
    // b (3 pieces) and whole (2 pieces) have piece layers; the others do not.
    assert_eq!(m.piece_layers.len(), 2);
    assert!(m
        .info
        .files
        .iter()
        .filter(|f| f.pad)
        .all(|f| f.pieces_root.is_none()));
    assert_eq!(
        m.info.files[6].pieces_root, None,
        "an empty file has no root"
    );
}

#[test]
fn v1_has_no_pads_and_spans_files() {
    let files = [("x", bytes(10_000, 1)), ("y", bytes(10_000, 2))];
    let t = make("d", &files, K16, Version::V1, &Extras::default());
    let m = Metainfo::parse(&t).unwrap();
    assert_eq!(m.info.files.len(), 2);
    assert_eq!(m.info.pieces_v1.len(), 2);
    let whole = [files[0].1.clone(), files[1].1.clone()].concat();
    assert_eq!(m.info.pieces_v1[0], sha1(&whole[..K16 as usize]));
    assert!(!t.windows(11).any(|w| w == b"piece layers"));
}

#[test]
fn v2_files_start_on_piece_boundaries_without_pad_files() {
    let files = [("x", bytes(100, 1)), ("y", bytes(3 * K16 as usize + 1, 2))];
    let t = make("d", &files, 2 * K16, Version::V2, &Extras::default());
    let m = Metainfo::parse(&t).unwrap();
    let offsets: Vec<u64> = m.info.files.iter().map(|f| f.offset).collect();
    assert_eq!(offsets, [0, 2 * K16]);
    assert_eq!(m.info.piece_count(), 3);
    let y = &m.info.files[1];
    let leaves: Vec<Hash> = files[1]
        .1
        .chunks(K16 as usize)
        .map(merkle::block_hash)
        .collect();
    assert_eq!(
        y.pieces_root,
        Some(merkle::root_padded(&leaves, 4, [0; 32]))
    );
    assert_eq!(m.piece_layers[&y.pieces_root.unwrap()].len(), 2);
}

#[test]
fn one_file_uses_the_single_file_form() {
    let files = [("f.txt", bytes(5, 1))];
    let t = make("f.txt", &files, K16, Version::Hybrid, &Extras::default());
    let m = Metainfo::parse(&t).unwrap();
    assert!(m.info.single_file);
    assert_eq!(m.info.files.len(), 1, "no pad after a single file");
    assert_eq!(m.info.files[0].path, ["f.txt"]);
    assert!(t.windows(17).any(|w| w == b"12:piece layersde"));
}

#[test]
fn outer_keys_as_libtorrent_writes_them() {
    let one = Extras {
        trackers: vec!["http://t/a".into()],
        web_seeds: vec!["http://w/".into()],
        created_by: None,
        creation_date: Some(7),
    };
    let t = make("f", &[("f", bytes(1, 0))], K16, Version::V1, &one);
    let text = String::from_utf8_lossy(&t);
    assert!(text.starts_with("d8:announce10:http://t/a13:creation datei7e4:infod"));
    assert!(text.ends_with("8:url-list9:http://w/e"));
    let two = Extras {
        trackers: vec!["http://t/a".into(), "udp://u:1".into()],
        web_seeds: vec!["http://w/".into(), "http://v/".into()],
        created_by: Some("ferry".into()),
        creation_date: None,
    };
    let m = Metainfo::parse(&make("f", &[("f", bytes(1, 0))], K16, Version::V1, &two)).unwrap();
    assert_eq!(m.trackers, std::slice::from_ref(&two.trackers));
    assert_eq!(m.web_seeds, two.web_seeds);
}

#[test]
fn the_plan_refuses_what_a_torrent_cannot_carry() {
    let spec = |p: &str| FileSpec {
        path: p.split('/').map(str::to_owned).collect(),
        length: 1,
    };
    let plan = |name: &str, files: Vec<FileSpec>, piece| {
        Plan::new(name, files, false, piece, Version::Hybrid).unwrap_err()
    };
    assert_eq!(plan("d", vec![], K16), PlanError::NoFiles);
    assert_eq!(
        plan("d", vec![spec("a")], 3 * K16),
        PlanError::PieceSize(3 * K16)
    );
    assert_eq!(plan("d", vec![spec("a")], 8192), PlanError::PieceSize(8192));
    assert_eq!(
        plan("..", vec![spec("a")], K16),
        PlanError::BadName("..".into())
    );
    assert_eq!(
        plan("d", vec![spec("a\\b")], K16),
        PlanError::BadName("a\\b".into())
    );
}

#[test]
fn info_parse_alone_gives_the_same_hashes() {
    let t = make(
        "d",
        &[("a", bytes(3, 0))],
        K16,
        Version::Hybrid,
        &Extras::default(),
    );
    let m = Metainfo::parse(&t).unwrap();
    assert_eq!(Info::parse(&m.info_bytes).unwrap(), m.info);
    assert!(matches!(
        Info::parse(b"i1e"),
        Err(MetainfoError::WrongType("info"))
    ));
}

/// `test-vectors/torrent/hybrid.torrent`, made by libtorrent 2.1.1 (make_hybrid.py there
/// says how): parsed, then rebuilt from the same content, byte for byte.
#[test]
fn libtorrent_hybrid_vector_is_rebuilt_byte_for_byte() {
    let theirs = include_bytes!("../../../../test-vectors/torrent/hybrid.torrent");
    let m = Metainfo::parse(theirs).unwrap();
    assert_eq!(m.info.version, Version::Hybrid);
    assert_eq!(m.info.files.iter().filter(|f| f.pad).count(), 2);
    assert_eq!(m.piece_layers.len(), 1);
    let files = [
        ("a", bytes(20_000, 1)),
        ("b/c", bytes(100, 2)),
        ("b/empty", Vec::new()),
        ("d", bytes(16_384, 3)),
    ];
    let extras = Extras {
        trackers: vec!["udp://tracker.example:6969/announce".into()],
        web_seeds: vec!["http://seed.example/files/".into()],
        created_by: None,
        creation_date: Some(1_700_000_000),
    };
    let ours = make("vec", &files, K16, Version::Hybrid, &extras);
    assert!(ours == theirs.as_slice(), "the rebuilt torrent differs");
}
