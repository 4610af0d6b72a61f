//! A magnet link pasted by a user or found on a web page: `Magnet::parse` takes any
//! text. What it accepts, written back out (and still within the
//! length bound), must parse to the same link.
#![no_main]

use ferry_proto::torrent::magnet::{Magnet, MAX_LINK};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(link) = Magnet::parse(text) else { return };
    let written = link.to_uri();
    // Escaping may lengthen a link past the bound the parser keeps.
    if written.len() > MAX_LINK {
        return;
    }
    let again = Magnet::parse(&written).expect("our own link parses");
    assert_eq!(again, link);
});
