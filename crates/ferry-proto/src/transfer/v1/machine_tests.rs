//! The v1 machines one message at a time: who sends hints when, and what each
//! side refuses. Whole conversations run in `crate::sim`.

use sha2::{Digest, Sha256};

use super::*;

fn hints(n: u16) -> TransitMessage {
    let mut t = send::no_hints();
    t.abilities = vec![serde_json::json!({ "type": format!("direct-tcp-v{n}") })];
    t
}

fn file() -> Offer {
    Offer::File {
        filename: "a".into(),
        filesize: 3,
    }
}

fn messages(r: &mut V1Receiver) -> Vec<PeerMessage> {
    std::iter::from_fn(|| r.poll_message()).collect()
}

#[test]
fn receiver_answers_hints_once_even_when_they_come_twice() {
    let mut r = V1Receiver::new();
    r.handle_message(PeerMessage::Transit(hints(1))).unwrap();
    assert_eq!(r.poll_event(), Some(V1Event::PrepareTransit));
    r.handle_message(PeerMessage::Transit(hints(2))).unwrap();
    assert_eq!(r.poll_event(), None, "asked once");
    r.transit_ready(hints(9)).unwrap();
    r.handle_message(PeerMessage::Offer(file())).unwrap();
    assert_eq!(r.poll_event(), Some(V1Event::Offer(file())));
    r.accept().unwrap();
    let sent = messages(&mut r);
    assert_eq!(
        sent,
        vec![
            PeerMessage::Transit(hints(9)),
            PeerMessage::Answer(Answer::FileAck("ok".into()))
        ]
    );
    let connect = V1Event::Connect {
        peer: hints(2),
        size: 3,
    };
    assert_eq!(r.poll_event(), Some(connect), "the latest hints count");
}

#[test]
fn receiver_sends_hints_before_file_ack_when_the_sender_sent_none() {
    let mut r = V1Receiver::new();
    r.handle_message(PeerMessage::Offer(file())).unwrap();
    r.poll_event();
    r.accept().unwrap();
    assert_eq!(r.poll_event(), Some(V1Event::PrepareTransit));
    assert!(messages(&mut r).is_empty(), "file_ack waits for our hints");
    r.transit_ready(hints(1)).unwrap();
    assert!(matches!(
        &messages(&mut r)[..],
        [PeerMessage::Transit(_), PeerMessage::Answer(_)]
    ));
    assert!(matches!(
        r.poll_event(),
        Some(V1Event::Connect { size: 3, .. })
    ));
    r.data_received(Sha256::digest(b"abc").into()).unwrap();
    let ack: TransitAck = serde_json::from_slice(&r.poll_record().unwrap()).unwrap();
    assert!(ack.confirms(&Sha256::digest(b"abc").into()));
    assert!(r.is_done());
}

#[test]
fn receiver_declines_and_refuses() {
    let mut r = V1Receiver::new();
    r.handle_message(PeerMessage::Offer(file())).unwrap();
    r.decline();
    assert_eq!(
        messages(&mut r),
        vec![PeerMessage::Error(TRANSFER_REJECTED.into())]
    );
    assert!(r.is_done());
    let mut r = V1Receiver::new();
    let answer = PeerMessage::Answer(Answer::FileAck("ok".into()));
    assert!(matches!(
        r.handle_message(answer),
        Err(V1Error::Protocol(_))
    ));
    let mut r = V1Receiver::new();
    let declined = r.handle_message(PeerMessage::Error(TRANSFER_REJECTED.into()));
    assert_eq!(declined, Err(V1Error::Declined));
}

#[test]
fn sender_waits_for_file_ack_and_checks_the_digest() {
    let mut s = V1Sender::new(file(), hints(1));
    let sent: Vec<_> = std::iter::from_fn(|| s.poll_message()).collect();
    assert_eq!(
        sent,
        vec![PeerMessage::Transit(hints(1)), PeerMessage::Offer(file())]
    );
    s.handle_message(PeerMessage::Transit(hints(2))).unwrap();
    s.handle_message(PeerMessage::Answer(Answer::FileAck("ok".into())))
        .unwrap();
    let connect = V1Event::Connect {
        peer: hints(2),
        size: 3,
    };
    assert_eq!(s.poll_event(), Some(connect));
    assert!(!s.wants_message() && !s.wants_record());
    s.data_sent(Sha256::digest(b"abc").into()).unwrap();
    assert!(s.wants_record());
    let wrong = serde_json::to_vec(&TransitAck::ok(&[0; 32])).unwrap();
    assert!(matches!(
        s.handle_record(&wrong),
        Err(V1Error::Integrity(_))
    ));
}

#[test]
fn sender_refuses_the_wrong_answer() {
    let mut s = V1Sender::new(file(), hints(1));
    let wrong = PeerMessage::Answer(Answer::MessageAck("ok".into()));
    assert!(matches!(s.handle_message(wrong), Err(V1Error::Protocol(_))));
    assert!(s.is_done());
    let mut s = V1Sender::new(Offer::Message("hi".into()), hints(1));
    assert!(matches!(s.poll_message(), Some(PeerMessage::Offer(_))));
    assert_eq!(s.poll_message(), None, "text sends no hints");
    let refused = s.handle_message(PeerMessage::Error("no room".into()));
    assert_eq!(refused, Err(V1Error::Peer("no room".into())));
}
