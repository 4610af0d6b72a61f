//! Decrypted v1 peer payloads (`PeerMessage::decode`) and the final transit ack.
#![no_main]

use ferry_proto::transfer::v1::{PeerMessage, TransitAck};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = PeerMessage::decode(data) {
        let encoded = msg.encode();
        let again = PeerMessage::decode(&encoded).expect("an encoded message decodes");
        // Hints hold arbitrary JSON (floats may not survive exactly); the rest must.
        if !matches!(msg, PeerMessage::Transit(_)) {
            assert_eq!(again, msg);
        }
    }
    if let Ok(ack) = serde_json::from_slice::<TransitAck>(data) {
        let digest = [0x5a; 32];
        if ack.confirms(&digest) {
            assert_eq!(ack.ack, "ok");
            if let Some(h) = &ack.sha256 {
                assert!(h.eq_ignore_ascii_case(&hex::encode(digest)));
            }
        }
    }
});
