//! The receiver driven through whole sessions with a seeded RNG and fake time.

use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

const SENDER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 7));
const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 8));

fn body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "info": {"alias": "phone", "version": "2.1", "fingerprint": "F", "port": 53317},
        "files": {
            "a": {"id": "a", "fileName": "../x.txt", "size": 5, "fileType": "text/plain"},
            "b": {"id": "b", "fileName": "b.bin", "size": 0, "fileType": "application/octet-stream"}
        }
    }))
    .expect("json")
}

fn receiver(pin: Option<&str>) -> Receiver {
    Receiver::new(ReceiverConfig {
        pin: pin.map(str::to_owned),
        idle_timeout: DEFAULT_IDLE_TIMEOUT,
    })
}

fn ask(
    r: &mut Receiver,
    rng: &mut StdRng,
    peer: IpAddr,
    pin: Option<&str>,
) -> Result<Offer, Status> {
    match r.handle_prepare_upload(peer, pin, &body(), rng) {
        Prepared::Ask(o) => Ok(o),
        Prepared::Respond(resp) => Err(resp.status),
    }
}

fn accepted(r: &mut Receiver, rng: &mut StdRng, now: Instant) -> PrepareUploadResponse {
    let offer = ask(r, rng, SENDER, None).expect("asks");
    let resp = r.decide(
        now,
        &offer.session_id,
        Decision::Accept(vec!["a".into(), "b".into()]),
        rng,
    );
    assert_eq!(resp.status, Status::Ok);
    decode::prepare_upload_response(&resp.body).expect("tokens")
}

#[test]
fn whole_session_keeps_raw_names_and_finishes() {
    let (mut r, mut rng, t0) = (receiver(None), StdRng::seed_from_u64(1), Instant::now());
    let offer = ask(&mut r, &mut rng, SENDER, None).expect("asks");
    assert_eq!(
        offer.files["a"].file_name, "../x.txt",
        "raw: landing confines it"
    );
    let resp = r.decide(
        t0,
        &offer.session_id,
        Decision::Accept(vec!["a".into(), "b".into()]),
        &mut rng,
    );
    let tokens = decode::prepare_upload_response(&resp.body).expect("tokens");
    assert_eq!(tokens.session_id, offer.session_id);
    let sid = Some(tokens.session_id.as_str());
    let mut t = r
        .handle_upload(t0, SENDER, sid, Some("a"), Some(&tokens.files["a"]))
        .expect("ticket");
    r.handle_upload_data(t0, &mut t, 5).expect("fits");
    assert_eq!(
        r.handle_upload_end(t0, t, true),
        (Response::empty(Status::Ok), None)
    );
    let t = r
        .handle_upload(t0, SENDER, sid, Some("b"), Some(&tokens.files["b"]))
        .expect("ticket");
    assert_eq!(r.handle_upload_end(t0, t, true).1, Some(Ended::Finished));
    assert!(!r.is_busy());
}

#[test]
fn pin_missing_wrong_then_too_many_per_ip() {
    let (mut r, mut rng) = (receiver(Some("123456")), StdRng::seed_from_u64(2));
    assert_eq!(
        ask(&mut r, &mut rng, SENDER, None),
        Err(Status::Unauthorized)
    );
    for _ in 0..MAX_PIN_ATTEMPTS {
        assert_eq!(
            ask(&mut r, &mut rng, SENDER, Some("000000")),
            Err(Status::Unauthorized)
        );
    }
    assert_eq!(
        ask(&mut r, &mut rng, SENDER, Some("123456")),
        Err(Status::TooManyRequests)
    );
    assert!(
        ask(&mut r, &mut rng, OTHER, Some("123456")).is_ok(),
        "counted per IP"
    );
}

#[test]
fn decline_busy_and_cancel_while_waiting() {
    let (mut r, mut rng, t0) = (receiver(None), StdRng::seed_from_u64(3), Instant::now());
    let offer = ask(&mut r, &mut rng, SENDER, None).expect("asks");
    assert_eq!(ask(&mut r, &mut rng, OTHER, None), Err(Status::Conflict));
    assert_eq!(r.handle_cancel(OTHER, None).1, None, "not the sender");
    assert_eq!(r.handle_cancel(SENDER, None).1, Some(Ended::Cancelled));
    let late = r.decide(
        t0,
        &offer.session_id,
        Decision::Accept(vec!["a".into()]),
        &mut rng,
    );
    assert_eq!(late.status, Status::Forbidden);
    let offer = ask(&mut r, &mut rng, SENDER, None).expect("free again");
    assert_eq!(
        r.decide(t0, &offer.session_id, Decision::Decline, &mut rng)
            .status,
        Status::Forbidden
    );
    let offer = ask(&mut r, &mut rng, SENDER, None).expect("free again");
    let none = r.decide(
        t0,
        &offer.session_id,
        Decision::Accept(vec!["zzz".into()]),
        &mut rng,
    );
    assert_eq!(none.status, Status::NoContent);
    assert!(!r.is_busy());
}

#[test]
fn uploads_need_session_file_token_and_sender_ip() {
    let (mut r, mut rng, t0) = (receiver(None), StdRng::seed_from_u64(4), Instant::now());
    let tok = accepted(&mut r, &mut rng, t0);
    let (sid, good) = (Some(tok.session_id.as_str()), Some(tok.files["a"].as_str()));
    let status = |res: Result<UploadTicket, Response>| res.map(|_| ()).map_err(|e| e.status);
    assert_eq!(
        status(r.handle_upload(t0, SENDER, sid, Some("a"), None)),
        Err(Status::BadRequest)
    );
    assert_eq!(
        status(r.handle_upload(t0, SENDER, sid, Some("a"), Some("nope"))),
        Err(Status::Forbidden)
    );
    assert_eq!(
        status(r.handle_upload(t0, SENDER, Some("x"), Some("a"), good)),
        Err(Status::Forbidden)
    );
    assert_eq!(
        status(r.handle_upload(t0, OTHER, sid, Some("a"), good)),
        Err(Status::Forbidden)
    );
    assert_eq!(
        status(r.handle_upload(t0, SENDER, sid, Some("b"), good)),
        Err(Status::Forbidden)
    );
    let mut t = r
        .handle_upload(t0, SENDER, sid, Some("a"), good)
        .expect("ticket");
    assert_eq!(
        status(r.handle_upload(t0, SENDER, sid, Some("a"), good)),
        Err(Status::Forbidden),
        "once"
    );
    r.handle_upload_data(t0, &mut t, 4).expect("fits");
    assert_eq!(
        r.handle_upload_data(t0, &mut t, 2).map_err(|e| e.status),
        Err(Status::BadRequest)
    );
    assert_eq!(
        r.handle_upload_end(t0, t, true).0.status,
        Status::BadRequest,
        "short"
    );
}

#[test]
fn idle_session_times_out_and_cancel_ends_it() {
    let (mut r, mut rng, t0) = (receiver(None), StdRng::seed_from_u64(5), Instant::now());
    let tok = accepted(&mut r, &mut rng, t0);
    let deadline = r.poll_timeout().expect("deadline");
    assert_eq!(deadline, t0 + DEFAULT_IDLE_TIMEOUT);
    assert_eq!(r.handle_timeout(deadline - Duration::from_secs(1)), None);
    assert_eq!(r.handle_timeout(deadline), Some(Ended::TimedOut));
    let tok2 = accepted(&mut r, &mut rng, t0);
    assert_ne!(tok.session_id, tok2.session_id);
    assert_eq!(r.handle_cancel(SENDER, Some("wrong")).1, None);
    assert_eq!(
        r.handle_cancel(SENDER, Some(&tok2.session_id)).1,
        Some(Ended::Cancelled)
    );
}

#[test]
fn bad_bodies_are_400_with_a_message() {
    let (mut r, mut rng) = (receiver(None), StdRng::seed_from_u64(6));
    for bad in [&b"{"[..], br#"{"info":{},"files":{}}"#, b"\xff\xfe"] {
        match r.handle_prepare_upload(SENDER, None, bad, &mut rng) {
            Prepared::Respond(resp) => {
                assert_eq!(resp.status, Status::BadRequest);
                assert!(decode::error_message(&resp.body).is_some());
            }
            Prepared::Ask(_) => panic!("accepted {bad:?}"),
        }
    }
}
