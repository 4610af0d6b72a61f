//! Exchanges whose shared element ends in a zero byte: two keys are possible
//! (the standard one and gospake2's), so our `version` waits for the peer's.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::tests::{messages, run, session, FakeServer, S};
use super::*;

const CODE: &str = "5-a-b";
const APPID: &str = "lothar.com/wormhole/text-or-file-xfer";

/// Seeds for sides a and b whose exchange also gives a gospake2 key (about
/// one pair in 256: the search is short and deterministic).
fn ambiguous_seeds() -> (u64, u64) {
    let body = |seed| Pake::start(CODE, APPID, StdRng::seed_from_u64(seed)).message_body();
    (2..2000)
        .find(|b| {
            let a = Pake::start(CODE, APPID, StdRng::seed_from_u64(1));
            a.finish(&body(*b)).expect("finish").gospake2.is_some()
        })
        .map(|b| (1, b))
        .expect("an ambiguous pair among 2000 seeds")
}

fn keys(seeds: (u64, u64)) -> Keys {
    let a = Pake::start(CODE, APPID, StdRng::seed_from_u64(seeds.0));
    let b = Pake::start(CODE, APPID, StdRng::seed_from_u64(seeds.1));
    a.finish(&b.message_body()).expect("keys")
}

fn empty_server() -> FakeServer {
    FakeServer {
        log: Vec::new(),
        opened: [false; 2],
        history: Vec::new(),
    }
}

fn verifier(events: &[Event]) -> Option<[u8; 32]> {
    events.iter().find_map(|e| match e {
        Event::Verified { verifier, .. } => Some(*verifier),
        _ => None,
    })
}

/// Two ferries in the ambiguous case both wait; once the driver's patience
/// runs out each sends under the standard key, and the session goes on.
#[test]
fn two_waiting_ferries_agree_on_the_standard_key_after_the_patience() {
    let seeds = ambiguous_seeds();
    let mut s = [
        session("aaaaaaaaaa", seeds.0),
        session("bbbbbbbbbb", seeds.1),
    ];
    let code = Code::parse(CODE).expect("code");
    s[0].set_code(code.clone());
    s[1].set_code(code);
    s[0].send(b"offer".to_vec());
    let mut server = empty_server();
    let [a, b] = run(&mut s, &mut server);
    assert!(s[0].version_held() && s[1].version_held());
    assert_eq!((verifier(&a.0), verifier(&b.0)), (None, None));
    s[0].send_version();
    s[1].send_version();
    let [a, b] = run(&mut s, &mut server);
    assert_eq!((&a.1, &b.1), (&None, &None));
    let standard = keys(seeds).standard.verifier();
    assert_eq!(verifier(&a.0), Some(standard));
    assert_eq!(verifier(&b.0), Some(standard));
    assert_eq!(messages(&b.0), vec![b"offer".to_vec()]);
}

/// What the stand-in peer (side a) sends in `phase`.
fn from_peer(s: &mut S, phase: &str, body: &[u8]) -> Result<(), SessionError> {
    s.handle(ServerMessage::Message {
        side: "aaaaaaaaaa".into(),
        phase: phase.into(),
        body: hex::encode(body),
        id: None,
    })
}

/// The stand-in peer's `pake`.
fn peer_pake(s: &mut S, seeds: (u64, u64)) {
    let pake = Pake::start(CODE, APPID, StdRng::seed_from_u64(seeds.0));
    from_peer(s, "pake", &pake.message_body()).expect("pake");
}

/// The stand-in peer's `version` under `key`.
fn peer_version(s: &mut S, key: &SharedKey) -> Result<(), SessionError> {
    let sealed = key
        .phase_key("aaaaaaaaaa", "version")
        .seal(&[7; 24], br#"{"app_versions": {}}"#);
    from_peer(s, "version", &sealed)
}

/// A peer that sends its `pake` and at once its `version` under `key`.
fn peer_says(s: &mut S, seeds: (u64, u64), key: &SharedKey) {
    peer_pake(s, seeds);
    peer_version(s, key).expect("version");
}

/// Our (side b) `version` as sent, opened with `key`.
fn our_version(s: &mut S, key: &SharedKey) -> Option<Vec<u8>> {
    let sent: Vec<ClientMessage> = std::iter::from_fn(|| s.poll_transmit()).collect();
    sent.into_iter().find_map(|m| match m {
        ClientMessage::Add { phase, body } if phase == "version" => key
            .phase_key("bbbbbbbbbb", "version")
            .open(&hex::decode(body).expect("hex"))
            .ok(),
        _ => None,
    })
}

fn ours(seeds: (u64, u64)) -> S {
    let mut s = session("bbbbbbbbbb", seeds.1);
    s.set_code(Code::parse(CODE).expect("code"));
    s.handle(ServerMessage::Claimed {
        mailbox: "mb".into(),
    })
    .expect("claimed");
    s
}

/// wormhole-william derives gospake2's key and sends its `version` at once:
/// we take that key, and our `version` goes out under it.
#[test]
fn a_gospake2_peer_gets_its_key() {
    let seeds = ambiguous_seeds();
    let go = keys(seeds).gospake2.expect("ambiguous");
    let mut s = ours(seeds);
    peer_says(&mut s, seeds, &go);
    assert!(!s.version_held());
    assert!(our_version(&mut s, &go).is_some());
    assert_eq!(s.key().map(SharedKey::verifier), Some(go.verifier()));
    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(verifier(&events), Some(go.verifier()));
}

/// Python and Rust derive the standard key: we keep it.
#[test]
fn a_standard_peer_keeps_the_standard_key() {
    let seeds = ambiguous_seeds();
    let standard = keys(seeds).standard;
    let mut s = ours(seeds);
    peer_says(&mut s, seeds, &standard);
    assert!(our_version(&mut s, &standard).is_some());
    assert_eq!(s.key().map(SharedKey::verifier), Some(standard.verifier()));
}

/// A `version` under neither key is a wrong code; ours goes out then (under
/// the standard key, as without the wait) so the peer learns it too, but no
/// payload does.
#[test]
fn neither_key_is_a_wrong_code_and_the_peer_is_told() {
    let seeds = ambiguous_seeds();
    let standard = keys(seeds).standard;
    let mut s = ours(seeds);
    s.send(b"payload".to_vec());
    peer_pake(&mut s, seeds);
    let wrong = SharedKey::from_bytes([9; 32]);
    assert_eq!(peer_version(&mut s, &wrong), Err(SessionError::WrongCode));
    let sent: Vec<ClientMessage> = std::iter::from_fn(|| s.poll_transmit()).collect();
    let phases: Vec<&str> = sent
        .iter()
        .filter_map(|m| match m {
            ClientMessage::Add { phase, .. } => Some(phase.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(phases, ["pake", "version"]);
    let version = sent.iter().find_map(|m| match m {
        ClientMessage::Add { phase, body } if phase == "version" => Some(body.clone()),
        _ => None,
    });
    let body = hex::decode(version.expect("version")).expect("hex");
    assert!(standard
        .phase_key("bbbbbbbbbb", "version")
        .open(&body)
        .is_ok());
}

/// After the patience ran out our `version` is sealed: the key is fixed.
#[test]
fn once_ours_is_sent_the_gospake2_key_is_gone() {
    let seeds = ambiguous_seeds();
    let go = keys(seeds).gospake2.expect("ambiguous");
    let mut s = ours(seeds);
    peer_pake(&mut s, seeds);
    assert!(s.version_held());
    s.send_version();
    assert!(!s.version_held());
    assert_eq!(peer_version(&mut s, &go), Err(SessionError::WrongCode));
}
