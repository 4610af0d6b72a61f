//! Transit record framing: the length prefix, counter nonces and tags of
//! `Opener`, fed raw streams through the client's `transit::deframe::Deframer`,
//! and sealed records replayed in any order.
#![no_main]

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::deframe::Deframer;
use ferry_proto::transit::record::HEAD_LEN;
use ferry_proto::transit::record::{Opener, Sealer, MAX_RECORD_BODY, OVERHEAD};
use ferry_proto::transit::Role;
use libfuzzer_sys::fuzz_target;

/// The transit key of the known-answer vectors, so the seeds are real records.
const KEY: [u8; 32] = [
    0xd2, 0x4e, 0x11, 0xc8, 0xf3, 0x2d, 0xa7, 0xf7, 0x8c, 0x63, 0x41, 0x5c, 0x8c, 0x9b, 0xaf, 0x51,
    0x74, 0x61, 0x5d, 0xba, 0x93, 0xea, 0xdd, 0x5e, 0x69, 0xc7, 0xdf, 0x1e, 0xb4, 0xc1, 0xb1, 0x30,
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => raw_stream(rest),
        1 => shuffled(rest),
        2 => differential(rest),
        _ => cross_seal(rest),
    }
});

/// Reads records through the client's own `Deframer`; a record either opens
/// or ends the stream.
fn raw_stream(data: &[u8]) {
    let mut opener = Opener::new(&TransitKey::from_bytes(KEY), Role::Receiver);
    let mut deframer = Deframer::new(Opener::body_len);
    deframer.push(data);
    // `Ok(None)`: cut mid-record (EOF); `Err`: a length no record may have.
    while let Ok(Some(record)) = deframer.next_record() {
        assert!((OVERHEAD..=MAX_RECORD_BODY).contains(&record.body.len()));
        if opener.open_in_place(record.body).is_err() {
            return;
        }
    }
}

/// Seals up to 8 records, then feeds them in the order the input picks: the
/// opener must accept exactly the in-order prefix and refuse the first
/// replayed, skipped or reordered record.
fn shuffled(data: &[u8]) {
    let key = TransitKey::from_bytes(KEY);
    let (order, payload) = data.split_at(data.len().min(16));
    let mut sealer = Sealer::new(&key, Role::Sender);
    let records: Vec<Vec<u8>> = payload
        .chunks(32)
        .take(8)
        .map(|chunk| {
            let mut frame = Vec::new();
            sealer.seal_frame(chunk, &mut frame);
            frame[4..].to_vec()
        })
        .collect();
    if records.is_empty() {
        return;
    }
    let mut opener = Opener::new(&key, Role::Receiver);
    for (expected, &pick) in order.iter().enumerate() {
        let index = usize::from(pick) % records.len();
        let mut body = records[index].clone();
        let opened = opener.open_in_place(&mut body);
        if index == expected {
            assert!(opened.is_ok(), "in-order record {index} refused");
            assert_eq!(
                body[OVERHEAD..],
                payload[index * 32..][..body.len() - OVERHEAD]
            );
        } else {
            assert!(opened.is_err(), "record {index} accepted as #{expected}");
            return;
        }
    }
}

/// The bulk path (`Opener::reserve` + libsodium `RecordKey::open`) must
/// accept and refuse exactly what the one-record path (pure Rust) does.
fn differential(data: &[u8]) {
    let key = TransitKey::from_bytes(KEY);
    let mut one = Opener::new(&key, Role::Receiver);
    let mut bulk = Opener::new(&key, Role::Receiver);
    let record_key = bulk.record_key();
    let mut deframer = Deframer::new(Opener::body_len);
    deframer.push(data);
    while let Ok(Some(record)) = deframer.next_record() {
        let body = record.body.to_vec();
        let a = one.open_in_place(record.body);
        let b = record_key.open(bulk.reserve(), &body);
        match (a, b) {
            (Ok(()), Ok(plain)) => assert_eq!(plain, record.body[OVERHEAD..]),
            (Err(x), Err(y)) => {
                assert_eq!(x, y);
                return;
            }
            (a, b) => panic!("the two open paths disagree: {a:?} vs {b:?}"),
        }
    }
}

/// Records sealed by libsodium (`RecordKey::seal`) open with the pure-Rust
/// `Opener`, byte for byte the same as `Sealer` would have made them.
fn cross_seal(data: &[u8]) {
    let key = TransitKey::from_bytes(KEY);
    let mut sealer = Sealer::new(&key, Role::Sender);
    let record_key = sealer.record_key();
    let mut reference = Sealer::new(&key, Role::Sender);
    let mut opener = Opener::new(&key, Role::Receiver);
    for chunk in data.chunks(97).take(8) {
        let sealed = record_key.seal(sealer.reserve(), chunk);
        let mut frame = sealed.head.to_vec();
        frame.extend_from_slice(&sealed.body);
        assert_eq!(frame.len(), sealed.wire_len());
        assert_eq!(sealed.plaintext_len(), chunk.len());
        let mut expected = Vec::new();
        reference.seal_frame(chunk, &mut expected);
        assert_eq!(frame, expected, "libsodium and pure-Rust records differ");
        let mut body = frame[4..].to_vec();
        opener.open_in_place(&mut body).expect("opens");
        assert_eq!(&body[OVERHEAD..], chunk);
        assert_eq!(HEAD_LEN, 4 + 24);
    }
}
