use super::*;

/// Three pieces of 32 KiB, the last one 20 000 bytes; we have pieces 0 and 2.
fn session() -> Session {
    let layout = Layout {
        pieces: 3,
        piece_len: 32 * 1024,
        total: 2 * 32 * 1024 + 20_000,
    };
    let mut ours = Bitfield::empty(3);
    ours.set(0);
    ours.set(2);
    Session::new(layout, ours)
}

fn block(index: u32, begin: u32, length: u32) -> BlockRef {
    BlockRef {
        index,
        begin,
        length,
    }
}

#[test]
fn requests_while_choked_are_dropped_then_served_in_order() {
    let mut s = session();
    assert_eq!(s.peer_request(block(0, 0, MAX_BLOCK)), Ok(false));
    assert_eq!(s.next_to_serve(), None);
    assert!(s.choke_peer(false));
    assert!(!s.choke_peer(false), "unchoking twice sends nothing");
    assert_eq!(s.peer_request(block(0, 0, MAX_BLOCK)), Ok(true));
    assert_eq!(s.peer_request(block(2, 16384, 20_000 - 16384)), Ok(true));
    assert_eq!(s.next_to_serve(), Some(block(0, 0, MAX_BLOCK)));
    s.peer_cancel(&block(2, 16384, 20_000 - 16384));
    assert_eq!(s.next_to_serve(), None);
}

#[test]
fn choking_drops_the_queue() {
    let mut s = session();
    s.choke_peer(false);
    s.peer_request(block(0, 0, 100)).unwrap();
    assert!(s.choke_peer(true));
    s.choke_peer(false);
    assert_eq!(s.next_to_serve(), None);
}

#[test]
fn bad_requests_are_refused() {
    let mut s = session();
    s.choke_peer(false);
    let bad = [
        (block(1, 0, 100), "request for a piece we do not have"),
        (block(3, 0, 100), "request for a piece past the end"),
        (
            block(0, 0, MAX_BLOCK + 1),
            "request of a block over 16 KiB or empty",
        ),
        (block(0, 0, 0), "request of a block over 16 KiB or empty"),
        (
            block(2, 16384, 20_000 - 16384 + 1),
            "request past the end of its piece",
        ),
        (block(0, u32::MAX, 10), "request past the end of its piece"),
    ];
    for (b, why) in bad {
        assert_eq!(s.peer_request(b), Err(why), "{b:?}");
    }
}

#[test]
fn the_peer_queue_is_bounded() {
    let mut s = session();
    s.choke_peer(false);
    for i in 0..MAX_PEER_REQUESTS as u32 {
        assert_eq!(s.peer_request(block(0, i % 2 * 16384, 1 + i)), Ok(true));
    }
    assert!(s.peer_request(block(2, 0, 1)).is_err());
}

#[test]
fn our_requests_follow_choke_and_reqq() {
    let mut s = session();
    assert!(
        s.our_requests(vec![block(1, 0, 16384)]).is_empty(),
        "choked"
    );
    s.peer_choked(false);
    s.set_peer_reqq(2);
    let asked = s.our_requests(vec![
        block(1, 0, 16384),
        block(1, 0, 16384),
        block(1, 16384, 16384),
        block(0, 0, 16384),
    ]);
    assert_eq!(asked, vec![block(1, 0, 16384), block(1, 16384, 16384)]);
    assert_eq!(s.block_arrived(1, 0, 100), None, "wrong length");
    assert_eq!(s.block_arrived(1, 0, 16384), Some(block(1, 0, 16384)));
    assert_eq!(s.block_arrived(1, 0, 16384), None, "already in");
    assert!(s.our_cancel(&block(1, 16384, 16384)));
    assert!(!s.our_cancel(&block(1, 16384, 16384)));
    s.our_requests(vec![block(0, 0, 16384)]);
    s.peer_choked(true);
    assert_eq!(s.inflight(), 0, "a choke drops what was in flight");
}

#[test]
fn have_and_interest_change_once() {
    let mut s = session();
    assert!(s.have(1));
    assert!(!s.have(1));
    assert!(!s.have(3), "out of range");
    assert!(s.set_interested(true));
    assert!(!s.set_interested(true));
}
