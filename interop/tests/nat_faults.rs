//! Faults across the NAT lab (`ferry_interop::nat_lab`), ferry to ferry with real
//! processes and the default timers: a home's link cut for 5 s and for 60 s, the
//! receiver's home moved to a new address, `ferry serve` (mailbox and relay) killed
//! and started again, the sender suspended (SIGSTOP) for 45 s — each in the middle
//! of a transfer. Every case must end with the same code, inside its bound, with the
//! file verified byte for byte; where the connection cannot survive, the receiver
//! must have said it was reconnecting. Except for the relay restart (relayed on
//! purpose), each starts on a hole-punched QUIC path: the heals are QUIC heals.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_interop::code::Code;
use ferry_interop::data::random_file;
use ferry_interop::nat_lab::{in_host, wait_until, Nat, NatLab, Upnpd};
use ferry_interop::process::{finish_pair, Outcome, Running};
use ferry_interop::TestEnv;
use ferry_test_support::native_cli::resume_state;
use tempfile::TempDir;

/// 16 MiB at the sender's 16 Mbit/s: about 8 s of transfer without faults.
const SIZE: u64 = 16 << 20;
const RATE_MBIT: u32 = 16;
/// What the receiver must have verified before the fault: well under way.
const UNDER_WAY: u64 = 2 << 20;
const START: Duration = Duration::from_secs(30);
const RECONNECTING: &str = "); reconnecting (attempt ";
/// The receiver's home.
const B: usize = 1;

/// Both sides of one transfer, under way.
struct Pair {
    sender: Running,
    receiver: Running,
    src: PathBuf,
    out: TempDir,
    _data: TempDir,
}

/// How a case ended, timed from its fault.
struct Ended {
    sender: Outcome,
    receiver: Outcome,
    took: Duration,
    /// When the receiver printed its second `Connected (` line, if it did.
    healed: Option<Duration>,
}

impl Ended {
    fn report(&self) -> String {
        let (took, healed) = (self.took, self.healed);
        format!(
            "after {took:?} (connected again after {healed:?})\n{}\n{}",
            self.sender, self.receiver
        )
    }

    /// The receiver's `Connected (…)` lines, in order: which paths carried it.
    fn paths(&self) -> Vec<String> {
        let text = self.receiver.stderr_text();
        let lines = text.lines().filter_map(|l| l.strip_prefix("Connected ("));
        lines.map(|l| l.trim_end_matches(").").to_owned()).collect()
    }

    /// Two port-preserving NATs: the transfer starts on a hole-punched QUIC path, so
    /// a case that heals heals a QUIC connection.
    fn started_on_quic(&self) {
        let paths = self.paths();
        let first = paths.first().map(String::as_str).unwrap_or("");
        assert!(first.starts_with("direct, QUIC "), "{}", self.report());
    }

    fn reconnected(&self) -> bool {
        self.receiver.stderr_text().contains(RECONNECTING)
    }
}

/// ferry sends a random file from home A (sending at most `RATE_MBIT`) to ferry
/// in home B, both with `extra` options; returns once the receiver has verified
/// `UNDER_WAY` bytes.
fn start(lab: &NatLab, extra: &[&str]) -> Pair {
    let env = TestEnv::get();
    let code = Code::reserve(&env.state_dir).to_string();
    let data = env.scratch_dir("faultdata.");
    let src = random_file(&data.path().join("payload.bin"), SIZE).expect("test file");
    let out = env.scratch_dir("faultout.");
    lab.homes[0].limit_rate(RATE_MBIT);
    let servers = ["--server", &lab.mailbox(), "--relay", &lab.relay()];
    let mut send = in_host(&lab.homes[0], "ferry sender", &env.ferry_bin, lab.dir());
    send.arg("send").args(servers).args(extra);
    send.args(["--hide-progress", "--code", &code]).arg(&src);
    let mut recv = in_host(&lab.homes[B], "ferry receiver", &env.ferry_bin, lab.dir());
    recv.arg("receive").args(servers).args(extra);
    recv.args(["--hide-progress", "--yes", "--output-dir"])
        .arg(out.path())
        .arg(&code);
    let mut sender = Running::spawn(&send).expect("sender starts");
    sender
        .wait_for_output(&code, START)
        .unwrap_or_else(|e| panic!("{e}\n{}", sender.output_so_far()));
    let receiver = Running::spawn(&recv).expect("receiver starts");
    let target = out.path().join("payload.bin");
    let under_way = wait_until(START, || {
        let verified = resume_state(&target).map(|s| s.verified_bytes());
        verified.filter(|v| *v >= UNDER_WAY)
    });
    if under_way.is_none() {
        panic!(
            "not under way after {START:?}\n{}\n{}",
            sender.output_so_far(),
            receiver.output_so_far()
        );
    }
    Pair {
        sender,
        receiver,
        src,
        out,
        _data: data,
    }
}

/// Waits for both sides (at most `bound` after `fault`); both must succeed inside
/// the bound with the file whole. Prints one line for `bench/faults`: the case,
/// its time and when the receiver was connected again.
fn finish(mut pair: Pair, fault: Instant, bound: Duration, case: &str) -> Ended {
    let deadline = fault + bound;
    let mut healed = None;
    while Instant::now() < deadline && !pair.receiver.poll_exit() {
        let connected = pair.receiver.output_so_far().matches("Connected (").count();
        if healed.is_none() && connected >= 2 {
            healed = Some(fault.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let grace = Duration::from_secs(20);
    let (sender, receiver) = finish_pair(pair.sender, pair.receiver, deadline, grace);
    let ended = Ended {
        sender,
        receiver,
        took: fault.elapsed(),
        healed,
    };
    println!(
        "fault-case {case}: ok={} took={:.1} healed={} paths={}",
        ended.sender.succeeded() && ended.receiver.succeeded(),
        ended.took.as_secs_f64(),
        healed.map_or("-".into(), |h| format!("{:.1}", h.as_secs_f64())),
        ended.paths().join(" → ")
    );
    let report = ended.report();
    assert!(
        ended.sender.succeeded() && ended.receiver.succeeded(),
        "{report}"
    );
    assert!(ended.took <= bound, "over {bound:?}: {report}");
    assert_same(&pair.src, &pair.out.path().join("payload.bin"), &report);
    ended
}

fn assert_same(src: &Path, got: &Path, report: &str) {
    let got = std::fs::read(got).unwrap_or_else(|e| panic!("{got:?}: {e}\n{report}"));
    assert!(
        got == std::fs::read(src).expect("sent file"),
        "different bytes\n{report}"
    );
}

fn lab() -> NatLab {
    NatLab::new((Nat::PortPreserving, Upnpd::Off), Nat::PortPreserving)
}

/// Cuts the receiver's home off for `secs`, then mends it; returns when the cut began.
fn cut_for(lab: &NatLab, secs: u64) -> Instant {
    let fault = Instant::now();
    lab.cut(B);
    std::thread::sleep(Duration::from_secs(secs));
    lab.mend(B);
    fault
}

/// Shorter than the idle timeout (30 s): TCP rides it out, no reconnection.
#[test]
fn a_5_s_cut_is_ridden_out() {
    let lab = lab();
    let pair = start(&lab, &[]);
    let fault = cut_for(&lab, 5);
    let ended = finish(
        pair,
        fault,
        Duration::from_secs(40),
        "a_5_s_cut_is_ridden_out",
    );
    ended.started_on_quic();
    assert!(!ended.reconnected(), "{}", ended.report());
}

/// Longer than the idle timeout: both sides notice the silence, reconnect through
/// the mailbox once the link is back, and the rest moves.
#[test]
fn a_60_s_cut_heals() {
    let lab = lab();
    let pair = start(&lab, &[]);
    let fault = cut_for(&lab, 60);
    let ended = finish(pair, fault, Duration::from_secs(110), "a_60_s_cut_heals");
    ended.started_on_quic();
    assert!(ended.reconnected(), "{}", ended.report());
}

/// The receiver's address changes: its old connections lead nowhere, the heal
/// makes new ones from the new address.
#[test]
fn a_receiver_that_moves_to_a_new_address() {
    let lab = lab();
    let pair = start(&lab, &[]);
    let fault = Instant::now();
    lab.move_home(B, "10.0.2.3");
    let ended = finish(
        pair,
        fault,
        Duration::from_secs(90),
        "a_receiver_that_moves_to_a_new_address",
    );
    ended.started_on_quic();
    assert!(ended.reconnected(), "{}", ended.report());
}

/// Relayed on purpose; the server (mailbox and relay) dies and comes back on the
/// same ports and database: the mailbox it kept carries the reconnection.
#[test]
fn a_relay_killed_and_restarted() {
    let mut lab = lab();
    let pair = start(&lab, &["--force-relay"]);
    let fault = Instant::now();
    lab.restart_server(Duration::from_secs(3));
    let ended = finish(
        pair,
        fault,
        Duration::from_secs(45),
        "a_relay_killed_and_restarted",
    );
    let report = ended.report();
    assert!(ended.reconnected(), "{report}");
    assert!(
        ended.sender.stderr_text().contains(RECONNECTING),
        "{report}"
    );
    let relay_lines = ended
        .receiver
        .stderr_text()
        .matches("Connected (relay")
        .count();
    assert!(relay_lines >= 2, "a new relay path line: {report}");
}

/// A sender that sleeps (SIGSTOP) longer than the idle timeout: the receiver
/// notices, waits in the mailbox, and both carry on once it wakes.
#[test]
fn a_sender_suspended_for_45_s() {
    let lab = lab();
    let pair = start(&lab, &[]);
    let pid = pair.sender.pid().to_string();
    let signal = |which: &str| {
        let sent = std::process::Command::new("kill")
            .args([which, &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill {which} {pid}");
    };
    let fault = Instant::now();
    signal("-STOP");
    std::thread::sleep(Duration::from_secs(45));
    signal("-CONT");
    let ended = finish(
        pair,
        fault,
        Duration::from_secs(95),
        "a_sender_suspended_for_45_s",
    );
    ended.started_on_quic();
    assert!(ended.reconnected(), "{}", ended.report());
}
