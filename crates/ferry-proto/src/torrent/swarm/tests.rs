use super::*;

const K16: u32 = 16 * 1024;

fn layout() -> Layout {
    // Four pieces of two blocks; the last piece is 10,000 bytes: one short block.
    Layout {
        pieces: 4,
        piece_len: 2 * K16,
        total: 3 * 2 * u64::from(K16) + 10_000,
    }
}

fn picker(peers: &[(&'static str, &[u32])]) -> Picker<&'static str> {
    let mut picker = Picker::new(layout());
    for &(name, pieces) in peers {
        assert!(picker.add_peer(name));
        pieces.iter().for_each(|p| assert!(picker.have(&name, *p)));
        picker.unchoke(&name);
    }
    picker
}

/// Delivers every request until nothing moves; `verdict` judges each complete piece.
fn run(
    picker: &mut Picker<&'static str>,
    names: &[&'static str],
    verdict: impl Fn(u32, &str) -> bool,
) -> Vec<&'static str> {
    let mut banned = Vec::new();
    for _ in 0..100 {
        let mut moved = false;
        for name in names {
            for b in picker.requests(name) {
                moved = true;
                if let Arrival::Stored {
                    piece_complete: true,
                    ..
                } = picker.block(name, b)
                {
                    banned.extend(picker.verified(b.index, verdict(b.index, name)));
                }
            }
        }
        if !moved {
            break;
        }
    }
    banned
}

#[test]
fn layout_blocks() {
    let l = layout();
    assert_eq!((l.piece_size(0), l.piece_size(3)), (2 * K16, 10_000));
    assert_eq!(l.blocks(3), 1);
    assert_eq!(
        l.block(3, 0),
        BlockRef {
            index: 3,
            begin: 0,
            length: 10_000
        }
    );
    assert_eq!(
        l.block(1, 1),
        BlockRef {
            index: 1,
            begin: K16,
            length: K16
        }
    );
}

#[test]
fn rarest_first_and_a_started_piece_is_finished_first() {
    let mut p = picker(&[("a", &[0, 1, 2, 3]), ("b", &[0, 1, 2])]);
    p.pipeline = 1;
    assert_eq!(
        p.requests(&"a"),
        vec![BlockRef {
            index: 3,
            begin: 0,
            length: 10_000
        }]
    );
    p.pipeline = 2;
    // b lacks piece 3; every other piece has two sources: lowest index.
    assert_eq!(
        p.requests(&"b"),
        vec![p.layout.block(0, 0), p.layout.block(0, 1)]
    );
    p.pipeline = 3;
    assert_eq!(
        p.requests(&"a"),
        vec![p.layout.block(1, 0), p.layout.block(1, 1)]
    );
}

#[test]
fn two_honest_peers_complete_the_torrent() {
    let mut p = picker(&[("a", &[0, 1, 2, 3]), ("b", &[0, 1, 2, 3])]);
    assert!(p.interesting(&"a"));
    assert_eq!(run(&mut p, &["a", "b"], |_, _| true), Vec::<&str>::new());
    assert!(p.is_complete() && !p.interesting(&"a"));
}

#[test]
fn a_peer_that_sent_a_bad_piece_is_banned_and_the_piece_fetched_elsewhere() {
    let mut p = picker(&[("liar", &[0, 1, 2, 3]), ("honest", &[0, 1, 2, 3])]);
    p.pipeline = 2;
    let banned = run(&mut p, &["liar", "honest"], |_, from| from != "liar");
    assert_eq!(banned, vec!["liar"]);
    assert!(p.is_complete());
    assert!(!p.add_peer("liar"), "a banned peer came back");
}

#[test]
fn a_bad_piece_from_two_peers_bans_nobody_and_one_peer_fetches_it_again() {
    let mut p = picker(&[("liar", &[0]), ("honest", &[0])]);
    p.pipeline = 1;
    let (first, second) = (p.requests(&"liar"), p.requests(&"honest"));
    assert_eq!((first.len(), second.len()), (1, 1), "one block each");
    p.block(&"liar", first[0]);
    p.block(&"honest", second[0]);
    assert_eq!(p.verified(0, false), Vec::<&str>::new(), "no one to blame");
    // On parole: the first to ask gets the whole piece, the other nothing of it.
    p.pipeline = 2;
    let again = p.requests(&"liar");
    assert_eq!(again.len(), 2);
    assert!(
        p.requests(&"honest").is_empty(),
        "the liar holds the piece alone"
    );
    for b in again {
        p.block(&"liar", b);
    }
    assert_eq!(p.verified(0, false), vec!["liar"], "alone, it is caught");
    let from_honest = p.requests(&"honest");
    assert_eq!(from_honest.len(), 2);
    for b in from_honest {
        p.block(&"honest", b);
    }
    assert!(p.verified(0, true).is_empty());
    assert!(p.ours().has(0));
}

#[test]
fn a_peers_own_pipeline_replaces_the_default() {
    let mut p = picker(&[("fast", &[0, 1, 2, 3]), ("slow", &[0, 1, 2, 3])]);
    p.pipeline = 1;
    p.set_pipeline(&"fast", 5);
    assert_eq!(p.requests(&"fast").len(), 5);
    assert_eq!(p.requests(&"slow").len(), 1);
    p.set_pipeline(&"fast", 6);
    assert_eq!(p.requests(&"fast").len(), 1, "tops up to its pipeline");
}

#[test]
fn choke_releases_requests_and_no_requests_while_choked() {
    let mut p = picker(&[("a", &[0]), ("b", &[0])]);
    let asked = p.requests(&"a");
    assert_eq!(asked.len(), 2);
    p.choke(&"a");
    assert!(p.requests(&"a").is_empty());
    assert_eq!(p.requests(&"b"), asked);
    assert_eq!(p.block(&"a", asked[0]), Arrival::Unrequested);
}

#[test]
fn endgame_asks_twice_and_cancels_the_loser() {
    let mut p = picker(&[("a", &[3]), ("b", &[3])]);
    p.verified(0, true);
    p.verified(1, true);
    p.verified(2, true);
    let only = p.layout.block(3, 0);
    assert_eq!(p.requests(&"a"), vec![only]);
    assert_eq!(p.requests(&"b"), vec![only], "endgame duplicate");
    assert_eq!(p.requests(&"b"), vec![], "never twice to one peer");
    assert_eq!(
        p.block(&"b", only),
        Arrival::Stored {
            cancel: vec![("a", only)],
            piece_complete: true
        }
    );
    assert_eq!(p.block(&"a", only), Arrival::Unrequested);
}

#[test]
fn peers_leaving_and_lying_about_indexes() {
    let mut p = picker(&[("a", &[0, 1])]);
    assert!(!p.have(&"a", 4));
    assert!(!p.have(&"ghost", 0));
    p.bitfield(&"a", &Bitfield::full(4));
    assert_eq!(p.availability, vec![1; 4]);
    let asked = p.requests(&"a");
    p.remove_peer(&"a");
    assert_eq!(p.availability, vec![0; 4]);
    assert!(p.add_peer("b"));
    p.bitfield(&"b", &Bitfield::full(4));
    p.unchoke(&"b");
    assert_eq!(p.requests(&"b")[..asked.len()], asked[..]);
}

#[test]
fn a_v2_shape_has_a_short_last_piece_in_every_file() {
    // A v2 torrent of two files, pieces of two blocks: 40,000 bytes (a full piece
    // and 7,232) then 20,000 (one short piece of a full and a short block).
    let mut p = Picker::new(Shape::Sizes(vec![2 * K16, 40_000 - 2 * K16, 20_000]));
    assert!(p.add_peer("a"));
    p.bitfield(&"a", &Bitfield::full(3));
    p.unchoke(&"a");
    let b = |index, begin, length| BlockRef {
        index,
        begin,
        length,
    };
    let asked = p.requests(&"a");
    assert_eq!(
        asked,
        vec![
            b(0, 0, K16),
            b(0, K16, K16),
            b(1, 0, 7_232),
            b(2, 0, K16),
            b(2, K16, 20_000 - K16),
        ]
    );
    for block in asked {
        if let Arrival::Stored {
            piece_complete: true,
            ..
        } = p.block(&"a", block)
        {
            assert!(p.verified(block.index, true).is_empty());
        }
    }
    assert!(p.is_complete());
}
