//! Native (`native-v2`) records: length prefixes, implicit counter nonces and
//! tags of `native::record::Opener`, fed raw streams with either cipher, and
//! sealed records replayed in any order.
#![no_main]

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::native::record::{Aead, Opener, Sealer, MAX_BODY, PREFIX_LEN, TAG_LEN};
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
    match (mode >> 1) % 2 {
        0 => raw_stream(aead, rest),
        _ => shuffled(aead, rest),
    }
});

/// Reads records the way the native link does; a record either opens or ends it.
fn raw_stream(aead: Aead, mut data: &[u8]) {
    let mut opener = Opener::new(&TransitKey::from_bytes(KEY), aead, Role::Receiver);
    while let Some((prefix, rest)) = data.split_first_chunk::<PREFIX_LEN>() {
        let Ok(len) = Opener::body_len(*prefix) else {
            return;
        };
        assert!((TAG_LEN..=MAX_BODY).contains(&len));
        let Some(body) = rest.get(..len) else {
            return; // cut mid-record: the reader would see EOF
        };
        let mut body = body.to_vec();
        match opener.open_in_place(*prefix, &mut body) {
            Ok(n) => assert_eq!(n, len - TAG_LEN),
            Err(_) => return,
        }
        data = &rest[len..];
    }
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
