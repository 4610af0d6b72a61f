//! The per-connection rules, one reference error at a time.

use super::*;
use serde_json::json;

fn step(s: &mut Rules, v: Value) -> Step {
    let frame = ClientFrame::decode(v.to_string().as_bytes()).unwrap();
    s.handle(&frame, 1024)
}

fn bound() -> Rules {
    let mut s = Rules::default();
    assert_eq!(
        step(&mut s, json!({"type": "bind", "appid": "a", "side": "s"})),
        Step::Bound
    );
    s
}

#[test]
fn bind_rules() {
    let mut s = Rules::default();
    assert_eq!(
        step(&mut s, json!({"type": "list"})),
        Step::Refuse(Refusal::MustBindFirst)
    );
    assert_eq!(
        step(&mut s, json!({"type": "bind", "side": "s"})),
        Step::Refuse(Refusal::BindRequiresAppid)
    );
    assert_eq!(
        step(&mut s, json!({"type": "bind", "appid": "a"})),
        Step::Refuse(Refusal::BindRequiresSide)
    );
    assert!(matches!(
        step(&mut s, json!({"type": "ping", "ping": 3})),
        Step::Reply(_)
    ));
    assert_eq!(
        step(&mut s, json!({"type": "ping"})),
        Step::Refuse(Refusal::PingRequiresPing)
    );
    let mut s = bound();
    assert_eq!(
        step(&mut s, json!({"type": "bind", "appid": "a", "side": "s"})),
        Step::Refuse(Refusal::AlreadyBound)
    );
    assert_eq!(
        step(&mut s, json!({"type": "bogus"})),
        Step::Refuse(Refusal::UnknownType)
    );
}

#[test]
fn claim_rules_in_reference_order() {
    let mut s = bound();
    assert_eq!(
        step(&mut s, json!({"type": "claim"})),
        Step::Refuse(Refusal::ClaimRequiresNameplate)
    );
    assert!(matches!(
        step(&mut s, json!({"type": "claim", "nameplate": "12"})),
        Step::Call(_)
    ));
    assert_eq!(
        step(&mut s, json!({"type": "claim"})),
        Step::Refuse(Refusal::ClaimRequiresNameplate)
    );
    assert_eq!(
        step(&mut s, json!({"type": "claim", "nameplate": "13"})),
        Step::Refuse(Refusal::OneClaim)
    );
    let mut s = bound();
    assert_eq!(
        step(&mut s, json!({"type": "claim", "nameplate": "x1"})),
        Step::Refuse(Refusal::InvalidNameplate)
    );
    assert_eq!(
        step(&mut s, json!({"type": "claim", "nameplate": "1"})),
        Step::Refuse(Refusal::OneClaim)
    );
}

#[test]
fn release_rules() {
    let mut s = bound();
    assert_eq!(
        step(&mut s, json!({"type": "release"})),
        Step::Refuse(Refusal::ReleaseWithoutClaim)
    );
    step(&mut s, json!({"type": "claim", "nameplate": "5"}));
    assert_eq!(
        step(&mut s, json!({"type": "release", "nameplate": "6"})),
        Step::Refuse(Refusal::ReleaseMismatch)
    );
    assert!(matches!(
        step(&mut s, json!({"type": "release"})),
        Step::Call(Call::Release { .. })
    ));
    assert_eq!(
        step(&mut s, json!({"type": "release"})),
        Step::Refuse(Refusal::OneRelease)
    );
    // releasing an arbitrary name without a claim is allowed
    let mut s = bound();
    assert!(matches!(
        step(&mut s, json!({"type": "release", "nameplate": "9"})),
        Step::Call(_)
    ));
}

#[test]
fn open_add_close_rules() {
    let mut s = bound();
    assert_eq!(
        step(&mut s, json!({"type": "add", "phase": "p", "body": ""})),
        Step::Refuse(Refusal::MustOpenFirst)
    );
    assert_eq!(
        step(&mut s, json!({"type": "close"})),
        Step::Refuse(Refusal::CloseWithoutOpen)
    );
    assert_eq!(
        step(&mut s, json!({"type": "open"})),
        Step::Refuse(Refusal::OpenRequiresMailbox)
    );
    let Step::Call(open) = step(&mut s, json!({"type": "open", "mailbox": "m"})) else {
        panic!()
    };
    s.complete(open.kind(), &Ok(Answer::Opened(vec![])));
    assert_eq!(
        step(&mut s, json!({"type": "open", "mailbox": "m"})),
        Step::Refuse(Refusal::OneOpen)
    );
    assert_eq!(
        step(&mut s, json!({"type": "add", "body": "00"})),
        Step::Refuse(Refusal::MissingPhase)
    );
    assert_eq!(
        step(&mut s, json!({"type": "add", "phase": "p"})),
        Step::Refuse(Refusal::MissingBody)
    );
    let big = "00".repeat(1025);
    assert_eq!(
        step(&mut s, json!({"type": "add", "phase": "p", "body": big})),
        Step::Refuse(Refusal::TooLarge)
    );
    assert_eq!(
        step(&mut s, json!({"type": "close", "mailbox": "other"})),
        Step::Refuse(Refusal::CloseMismatch)
    );
    let Step::Call(close) = step(&mut s, json!({"type": "close", "mood": "happy"})) else {
        panic!()
    };
    assert!(matches!(&close, Call::Close { open_first: false, mood: Some(m), .. } if m == "happy"));
    s.complete(close.kind(), &Ok(Answer::Closed));
    assert_eq!(
        step(&mut s, json!({"type": "close"})),
        Step::Refuse(Refusal::OneClose)
    );
    assert!(!s.is_open());
}

#[test]
fn close_without_open_opens_first() {
    let mut s = bound();
    let Step::Call(c) = step(&mut s, json!({"type": "close", "mailbox": "m"})) else {
        panic!()
    };
    assert!(matches!(
        c,
        Call::Close {
            open_first: true,
            ..
        }
    ));
}

/// Each malformed command and the reference's error for it: a field of the
/// wrong JSON type counts as missing, except where the reference compares it
/// (release's nameplate, close's mailbox) or checks its form (claim).
#[test]
fn wrong_field_types_get_the_reference_errors() {
    let mut s = Rules::default();
    for (cmd, err) in [
        (json!({"type": 5}), Refusal::MustBindFirst),
        (
            json!({"type": "bind", "appid": 1, "side": "s"}),
            Refusal::BindRequiresAppid,
        ),
        (
            json!({"type": "bind", "appid": "a", "side": []}),
            Refusal::BindRequiresSide,
        ),
    ] {
        assert_eq!(step(&mut s, cmd.clone()), Step::Refuse(err), "{cmd}");
    }
    let mut s = bound();
    let big = "x".repeat(129);
    for (cmd, err) in [
        (json!({"type": null}), Refusal::UnknownType),
        (
            json!({"type": "release", "nameplate": 5}),
            Refusal::ReleaseMismatch,
        ),
        (
            json!({"type": "open", "mailbox": 5}),
            Refusal::OpenRequiresMailbox,
        ),
        (
            json!({"type": "open", "mailbox": big}),
            Refusal::FieldTooLong,
        ),
        (
            json!({"type": "close", "mailbox": {}}),
            Refusal::CloseMismatch,
        ),
        (
            json!({"type": "claim", "nameplate": 5}),
            Refusal::InvalidNameplate,
        ),
        (
            json!({"type": "claim", "nameplate": "5"}),
            Refusal::OneClaim,
        ),
    ] {
        assert_eq!(step(&mut s, cmd.clone()), Step::Refuse(err), "{cmd}");
    }
    let mut s = bound();
    let Step::Call(open) = step(&mut s, json!({"type": "open", "mailbox": "m"})) else {
        panic!("open refused")
    };
    s.complete(open.kind(), &Ok(Answer::Opened(vec![])));
    for (cmd, err) in [
        (
            json!({"type": "add", "phase": 1, "body": "00"}),
            Refusal::MissingPhase,
        ),
        (
            json!({"type": "add", "phase": "p", "body": false}),
            Refusal::MissingBody,
        ),
    ] {
        assert_eq!(step(&mut s, cmd.clone()), Step::Refuse(err), "{cmd}");
    }
    let long_side = json!({"type": "bind", "appid": "a", "side": "s".repeat(129)});
    assert_eq!(
        step(&mut Rules::default(), long_side),
        Step::Refuse(Refusal::FieldTooLong)
    );
}

#[test]
fn lenient_fields_are_dropped_not_refused() {
    let mut s = bound();
    let Step::Call(open) = step(&mut s, json!({"type": "open", "mailbox": "m"})) else {
        panic!("open refused")
    };
    s.complete(open.kind(), &Ok(Answer::Opened(vec![])));
    // a non-string or overlong id is not stored; a non-string mood neither
    for id in [json!(7), json!("i".repeat(129))] {
        let add = json!({"type": "add", "phase": "p", "body": "00", "id": id});
        assert!(matches!(
            step(&mut s, add),
            Step::Call(Call::Add { id: None, .. })
        ));
    }
    let add = json!({"type": "add", "phase": "p", "body": "00", "id": "a1"});
    assert!(matches!(step(&mut s, add), Step::Call(Call::Add { id: Some(i), .. }) if i == "a1"));
    for mood in [json!(1), json!("m".repeat(33))] {
        let mut s = bound();
        let close = json!({"type": "close", "mailbox": "m", "mood": mood});
        assert!(matches!(
            step(&mut s, close),
            Step::Call(Call::Close { mood: None, .. })
        ));
    }
}

#[test]
fn ping_echoes_any_json() {
    let mut s = Rules::default();
    for ping in [json!(3), json!("x"), json!({"a": [null]})] {
        let Step::Reply(pong) = step(&mut s, json!({"type": "ping", "ping": ping})) else {
            panic!("no pong")
        };
        let v: Value = serde_json::from_str(&pong).unwrap();
        assert_eq!((&v["type"], &v["pong"]), (&json!("pong"), &ping));
    }
}
