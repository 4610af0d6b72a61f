use std::net::Ipv4Addr;

use bytes::Bytes;
use ring::digest;

use super::*;
use crate::torrent::wire::metadata::{MetadataAssembler, MetadataError, MetadataHash, Progress};

#[test]
fn handshake_from_bep10_example() {
    // BEP 10's example, keys sorted as canonical bencode requires.
    let payload = b"d1:md11:LT_metadatai1e7:\xc2\xb5T_PEXi2ee1:pi6881e1:v13:\xc2\xb5Torrent 1.2e";
    let hs = ExtHandshake::decode(payload).unwrap();
    assert_eq!(hs.id_of("LT_metadata"), Some(1));
    assert_eq!(hs.id_of("\u{b5}T_PEX"), Some(2));
    assert_eq!(hs.p, Some(6881));
    assert_eq!(hs.v.as_deref(), Some("\u{b5}Torrent 1.2"));
    assert_eq!(ExtHandshake::decode(&hs.encode()).unwrap(), hs);
}

#[test]
fn handshake_fields_round_trip_and_unknown_keys_are_ignored() {
    let hs = ExtHandshake {
        m: [(UT_METADATA.to_owned(), 3)].into(),
        v: Some("ferry 0.1".into()),
        p: Some(51413),
        reqq: Some(250),
        metadata_size: Some(31235),
        yourip: Some(Ipv4Addr::new(192, 0, 2, 7).into()),
    };
    let bytes = hs.encode();
    assert_eq!(ExtHandshake::decode(&bytes).unwrap(), hs);
    let odd = b"d1:md11:ut_metadatai300e6:ut_pexi0ee1:pi70000e3:zzzli1eee";
    let hs = ExtHandshake::decode(odd).unwrap();
    assert!(
        hs.m.is_empty(),
        "disabled (0) and out-of-range ids are left out"
    );
    assert_eq!(hs.p, None);
}

#[test]
fn handshake_refusals() {
    assert_eq!(ExtHandshake::decode(b"le"), Err(ExtensionError::NotDict));
    assert!(matches!(
        ExtHandshake::decode(b"d1:m"),
        Err(ExtensionError::Bencode(_))
    ));
    let mut many = String::from("d1:md");
    for i in 0..=MAX_EXTENSIONS {
        many += &format!("3:x{i:02}i1e");
    }
    many += "ee";
    assert_eq!(
        ExtHandshake::decode(many.as_bytes()),
        Err(ExtensionError::TooManyExtensions)
    );
    let deep = format!("d1:x{}{}e", "l".repeat(20), "e".repeat(20));
    assert!(matches!(
        ExtHandshake::decode(deep.as_bytes()),
        Err(ExtensionError::Bencode(
            crate::torrent::bencode::DecodeError::TooDeep(_)
        ))
    ));
}

#[test]
fn ut_metadata_bep9_examples() {
    let request = b"d8:msg_typei0e5:piecei0ee";
    assert_eq!(
        UtMetadata::decode(Bytes::from_static(request)).unwrap(),
        UtMetadata::Request(0)
    );
    assert_eq!(UtMetadata::Request(0).encode(), request);
    let data = b"d8:msg_typei1e5:piecei0e10:total_sizei34256eexxxxxxxx";
    let decoded = UtMetadata::decode(Bytes::from_static(data)).unwrap();
    assert_eq!(
        decoded,
        UtMetadata::Data {
            piece: 0,
            total_size: 34256,
            data: Bytes::from_static(b"xxxxxxxx")
        }
    );
    assert_eq!(decoded.encode(), data);
    let reject = b"d8:msg_typei2e5:piecei0ee";
    assert_eq!(
        UtMetadata::decode(Bytes::from_static(reject)).unwrap(),
        UtMetadata::Reject(0)
    );
}

#[test]
fn ut_metadata_refusals() {
    let decode = |b: &'static [u8]| UtMetadata::decode(Bytes::from_static(b));
    assert_eq!(
        decode(b"d8:msg_typei1e5:piecei0ee"),
        Err(ExtensionError::Field("total_size"))
    );
    assert_eq!(
        decode(b"d8:msg_typei0ee"),
        Err(ExtensionError::Field("piece"))
    );
    assert_eq!(
        decode(b"d8:msg_typei7e5:piecei0ee"),
        Err(ExtensionError::MsgType(7))
    );
    assert_eq!(
        decode(b"d8:msg_typei0e5:piecei-1ee"),
        Err(ExtensionError::Field("piece"))
    );
    assert!(decode(b"d8:msg_typei0e5:piecei0eextra").is_err());
}

fn info(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn sha1(data: &[u8]) -> [u8; 20] {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .try_into()
        .unwrap()
}

#[test]
fn server_slices_and_rejects() {
    let server = MetadataServer::new(Bytes::from(info(40_000)));
    assert_eq!(server.size(), 40_000);
    let UtMetadata::Data {
        data, total_size, ..
    } = server.respond(2)
    else {
        panic!()
    };
    assert_eq!((data.len(), total_size), (40_000 - 32_768, 40_000));
    assert_eq!(server.respond(3), UtMetadata::Reject(3));
    assert_eq!(server.respond(u32::MAX), UtMetadata::Reject(u32::MAX));
}

fn fetch(
    fetcher: &mut MetadataAssembler<&'static str>,
    server: &MetadataServer,
    peer: &'static str,
) -> Progress<&'static str> {
    let mut last = Progress::Pending;
    while let Some(UtMetadata::Request(piece)) = fetcher.next_request(&peer) {
        last = fetcher.handle(&peer, server.respond(piece)).unwrap();
    }
    last
}

#[test]
fn assembles_and_verifies_v1_and_v2() {
    let bytes = info(40_000);
    let server = MetadataServer::new(Bytes::from(bytes.clone()));
    let mut v1 =
        MetadataAssembler::new(MetadataHash::V1(sha1(&bytes)), 40_000, MAX_METADATA_SIZE).unwrap();
    assert_eq!(fetch(&mut v1, &server, "a"), Progress::Done(bytes.clone()));
    let v2_hash: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    let mut v2 =
        MetadataAssembler::new(MetadataHash::V2(v2_hash), 40_000, MAX_METADATA_SIZE).unwrap();
    assert_eq!(fetch(&mut v2, &server, "b"), Progress::Done(bytes));
    use sha2::Digest as _;
}

#[test]
fn a_liar_is_banned_and_others_finish() {
    let good = info(20_000);
    let mut bad = good.clone();
    bad[19_999] ^= 1;
    let mut fetcher =
        MetadataAssembler::new(MetadataHash::V1(sha1(&good)), 20_000, MAX_METADATA_SIZE).unwrap();
    let liar = MetadataServer::new(Bytes::from(bad));
    assert_eq!(
        fetch(&mut fetcher, &liar, "liar"),
        Progress::HashMismatch(vec!["liar"])
    );
    assert!(fetcher.is_banned(&"liar") && fetcher.next_request(&"liar").is_none());
    let honest = MetadataServer::new(Bytes::from(good.clone()));
    assert_eq!(fetch(&mut fetcher, &honest, "honest"), Progress::Done(good));
}

#[test]
fn rejects_departures_and_strays() {
    let bytes = info(20_000);
    let mut f =
        MetadataAssembler::new(MetadataHash::V1(sha1(&bytes)), 20_000, MAX_METADATA_SIZE).unwrap();
    assert_eq!(f.next_request(&"a"), Some(UtMetadata::Request(0)));
    assert_eq!(f.next_request(&"b"), Some(UtMetadata::Request(1)));
    assert_eq!(f.next_request(&"c"), None);
    f.handle(&"a", UtMetadata::Reject(0)).unwrap();
    f.peer_gone(&"b");
    assert_eq!(f.next_request(&"c"), Some(UtMetadata::Request(0)));
    assert_eq!(f.next_request(&"c"), Some(UtMetadata::Request(1)));
    let server = MetadataServer::new(Bytes::from(bytes));
    // A piece "a" was not asked for is ignored; "c" may still deliver it.
    assert_eq!(
        f.handle(&"a", server.respond(0)).unwrap(),
        Progress::Pending
    );
    let UtMetadata::Data { data, .. } = server.respond(1) else {
        panic!()
    };
    let short = UtMetadata::Data {
        piece: 1,
        total_size: 20_000,
        data: data.slice(1..),
    };
    assert!(matches!(
        f.handle(&"c", short),
        Err(MetadataError::BadPiece { piece: 1, .. })
    ));
    let liar_size = UtMetadata::Data {
        piece: 0,
        total_size: 99,
        data: Bytes::new(),
    };
    assert!(matches!(
        f.handle(&"c", liar_size),
        Err(MetadataError::BadPiece { .. })
    ));
}

#[test]
fn sizes_are_bounded() {
    let h = MetadataHash::V1([0; 20]);
    assert_eq!(
        MetadataAssembler::<u8>::new(h, 0, MAX_METADATA_SIZE).err(),
        Some(MetadataError::Empty)
    );
    assert_eq!(
        MetadataAssembler::<u8>::new(h, MAX_METADATA_SIZE + 1, MAX_METADATA_SIZE).err(),
        Some(MetadataError::TooLarge {
            size: MAX_METADATA_SIZE + 1,
            max: MAX_METADATA_SIZE
        })
    );
    assert_eq!(metadata_pieces(16_384), 1);
    assert_eq!(metadata_pieces(16_385), 2);
}
