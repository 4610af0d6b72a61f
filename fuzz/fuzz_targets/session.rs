//! The rendezvous state machine driven by a hostile server: a script of
//! server frames, some of them valid peer messages made with a real second
//! PAKE so the fuzzer reaches the states after key agreement.
//!
//! Each input line is one step: a line starting with `{` is a raw server frame
//! (decoded with `ServerMessage::decode`); `P` delivers the peer's real `pake`,
//! `V` its encrypted `version`, `M<phase byte><text>` an encrypted numeric
//! phase, `C` a `claimed`, `X<text>` a body that does not decrypt. The machine
//! must never panic and must never deliver a phase twice or out of order.
#![no_main]

use ferry_proto::code::Code;
use ferry_proto::crypto::kdf::SharedKey;
use ferry_proto::crypto::pake::Pake;
use ferry_proto::wire::mailbox::{ClientMessage, ServerMessage};
use ferry_proto::session::{Event, Session, SessionConfig};
use libfuzzer_sys::fuzz_target;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

const APPID: &str = "lothar.com/wormhole/text-or-file-xfer";
const CODE: &str = "4-purple-sausages";
const PEER: &str = "peerside00";

struct Peer {
    pake: Option<Pake>,
    body: Vec<u8>,
    key: Option<SharedKey>,
}

fuzz_target!(|data: &[u8]| {
    let config = SessionConfig {
        appid: APPID.into(),
        side: "ourside000".into(),
        app_versions: json!({}),
        client_version: ("ferry".into(), "fuzz".into()),
    };
    let mut session = Session::new(config, StdRng::seed_from_u64(7));
    session.set_code(Code::parse(CODE).expect("valid code"));
    let pake = Pake::start(CODE, APPID, StdRng::seed_from_u64(8));
    let body = pake.message_body();
    let mut peer = Peer {
        pake: Some(pake),
        body,
        key: None,
    };
    let mut delivered = Vec::new();
    for line in data.split(|&b| b == b'\n').take(64) {
        let Some(msg) = step(line, &mut peer) else {
            continue;
        };
        if session.handle(msg).is_err() {
            break;
        }
        drain(&mut session, &mut peer, &mut delivered);
    }
});

/// Turns one script line into a server frame.
fn step(line: &[u8], peer: &mut Peer) -> Option<ServerMessage> {
    let (&op, rest) = line.split_first()?;
    match op {
        b'{' => ServerMessage::decode(std::str::from_utf8(line).ok()?).ok(),
        b'P' => Some(message("pake", hex::encode(&peer.body))),
        b'C' => Some(ServerMessage::Claimed {
            mailbox: "mb".into(),
        }),
        b'V' => sealed(peer, "version", br#"{"app_versions": {}}"#),
        b'M' => {
            let (&n, text) = rest.split_first()?;
            sealed(peer, &(n % 8).to_string(), text)
        }
        b'X' => Some(message("0", hex::encode(rest))),
        _ => None,
    }
}

fn sealed(peer: &Peer, phase: &str, plaintext: &[u8]) -> Option<ServerMessage> {
    let key = peer.key.as_ref()?;
    let body = key.phase_key(PEER, phase).seal(&[3; 24], plaintext);
    Some(message(phase, hex::encode(body)))
}

fn message(phase: &str, body: String) -> ServerMessage {
    ServerMessage::Message {
        side: PEER.into(),
        phase: phase.into(),
        body,
        id: None,
    }
}

/// Reads what the machine wants to send (our `pake` gives the peer its key)
/// and checks what it delivers.
fn drain(session: &mut Session<StdRng>, peer: &mut Peer, delivered: &mut Vec<Vec<u8>>) {
    while let Some(out) = session.poll_transmit() {
        if let ClientMessage::Add { phase, body } = out {
            if phase == "pake" {
                if let (Some(p), Ok(ours)) = (peer.pake.take(), hex::decode(&body)) {
                    peer.key = p.finish(&ours).ok().map(|k| k.standard);
                }
            }
        }
    }
    while let Some(event) = session.poll_event() {
        if let Event::Message(m) = event {
            delivered.push(m);
            assert!(delivered.len() <= 8, "more phases delivered than sent");
        }
    }
}
