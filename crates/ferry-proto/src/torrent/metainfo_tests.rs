use super::*;
use crate::torrent::bencode::{dict, Bencode};
use crate::torrent::build::{tests::make, Extras};

const K16: i64 = 16 * 1024;

fn s(x: &str) -> Bencode {
    Bencode::str(x)
}

fn file(path: &[&str], length: i64) -> Bencode {
    let path = Bencode::List(path.iter().map(|p| s(p)).collect());
    dict([("length", Bencode::Int(length)), ("path", path)])
}

/// A v1 multi-file info dictionary with `files` and the right number of pieces.
fn v1_info(files: Vec<Bencode>, total: i64) -> BTreeMap<&'static str, Bencode> {
    let pieces = vec![7u8; 20 * (total as usize).div_ceil(K16 as usize)];
    BTreeMap::from([
        ("name", s("d")),
        ("piece length", Bencode::Int(K16)),
        ("pieces", Bencode::Bytes(pieces)),
        ("files", Bencode::List(files)),
    ])
}

fn parse(info: BTreeMap<&'static str, Bencode>) -> Result<Metainfo> {
    Metainfo::parse(&dict([("info", dict(info))]).encode())
}

fn refuse_path(path: &[&str]) -> MetainfoError {
    parse(v1_info(vec![file(path, 1)], 1)).unwrap_err()
}

#[test]
fn a_plain_v1_torrent_parses() {
    let m = parse(v1_info(
        vec![file(&["a", "b"], 5), file(&["c"], K16)],
        K16 + 5,
    ))
    .unwrap();
    assert_eq!(m.info.version, Version::V1);
    assert_eq!(m.info.files[1].offset, 5);
    assert_eq!(m.info.piece_count(), 2);
    let info = dict(v1_info(
        vec![file(&["a", "b"], 5), file(&["c"], K16)],
        K16 + 5,
    ))
    .encode();
    assert_eq!(m.info_bytes, info);
    assert_eq!(m.info.hashes, InfoHashes::of(&info, Version::V1));
}

#[test]
fn path_elements_that_leave_the_directory_are_refused() {
    for bad in ["..", ".", "", "a/b", "/etc", "a\\b", "nul\0"] {
        assert!(
            matches!(refuse_path(&[bad]), MetainfoError::UnsafePath(_)),
            "{bad:?}"
        );
    }
    assert!(matches!(refuse_path(&[]), MetainfoError::UnsafePath(_)));
    let deep = vec!["x"; MAX_PATH_DEPTH + 1];
    assert!(matches!(refuse_path(&deep), MetainfoError::TooMany { .. }));
    let mut info = v1_info(vec![file(&["a"], 1)], 1);
    info.insert("name", s(".."));
    assert!(matches!(parse(info), Err(MetainfoError::UnsafePath(_))));
    let not_utf8 = dict([
        ("length", Bencode::Int(1)),
        ("path", Bencode::List(vec![Bencode::Bytes(vec![0xff])])),
    ]);
    assert!(matches!(
        parse(v1_info(vec![not_utf8], 1)),
        Err(MetainfoError::UnsafePath(_))
    ));
}

#[test]
fn clashing_paths_are_refused() {
    let same = v1_info(vec![file(&["a"], 1), file(&["a"], 1)], 2);
    assert!(matches!(parse(same), Err(MetainfoError::PathClash(_))));
    let under = v1_info(vec![file(&["a"], 1), file(&["a", "b"], 1)], 2);
    assert!(matches!(parse(under), Err(MetainfoError::PathClash(_))));
}

#[test]
fn bad_lengths_are_refused() {
    let negative = v1_info(vec![file(&["a"], -1)], 1);
    assert_eq!(parse(negative), Err(MetainfoError::NegativeLength(-1)));
    let overflow = v1_info(vec![file(&["a"], i64::MAX), file(&["b"], 1)], 1);
    assert_eq!(parse(overflow), Err(MetainfoError::Overflow));
    let mut zero_piece = v1_info(vec![file(&["a"], 1)], 1);
    zero_piece.insert("piece length", Bencode::Int(0));
    assert_eq!(parse(zero_piece), Err(MetainfoError::PieceLength(0)));
    let mut huge = v1_info(vec![file(&["a"], 1)], 1);
    huge.insert("piece length", Bencode::Int(1 << 40));
    assert_eq!(parse(huge), Err(MetainfoError::PieceLength(1 << 40)));
}

#[test]
fn the_piece_count_must_match_the_length() {
    let short = v1_info(vec![file(&["a"], 2 * K16)], K16);
    assert_eq!(
        parse(short),
        Err(MetainfoError::PieceCount { got: 1, want: 2 })
    );
    let mut ragged = v1_info(vec![file(&["a"], 1)], 1);
    ragged.insert("pieces", Bencode::Bytes(vec![0; 21]));
    assert!(matches!(
        parse(ragged),
        Err(MetainfoError::PieceCount { .. })
    ));
}

#[test]
fn absurd_sizes_are_refused() {
    // 2^21 + 1 pieces of 16 KiB.
    let total = (MAX_PIECES as i64 + 1) * K16;
    let mut info = v1_info(vec![file(&["a"], total)], K16);
    info.insert("pieces", Bencode::Bytes(Vec::new()));
    assert!(matches!(
        parse(info),
        Err(MetainfoError::TooMany { what: "pieces", .. })
    ));
}

fn hybrid() -> Vec<u8> {
    let files = [("a", vec![1u8; 40_000]), ("b/c", vec![2u8; 5])];
    make("d", &files, K16 as u64, Version::Hybrid, &Extras::default())
}

/// `hybrid()` with its info dictionary changed by `f`, piece layers kept.
fn hybrid_with(f: impl FnOnce(&mut BTreeMap<Vec<u8>, Bencode>)) -> Result<Metainfo> {
    let torrent = hybrid();
    let value = bencode::decode(&torrent).unwrap();
    let Bencode::Dict(mut top) = Bencode::from(&value) else {
        unreachable!()
    };
    let Some(Bencode::Dict(info)) = top.get_mut(b"info".as_slice()) else {
        unreachable!()
    };
    f(info);
    Metainfo::parse(&Bencode::Dict(top).encode())
}

#[test]
fn v2_piece_length_must_be_a_power_of_two_of_16_kib_or_more() {
    for bad in [3 * K16, K16 / 2] {
        let r = hybrid_with(|i| {
            i.insert(b"piece length".to_vec(), Bencode::Int(bad));
        });
        assert_eq!(r, Err(MetainfoError::PieceLength(bad)));
    }
}

#[test]
fn a_hybrid_whose_halves_disagree_is_refused() {
    let r = hybrid_with(|i| {
        let Some(Bencode::List(files)) = i.get_mut(b"files".as_slice()) else {
            unreachable!()
        };
        files.swap(0, 2);
    });
    assert!(matches!(r, Err(MetainfoError::HybridMismatch(_))));
    let r = hybrid_with(|i| {
        i.insert(
            b"file tree".to_vec(),
            dict([("a", dict([("", dict([("length", Bencode::Int(0))]))]))]),
        );
    });
    assert!(matches!(r, Err(MetainfoError::HybridMismatch(_))));
    let r = hybrid_with(|i| {
        i.insert(b"meta version".to_vec(), Bencode::Int(3));
    });
    assert_eq!(r, Err(MetainfoError::MetaVersion(3)));
}

#[test]
fn a_piece_layer_must_hash_to_its_root() {
    let torrent = hybrid();
    let ok = Metainfo::parse(&torrent).unwrap();
    assert_eq!(ok.piece_layers.len(), 1);
    let (root, layer) = ok.piece_layers.iter().next().unwrap();
    let flip = |root: Vec<u8>, layer: Vec<u8>| {
        let value = bencode::decode(&torrent).unwrap();
        let Bencode::Dict(mut top) = Bencode::from(&value) else {
            unreachable!()
        };
        let layers = Bencode::Dict(BTreeMap::from([(root, Bencode::Bytes(layer))]));
        top.insert(b"piece layers".to_vec(), layers);
        Metainfo::parse(&Bencode::Dict(top).encode()).unwrap_err()
    };
    let mut wrong = layer.concat();
    wrong[0] ^= 1;
    assert!(matches!(
        flip(root.to_vec(), wrong),
        MetainfoError::PieceLayer(_)
    ));
    let short = layer.concat()[..32].to_vec();
    assert!(matches!(
        flip(root.to_vec(), short),
        MetainfoError::PieceLayer(_)
    ));
    assert!(matches!(
        flip(vec![0; 32], layer.concat()),
        MetainfoError::PieceLayer(_)
    ));
}

#[test]
fn trackers_and_web_seeds() {
    let info = v1_info(vec![file(&["a"], 1)], 1);
    let t = dict([
        ("info", dict(info.clone())),
        ("announce", s("http://ignored/")),
        (
            "announce-list",
            Bencode::List(vec![
                Bencode::List(vec![s("http://a/"), s("http://b/")]),
                Bencode::List(vec![]),
                Bencode::List(vec![s("udp://c:1")]),
            ]),
        ),
        ("url-list", s("http://w/")),
    ]);
    let m = Metainfo::parse(&t.encode()).unwrap();
    assert_eq!(
        m.trackers,
        [vec!["http://a/", "http://b/"], vec!["udp://c:1"]]
    );
    assert_eq!(m.web_seeds, ["http://w/"]);
    let t = dict([("info", dict(info)), ("announce", Bencode::Int(1))]);
    assert_eq!(
        Metainfo::parse(&t.encode()),
        Err(MetainfoError::WrongType("announce"))
    );
}
