//! The peer's `pake` body: `Pake::finish` gets it before any key exists.
#![no_main]

use ferry_proto::crypto::pake::Pake;
use libfuzzer_sys::fuzz_target;
use rand::rngs::StdRng;
use rand::SeedableRng;

const APPID: &str = "lothar.com/wormhole/text-or-file-xfer";

fuzz_target!(|data: &[u8]| {
    let ours = Pake::start("4-purple-sausages", APPID, StdRng::seed_from_u64(1));
    let own_message = ours.message_body();
    let result = ours.finish(data);
    // Our own message reflected back must never yield a key.
    if data == own_message.as_slice() {
        assert!(result.is_err(), "reflected PAKE message accepted");
    }
});
