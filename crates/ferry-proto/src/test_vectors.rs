//! Test-only access to the known-answer vectors in `test-vectors/`, shared by the
//! unit tests of every module that checks against them.

use serde_json::Value;

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
