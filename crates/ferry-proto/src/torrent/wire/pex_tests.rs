use std::collections::BTreeSet;
use std::net::SocketAddr;

use super::*;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn v4(i: u32) -> SocketAddr {
    SocketAddr::from((std::net::Ipv4Addr::from(0x0a00_0000 + i), 6881))
}

#[test]
fn round_trips_v4_and_v6() {
    let pex = Pex {
        added: vec![addr("10.0.0.1:6881"), addr("[2001:db8::1]:51413")],
        dropped: vec![addr("10.0.0.2:1")],
    };
    assert_eq!(Pex::decode(&pex.encode()).unwrap(), pex);
}

#[test]
fn reads_a_message_as_libtorrent_writes_it() {
    let mut msg = b"d5:added6:".to_vec();
    msg.extend_from_slice(&[198, 18, 0, 1, 0x1a, 0xe1]);
    msg.extend_from_slice(b"7:added.f1:\x107:dropped0:e");
    let pex = Pex::decode(&msg).unwrap();
    assert_eq!(pex.added, vec![addr("198.18.0.1:6881")]);
    assert!(pex.dropped.is_empty());
}

#[test]
fn refuses_mangled_lists() {
    assert_eq!(
        Pex::decode(b"d5:added5:abcdee"),
        Err(ExtensionError::Pex("added"))
    );
    assert_eq!(
        Pex::decode(b"d8:dropped6i1ee"),
        Err(ExtensionError::Pex("dropped6"))
    );
    assert_eq!(Pex::decode(b"li1ee"), Err(ExtensionError::NotDict));
    assert!(Pex::decode(b"d5:added").is_err());
}

#[test]
fn keeps_at_most_its_limit_of_a_flood() {
    let many: Vec<SocketAddr> = (0..1000).map(v4).collect();
    let pex = Pex {
        added: many,
        dropped: Vec::new(),
    };
    assert_eq!(
        Pex::decode(&pex.encode()).unwrap().added.len(),
        MAX_PEX_PEERS
    );
}

#[test]
fn the_ledger_sends_changes_only_and_fifty_at_most() {
    let mut ledger = PexLedger::default();
    let mut now: BTreeSet<SocketAddr> = (0..70).map(v4).collect();
    let first = ledger.update(&now).unwrap();
    assert_eq!((first.added.len(), first.dropped.len()), (PEX_SEND, 0));
    let rest = ledger.update(&now).unwrap();
    assert_eq!(rest.added.len(), 20);
    assert_eq!(ledger.update(&now), None, "nothing changed");
    now.remove(&v4(3));
    now.insert(v4(500));
    let diff = ledger.update(&now).unwrap();
    assert_eq!(diff.added, vec![v4(500)]);
    assert_eq!(diff.dropped, vec![v4(3)]);
}
