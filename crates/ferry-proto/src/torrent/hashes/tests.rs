use std::collections::BTreeMap;

use super::*;
use crate::torrent::build::tests::make;
use crate::torrent::build::Extras;
use crate::torrent::merkle::{parent, Hash};
use crate::torrent::metainfo::{Metainfo, Version};
use crate::torrent::wire::HashRequest;

const K16: usize = 16 * 1024;

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| ((i / 7) as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A v2 torrent of 16 KiB pieces: `big` of 600 pieces (a layer of 1024, asked in two
/// requests), `small` of 3 (one request), `tiny` of one block (no layer).
fn torrent(version: Version) -> Metainfo {
    let files = vec![
        ("big", bytes(600 * K16 - 5, 1)),
        ("small", bytes(3 * K16, 2)),
        ("tiny", bytes(100, 3)),
    ];
    Metainfo::parse(&make("t", &files, K16 as u64, version, &Extras::default())).unwrap()
}

fn answer_bytes(server: &LayerServer, request: &HashRequest) -> Vec<u8> {
    server.answer(request).expect("answered").concat()
}

#[test]
fn a_fetch_answered_by_a_server_rebuilds_every_layer() {
    for version in [Version::V2, Version::Hybrid] {
        let meta = torrent(version);
        assert_eq!(meta.piece_layers.len(), 2);
        let server = LayerServer::new(&meta.info, &meta.piece_layers);
        let mut fetch = LayerFetch::new(&meta.info, &BTreeMap::new());
        let requests = fetch.requests(&meta.info);
        assert_eq!(requests.len(), 3, "{requests:?}");
        assert!(!fetch.is_done());
        for r in &requests {
            fetch.accept(r, &answer_bytes(&server, r)).unwrap();
        }
        assert!(fetch.is_done());
        assert!(fetch.requests(&meta.info).is_empty());
        assert_eq!(fetch.into_layers(), meta.piece_layers);
    }
}

#[test]
fn requests_are_what_libtorrent_accepts() {
    let meta = torrent(Version::V2);
    let fetch = LayerFetch::new(&meta.info, &BTreeMap::new());
    let big = meta.info.files.iter().find(|f| f.path == ["big"]).unwrap();
    let mut big: Vec<HashRequest> = fetch
        .requests(&meta.info)
        .into_iter()
        .filter(|r| Some(r.pieces_root) == big.pieces_root)
        .collect();
    big.sort_by_key(|r| r.index);
    // 600 pieces: a layer of 1024 (10 levels to the root), asked 512 at a time; the
    // uncles run from the chunk's root's sibling to just below the root: one.
    let want = |index| (0, index, 512, 9);
    let got: Vec<_> = big
        .iter()
        .map(|r| (r.base_layer, r.index, r.length, r.proof_layers))
        .collect();
    assert_eq!(got, vec![want(0), want(512)]);
    assert_eq!(uncle_count(512, 9), 1);
    assert_eq!(uncle_count(4, 1), 0);
}

#[test]
fn layers_already_known_are_not_asked_for() {
    let meta = torrent(Version::V2);
    let fetch = LayerFetch::new(&meta.info, &meta.piece_layers);
    assert!(fetch.is_done());
    assert!(fetch.requests(&meta.info).is_empty());
    assert!(fetch.into_layers().is_empty());
}

#[test]
fn a_wrong_node_or_uncle_or_count_is_refused() {
    let meta = torrent(Version::V2);
    let server = LayerServer::new(&meta.info, &meta.piece_layers);
    let mut fetch = LayerFetch::new(&meta.info, &BTreeMap::new());
    let requests = fetch.requests(&meta.info);
    let r = requests.iter().find(|r| r.index == 512).unwrap();
    let good = answer_bytes(&server, r);
    let mut node = good.clone();
    node[40] ^= 1;
    assert_eq!(fetch.accept(r, &node), Err(LayerError::Wrong));
    let mut uncle = good.clone();
    let last = uncle.len() - 1;
    uncle[last] ^= 1;
    assert_eq!(fetch.accept(r, &uncle), Err(LayerError::Wrong));
    assert!(matches!(
        fetch.accept(r, &good[..good.len() - 32]),
        Err(LayerError::Count { want: 513, .. })
    ));
    let moved = HashRequest { index: 256, ..*r };
    assert_eq!(fetch.accept(&moved, &good), Err(LayerError::Unasked));
    let other = HashRequest {
        pieces_root: [7; 32],
        ..*r
    };
    assert_eq!(fetch.accept(&other, &good), Err(LayerError::Unasked));
    // The other half's answer does not pass for this half.
    let first = requests.iter().find(|r| r.index == 0).unwrap();
    let wrong_half = answer_bytes(&server, first);
    assert_eq!(fetch.accept(r, &wrong_half), Err(LayerError::Wrong));
    fetch.accept(r, &good).unwrap();
}

#[test]
fn the_server_refuses_what_it_cannot_or_should_not_answer() {
    let meta = torrent(Version::V2);
    let server = LayerServer::new(&meta.info, &meta.piece_layers);
    let root = meta.info.files[0].pieces_root.unwrap();
    let ok = HashRequest {
        pieces_root: root,
        base_layer: 0,
        index: 0,
        length: 512,
        proof_layers: 9,
    };
    assert!(server.answer(&ok).is_some());
    let refused = [
        HashRequest {
            pieces_root: [1; 32],
            ..ok
        },
        HashRequest { length: 1, ..ok },
        HashRequest { length: 384, ..ok },
        HashRequest { index: 256, ..ok },
        HashRequest { index: 1024, ..ok },
        HashRequest { length: 2048, ..ok },
        HashRequest {
            proof_layers: 10,
            ..ok
        },
        HashRequest {
            base_layer: 11,
            ..ok
        },
    ];
    for r in refused {
        assert_eq!(server.answer(&r), None, "{r:?}");
    }
}

#[test]
fn below_the_piece_layer_is_refused_and_above_it_is_served() {
    let files = vec![("f", bytes(8 * 2 * K16, 4))];
    let meta = Metainfo::parse(&make(
        "t",
        &files,
        2 * K16 as u64,
        Version::V2,
        &Extras::default(),
    ))
    .unwrap();
    let layer = meta.piece_layers.values().next().unwrap().clone();
    assert_eq!(layer.len(), 8);
    let server = LayerServer::new(&meta.info, &meta.piece_layers);
    let root = meta.info.files[0].pieces_root.unwrap();
    let at = |base_layer, length, proof_layers| HashRequest {
        pieces_root: root,
        base_layer,
        index: 0,
        length,
        proof_layers,
    };
    assert_eq!(
        server.answer(&at(0, 2, 0)),
        None,
        "block hashes are not kept"
    );
    // Layer 2 (pairs of pieces): 4 nodes; two of them and the sibling of their parent.
    let pairs: Vec<Hash> = layer.chunks(2).map(|p| parent(&p[0], &p[1])).collect();
    let got = server.answer(&at(2, 2, 1)).unwrap();
    assert_eq!(got, vec![pairs[0], pairs[1], parent(&pairs[2], &pairs[3])]);
}
