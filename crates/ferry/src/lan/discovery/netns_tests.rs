//! Discovery over real multicast sockets, each test in its own private network
//! namespace (see `ferry_test_support::netns`): two or three sockets share the group and
//! port on loopback, as two instances on one host would.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::localsend::Register;
use ferry_test_support::netns;
use tokio::time::Instant;

use super::ANNOUNCE_BURST;
use super::{announce, reply, scan, Config, DiscoverySocket, Ignored, Interfaces, Listener};

/// Not 53317: the port is a setting, and the tests prove it.
const PORT: u16 = 45317;

/// How long the B and C sides may take to hear anything (real time).
const HEAR_TIMEOUT: Duration = Duration::from_secs(5);

fn config() -> Config {
    Config::new(PORT, Interfaces::loopback())
}

use crate::lan::discovery::test_device as device;

async fn heard(listener: &mut Listener<'_>) -> super::Discovered {
    let next = tokio::time::timeout(HEAR_TIMEOUT, listener.next()).await;
    next.expect("heard nothing in time").expect("socket error")
}

#[test]
fn announcement_is_discovered_and_answered() {
    netns::run(
        module_path!(),
        "announcement_is_discovered_and_answered",
        || async {
            let (a, b) = (bind(), bind());
            let (us_a, us_b) = (device("alpha", "AAAA01"), device("bravo", "BBBB02"));
            let mut hears_a = Listener::new(&a, &us_a.fingerprint);
            let mut hears_b = Listener::new(&b, &us_b.fingerprint);
            let b_side = async {
                let got = heard(&mut hears_b).await;
                assert_eq!((got.info.alias.as_str(), got.wants_answer), ("alpha", true));
                assert_eq!(got.info.fingerprint, "AAAA01");
                reply(&b, got.from, &us_b).await.expect("reply");
                let answer = heard(&mut hears_a).await;
                assert_eq!(answer.info, us_b);
                assert!(!answer.wants_answer, "a reply must not ask for answers");
                // A's own announcement was queued before B's answer, and skipped.
                assert!(hears_a.ignored().own >= 1, "{:?}", hears_a.ignored());
            };
            let (sent, ()) = tokio::join!(announce(&a, &us_a), b_side);
            sent.expect("announce");
        },
    );
}

#[test]
fn announce_sends_the_apps_burst() {
    netns::run(module_path!(), "announce_sends_the_apps_burst", || async {
        let (a, b) = (bind(), bind());
        let us = device("alpha", "AAAA01");
        let mut hears_b = Listener::new(&b, "BBBB02");
        let start = Instant::now();
        let timeline = async {
            let mut at = Vec::new();
            for _ in ANNOUNCE_BURST {
                heard(&mut hears_b).await;
                at.push(start.elapsed());
            }
            at
        };
        let (sent, at) = tokio::join!(announce(&a, &us), timeline);
        sent.expect("announce");
        // Real sockets, so real time: only "not before its offset" is exact.
        for (got, offset) in at.into_iter().zip(ANNOUNCE_BURST) {
            assert!(got >= offset, "datagram at {got:?}, due at {offset:?}");
        }
    });
}

#[test]
fn own_garbage_and_oversized_datagrams_are_ignored() {
    netns::run(
        module_path!(),
        "own_garbage_and_oversized_datagrams_are_ignored",
        || async {
            let a = bind();
            let us = device("alpha", "AAAA01");
            let mut listener = Listener::new(&a, &us.fingerprint);
            // One sender, so the datagrams arrive in this order.
            let raw = raw_sender();
            raw.send_to(b"\xffnot json", group()).expect("send garbage");
            raw.send_to(&oversized(), group()).expect("send oversized");
            raw.send_to(&announcement(&device("me", "aaaa01")), group())
                .expect("own");
            raw.send_to(&announcement(&device("charlie", "CCCC03")), group())
                .expect("peer");
            let got = heard(&mut listener).await;
            assert_eq!(got.info.alias, "charlie");
            let expected = Ignored {
                own: 1,
                undecodable: 1,
                oversized: 1,
            };
            assert_eq!(listener.ignored(), expected);
        },
    );
}

#[test]
fn scan_returns_each_device_once() {
    netns::run(module_path!(), "scan_returns_each_device_once", || async {
        let bravo = tokio::spawn(answer_all(device("bravo", "BBBB02")));
        let charlie = tokio::spawn(answer_all(device("Charlie", "cccc03")));
        let us = device("alpha", "AAAA01");
        // Two datagrams of the burst fall inside 1.2 s: each answered twice.
        let found = scan(&config(), &us, Duration::from_millis(1200)).await;
        let found = found.expect("scan");
        let names: Vec<(&str, &str)> = found
            .iter()
            .map(|d| (d.info.alias.as_str(), d.info.fingerprint.as_str()))
            .collect();
        assert_eq!(names, [("bravo", "BBBB02"), ("Charlie", "cccc03")]);
        bravo.abort();
        charlie.abort();
    });
}

/// A device that answers every announcement over UDP, as localsendd does
/// when its `register` fails.
async fn answer_all(us: Register) {
    let socket = Arc::new(bind());
    let mut listener = Listener::new(&socket, &us.fingerprint);
    loop {
        let got = listener.next().await.expect("socket error");
        if got.wants_answer {
            reply(&socket, got.from, &us).await.expect("reply");
        }
    }
}

fn bind() -> DiscoverySocket {
    let socket = DiscoverySocket::bind(&config()).expect("bind discovery socket");
    assert_eq!(socket.interfaces(), [Ipv4Addr::LOCALHOST]);
    socket
}

fn group() -> SocketAddr {
    SocketAddr::from((config().group, PORT))
}

/// A plain socket sending to the group over loopback, for hand-made datagrams.
fn raw_sender() -> UdpSocket {
    let raw = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sender");
    socket2::SockRef::from(&raw)
        .set_multicast_if_v4(&Ipv4Addr::LOCALHOST)
        .expect("multicast interface");
    raw
}

fn announcement(us: &Register) -> Vec<u8> {
    super::encode(us, true).expect("encode")
}

/// A valid announcement padded with spaces past the limit: only its size is wrong.
fn oversized() -> Vec<u8> {
    let mut bytes = announcement(&device("big", "DDDD04"));
    bytes.resize(super::MAX_DATAGRAM_BYTES + 100, b' ');
    bytes
}
