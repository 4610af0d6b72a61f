//! Test-only access to the known-answer vectors in `test-vectors/`, shared by the
//! unit tests of every module that checks against them.

use serde_json::Value;

use crate::crypto::kdf::TransitKey;

/// `test-vectors/wormhole-kat.json`, produced by the Python implementation.
pub(crate) fn kat() -> Value {
    serde_json::from_str(include_str!("../../../test-vectors/wormhole-kat.json"))
        .expect("vector file is JSON")
}

/// The bytes of a hex string field.
pub(crate) fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

/// A hex string field of exactly `N` bytes.
pub(crate) fn array<const N: usize>(v: &Value) -> [u8; N] {
    unhex(v).try_into().expect("right length")
}

/// The transit key of WORMHOLE-PROTOCOL.md §3.3, whose handshakes and records
/// the protocol document lists.
pub(crate) fn transit_key() -> TransitKey {
    let bytes = hex::decode("d24e11c8f32da7f78c63415c8c9baf5174615dba93eadd5e69c7df1eb4c1b130")
        .expect("valid hex");
    TransitKey::from_bytes(bytes.try_into().expect("32 bytes"))
}
