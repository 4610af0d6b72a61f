//! The share machine with a seeded RNG and fake time.

use super::*;
use crate::localsend::decode;
use rand::rngs::StdRng;
use rand::SeedableRng;

const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 7));

fn items() -> Vec<OutgoingItem> {
    let file = |name: &str, size| OutgoingItem::File {
        relative_name: name.into(),
        size,
        sha256: None,
        modified: None,
    };
    vec![file("dir/a.txt", 5), file("dir/sub/b.bin", 0)]
}

fn share(pin: Option<&str>) -> Share {
    let config = ShareConfig {
        pin: pin.map(str::to_owned),
        session_ttl: DEFAULT_SESSION_TTL,
    };
    Share::new(config, &items())
}

fn info() -> DeviceInfo {
    decode::device_info(br#"{"alias":"me","version":"2.1","fingerprint":"F"}"#).expect("info")
}

fn status<T>(r: Result<T, Response>) -> Option<Status> {
    r.err().map(|e| e.status)
}

#[test]
fn a_session_lists_every_file_and_serves_them() {
    let (mut s, mut rng, t0) = (share(None), StdRng::seed_from_u64(1), Instant::now());
    let sid = s
        .handle_prepare_download(t0, PEER, None, None, &mut rng)
        .expect("granted");
    let answer = s.answer(info(), &sid);
    let parsed = decode::prepare_download_response(&answer.body).expect("decodes");
    assert_eq!(parsed.session_id, sid);
    let names: Vec<_> = parsed
        .files
        .values()
        .map(|f| f.file_name.as_str())
        .collect();
    assert_eq!(names, ["dir/a.txt", "dir/sub/b.bin"]);
    let file = s.handle_download(t0, Some(&sid), Some("1")).expect("file");
    assert_eq!(file.file_name, "dir/sub/b.bin");
}

#[test]
fn bad_session_is_403_unknown_file_404_missing_400() {
    let (mut s, mut rng, t0) = (share(None), StdRng::seed_from_u64(2), Instant::now());
    let sid = s
        .handle_prepare_download(t0, PEER, None, None, &mut rng)
        .expect("granted");
    let forbidden = s.handle_download(t0, Some("nope"), Some("0"));
    assert_eq!(status(forbidden), Some(Status::Forbidden));
    assert_eq!(
        status(s.handle_download(t0, Some(&sid), Some("9"))),
        Some(Status::NotFound)
    );
    assert_eq!(
        status(s.handle_download(t0, None, Some("0"))),
        Some(Status::BadRequest)
    );
}

#[test]
fn a_named_live_session_is_kept_and_an_unknown_one_replaced() {
    let (mut s, mut rng, t0) = (share(None), StdRng::seed_from_u64(3), Instant::now());
    let sid = s
        .handle_prepare_download(t0, PEER, None, None, &mut rng)
        .expect("ok");
    let again = s.handle_prepare_download(t0, PEER, Some(&sid), None, &mut rng);
    assert_eq!(again.expect("ok"), sid);
    let other = s.handle_prepare_download(t0, PEER, Some("forged"), None, &mut rng);
    assert_ne!(other.expect("ok"), "forged");
}

#[test]
fn pins_are_checked_by_the_receivers_gate() {
    let (mut s, mut rng, t0) = (
        share(Some("1234")),
        StdRng::seed_from_u64(4),
        Instant::now(),
    );
    let mut ask = |pin| status(s.handle_prepare_download(t0, PEER, None, pin, &mut rng));
    assert_eq!(ask(None), Some(Status::Unauthorized));
    assert_eq!(ask(Some("1234")), None);
    for _ in 0..3 {
        assert_eq!(ask(Some("0000")), Some(Status::Unauthorized));
    }
    assert_eq!(ask(Some("1234")), Some(Status::TooManyRequests));
}

#[test]
fn sessions_expire_and_are_bounded() {
    let (mut s, mut rng, t0) = (share(None), StdRng::seed_from_u64(5), Instant::now());
    let first = s
        .handle_prepare_download(t0, PEER, None, None, &mut rng)
        .expect("ok");
    let later = t0 + DEFAULT_SESSION_TTL;
    let gone = s.handle_download(later, Some(&first), Some("0"));
    assert_eq!(status(gone), Some(Status::Forbidden));
    let ids: Vec<String> = (0..=MAX_SESSIONS as u64)
        .map(|n| t0 + Duration::from_secs(n))
        .map(|t| {
            s.handle_prepare_download(t, PEER, None, None, &mut rng)
                .expect("ok")
        })
        .collect();
    let t = t0 + Duration::from_secs(MAX_SESSIONS as u64);
    assert_eq!(
        status(s.handle_download(t, Some(&ids[0]), Some("0"))),
        Some(Status::Forbidden)
    );
    assert!(s.handle_download(t, Some(&ids[1]), Some("0")).is_ok());
}

#[test]
fn targets_encode_what_the_peer_chose() {
    assert_eq!(
        prepare_download_target(None, None),
        "/api/localsend/v2/prepare-download"
    );
    assert_eq!(
        prepare_download_target(Some("s 1"), Some("1&2")),
        "/api/localsend/v2/prepare-download?sessionId=s%201&pin=1%262"
    );
    assert_eq!(
        download_target("s", "a/../b"),
        "/api/localsend/v2/download?sessionId=s&fileId=a%2F..%2Fb"
    );
}

#[test]
fn refusals_read_as_send_errors() {
    assert_eq!(
        interpret_prepare_download(401, b""),
        Err(SendError::PinRequiredOrWrong)
    );
    assert_eq!(
        interpret_prepare_download(429, b""),
        Err(SendError::TooManyPinAttempts)
    );
    assert!(matches!(
        interpret_prepare_download(200, b"{}"),
        Err(SendError::BadAnswer(_))
    ));
}
