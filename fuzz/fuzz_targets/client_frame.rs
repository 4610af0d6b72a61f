//! Client frames as the mailbox server reads them: `ClientFrame::decode` takes
//! whatever bytes a client (or anyone who reaches `ferry serve`) sends.
#![no_main]

use std::mem::discriminant;

use ferry_proto::wire::mailbox::{ClientFrame, FrameError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let frame = match ClientFrame::decode(data) {
        Ok(frame) => frame,
        Err(FrameError::MissingType { orig }) => {
            assert!(!orig.contains_key("type"), "refused a frame with a type");
            return;
        }
        Err(FrameError::NotJsonObject) => return,
    };
    // The ack echoes exactly the frame's id.
    assert_eq!(frame.id.as_ref(), frame.orig.get("id"));
    assert_eq!(
        frame.string_id(),
        frame.orig.get("id").and_then(Value::as_str)
    );
    // What the server echoes as `orig` reads back as the same kind of command
    // with the same id (not equal throughout: serde_json may round a float
    // differently on the second reading).
    let again = serde_json::to_vec(&frame.orig).expect("a decoded object encodes");
    let again = ClientFrame::decode(&again).expect("orig decodes again");
    assert_eq!(discriminant(&again.command), discriminant(&frame.command));
    assert_eq!(again.string_id(), frame.string_id());
});
