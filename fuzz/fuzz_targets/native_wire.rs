//! The native ferry-to-ferry protocol: binary frames from the peer
//! (`native::wire::decode`), the manifest they build, the native mailbox
//! message, and the resume state read back from disk.
#![no_main]

use ferry_proto::native::manifest::ManifestBuilder;
use ferry_proto::native::negotiate::MailboxMessage;
use ferry_proto::native::resume::ResumeState;
use ferry_proto::native::wire::{decode, Frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => frames(rest),
        1 => {
            if let Ok(m) = MailboxMessage::decode(rest) {
                assert!(MailboxMessage::decode(&m.encode()).is_ok());
            }
        }
        _ => {
            if let Some(state) = ResumeState::decode(rest) {
                assert!(ResumeState::decode(&state.encode()).is_some());
            }
        }
    }
});

/// Records of `u16` length, each one frame, as a receiver reads them.
fn frames(mut data: &[u8]) {
    let mut manifest = Some(ManifestBuilder::new());
    while let Some((len, rest)) = data.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(rest.len());
        let (record, tail) = rest.split_at(len);
        data = tail;
        let Ok(frame) = decode(record) else {
            continue;
        };
        let again = frame.encode();
        assert_eq!(
            decode(&again).as_ref(),
            Ok(&frame),
            "frame does not round-trip"
        );
        match frame {
            Frame::Entries(entries) => {
                for e in entries {
                    if let Some(b) = manifest.as_mut() {
                        if b.push(e).is_err() {
                            manifest = None;
                        }
                    }
                }
            }
            Frame::ManifestEnd(totals) => {
                if let Some(b) = manifest.take() {
                    let _ = b.finish(totals);
                }
            }
            _ => {}
        }
    }
}
