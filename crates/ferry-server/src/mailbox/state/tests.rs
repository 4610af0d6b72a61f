//! The state rules against the in-memory store, without any sockets.

use super::*;
use crate::mailbox::live;
use crate::store::MemoryStore;

fn state(max_per_ip: usize) -> State<MemoryStore> {
    let cfg = StateConfig {
        allow_list: true,
        max_messages: 4,
        max_nameplates_per_ip: max_per_ip,
        blur: None,
    };
    State::new(MemoryStore::new(), cfg, Arc::new(Metrics::default())).unwrap()
}

fn ctx(conn: u64, now: f64) -> CallCtx {
    CallCtx {
        conn,
        ip: "127.0.0.1".parse().unwrap(),
        now,
        queue: None,
    }
}

fn app() -> Arc<str> {
    "app".into()
}

fn side(s: &str) -> Arc<str> {
    s.into()
}

fn run(s: &mut State<MemoryStore>, call: Call, c: CallCtx) -> Result<Answer, Refusal> {
    let mut out = Vec::new();
    let r = s.apply(call, c, &mut out);
    s.commit().unwrap();
    r
}

fn claim(s: &mut State<MemoryStore>, who: &str, name: &str) -> Result<Answer, Refusal> {
    run(
        s,
        Call::Claim {
            app: app(),
            side: side(who),
            nameplate: name.into(),
        },
        ctx(1, 1.0),
    )
}

#[test]
fn claim_is_idempotent_and_third_side_is_crowded() {
    let mut s = state(100);
    let Ok(Answer::Claimed(m1)) = claim(&mut s, "a", "4") else {
        panic!()
    };
    assert_eq!(m1.len(), 13);
    assert_eq!(claim(&mut s, "a", "4"), Ok(Answer::Claimed(m1.clone())));
    assert_eq!(claim(&mut s, "b", "4"), Ok(Answer::Claimed(m1.clone())));
    assert_eq!(claim(&mut s, "c", "4"), Err(Refusal::Crowded));
    // the crowded side's rows stay: the summary will say crowded
    let mb = s.store.mailbox("app", &m1).unwrap().unwrap();
    assert_eq!(mb.sides.len(), 3);
}

#[test]
fn release_then_reclaim_is_refused_and_nameplate_goes_when_all_released() {
    let mut s = state(100);
    claim(&mut s, "a", "4").unwrap();
    claim(&mut s, "b", "4").unwrap();
    let rel = |w: &str| Call::Release {
        app: app(),
        side: side(w),
        nameplate: "4".into(),
    };
    assert_eq!(run(&mut s, rel("a"), ctx(1, 2.0)), Ok(Answer::Released));
    assert_eq!(claim(&mut s, "a", "4"), Err(Refusal::Reclaimed));
    assert_eq!(
        run(&mut s, Call::List { app: app() }, ctx(1, 2.0)),
        Ok(Answer::Nameplates(vec!["4".into()]))
    );
    assert_eq!(run(&mut s, rel("b"), ctx(1, 3.0)), Ok(Answer::Released));
    assert_eq!(
        run(&mut s, Call::List { app: app() }, ctx(1, 3.0)),
        Ok(Answer::Nameplates(vec![]))
    );
    assert_eq!(s.store.usage().last().unwrap().result, "happy");
    // releasing something unknown is fine
    assert_eq!(run(&mut s, rel("z"), ctx(1, 3.0)), Ok(Answer::Released));
}

#[test]
fn messages_are_stored_broadcast_and_deleted_on_last_close() {
    let mut s = state(100);
    let (tx, mut rx) = live::channel(8);
    let open = Call::Open {
        app: app(),
        side: side("a"),
        mailbox: "mb".into(),
    };
    let c = CallCtx {
        queue: Some(tx),
        ..ctx(7, 1.0)
    };
    assert_eq!(run(&mut s, open, c), Ok(Answer::Opened(vec![])));
    let open_b = Call::Open {
        app: app(),
        side: side("b"),
        mailbox: "mb".into(),
    };
    assert_eq!(run(&mut s, open_b, ctx(8, 1.5)), Ok(Answer::Opened(vec![])));
    let add = Call::Add {
        app: app(),
        side: side("b"),
        mailbox: "mb".into(),
        phase: "pake".into(),
        body: "00".into(),
        id: Some("beef".into()),
    };
    let mut out = Vec::new();
    assert_eq!(s.apply(add, ctx(8, 2.0), &mut out), Ok(Answer::Added));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].conn, 7);
    out[0].tx.try_send(out[0].frame.clone()).unwrap();
    assert!(rx
        .try_recv()
        .unwrap()
        .as_str()
        .contains("\"phase\":\"pake\""));
    let close = |w: &str, mood: &str, open_first| Call::Close {
        app: app(),
        side: side(w),
        mailbox: "mb".into(),
        mood: Some(mood.into()),
        open_first,
    };
    assert_eq!(
        run(&mut s, close("a", "happy", false), ctx(7, 3.0)),
        Ok(Answer::Closed)
    );
    assert_eq!(s.store.count_mailboxes().unwrap(), 1);
    // b reconnected: its new connection never opened, so close opens first
    assert_eq!(
        run(&mut s, close("b", "scary", true), ctx(9, 4.0)),
        Ok(Answer::Closed)
    );
    assert_eq!(s.store.count_mailboxes().unwrap(), 0);
    assert_eq!(s.store.usage().last().unwrap().result, "scary");
}

#[test]
fn mailbox_message_cap() {
    let mut s = state(100);
    let add = || Call::Add {
        app: app(),
        side: side("a"),
        mailbox: "mb".into(),
        phase: "0".into(),
        body: "00".into(),
        id: None,
    };
    run(
        &mut s,
        Call::Open {
            app: app(),
            side: side("a"),
            mailbox: "mb".into(),
        },
        ctx(1, 1.0),
    )
    .unwrap();
    for _ in 0..4 {
        assert_eq!(run(&mut s, add(), ctx(1, 1.0)), Ok(Answer::Added));
    }
    assert_eq!(run(&mut s, add(), ctx(1, 1.0)), Err(Refusal::MailboxFull));
}

#[test]
fn per_address_nameplate_cap() {
    let mut s = state(3);
    for i in 0..3 {
        let r = run(
            &mut s,
            Call::Allocate {
                app: app(),
                side: side(&format!("s{i}")),
            },
            ctx(i, 1.0),
        );
        assert!(matches!(r, Ok(Answer::Allocated(_))), "{r:?}");
    }
    let r = run(
        &mut s,
        Call::Allocate {
            app: app(),
            side: side("s9"),
        },
        ctx(9, 1.0),
    );
    assert_eq!(r, Err(Refusal::TooManyNameplates));
    // joining someone else's nameplate is a new claim too
    assert_eq!(claim(&mut s, "zz", "1000"), Err(Refusal::TooManyNameplates));
}

#[test]
fn expiry_deletes_idle_mailboxes_but_not_listened_ones() {
    let mut s = state(100);
    claim(&mut s, "a", "4").unwrap();
    let (tx, _rx) = live::channel(8);
    let c = CallCtx {
        queue: Some(tx),
        ..ctx(5, 1.0)
    };
    run(
        &mut s,
        Call::Open {
            app: app(),
            side: side("x"),
            mailbox: "kept".into(),
        },
        c,
    )
    .unwrap();
    s.prune(100.0, 50.0);
    s.commit().unwrap();
    assert_eq!(
        run(&mut s, Call::List { app: app() }, ctx(1, 100.0)),
        Ok(Answer::Nameplates(vec![]))
    );
    assert!(s.store.mailbox("app", "kept").unwrap().is_some());
    let results: Vec<_> = s.store.usage().iter().map(|u| (u.kind, u.result)).collect();
    assert!(results.contains(&(crate::store::UsageKind::Nameplate, "pruney")));
    assert!(results.contains(&(crate::store::UsageKind::Mailbox, "pruney")));
}

#[test]
fn base32_ids() {
    assert_eq!(base32_lower(&[0; 8]), "aaaaaaaaaaaaa");
    assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
}
