//! Property tests for every decoder that reads server or peer input:
//! decoding never panics on anything, and what we encode decodes to itself.
//! (The fuzz targets in `fuzz/` push the same decoders much further.)

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::session::{Session, SessionConfig};
use ferry_proto::transfer::v1::{Answer, DirectoryOffer, Offer, PeerMessage, TransitAck};
use ferry_proto::transit::hints::{DirectHint, Hint, TransitMessage};
use ferry_proto::transit::record::{Opener, Sealer, MAX_RECORD_BODY, OVERHEAD};
use ferry_proto::transit::Role;
use ferry_proto::wire::mailbox::{
    ClientEnvelope, ClientFrame, ClientMessage, Command, FrameError, Mood, NameplateEntry,
    ServerMessage, Welcome,
};
use ferry_proto::wire::relay::RelayRequest;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "type",
            "message",
            "pake",
            "direct-tcp-v1",
            "relay-v1",
            "0"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Object keys the decoders look for, and others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type",
            "welcome",
            "motd",
            "error",
            "id",
            "side",
            "phase",
            "body",
            "mailbox",
            "nameplate",
            "nameplates",
            "pong",
            "orig",
            "offer",
            "answer",
            "transit",
            "file",
            "directory",
            "filename",
            "filesize",
            "hints-v1",
            "abilities-v1",
            "hints",
            "hostname",
            "port",
            "priority",
            "ack",
            "sha256",
            "message_ack",
            "file_ack",
        ])
        .prop_map(str::to_owned),
        "[a-z_-]{1,8}",
    ]
}

/// JSON objects whose `type` is one the server really sends.
fn server_like() -> impl Strategy<Value = Value> {
    typed_objects(vec![
        "welcome",
        "ack",
        "nameplates",
        "allocated",
        "claimed",
        "released",
        "message",
        "closed",
        "pong",
        "error",
        "bogus",
    ])
}

/// JSON objects whose `type` is a command the server knows.
fn client_like() -> impl Strategy<Value = Value> {
    typed_objects(vec![
        "bind", "list", "allocate", "claim", "release", "open", "add", "close", "ping", "bogus",
    ])
}

/// Arbitrary objects with one of these `type`s.
fn typed_objects(kinds: Vec<&'static str>) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(kinds),
        prop::collection::btree_map(key(), any_json(), 0..6),
    )
        .prop_map(|(kind, fields)| {
            let mut obj: serde_json::Map<String, Value> = fields.into_iter().collect();
            obj.insert("type".into(), kind.into());
            Value::Object(obj)
        })
}

fn text() -> impl Strategy<Value = String> {
    ".{0,20}"
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    let mood = prop::sample::select(vec![
        Mood::Happy,
        Mood::Lonely,
        Mood::Scary,
        Mood::Errory,
        Mood::Unwelcome,
    ]);
    prop_oneof![
        (text(), text(), prop::option::of((text(), text()))).prop_map(
            |(appid, side, client_version)| {
                ClientMessage::Bind {
                    appid,
                    side,
                    client_version,
                }
            }
        ),
        Just(ClientMessage::List),
        Just(ClientMessage::Allocate),
        text().prop_map(|nameplate| ClientMessage::Claim { nameplate }),
        prop::option::of(text()).prop_map(|nameplate| ClientMessage::Release { nameplate }),
        text().prop_map(|mailbox| ClientMessage::Open { mailbox }),
        (text(), "[0-9a-f]{0,40}").prop_map(|(phase, body)| ClientMessage::Add { phase, body }),
        (prop::option::of(text()), prop::option::of(mood))
            .prop_map(|(mailbox, mood)| ClientMessage::Close { mailbox, mood }),
        any::<u64>().prop_map(|ping| ClientMessage::Ping { ping }),
    ]
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(text())
        )
            .prop_map(|(motd, error, web)| ServerMessage::Welcome {
                welcome: Welcome { motd, error, web },
            }),
        prop::option::of(text()).prop_map(|id| ServerMessage::Ack { id }),
        prop::collection::vec(text(), 0..4).prop_map(|ids| ServerMessage::Nameplates {
            nameplates: ids.into_iter().map(|id| NameplateEntry { id }).collect(),
        }),
        text().prop_map(|nameplate| ServerMessage::Allocated { nameplate }),
        text().prop_map(|mailbox| ServerMessage::Claimed { mailbox }),
        Just(ServerMessage::Released),
        (text(), text(), text(), prop::option::of(text())).prop_map(|(side, phase, body, id)| {
            ServerMessage::Message {
                side,
                phase,
                body,
                id,
            }
        }),
        Just(ServerMessage::Closed),
        any::<u64>().prop_map(|pong| ServerMessage::Pong { pong }),
        // serde_json parses some floats one ulp off, so `orig` has none here.
        (text(), prop::option::of(text())).prop_map(|(error, kind)| ServerMessage::Error {
            error,
            orig: json!({ "type": kind }),
        }),
    ]
}

fn direct_hint() -> impl Strategy<Value = DirectHint> {
    (
        "[a-z0-9.:-]{1,40}",
        1..=u16::MAX,
        (0i32..8).prop_map(|p| f64::from(p) / 2.0),
    )
        .prop_map(|(hostname, port, priority)| DirectHint {
            hostname,
            port,
            priority,
        })
}

fn hint() -> impl Strategy<Value = Hint> {
    prop_oneof![
        direct_hint().prop_map(Hint::Direct),
        prop::collection::vec(direct_hint(), 1..4).prop_map(Hint::Relay),
    ]
}

fn peer_message() -> impl Strategy<Value = PeerMessage> {
    let offer = prop_oneof![
        text().prop_map(Offer::Message),
        (text(), any::<u64>()).prop_map(|(filename, filesize)| Offer::File { filename, filesize }),
        (text(), text(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(mode, dirname, zipsize, numbytes, numfiles)| {
                Offer::Directory(DirectoryOffer {
                    mode,
                    dirname,
                    zipsize,
                    numbytes,
                    numfiles,
                })
            }
        ),
    ];
    prop_oneof![
        offer.prop_map(PeerMessage::Offer),
        text().prop_map(|a| PeerMessage::Answer(Answer::MessageAck(a))),
        text().prop_map(|a| PeerMessage::Answer(Answer::FileAck(a))),
        text().prop_map(PeerMessage::Error),
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(hint(), 0..4)
        )
            .prop_map(|(d, r, hints)| PeerMessage::Transit(TransitMessage::build(d, r, &hints))),
    ]
}

fn transit_key() -> TransitKey {
    TransitKey::from_bytes([0x24; 32])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn server_decode_never_panics(s in ".{0,200}") {
        let _ = ServerMessage::decode(&s);
    }

    #[test]
    fn server_decode_never_panics_on_server_shapes(v in server_like()) {
        if let Ok(m) = ServerMessage::decode(&v.to_string()) {
            let again = serde_json::to_string(&m).expect("encodes");
            prop_assert!(ServerMessage::decode(&again).is_ok());
        }
    }

    #[test]
    fn server_messages_round_trip(m in server_message()) {
        let text = serde_json::to_string(&m).expect("encodes");
        prop_assert_eq!(ServerMessage::decode(&text).expect("decodes"), m);
    }

    #[test]
    fn client_envelopes_round_trip(message in client_message(), id in prop::option::of("[0-9a-f]{4}")) {
        let env = ClientEnvelope { message, id };
        let back: ClientEnvelope = serde_json::from_str(&env.encode()).expect("decodes");
        prop_assert_eq!(back, env);
    }

    #[test]
    fn client_frame_decode_never_panics(s in ".{0,200}", v in any_json()) {
        let _ = ClientFrame::decode(s.as_bytes());
        let _ = ClientFrame::decode(v.to_string().as_bytes());
    }

    #[test]
    fn client_frames_keep_what_the_server_echoes(v in client_like()) {
        // (compared with serde_json's own reading: it rounds some floats)
        let text = v.to_string();
        let frame = ClientFrame::decode(text.as_bytes()).expect("an object with a type");
        let parsed: Value = serde_json::from_str(&text).expect("JSON");
        prop_assert_eq!(frame.id.as_ref(), parsed.get("id"));
        prop_assert_eq!(Value::Object(frame.orig), parsed);
    }

    #[test]
    fn the_server_reads_what_the_client_writes(message in client_message(), id in prop::option::of("[0-9a-f]{4}")) {
        let env = ClientEnvelope { message, id };
        let frame = ClientFrame::decode(env.encode().as_bytes()).expect("decodes");
        prop_assert_eq!(frame.string_id(), env.id.as_deref());
        prop_assert!(frame.command != Command::Unknown);
    }

    #[test]
    fn objects_without_type_are_refused_whole(v in any_json()) {
        if let Value::Object(mut m) = v {
            m.remove("type");
            let text = Value::Object(m).to_string();
            let Ok(Value::Object(parsed)) = serde_json::from_str(&text) else {
                panic!("an object encodes to an object");
            };
            let refused = Err(FrameError::MissingType { orig: parsed });
            prop_assert_eq!(ClientFrame::decode(text.as_bytes()), refused);
        }
    }

    #[test]
    fn relay_lines_round_trip(token in "[0-9a-f]{64}", side in prop::option::of("[0-9a-zA-Z_]{16}")) {
        let req = RelayRequest { token, side };
        let line = req.encode();
        prop_assert_eq!(RelayRequest::decode_frame(&line), Some(req.clone()));
        prop_assert_eq!(RelayRequest::decode_line(&line[..line.len() - 1]), Some(req));
    }

    #[test]
    fn relay_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = RelayRequest::decode_line(&bytes);
        let _ = RelayRequest::decode_frame(&bytes);
    }

    #[test]
    fn hints_never_panic_and_drop_what_they_cannot_use(v in any_json()) {
        let wrapped = json!({"abilities-v1": [v.clone()], "hints-v1": [v.clone(), v]});
        if let Ok(msg) = serde_json::from_value::<TransitMessage>(wrapped) {
            for h in msg.usable_hints() {
                match h {
                    Hint::Direct(d) => prop_assert!(d.port != 0 && !d.hostname.is_empty()),
                    Hint::Relay(r) => prop_assert!(!r.is_empty()),
                }
            }
            let _ = msg.peer_can_relay();
        }
    }

    #[test]
    fn hints_round_trip(hints in prop::collection::vec(hint(), 0..6), direct: bool) {
        let msg = TransitMessage::build(direct, true, &hints);
        let back: TransitMessage =
            serde_json::from_str(&serde_json::to_string(&msg).expect("encodes")).expect("decodes");
        prop_assert_eq!(back.usable_hints(), hints);
        prop_assert!(back.peer_can_relay());
    }

    #[test]
    fn peer_messages_round_trip(m in peer_message()) {
        prop_assert_eq!(PeerMessage::decode(&m.encode()).expect("decodes"), m);
    }

    #[test]
    fn peer_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), v in any_json()) {
        let _ = PeerMessage::decode(&bytes);
        let _ = PeerMessage::decode(v.to_string().as_bytes());
        let _ = serde_json::from_value::<TransitAck>(v);
    }

    #[test]
    fn acks_confirm_exactly_their_digest(d in any::<[u8; 32]>(), other in any::<[u8; 32]>()) {
        let ack = TransitAck::ok(&d);
        let back: TransitAck =
            serde_json::from_slice(&serde_json::to_vec(&ack).expect("encodes")).expect("decodes");
        prop_assert!(back.confirms(&d));
        prop_assert_eq!(back.confirms(&other), d == other);
    }

    #[test]
    fn length_prefixes_are_bounded(prefix in any::<[u8; 4]>()) {
        match Opener::body_len(prefix) {
            Ok(len) => prop_assert!((OVERHEAD..=MAX_RECORD_BODY).contains(&len)),
            Err(_) => {
                let len = u32::from_be_bytes(prefix) as usize;
                prop_assert!(!(OVERHEAD..=MAX_RECORD_BODY).contains(&len));
            }
        }
    }

    #[test]
    fn records_open_in_order_only(
        plaintexts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..6),
        order in prop::collection::vec(0usize..6, 1..8),
    ) {
        let mut sealer = Sealer::new(&transit_key(), Role::Sender);
        let bodies: Vec<Vec<u8>> = plaintexts
            .iter()
            .map(|p| {
                let mut f = Vec::new();
                sealer.seal_frame(p, &mut f);
                prop_assert_eq!(Opener::body_len([f[0], f[1], f[2], f[3]]).ok(), Some(f.len() - 4));
                Ok(f[4..].to_vec())
            })
            .collect::<Result<_, TestCaseError>>()?;
        let mut opener = Opener::new(&transit_key(), Role::Receiver);
        for (expected, &pick) in order.iter().enumerate() {
            let index = pick % bodies.len();
            let mut body = bodies[index].clone();
            let opened = opener.open_in_place(&mut body);
            if index == expected {
                prop_assert!(opened.is_ok());
                prop_assert_eq!(&body[OVERHEAD..], plaintexts[index].as_slice());
            } else {
                prop_assert!(opened.is_err(), "record {} accepted as #{}", index, expected);
                break;
            }
        }
    }

    #[test]
    fn tampered_records_never_open(
        plaintext in prop::collection::vec(any::<u8>(), 0..64),
        bit in any::<prop::sample::Index>(),
    ) {
        let mut sealer = Sealer::new(&transit_key(), Role::Sender);
        let mut frame = Vec::new();
        sealer.seal_frame(&plaintext, &mut frame);
        let mut body = frame[4..].to_vec();
        let bit = bit.index(body.len() * 8);
        body[bit / 8] ^= 1 << (bit % 8);
        let mut opener = Opener::new(&transit_key(), Role::Receiver);
        prop_assert!(opener.open_in_place(&mut body).is_err());
    }

    #[test]
    fn session_survives_any_server(frames in prop::collection::vec(server_like(), 0..12), msgs in prop::collection::vec(server_message(), 0..12)) {
        let config = SessionConfig {
            appid: "lothar.com/wormhole/text-or-file-xfer".into(),
            side: "0123456789".into(),
            app_versions: json!({}),
            client_version: ("ferry".into(), "test".into()),
        };
        let mut session = Session::new(config, StdRng::seed_from_u64(1));
        session.set_code("4-purple-sausages".parse().expect("code"));
        let decoded = frames.iter().filter_map(|v| ServerMessage::decode(&v.to_string()).ok());
        for m in decoded.chain(msgs) {
            if session.handle(m).is_err() {
                break;
            }
            while session.poll_transmit().is_some() {}
            while session.poll_event().is_some() {}
        }
    }
}

mod localsend {
    use super::any_json;
    use ferry_proto::localsend::{decode, sender, OutgoingItem, Register, Scheme};
    use proptest::prelude::*;

    proptest! {
        /// Every LocalSend decoder takes any bytes and any JSON without panicking.
        #[test]
        fn localsend_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), v in any_json()) {
            let json = serde_json::to_vec(&v).expect("json");
            for body in [&bytes[..], &json[..]] {
                let _ = decode::announcement(body);
                let _ = decode::register(body);
                let _ = decode::device_info(body);
                let _ = decode::prepare_upload(body);
                let _ = decode::prepare_upload_response(body);
                let _ = decode::prepare_download_response(body);
                let _ = decode::error_message(body);
            }
        }

        /// What the sender builds, the receiver's decoder reads back unchanged.
        #[test]
        fn localsend_prepare_upload_round_trips(names in prop::collection::vec(".{0,40}", 0..8), text in ".{0,60}", size in any::<u64>()) {
            let mut items: Vec<OutgoingItem> = names.into_iter().map(|n| OutgoingItem::File {
                relative_name: n, size, sha256: None, modified: None,
            }).collect();
            items.push(OutgoingItem::Text(text));
            let info = Register {
                alias: "a".into(), version: "2.1".into(), device_model: None, device_type: None,
                fingerprint: String::new(), port: 1, protocol: Scheme::Http, download: true,
            };
            let req = sender::prepare_upload(info, &items);
            let wire = serde_json::to_vec(&req).expect("json");
            prop_assert_eq!(decode::prepare_upload(&wire), Ok(req));
        }
    }
}
