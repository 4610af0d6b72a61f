//! Both ends of every mailbox frame: exact bytes of what the server writes, and
//! each frame decoded by the other end.

use serde_json::{json, Value};

use super::*;

fn envelope(message: ClientMessage, id: Option<&str>) -> ClientEnvelope {
    ClientEnvelope {
        message,
        id: id.map(str::to_owned),
    }
}

#[test]
fn bind_encodes_with_type_and_id() {
    let env = envelope(
        ClientMessage::Bind {
            appid: "a".into(),
            side: "0123456789".into(),
            client_version: Some(("ferry".into(), "0.1.0".into())),
        },
        Some("beef"),
    );
    let v: Value = serde_json::from_str(&env.encode()).unwrap();
    assert_eq!(v["type"], "bind");
    assert_eq!(v["id"], "beef");
    assert_eq!(v["client_version"], json!(["ferry", "0.1.0"]));
}

#[test]
fn close_without_mood_omits_fields() {
    let env = envelope(
        ClientMessage::Close {
            mailbox: None,
            mood: None,
        },
        None,
    );
    assert_eq!(env.encode(), r#"{"type":"close"}"#);
}

/// Every command the client can write, and what the server reads in it.
fn client_commands() -> Vec<(ClientMessage, Command)> {
    let given = |s: &str| Field::Given(s.to_owned());
    vec![
        (
            ClientMessage::Bind {
                appid: "app".into(),
                side: "side".into(),
                client_version: Some(("ferry".into(), "1".into())),
            },
            Command::Bind {
                appid: given("app"),
                side: given("side"),
            },
        ),
        (ClientMessage::List, Command::List),
        (ClientMessage::Allocate, Command::Allocate),
        (
            ClientMessage::Claim {
                nameplate: "4".into(),
            },
            Command::Claim {
                nameplate: given("4"),
            },
        ),
        (
            ClientMessage::Release { nameplate: None },
            Command::Release {
                nameplate: Field::Missing,
            },
        ),
        (
            ClientMessage::Release {
                nameplate: Some("4".into()),
            },
            Command::Release {
                nameplate: given("4"),
            },
        ),
        (
            ClientMessage::Open {
                mailbox: "mb".into(),
            },
            Command::Open {
                mailbox: given("mb"),
            },
        ),
        (
            ClientMessage::Add {
                phase: "pake".into(),
                body: "00ff".into(),
            },
            Command::Add {
                phase: given("pake"),
                body: given("00ff"),
            },
        ),
        (
            ClientMessage::Close {
                mailbox: Some("mb".into()),
                mood: Some(Mood::Happy),
            },
            Command::Close {
                mailbox: given("mb"),
                mood: given("happy"),
            },
        ),
        (
            ClientMessage::Close {
                mailbox: None,
                mood: None,
            },
            Command::Close {
                mailbox: Field::Missing,
                mood: Field::Missing,
            },
        ),
        (
            ClientMessage::Ping { ping: 7 },
            Command::Ping {
                ping: Some(json!(7)),
            },
        ),
    ]
}

#[test]
fn the_server_reads_every_client_command() {
    for (message, command) in client_commands() {
        for id in [Some("beef"), None] {
            let text = envelope(message.clone(), id).encode();
            let frame = ClientFrame::decode(text.as_bytes()).unwrap();
            assert_eq!(frame.command, command, "{text}");
            assert_eq!(frame.string_id(), id, "{text}");
            assert_eq!(
                Value::Object(frame.orig),
                serde_json::from_str::<Value>(&text).unwrap()
            );
        }
    }
}

#[test]
fn frames_that_are_no_command() {
    for bad in [&b"[1]"[..], b"\"bind\"", b"{", b"", b"\xff", b"null"] {
        assert_eq!(ClientFrame::decode(bad), Err(FrameError::NotJsonObject));
    }
    let Err(FrameError::MissingType { orig }) = ClientFrame::decode(br#"{"id": "0003"}"#) else {
        panic!("not refused for its type")
    };
    assert_eq!(Value::Object(orig), json!({"id": "0003"}));
}

#[test]
fn unknown_and_non_string_types() {
    for text in [
        r#"{"type": "bogus"}"#,
        r#"{"type": 5}"#,
        r#"{"type": null}"#,
    ] {
        let frame = ClientFrame::decode(text.as_bytes()).unwrap();
        assert_eq!(frame.command, Command::Unknown, "{text}");
    }
}

#[test]
fn fields_tell_missing_from_wrong_type() {
    let frame = ClientFrame::decode(br#"{"type": "add", "phase": 3, "id": 12}"#).unwrap();
    assert_eq!(
        frame.command,
        Command::Add {
            phase: Field::NotAString,
            body: Field::Missing,
        }
    );
    // The ack echoes any id; only a string id is stored with a message.
    assert_eq!(frame.id, Some(json!(12)));
    assert_eq!(frame.string_id(), None);
    let ping = ClientFrame::decode(br#"{"type": "ping", "ping": {"x": [1]}}"#).unwrap();
    assert_eq!(
        ping.command,
        Command::Ping {
            ping: Some(json!({"x": [1]}))
        }
    );
    assert_eq!(Field::Given("a".into()).as_str(), Some("a"));
    assert!(Field::Missing.is_missing() && Field::NotAString.as_str().is_none());
}

const TX: f64 = 1700000000.25;

/// What the server's frames borrow.
struct Fixtures {
    id: Value,
    orig: Value,
    pong: Value,
    names: [String; 2],
}

fn fixtures() -> Fixtures {
    Fixtures {
        id: json!("beef"),
        orig: json!({"type": "claim", "nameplate": "5", "id": "cc01"}),
        pong: json!(7),
        names: ["1".to_owned(), "23".to_owned()],
    }
}

/// Every frame the server writes, with its exact bytes as ferry has always
/// written them.
fn server_frames(f: &Fixtures) -> Vec<(ServerFrame<'_>, &'static str)> {
    let (id, orig, pong, names) = (&f.id, &f.orig, &f.pong, &f.names);
    let v4 = "127.0.0.1:5".parse().unwrap();
    let v6 = "[::1]:6".parse().unwrap();
    vec![
        (
            ServerFrame::Welcome {
                motd: Some("hi"),
                error: None,
                web: None,
                you: v4,
            },
            r#"{"server_tx":1700000000.25,"type":"welcome","welcome":{"motd":"hi","your-address":{"ipv4":"127.0.0.1","port":5}}}"#,
        ),
        (
            ServerFrame::Welcome {
                motd: Some("hi"),
                error: Some("go away"),
                web: None,
                you: v6,
            },
            r#"{"server_tx":1700000000.25,"type":"welcome","welcome":{"error":"go away","motd":"hi","your-address":{"ipv6":"::1","port":6}}}"#,
        ),
        (
            ServerFrame::Welcome {
                motd: None,
                error: None,
                web: None,
                you: v4,
            },
            r#"{"server_tx":1700000000.25,"type":"welcome","welcome":{"your-address":{"ipv4":"127.0.0.1","port":5}}}"#,
        ),
        (
            ServerFrame::Welcome {
                motd: Some("hi"),
                error: None,
                web: Some("http://h:4000/"),
                you: v4,
            },
            r#"{"server_tx":1700000000.25,"type":"welcome","welcome":{"ferry-web":"http://h:4000/","motd":"hi","your-address":{"ipv4":"127.0.0.1","port":5}}}"#,
        ),
        (
            ServerFrame::Ack { id: Some(id) },
            r#"{"type":"ack","id":"beef","server_tx":1700000000.25}"#,
        ),
        (
            ServerFrame::Ack { id: None },
            r#"{"type":"ack","id":null,"server_tx":1700000000.25}"#,
        ),
        (
            ServerFrame::Nameplates { nameplates: names },
            r#"{"nameplates":[{"id":"1"},{"id":"23"}],"server_tx":1700000000.25,"type":"nameplates"}"#,
        ),
        (
            ServerFrame::Nameplates { nameplates: &[] },
            r#"{"nameplates":[],"server_tx":1700000000.25,"type":"nameplates"}"#,
        ),
        (
            ServerFrame::Allocated { nameplate: "12" },
            r#"{"nameplate":"12","server_tx":1700000000.25,"type":"allocated"}"#,
        ),
        (
            ServerFrame::Claimed { mailbox: "mb" },
            r#"{"mailbox":"mb","server_tx":1700000000.25,"type":"claimed"}"#,
        ),
        (
            ServerFrame::Released,
            r#"{"server_tx":1700000000.25,"type":"released"}"#,
        ),
        (
            ServerFrame::Message {
                side: "s",
                phase: "pake",
                body: "00",
                server_rx: 1.5,
                id: Some("add0"),
            },
            r#"{"type":"message","side":"s","phase":"pake","body":"00","server_rx":1.5,"id":"add0","server_tx":1700000000.25}"#,
        ),
        (
            ServerFrame::Message {
                side: "s",
                phase: "0",
                body: "",
                server_rx: 2.0,
                id: None,
            },
            r#"{"type":"message","side":"s","phase":"0","body":"","server_rx":2.0,"id":null,"server_tx":1700000000.25}"#,
        ),
        (
            ServerFrame::Closed,
            r#"{"server_tx":1700000000.25,"type":"closed"}"#,
        ),
        (
            ServerFrame::Pong { pong },
            r#"{"pong":7,"server_tx":1700000000.25,"type":"pong"}"#,
        ),
        (
            ServerFrame::Error {
                error: "crowded",
                orig,
            },
            r#"{"error":"crowded","orig":{"id":"cc01","nameplate":"5","type":"claim"},"server_tx":1700000000.25,"type":"error"}"#,
        ),
    ]
}

#[test]
fn server_frames_exact_bytes() {
    let f = fixtures();
    for (frame, bytes) in server_frames(&f) {
        assert_eq!(frame.encode(TX), bytes, "{frame:?}");
    }
}

/// What the client makes of a frame the server wrote.
fn seen_by_client(frame: &ServerFrame<'_>) -> ServerMessage {
    let s = str::to_owned;
    match *frame {
        ServerFrame::Welcome {
            motd, error, web, ..
        } => ServerMessage::Welcome {
            welcome: Welcome {
                motd: motd.map(s),
                error: error.map(s),
                web: web.map(s),
            },
        },
        ServerFrame::Ack { id } => ServerMessage::Ack {
            id: id.and_then(Value::as_str).map(s),
        },
        ServerFrame::Nameplates { nameplates } => ServerMessage::Nameplates {
            nameplates: nameplates
                .iter()
                .map(|id| NameplateEntry { id: id.clone() })
                .collect(),
        },
        ServerFrame::Allocated { nameplate } => ServerMessage::Allocated {
            nameplate: s(nameplate),
        },
        ServerFrame::Claimed { mailbox } => ServerMessage::Claimed {
            mailbox: s(mailbox),
        },
        ServerFrame::Released => ServerMessage::Released,
        ServerFrame::Message {
            side,
            phase,
            body,
            id,
            ..
        } => ServerMessage::Message {
            side: s(side),
            phase: s(phase),
            body: s(body),
            id: id.map(s),
        },
        ServerFrame::Closed => ServerMessage::Closed,
        ServerFrame::Pong { pong } => ServerMessage::Pong {
            pong: pong.as_u64().unwrap_or_default(),
        },
        ServerFrame::Error { error, orig } => ServerMessage::Error {
            error: s(error),
            orig: orig.clone(),
        },
    }
}

#[test]
fn the_client_reads_every_server_frame() {
    let f = fixtures();
    for (frame, _) in server_frames(&f) {
        let decoded = ServerMessage::decode(&frame.encode(TX)).unwrap();
        assert_eq!(decoded, seen_by_client(&frame), "{frame:?}");
    }
}

#[test]
fn decodes_python_server_frames() {
    let w = r#"{"welcome": {"motd": "hi", "your-address": {"port": 1, "ipv4": "127.0.0.1"}}, "type": "welcome", "server_tx": 1.5}"#;
    let ServerMessage::Welcome { welcome } = ServerMessage::decode(w).unwrap() else {
        panic!("not a welcome")
    };
    assert_eq!(welcome.motd.as_deref(), Some("hi"));
    let m = r#"{"type": "message", "side": "abc", "phase": "pake", "body": "7b", "server_rx": 1.0, "id": null, "server_tx": 2.0}"#;
    assert!(matches!(
        ServerMessage::decode(m).unwrap(),
        ServerMessage::Message { .. }
    ));
    let e = r#"{"type": "error", "error": "crowded", "orig": {"type": "claim"}}"#;
    assert!(matches!(
        ServerMessage::decode(e).unwrap(),
        ServerMessage::Error { .. }
    ));
}

#[test]
fn unknown_server_type_is_tolerated() {
    let u = r#"{"type": "fancy-new-thing", "x": 1}"#;
    assert_eq!(ServerMessage::decode(u).unwrap(), ServerMessage::Unknown);
}
