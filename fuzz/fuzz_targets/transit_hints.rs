//! The peer's `transit` message: hints are decoded one by one, bad ones dropped.
#![no_main]

use ferry_proto::transit::hints::{Hint, TransitMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = serde_json::from_slice::<TransitMessage>(data) else {
        return;
    };
    let hints = msg.usable_hints();
    let _ = msg.peer_can_relay();
    for hint in &hints {
        let endpoints = match hint {
            Hint::Direct(d) => std::slice::from_ref(d),
            Hint::Relay(inner) => {
                assert!(!inner.is_empty(), "empty relay hint kept");
                inner.as_slice()
            }
        };
        for d in endpoints {
            assert!(d.port != 0 && !d.hostname.is_empty() && d.hostname.len() <= 255);
        }
    }
    // What we accept, we can send on: rebuilding keeps every usable hint.
    let rebuilt = TransitMessage::build(true, true, &hints);
    let text = serde_json::to_vec(&rebuilt).expect("hints encode");
    let back: TransitMessage = serde_json::from_slice(&text).expect("hints decode");
    assert_eq!(back.usable_hints().len(), hints.len());
});
