//! Native (`native-v2`) records: length prefixes, implicit counter nonces and
//! tags of `native::record::Opener`, fed raw streams with either cipher through
//! the client's `transit::deframe::Deframer`, sealed records replayed in any
//! order, and streams cut anywhere.
#![no_main]

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::native::record::{Aead, Opener, Sealer, MAX_BODY, PREFIX_LEN, TAG_LEN};
use ferry_proto::transit::deframe::Deframer;
use ferry_proto::transit::record::RecordError;
use ferry_proto::transit::Role;
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [0x42; 32];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let aead = match mode & 1 {
        0 => Aead::Aes256Gcm,
        _ => Aead::ChaCha20Poly1305,
    };
    match (mode >> 1) % 3 {
        0 => raw_stream(aead, rest),
        1 => shuffled(aead, rest),
        _ => cuts(rest),
    }
});

/// Reads records through the client's own `Deframer`; a record either opens
/// or ends the stream.
fn raw_stream(aead: Aead, data: &[u8]) {
    let mut opener = Opener::new(&TransitKey::from_bytes(KEY), aead, Role::Receiver);
    let mut deframer = Deframer::new(Opener::body_len);
    deframer.push(data);
    // `Ok(None)`: cut mid-record, the reader would see EOF; `Err`: a length
    // no record may have, refused before anything was allocated for it.
    while let Ok(Some(record)) = deframer.next_record() {
        let len = record.body.len();
        assert!((TAG_LEN..=MAX_BODY).contains(&len));
        match opener.open_in_place(record.prefix, record.body) {
            Ok(n) => assert_eq!(n, len - TAG_LEN),
            Err(_) => return,
        }
    }
}

/// The records a stream holds do not depend on how it was cut: pushed at once,
/// or in pieces whose sizes the input picks.
fn cuts(data: &[u8]) {
    let (sizes, stream) = data.split_at(data.len().min(8));
    let whole = records(stream, &[stream.len()]);
    let pieces: Vec<usize> = sizes.iter().map(|&s| usize::from(s) + 1).collect();
    assert_eq!(whole, records(stream, &pieces));
}

/// The record bodies (or the first error) when `stream` arrives in pieces of
/// these sizes, repeated.
fn records(mut stream: &[u8], pieces: &[usize]) -> Result<Vec<Vec<u8>>, RecordError> {
    let mut deframer = Deframer::new(Opener::body_len);
    let mut out = Vec::new();
    for &n in pieces.iter().cycle() {
        let (piece, rest) = stream.split_at(n.min(stream.len()));
        deframer.push(piece);
        while let Some(record) = deframer.next_record()? {
            out.push(record.body.to_vec());
        }
        stream = rest;
        if stream.is_empty() {
            return Ok(out);
        }
    }
    Ok(out)
}

/// Seals up to 8 records, then feeds them in the order the input picks: exactly
/// the in-order prefix opens, and the first replayed, skipped or moved record
/// is refused.
fn shuffled(aead: Aead, data: &[u8]) {
    let key = TransitKey::from_bytes(KEY);
    let (order, payload) = data.split_at(data.len().min(16));
    let mut sealer = Sealer::new(&key, aead, Role::Sender);
    let records: Vec<Vec<u8>> = payload
        .chunks(32)
        .take(8)
        .map(|chunk| {
            let mut frame = Vec::new();
            sealer.seal_frame(chunk, &mut frame);
            frame
        })
        .collect();
    if records.is_empty() {
        return;
    }
    let mut opener = Opener::new(&key, aead, Role::Receiver);
    for (expected, &pick) in order.iter().enumerate() {
        let index = usize::from(pick) % records.len();
        let (prefix, body) = records[index].split_at(PREFIX_LEN);
        let prefix: [u8; PREFIX_LEN] = prefix.try_into().expect("prefix");
        let mut body = body.to_vec();
        let opened = opener.open_in_place(prefix, &mut body);
        if index == expected {
            let n = opened.expect("in-order record refused");
            assert_eq!(body[..n], payload[index * 32..][..n]);
        } else {
            assert!(opened.is_err(), "record {index} accepted as #{expected}");
            return;
        }
    }
}
