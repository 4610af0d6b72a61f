//! Bencode as it arrives in a `.torrent` file or from a peer: `decode` takes any bytes.
//! The decoder accepts only canonical bencode, so whatever it accepts must encode back
//! to exactly the input.
#![no_main]

use ferry_proto::torrent::bencode::{decode, Bencode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode(data) {
        assert_eq!(Bencode::from(&value).encode(), data, "not canonical");
    }
});
