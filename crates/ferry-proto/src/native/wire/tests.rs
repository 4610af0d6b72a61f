use proptest::prelude::*;

use super::*;

fn entry(path: &str, kind: EntryKind) -> Entry {
    Entry {
        path: SafeRelativePath::parse(path).unwrap(),
        kind,
        mode: 0o644,
        mtime: Mtime {
            secs: 1_700_000_000,
            nanos: 5,
        },
    }
}

fn samples() -> Vec<Frame<'static>> {
    vec![
        Frame::Entries(vec![
            entry("d", EntryKind::Dir),
            entry("d/é.txt", EntryKind::File { size: 3 }),
        ]),
        Frame::ManifestEnd(Totals {
            entries: 2,
            files: 1,
            bytes: 3,
        }),
        Frame::Accept,
        Frame::Reject("no thanks".into()),
        Frame::Batch { first: 0, count: 1 },
        Frame::Tree {
            file: 0,
            root: [7; 32],
            total: 2,
            start: 0,
            cvs: vec![[1; 32], [2; 32]],
        },
        Frame::Wants(vec![Want {
            file: 0,
            ranges: vec![(0, 1), (5, 9)],
        }]),
        Frame::Fresh(vec![(0, 2), (4, 5)]),
        Frame::Stream { first: 2, count: 3 },
        Frame::Root {
            file: 2,
            root: [9; 32],
        },
        Frame::Data {
            file: 0,
            group: 1,
            bytes: b"abc",
        },
        Frame::Checkpoint(3),
        Frame::Ack(3),
        Frame::BatchEnd,
        Frame::KeepAlive,
        Frame::Done(Totals {
            entries: 2,
            files: 1,
            bytes: 3,
        }),
        Frame::Error {
            code: ErrorCode::Integrity,
            message: "bad".into(),
        },
    ]
}

#[test]
fn every_frame_round_trips() {
    for frame in samples() {
        let bytes = frame.encode();
        assert_eq!(decode(&bytes).unwrap(), frame, "{}", frame.name());
    }
}

/// The exact bytes of a few frames, so the format cannot drift by accident.
#[test]
fn wire_snapshots() {
    let hex = |f: Frame<'_>| hex::encode(f.encode());
    assert_eq!(
        hex(Frame::Entries(vec![entry(
            "d/é",
            EntryKind::File { size: 3 }
        )])),
        "01000101000464_2fc3a9_01a4_000000006553f100_00000005_0000000000000003".replace('_', "")
    );
    assert_eq!(
        hex(Frame::Data {
            file: 1,
            group: 2,
            bytes: b"x"
        }),
        "20000000010000000278"
    );
    assert_eq!(hex(Frame::Checkpoint(258)), "210000000000000102");
    assert_eq!(hex(Frame::KeepAlive), "40");
    assert_eq!(
        hex(Frame::Wants(vec![Want {
            file: 4,
            ranges: vec![(1, 3)]
        }])),
        "12_00000001_00000004_00000001_00000001_00000003".replace('_', "")
    );
    assert_eq!(
        hex(Frame::Fresh(vec![(0, 2)])),
        "05_00000001_00000000_00000002".replace('_', "")
    );
    assert_eq!(
        hex(Frame::Stream { first: 1, count: 2 }),
        "13_00000001_00000002".replace('_', "")
    );
    assert_eq!(
        hex(Frame::Root {
            file: 3,
            root: [0xab; 32]
        }),
        format!("14_00000003_{}", "ab".repeat(32)).replace('_', "")
    );
    assert_eq!(
        hex(Frame::Error {
            code: ErrorCode::Refused,
            message: "no".into()
        }),
        "7f0400026e6f"
    );
}

#[test]
fn refuses_malformed_frames() {
    assert_eq!(decode(&[]), Err(WireError::Truncated));
    assert_eq!(decode(&[0x55]), Err(WireError::UnknownType(0x55)));
    assert_eq!(decode(&[0x03, 0]), Err(WireError::Trailing));
    assert_eq!(decode(&[0x21, 0, 0]), Err(WireError::Truncated));
    // A path that is not in normal form ("a//b") or escapes ("../x").
    for path in ["a//b", "../x", "/abs"] {
        let mut f = vec![0x01, 0, 1, 0];
        f.extend_from_slice(&(path.len() as u16).to_be_bytes());
        f.extend_from_slice(path.as_bytes());
        f.extend_from_slice(&[0; 14]);
        assert!(decode(&f).is_err(), "{path}");
    }
    // A hash list that is not a whole number of hashes.
    let mut tree = Frame::Tree {
        file: 0,
        root: [0; 32],
        total: 1,
        start: 0,
        cvs: vec![[0; 32]],
    }
    .encode();
    tree.pop();
    assert!(decode(&tree).is_err());
    // A WANTS frame that claims a huge count but has no bytes for it.
    assert_eq!(
        decode(&[0x12, 0xff, 0xff, 0xff, 0xff]),
        Err(WireError::Truncated)
    );
    assert_eq!(
        decode(&[0x05, 0xff, 0xff, 0xff, 0xff]),
        Err(WireError::Truncated)
    );
    assert_eq!(decode(&[0x14, 0, 0, 0, 1, 7]), Err(WireError::Truncated));
}

#[test]
fn long_messages_are_cut_on_a_character_boundary() {
    let long = "é".repeat(2000);
    let Frame::Reject(back) = decode(&Frame::Reject(long).encode()).unwrap() else {
        panic!()
    };
    assert_eq!(back.len(), MAX_MESSAGE_LEN);
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn decode_never_panics_on_known_types(t in prop::sample::select(vec![1u8, 2, 4, 5, 0x10, 0x11, 0x12, 0x13, 0x14, 0x20, 0x7f]),
                                          rest in prop::collection::vec(any::<u8>(), 0..120)) {
        let mut bytes = vec![t];
        bytes.extend(rest);
        let _ = decode(&bytes);
    }
}
