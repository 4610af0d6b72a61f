//! Sessions that heal (ferry ↔ ferry, native): the relay stand-in breaks the
//! transit connection mid-transfer — closed once, gone silent, or closed for
//! good — and the two sides reconnect through the mailbox they still hold,
//! with the same code, moving only what the receiver does not hold verified;
//! or give up within `reconnect_for`, keeping the verified data.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ferry::transit::{Listen, Relay, TransitConfig};
use ferry::{
    CodeChoice, Error, NetworkError, Payload, ReceiveOptions, Received, RendezvousObserver,
    SendOptions, Timing, Ui,
};
use ferry_proto::code::Code;
use ferry_proto::transit::hints::DirectHint;
use ferry_server::ServerHandle;
use ferry_test_support::files::{bytes, names};
use ferry_test_support::in_process::mailbox;
use ferry_test_support::relay_proxy::{Proxy, ProxyPlan};
use ferry_test_support::server::spawn_default;

const SIZE: usize = 8 << 20;
/// The first relayed pair closed halfway.
const CUT: ProxyPlan = ProxyPlan {
    rate: None,
    flip_at: None,
    cut_after: Some(SIZE as u64 / 2),
    stall_after: None,
    only_first: false,
};
/// The first relayed pair silent from halfway on.
const STALL: ProxyPlan = ProxyPlan {
    cut_after: None,
    stall_after: Some(SIZE as u64 / 2),
    ..CUT
};

/// What a side heard: the paths it connected over, the reconnections, and
/// the attempts that followed the peer after a first connection never seen.
#[derive(Default, Debug)]
struct Seen {
    paths: Vec<String>,
    attempts: Vec<u32>,
    followed: Vec<u32>,
}

impl RendezvousObserver for Seen {}

impl Ui for Seen {
    fn transit(&mut self, description: &str) {
        self.paths.push(description.to_owned());
    }

    fn reconnecting(&mut self, attempt: u32, _why: &str) {
        self.attempts.push(attempt);
    }

    fn connecting_again(&mut self, attempt: u32, _why: &str) {
        self.followed.push(attempt);
    }

    fn accept(&mut self, _offer: &ferry::OfferSummary) -> bool {
        true
    }
}

/// Shrunk timers: 2 s of silence is death, `reconnect_for` as given.
fn timing(reconnect_for: Duration) -> Timing {
    let mut t = Timing::default();
    t.transit_idle = Duration::from_secs(2);
    t.keepalive = Duration::from_millis(300);
    t.reconnect_for = reconnect_for;
    t.relay_delay = Duration::ZERO;
    t
}

/// Relay only, through `proxy`.
fn via(proxy: &Proxy, reconnect_for: Duration) -> TransitConfig {
    TransitConfig {
        relay: Some(Relay::Tcp(DirectHint {
            hostname: "127.0.0.1".into(),
            port: proxy.addr.port(),
            priority: 0.0,
        })),
        trust: Default::default(),
        listen: Listen::Off,
        force_relay: true,
        port_mapping: false,
        quic: ferry::transit::Quic::Off,
        timing: timing(reconnect_for),
        early: Default::default(),
    }
}

struct Outcome {
    sent: ferry::Result<()>,
    received: ferry::Result<Received>,
    sender: Seen,
    receiver: Seen,
    took: Duration,
}

async fn run(h: &ServerHandle, transit: TransitConfig, src: &Path, out: &Path) -> Outcome {
    let code = Code::parse("4-heal-me").expect("code");
    let send = SendOptions {
        mailbox: mailbox(h, false),
        transit: transit.clone(),
        code: CodeChoice::Given(code.clone()),
        v1: false,
    };
    let recv = ReceiveOptions {
        mailbox: mailbox(h, false),
        transit,
        code,
        output_dir: out.to_owned(),
        v1: false,
        sessions: None,
    };
    let (mut sender, mut receiver) = (Seen::default(), Seen::default());
    let start = Instant::now();
    let both = async {
        tokio::join!(
            ferry::send(&send, Payload::Path(src.to_owned()), &mut sender),
            ferry::receive(&recv, &mut receiver)
        )
    };
    let (sent, received) = tokio::time::timeout(Duration::from_secs(30), both)
        .await
        .expect("ends in time");
    Outcome {
        sent,
        received,
        sender,
        receiver,
        took: start.elapsed(),
    }
}

fn case() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    Vec<u8>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("big.bin");
    let data = bytes(SIZE, 5);
    std::fs::write(&src, &data).expect("source");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    (dir, src, out, data)
}

/// A transfer of a fresh case through a proxy with `plan`.
struct Faulty {
    _dir: tempfile::TempDir,
    out: std::path::PathBuf,
    data: Vec<u8>,
    proxy: Proxy,
    o: Outcome,
}

async fn faulty(plan: ProxyPlan, reconnect_for: Duration) -> Faulty {
    let h = spawn_default().await;
    let (dir, src, out, data) = case();
    let proxy = Proxy::start(plan).await;
    let o = run(&h, via(&proxy, reconnect_for), &src, &out).await;
    Faulty {
        _dir: dir,
        out,
        data,
        proxy,
        o,
    }
}

/// Both sides failed as `expected` says (given the error and its text): the
/// side that noticed second may fail with the first one's reason, from the mailbox.
fn both_failed(o: &Outcome, expected: impl Fn(&Error, &str) -> bool) {
    for e in [o.sent.as_ref().err(), o.received.as_ref().err()] {
        let e = e.expect("both sides fail");
        assert!(expected(e, &e.to_string()), "{e:?}");
    }
}

/// Completed on both sides after one reconnection, byte-identical, and the
/// second connection carried only what the first had not delivered.
fn healed_once(f: &Faulty) {
    let (o, out, data, proxy) = (&f.o, f.out.as_path(), &f.data, &f.proxy);
    assert!(o.sent.is_ok(), "sender: {:?}", o.sent);
    let report = match &o.received {
        Ok(Received::Files(r)) => r,
        other => panic!("receiver: {other:?}"),
    };
    assert_eq!(o.sender.attempts, [2], "{:?}", o.sender);
    assert_eq!(o.receiver.attempts, [2], "{:?}", o.receiver);
    for seen in [&o.sender, &o.receiver] {
        assert_eq!(seen.paths.len(), 2, "a new Connected line: {seen:?}");
        assert!(
            seen.paths.iter().all(|p| p.starts_with("relay")),
            "{seen:?}"
        );
    }
    assert!(std::fs::read(out.join("big.bin")).expect("received") == *data);
    assert_eq!(names(out), ["big.bin"], "resume files cleaned up");
    assert_eq!(
        report.transferred + report.resumed + report.already_present,
        SIZE as u64
    );
    // Resent whole, the relay would have carried about 1.5 × SIZE.
    let carried = proxy.copied.load(Ordering::Relaxed);
    assert!(
        carried < SIZE as u64 + (SIZE as u64) / 8,
        "carried {carried}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_mid_transfer_heals() {
    let f = faulty(CUT, Duration::from_secs(20)).await;
    healed_once(&f);
}

/// No reset, no close: the path just stops carrying bytes. The keep-alives stop
/// arriving, both sides notice after `transit_idle` and reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_gone_silent_heals() {
    let f = faulty(STALL, Duration::from_secs(20)).await;
    healed_once(&f);
    assert!(
        f.o.took >= Duration::from_secs(2),
        "waited for the idle timeout"
    );
}

/// Silence without healing (`reconnect_for` 0): a clear error on both sides
/// once `transit_idle` has passed, never a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_is_noticed_within_the_idle_timeout() {
    let f = faulty(STALL, Duration::ZERO).await;
    let o = &f.o;
    both_failed(o, |e, shown| {
        shown == "no data from the peer for 2 s"
            || matches!(e, Error::Peer(_)) && shown.ends_with("the connection went silent")
    });
    assert!(o.took < Duration::from_secs(10), "took {:?}", o.took);
}

/// The relay takes no new pair after the cut: the sides try for
/// `reconnect_for`, then stop with a clear error, the verified data kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_that_never_heals_gives_up_in_time_and_keeps_the_data() {
    let patience = Duration::from_secs(3);
    let only_first = ProxyPlan {
        only_first: true,
        ..CUT
    };
    let f = faulty(only_first, patience).await;
    let (o, out) = (&f.o, &f.out);
    both_failed(o, |e, shown| {
        matches!(e, Error::Network(NetworkError::GaveUp { .. }))
            && shown.contains("could not reconnect within 3 s")
            || matches!(e, Error::Peer(_))
                && shown.ends_with("the connection broke and could not be made again")
    });
    assert!(
        o.took < patience + Duration::from_secs(5),
        "took {:?}",
        o.took
    );
    assert!(!o.receiver.attempts.is_empty());
    let kept = names(out);
    assert!(
        kept.iter().any(|n| n.ends_with(".ferry-resume-state")),
        "resume files kept: {kept:?}"
    );
}

/// A DONE record on the wire: length prefix, tag byte and three u64 totals, AEAD tag.
const DONE_RECORD: u64 = 4 + 1 + 3 * 8 + 16;

/// The connection breaks once the receiver has everything, before its DONE
/// crosses (the first pair is cut when all but a DONE record's bytes of a clean
/// run crossed): the receiver succeeds and says so in the mailbox; the sender,
/// reconnecting, reads that and succeeds too, instead of trying until
/// `reconnect_for` runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_done_lost_with_the_connection_reaches_the_sender_by_the_mailbox() {
    let patience = Duration::from_secs(20);
    let clean = faulty(ProxyPlan::default(), patience).await;
    assert!(clean.o.sent.is_ok() && clean.o.received.is_ok());
    let all = clean.proxy.copied.load(Ordering::Relaxed);
    let before_done = ProxyPlan {
        cut_after: Some(all - DONE_RECORD),
        ..ProxyPlan::default()
    };
    let f = faulty(before_done, patience).await;
    let o = &f.o;
    assert!(o.sent.is_ok(), "sender: {:?}", o.sent);
    assert!(o.received.is_ok(), "receiver: {:?}", o.received);
    assert_eq!(o.receiver.attempts, [0u32; 0], "the receiver had finished");
    assert_eq!(o.sender.attempts, [2], "{:?}", o.sender);
    assert!(o.took < Duration::from_secs(10), "took {:?}", o.took);
    assert!(std::fs::read(f.out.join("big.bin")).expect("received") == f.data);
}

/// Both transit handshakes, `transit sender|receiver <64 hex> ready\n\n`: the
/// bytes a relayed pair carries before the sender's `go`.
const HANDSHAKES: u64 = 87 + 89;

/// The relay dies as the pair forms: the sender read the receiver's handshake
/// and sent `go`, which the receiver never read. The sender reconnects at once;
/// the receiver, whose first connection failed, follows it instead of failing
/// (seen with a relay pool instance killed at that moment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_connection_lost_before_go_heals() {
    let before_go = ProxyPlan {
        cut_after: Some(HANDSHAKES),
        ..ProxyPlan::default()
    };
    let f = faulty(before_go, Duration::from_secs(20)).await;
    let o = &f.o;
    assert!(o.sent.is_ok(), "sender: {:?}", o.sent);
    assert!(o.received.is_ok(), "receiver: {:?}", o.received);
    assert_eq!(o.sender.attempts, [2], "{:?}", o.sender);
    assert_eq!(o.receiver.attempts, [0u32; 0], "{:?}", o.receiver);
    assert_eq!(
        o.receiver.followed,
        [2],
        "told it follows: {:?}",
        o.receiver
    );
    assert_eq!(
        o.receiver.paths.len(),
        1,
        "connected once: {:?}",
        o.receiver
    );
    assert!(std::fs::read(f.out.join("big.bin")).expect("received") == f.data);
}

/// The relay dies before either side saw the pair made: one handshake crossed,
/// the other did not, so the sender never sent `go` and both first connections
/// fail. Nobody won, so nobody would ask to reconnect: the sender asks, and the
/// receiver follows it (seen with a relay pool instance killed mid-handshake).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_first_connections_lost_heal_when_the_sender_asks() {
    let one_handshake = ProxyPlan {
        cut_after: Some(1),
        ..ProxyPlan::default()
    };
    let f = faulty(one_handshake, Duration::from_secs(20)).await;
    let o = &f.o;
    assert!(o.sent.is_ok(), "sender: {:?}", o.sent);
    assert!(o.received.is_ok(), "receiver: {:?}", o.received);
    for side in [&o.sender, &o.receiver] {
        assert_eq!(side.followed, [2], "connected again: {side:?}");
        assert_eq!(side.attempts, [0u32; 0], "no link broke: {side:?}");
        assert_eq!(side.paths.len(), 1, "connected once: {side:?}");
    }
    assert!(std::fs::read(f.out.join("big.bin")).expect("received") == f.data);
}
