use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

fn frame(message: &Message) -> Vec<u8> {
    let mut out = BytesMut::new();
    message.encode(&mut out);
    out.to_vec()
}

fn decode_all(bytes: &[u8]) -> Result<Vec<Message>, WireError> {
    let mut deframer = Deframer::default();
    deframer.buffer().extend_from_slice(bytes);
    let mut out = Vec::new();
    while let Some(m) = deframer.next()? {
        out.push(m);
    }
    Ok(out)
}

const B: BlockRef = BlockRef {
    index: 1,
    begin: 0x4000,
    length: 0x4000,
};

#[test]
fn known_bytes() {
    let cases: Vec<(Message, &[u8])> = vec![
        (Message::KeepAlive, b"\0\0\0\0"),
        (Message::Choke, b"\0\0\0\x01\x00"),
        (Message::Unchoke, b"\0\0\0\x01\x01"),
        (Message::Interested, b"\0\0\0\x01\x02"),
        (Message::NotInterested, b"\0\0\0\x01\x03"),
        (Message::Have(42), b"\0\0\0\x05\x04\0\0\0\x2a"),
        (
            Message::Bitfield(Bytes::from_static(b"\xf0")),
            b"\0\0\0\x02\x05\xf0",
        ),
        (
            Message::Request(B),
            b"\0\0\0\x0d\x06\0\0\0\x01\0\0\x40\0\0\0\x40\0",
        ),
        (
            Message::Piece {
                index: 1,
                begin: 2,
                data: Bytes::from_static(b"ab"),
            },
            b"\0\0\0\x0b\x07\0\0\0\x01\0\0\0\x02ab",
        ),
        (
            Message::Cancel(B),
            b"\0\0\0\x0d\x08\0\0\0\x01\0\0\x40\0\0\0\x40\0",
        ),
        (Message::Port(6881), b"\0\0\0\x03\x09\x1a\xe1"),
        (Message::Suggest(3), b"\0\0\0\x05\x0d\0\0\0\x03"),
        (Message::HaveAll, b"\0\0\0\x01\x0e"),
        (Message::HaveNone, b"\0\0\0\x01\x0f"),
        (
            Message::Reject(B),
            b"\0\0\0\x0d\x10\0\0\0\x01\0\0\x40\0\0\0\x40\0",
        ),
        (Message::AllowedFast(7), b"\0\0\0\x05\x11\0\0\0\x07"),
        (
            Message::Extended {
                id: 0,
                payload: Bytes::from_static(b"de"),
            },
            b"\0\0\0\x04\x14\x00de",
        ),
    ];
    for (message, bytes) in cases {
        assert_eq!(frame(&message), bytes, "{message:?}");
        assert_eq!(decode_all(bytes).unwrap(), vec![message]);
    }
}

#[test]
fn hash_messages_round_trip() {
    let request = HashRequest {
        pieces_root: [9; 32],
        base_layer: 0,
        index: 0,
        length: 2,
        proof_layers: 1,
    };
    let hashes = Bytes::from(vec![1u8; 96]);
    for m in [
        Message::HashRequest(request),
        Message::HashReject(request),
        Message::Hashes { request, hashes },
    ] {
        let bytes = frame(&m);
        assert_eq!(bytes[5..37], [9; 32]);
        assert_eq!(decode_all(&bytes).unwrap(), vec![m]);
    }
    let mut ragged = frame(&Message::HashRequest(request));
    ragged[3] += 31; // a `hashes` with 31 stray bytes
    ragged[4] = 22;
    ragged.extend([0; 31]);
    assert!(matches!(
        decode_all(&ragged),
        Err(WireError::BadLength { id: 22, len: 79 })
    ));
}

#[test]
fn piece_header_matches_the_encoder() {
    let data = Bytes::from_static(b"xyz");
    let whole = frame(&Message::Piece {
        index: 5,
        begin: 6,
        data,
    });
    assert_eq!(piece_header(5, 6, 3), whole[..13]);
}

#[test]
fn payload_is_a_slice_of_the_read_buffer() {
    let bytes = frame(&Message::Piece {
        index: 0,
        begin: 0,
        data: Bytes::from(vec![7; 100]),
    });
    let mut deframer = Deframer::default();
    deframer.buffer().extend_from_slice(&bytes);
    let base = deframer.buffer().as_ptr() as usize;
    let Some(Message::Piece { data, .. }) = deframer.next().unwrap() else {
        panic!()
    };
    assert_eq!(data.as_ptr() as usize, base + 13, "copied");
}

#[test]
fn refuses_wrong_sizes_and_unknown_ids() {
    assert_eq!(
        decode_all(b"\0\0\0\x02\x00\x00"),
        Err(WireError::BadLength { id: 0, len: 1 })
    );
    assert_eq!(
        decode_all(b"\0\0\0\x04\x04\0\0\0"),
        Err(WireError::BadLength { id: 4, len: 3 })
    );
    assert_eq!(
        decode_all(b"\0\0\0\x05\x07\0\0\0\0"),
        Err(WireError::BadLength { id: 7, len: 4 })
    );
    assert_eq!(
        decode_all(b"\0\0\0\x01\x14"),
        Err(WireError::BadLength { id: 20, len: 0 })
    );
    assert_eq!(decode_all(b"\0\0\0\x01\x0a"), Err(WireError::UnknownId(10)));
    assert_eq!(
        decode_all(b"\0\0\0\x01\xff"),
        Err(WireError::UnknownId(255))
    );
}

#[test]
fn refuses_a_huge_frame_from_its_prefix() {
    let mut deframer = Deframer::default();
    deframer
        .buffer()
        .extend_from_slice(&(DEFAULT_MAX_FRAME + 1).to_be_bytes());
    assert_eq!(
        deframer.next(),
        Err(WireError::TooLong {
            len: DEFAULT_MAX_FRAME + 1,
            max: DEFAULT_MAX_FRAME
        })
    );
    assert!(deframer.buffer().capacity() < 1024, "buffered for it");
}

#[test]
fn reassembles_byte_by_byte() {
    let mut stream = frame(&Message::Have(1));
    stream.extend(frame(&Message::KeepAlive));
    stream.extend(frame(&Message::Request(B)));
    let mut deframer = Deframer::default();
    let mut got = Vec::new();
    for byte in stream {
        assert!(deframer.wanted() >= 1);
        deframer.buffer().extend_from_slice(&[byte]);
        while let Some(m) = deframer.next().unwrap() {
            got.push(m);
        }
    }
    assert_eq!(
        got,
        vec![Message::Have(1), Message::KeepAlive, Message::Request(B)]
    );
    assert_eq!(deframer.wanted(), 4);
}

#[test]
fn bitfields() {
    let field = Bitfield::from_wire(&[0b1010_0000], 3).unwrap();
    assert!(field.has(0) && !field.has(1) && field.has(2) && !field.has(3));
    assert_eq!(field.count(), 2);
    assert_eq!(
        Bitfield::from_wire(&[0b1010_0001], 3),
        Err(WireError::BitfieldSpareBits(3))
    );
    assert_eq!(
        Bitfield::from_wire(&[0, 0], 3),
        Err(WireError::BitfieldSize { got: 2, pieces: 3 })
    );
    assert_eq!(Bitfield::from_wire(&[0xff], 8).unwrap().count(), 8);
    assert_eq!(Bitfield::full(10).as_bytes(), &[0xff, 0xc0]);
    let mut empty = Bitfield::empty(10);
    assert!(!empty.set(10));
    assert!(empty.set(9) && empty.has(9));
}

fn any_message() -> impl Strategy<Value = Message> {
    let block =
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(index, begin, length)| BlockRef {
            index,
            begin,
            length,
        });
    let bytes = proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from);
    prop_oneof![
        Just(Message::KeepAlive),
        Just(Message::HaveNone),
        any::<u32>().prop_map(Message::Have),
        any::<u16>().prop_map(Message::Port),
        block.clone().prop_map(Message::Request),
        block.prop_map(Message::Reject),
        bytes.clone().prop_map(Message::Bitfield),
        (any::<u32>(), any::<u32>(), bytes.clone())
            .prop_map(|(index, begin, data)| Message::Piece { index, begin, data }),
        (any::<u8>(), bytes).prop_map(|(id, payload)| Message::Extended { id, payload }),
    ]
}

proptest! {
    #[test]
    fn any_stream_round_trips(messages in proptest::collection::vec(any_message(), 0..8), cut in 0usize..200) {
        let stream: Vec<u8> = messages.iter().flat_map(frame).collect();
        let cut = cut.min(stream.len());
        let mut deframer = Deframer::default();
        let mut got = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            deframer.buffer().extend_from_slice(part);
            while let Some(m) = deframer.next().unwrap() {
                got.push(m);
            }
        }
        prop_assert_eq!(got, messages);
    }

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = decode_all(&bytes);
    }
}
