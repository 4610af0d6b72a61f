//! Mailbox server frames: `ServerMessage::decode` takes whatever text a server
//! (or someone in the middle of a `ws://` connection) sends.
#![no_main]

use ferry_proto::wire::mailbox::ServerMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(msg) = ServerMessage::decode(text) {
        // What decoded must encode again (the test server and logs rely on it).
        let again = serde_json::to_string(&msg).expect("a decoded message encodes");
        let _ = ServerMessage::decode(&again).expect("an encoded message decodes");
    }
});
