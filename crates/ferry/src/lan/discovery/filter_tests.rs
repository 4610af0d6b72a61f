use std::net::{Ipv4Addr, SocketAddr};

use ferry_proto::localsend::{Announcement, Register};

use super::*;

use crate::lan::discovery::test_device as device;

fn datagram(device: Register, announce: bool) -> Vec<u8> {
    serde_json::to_vec(&Announcement { device, announce }).expect("encode")
}

fn heard(alias: &str, fingerprint: &str, last_octet: u8) -> Discovered {
    let from = SocketAddr::from((Ipv4Addr::new(10, 0, 0, last_octet), 53317));
    let a = Announcement {
        device: device(alias, fingerprint),
        announce: true,
    };
    Discovered::new(a, from)
}

#[test]
fn own_announcement_is_recognised_in_any_case() {
    let bytes = datagram(device("me", "abcdef"), true);
    assert!(matches!(classify(&bytes, "ABCDEF"), Verdict::Own));
    assert!(matches!(classify(&bytes, "abcdef"), Verdict::Own));
    assert!(matches!(classify(&bytes, "ABCDE0"), Verdict::Peer(_)));
}

#[test]
fn peers_announcement_carries_whether_it_wants_an_answer() {
    for announce in [true, false] {
        let bytes = datagram(device("peer", "F00D"), announce);
        let Verdict::Peer(a) = classify(&bytes, "ME") else {
            panic!("not a peer")
        };
        let from = SocketAddr::from((Ipv4Addr::LOCALHOST, 1));
        assert_eq!(Discovered::new(a, from).wants_answer, announce);
    }
}

#[test]
fn garbage_and_oversized_datagrams_are_refused() {
    for garbage in [&b""[..], b"{", b"\xff\xfe", b"{\"alias\":1}", b"null"] {
        assert!(matches!(classify(garbage, "ME"), Verdict::Undecodable(_)));
    }
    let mut big = datagram(device("peer", "F00D"), true);
    big.resize(MAX_DATAGRAM_BYTES + 1, b' ');
    assert!(matches!(classify(&big, "ME"), Verdict::Oversized(_)));
    big.truncate(MAX_DATAGRAM_BYTES);
    assert!(
        matches!(classify(&big, "ME"), Verdict::Peer(_)),
        "the limit itself is fine"
    );
}

#[test]
fn dedupe_keeps_one_per_fingerprint_ignoring_case_latest_wins() {
    let found = [
        heard("zulu", "AA11", 1),
        heard("old name", "bb22", 2),
        heard("Bravo", "BB22", 3),
        heard("alpha", "aa11", 4),
    ];
    let devices = dedupe(found);
    let got: Vec<(&str, u8)> = devices
        .iter()
        .map(|d| (d.info.alias.as_str(), last(d)))
        .collect();
    assert_eq!(got, [("alpha", 4), ("Bravo", 3)]);
}

#[test]
fn dedupe_sorts_by_alias_regardless_of_case() {
    let devices = dedupe([heard("b", "2", 1), heard("C", "3", 2), heard("A", "1", 3)]);
    let aliases: Vec<&str> = devices.iter().map(|d| d.info.alias.as_str()).collect();
    assert_eq!(aliases, ["A", "b", "C"]);
}

fn last(d: &Device) -> u8 {
    match d.from.ip() {
        std::net::IpAddr::V4(ip) => ip.octets()[3],
        std::net::IpAddr::V6(_) => 0,
    }
}
