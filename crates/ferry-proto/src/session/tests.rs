//! Two sessions talking through a tiny in-memory mailbox server.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::wire::mailbox::Welcome;

pub(super) type S = Session<StdRng>;

pub(super) fn session(side: &str, seed: u64) -> S {
    let config = SessionConfig {
        appid: "lothar.com/wormhole/text-or-file-xfer".into(),
        side: side.into(),
        app_versions: json!({}),
        client_version: ("ferry".into(), "test".into()),
    };
    Session::new(config, StdRng::seed_from_u64(seed))
}

/// One mailbox: `add` is stored and echoed to every side that opened it, and
/// `open` replays what was stored, like the real server.
pub(super) struct FakeServer {
    pub(super) log: Vec<(usize, ServerMessage)>,
    pub(super) opened: [bool; 2],
    pub(super) history: Vec<ServerMessage>,
}

impl FakeServer {
    pub(super) fn handle(&mut self, from: usize, msg: ClientMessage) {
        let reply = match msg {
            ClientMessage::Bind { .. } => ServerMessage::Welcome {
                welcome: Welcome::default(),
            },
            ClientMessage::Allocate => ServerMessage::Allocated {
                nameplate: "42".into(),
            },
            ClientMessage::Claim { .. } => ServerMessage::Claimed {
                mailbox: "mb".into(),
            },
            ClientMessage::Release { .. } => ServerMessage::Released,
            ClientMessage::Close { .. } => ServerMessage::Closed,
            ClientMessage::Ping { ping } => ServerMessage::Pong { pong: ping },
            ClientMessage::Open { .. } => {
                self.opened[from] = true;
                for m in self.history.clone() {
                    self.log.push((from, m));
                }
                return;
            }
            ClientMessage::Add { phase, body } => {
                let side = if from == 0 {
                    "aaaaaaaaaa"
                } else {
                    "bbbbbbbbbb"
                };
                let m = ServerMessage::Message {
                    side: side.into(),
                    phase,
                    body,
                    id: None,
                };
                self.history.push(m.clone());
                for to in (0..2).filter(|&to| self.opened[to]) {
                    self.log.push((to, m.clone()));
                }
                return;
            }
            _ => return,
        };
        self.log.push((from, reply));
    }
}

/// Two sessions with the same code, on an empty server.
fn two_on_one_code() -> ([S; 2], FakeServer) {
    let mut s = [session("aaaaaaaaaa", 1), session("bbbbbbbbbb", 2)];
    let code = Code::parse("5-a-b").unwrap();
    s[0].set_code(code.clone());
    s[1].set_code(code);
    let server = FakeServer {
        log: Vec::new(),
        opened: [false; 2],
        history: Vec::new(),
    };
    (s, server)
}

/// Runs both machines until nothing moves; returns their events and errors.
pub(super) fn run(
    sessions: &mut [S; 2],
    server: &mut FakeServer,
) -> [(Vec<Event>, Option<SessionError>); 2] {
    let mut out: [(Vec<Event>, Option<SessionError>); 2] = Default::default();
    for _ in 0..100 {
        for (i, s) in sessions.iter_mut().enumerate() {
            while let Some(m) = s.poll_transmit() {
                server.handle(i, m);
            }
        }
        if server.log.is_empty() {
            break;
        }
        for (to, m) in std::mem::take(&mut server.log) {
            if let Err(e) = sessions[to].handle(m) {
                out[to].1.get_or_insert(e);
            }
        }
    }
    for (i, s) in sessions.iter_mut().enumerate() {
        while let Some(e) = s.poll_event() {
            out[i].0.push(e);
        }
    }
    out
}

pub(super) fn messages(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn same_code_verifies_and_delivers_in_order() {
    let mut s = [session("aaaaaaaaaa", 1), session("bbbbbbbbbb", 2)];
    let mut server = FakeServer {
        log: Vec::new(),
        opened: [false; 2],
        history: Vec::new(),
    };
    s[0].allocate_code(2);
    s[0].send(b"first".to_vec());
    s[0].send(b"second".to_vec());
    let [a, _] = run(&mut s, &mut server);
    let code =
        a.0.iter()
            .find_map(|e| match e {
                Event::CodeAllocated(c) => Some(c.clone()),
                _ => None,
            })
            .expect("code allocated");
    assert!(code.as_str().starts_with("42-"));
    s[1].set_code(code);
    s[1].send(b"reply".to_vec());
    let [a, b] = run(&mut s, &mut server);
    assert_eq!(a.1, None);
    assert_eq!(b.1, None);
    assert_eq!(messages(&b.0), vec![b"first".to_vec(), b"second".to_vec()]);
    assert_eq!(messages(&a.0), vec![b"reply".to_vec()]);
    let verifier = |ev: &[Event]| {
        ev.iter().find_map(|e| match e {
            Event::Verified { verifier, .. } => Some(*verifier),
            _ => None,
        })
    };
    assert!(verifier(&a.0).is_some());
    assert_eq!(verifier(&a.0), verifier(&b.0));
}

#[test]
fn wrong_code_fails_on_both_sides_and_leaks_no_payload() {
    let mut s = [session("aaaaaaaaaa", 1), session("bbbbbbbbbb", 2)];
    let mut server = FakeServer {
        log: Vec::new(),
        opened: [false; 2],
        history: Vec::new(),
    };
    s[0].set_code(Code::parse("7-purple-sausages").unwrap());
    s[1].set_code(Code::parse("7-purple-sausage").unwrap());
    s[0].send(b"secret".to_vec());
    let [a, b] = run(&mut s, &mut server);
    assert_eq!(a.1, Some(SessionError::WrongCode));
    assert_eq!(b.1, Some(SessionError::WrongCode));
    assert!(messages(&b.0).is_empty());
}

#[test]
fn echo_of_own_messages_is_ignored_and_close_reports_closed() {
    let (mut s, mut server) = two_on_one_code();
    run(&mut s, &mut server);
    s[0].close(Mood::Happy);
    let [a, _] = run(&mut s, &mut server);
    assert!(a.0.contains(&Event::Closed));
}

#[test]
fn garbage_pake_is_a_peer_error_not_a_panic() {
    let mut s = session("aaaaaaaaaa", 1);
    s.set_code(Code::parse("5-a-b").unwrap());
    s.handle(ServerMessage::Claimed {
        mailbox: "m".into(),
    })
    .unwrap();
    let bad = ServerMessage::Message {
        side: "cccccccccc".into(),
        phase: "pake".into(),
        body: "zz".into(),
        id: None,
    };
    assert!(matches!(
        s.handle(bad),
        Err(SessionError::BadPeerMessage(_))
    ));
}

#[test]
fn unwelcome_server_is_an_error() {
    let mut s = session("aaaaaaaaaa", 1);
    let w = Welcome {
        motd: None,
        error: Some("go away".into()),
        web: None,
    };
    assert_eq!(
        s.handle(ServerMessage::Welcome { welcome: w }),
        Err(SessionError::Unwelcome("go away".into()))
    );
}

/// A side that gives up before `claimed` arrives still releases the nameplate
/// (after its claim, in order), so its code is not left "crowded".
#[test]
fn close_before_claimed_releases_the_nameplate() {
    let mut s = session("aaaaaaaaaa", 7);
    s.set_code(Code::parse("7-guitarist-revenge").expect("code"));
    s.close(Mood::Lonely);
    let sent: Vec<ClientMessage> = std::iter::from_fn(|| s.poll_transmit()).collect();
    let claim = sent
        .iter()
        .position(|m| matches!(m, ClientMessage::Claim { .. }));
    let release = sent
        .iter()
        .position(|m| matches!(m, ClientMessage::Release { nameplate: Some(n) } if n == "7"));
    assert!(
        matches!((claim, release), (Some(c), Some(r)) if c < r),
        "{sent:?}"
    );
    assert!(!sent
        .iter()
        .any(|m| matches!(m, ClientMessage::Close { .. })));
    assert!(matches!(s.poll_event(), Some(Event::Closed)));
}

/// A side whose server connection broke rejoins on a new one: same side, same
/// mailbox, its messages added again; the replayed mailbox delivers each of the
/// peer's messages once, and the peer sees each of ours once.
#[test]
fn rejoin_replays_nothing_twice() {
    let (mut s, mut server) = two_on_one_code();
    s[0].send(b"one".to_vec());
    s[1].send(b"reply".to_vec());
    let [a, b] = run(&mut s, &mut server);
    assert_eq!(messages(&a.0), vec![b"reply".to_vec()]);
    assert_eq!(messages(&b.0), vec![b"one".to_vec()]);
    // Side 0 lost its connection; what it sends meanwhile is lost with it.
    s[0].send(b"lost".to_vec());
    while s[0].poll_transmit().is_some() {}
    s[0].rejoin();
    let sent: Vec<ClientMessage> = std::iter::from_fn(|| s[0].poll_transmit()).collect();
    assert!(matches!(&sent[0], ClientMessage::Bind { side, .. } if side == "aaaaaaaaaa"));
    assert!(matches!(&sent[1], ClientMessage::Open { mailbox } if mailbox == "mb"));
    assert!(!sent
        .iter()
        .any(|m| matches!(m, ClientMessage::Claim { .. })));
    for m in sent {
        server.handle(0, m);
    }
    s[1].send(b"after".to_vec());
    let [a, b] = run(&mut s, &mut server);
    assert_eq!((&a.1, &b.1), (&None, &None));
    assert_eq!(messages(&a.0), vec![b"after".to_vec()]);
    assert_eq!(messages(&b.0), vec![b"lost".to_vec()]);
}

/// A side whose process ended continues in a new one from its rejoin state:
/// it claims nothing, passes over what it handled, numbers its next message
/// after the ones its earlier self sent (learnt from the replayed mailbox),
/// and the peer sees that message once.
#[test]
fn resume_in_a_new_process_continues_the_phases() {
    let (mut s, mut server) = two_on_one_code();
    s[0].send(b"one".to_vec());
    s[0].send(b"two".to_vec());
    s[1].send(b"reply".to_vec());
    run(&mut s, &mut server);
    let state = s[0].rejoin_state().expect("verified");
    assert_eq!(state.peer_phases_seen, 1);
    assert_eq!(state.side, "aaaaaaaaaa");
    let config = SessionConfig {
        appid: "lothar.com/wormhole/text-or-file-xfer".into(),
        side: state.side.clone(),
        app_versions: json!({}),
        client_version: ("ferry".into(), "test".into()),
    };
    s[0] = Session::resume(config, StdRng::seed_from_u64(9), state);
    s[0].send(b"three".to_vec());
    let sent: Vec<ClientMessage> = std::iter::from_fn(|| s[0].poll_transmit()).collect();
    assert!(!sent.iter().any(|m| matches!(
        m,
        ClientMessage::Claim { .. } | ClientMessage::Add { .. } | ClientMessage::Release { .. }
    )));
    for m in sent {
        server.handle(0, m);
    }
    s[1].send(b"later".to_vec());
    let [a, b] = run(&mut s, &mut server);
    assert_eq!((&a.1, &b.1), (&None, &None));
    assert_eq!(messages(&a.0), vec![b"later".to_vec()]);
    assert_eq!(messages(&b.0), vec![b"three".to_vec()]);
    assert!(!a.0.iter().any(|e| matches!(e, Event::Verified { .. })));
}

/// Before key confirmation there is nothing to continue.
#[test]
fn no_rejoin_state_before_the_key_is_confirmed() {
    let mut s = session("aaaaaaaaaa", 3);
    s.set_code(Code::parse("5-a-b").unwrap());
    assert!(s.rejoin_state().is_none());
}
