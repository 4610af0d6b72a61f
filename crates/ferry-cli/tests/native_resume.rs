//! Resume and integrity of ferry-to-ferry transfers, with real `ferry` processes:
//! a transfer is interrupted (sender or receiver killed with SIGKILL at several
//! points, or the connection cut by the relay), then the same file is sent again
//! with a new code to the same directory; only the missing bytes move and the
//! result is byte-identical. A relay that flips a bit makes the receiver refuse the
//! data and keep nothing unverified. A changed source file is sent whole.

use std::path::PathBuf;

use ferry_proto::native::tree::Layout;
use ferry_test_support::files::{bytes, names};
use ferry_test_support::native_cli::*;
use ferry_test_support::relay_proxy::{Proxy, ProxyPlan};
use ferry_test_support::server::spawn_default;

const SIZE: usize = 40 << 20;
/// Slow enough that the test can act mid-transfer, fast enough to stay short.
const RATE: u64 = 8 << 20;

struct Case {
    _dir: tempfile::TempDir,
    src: PathBuf,
    out: PathBuf,
    data: Vec<u8>,
}

impl Case {
    fn new(seed: u64) -> Case {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("big.bin");
        let data = bytes(SIZE, seed);
        std::fs::write(&src, &data).expect("source");
        let out = dir.path().join("out");
        std::fs::create_dir(&out).expect("out");
        Case {
            _dir: dir,
            src,
            out,
            data,
        }
    }

    fn target(&self) -> PathBuf {
        self.out.join("big.bin")
    }
}

enum Interrupt {
    KillSender,
    KillReceiver,
    Cut,
}

/// A relay stand-in slow enough that the test can act mid-transfer.
async fn throttled() -> Proxy {
    Proxy::start(ProxyPlan {
        rate: Some(RATE),
        ..ProxyPlan::default()
    })
    .await
}

/// Runs a throttled transfer through the proxy and interrupts it once the
/// receiver's saved state claims `more` bytes beyond what it claimed before.
async fn interrupted(case: &Case, code: &str, how: Interrupt, more: u64) {
    let at = resume_state(&case.target()).map_or(0, |s| s.verified_bytes()) + more;
    let h = spawn_default().await;
    let mut proxy = throttled().await;
    let route = Route::Relay(proxy.addr);
    let mut sender = spawn_sender(&h, &route, code, &case.src);
    let mut receiver = spawn_receiver(&h, &route, code, &case.out);
    until_claimed(&case.target(), at).await;
    match how {
        Interrupt::KillSender => sender.start_kill().expect("kill"),
        Interrupt::KillReceiver => receiver.start_kill().expect("kill"),
        Interrupt::Cut => proxy.cut(),
    }
    let (s, r) = tokio::join!(finish(sender), finish(receiver));
    both_failed(&format!("interrupted at {at}+ bytes"), &s, &r);
    assert!(
        !case.target().exists(),
        "nothing in place after an interruption"
    );
}

/// Sends again, directly, and checks that exactly the missing bytes moved.
async fn resumed(case: &Case, code: &str) {
    let claimed = resume_state(&case.target())
        .expect("a resume state was kept")
        .verified_bytes();
    assert!(claimed > 0 && claimed < SIZE as u64, "claimed {claimed}");
    let log = sent_directly(case, code).await;
    eprintln!("resumed with {claimed} bytes kept: {}", last_line(&log));
    assert_eq!(logged(&log, "resumed"), claimed, "{log}");
    assert_eq!(logged(&log, "transferred"), SIZE as u64 - claimed, "{log}");
    assert!(log.contains("Resuming: "), "the user is told: {log}");
    assert!(
        std::fs::read(case.target()).expect("received") == case.data,
        "byte-identical"
    );
    assert_eq!(names(&case.out), ["big.bin"], "resume files cleaned up");
}

/// A fresh case interrupted once, then resumed with a new code.
async fn interrupt_then_resume(seed: u64, how: Interrupt, at: u64, codes: [&str; 2]) {
    let case = Case::new(seed);
    interrupted(&case, codes[0], how, at).await;
    resumed(&case, codes[1]).await;
}

/// Sends `case.src` straight to `case.out`; both sides must succeed. Returns
/// the receiver's log.
async fn sent_directly(case: &Case, code: &str) -> String {
    let h = spawn_default().await;
    let sender = spawn_sender(&h, &Route::Direct, code, &case.src);
    let receiver = spawn_receiver(&h, &Route::Direct, code, &case.out);
    let (s, r) = tokio::join!(finish(sender), finish(receiver));
    assert!(
        s.success && r.success,
        "sender: {}\nreceiver: {}",
        s.stderr,
        r.stderr
    );
    r.stderr
}

/// Both sides must have failed; shows how, under `what`.
fn both_failed(what: &str, s: &Outcome, r: &Outcome) {
    assert!(
        !s.success && !r.success,
        "both fail\nsender: {}\nreceiver: {}",
        s.stderr,
        r.stderr
    );
    eprintln!(
        "{what}:\n  sender: {}\n  receiver: {}",
        last_line(&s.stderr),
        last_line(&r.stderr)
    );
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_killed_early_then_resumed() {
    let codes = ["31-kill-sender", "32-resume-sender"];
    interrupt_then_resume(1, Interrupt::KillSender, 1, codes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_killed_midway_then_resumed() {
    let codes = ["33-kill-sender", "34-resume-sender"];
    interrupt_then_resume(2, Interrupt::KillSender, 20 << 20, codes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_killed_at_two_points_then_resumed() {
    let case = Case::new(3);
    interrupted(&case, "35-kill-receiver", Interrupt::KillReceiver, 8 << 20).await;
    // Interrupted again, later, on top of the first resume state.
    interrupted(&case, "36-kill-receiver", Interrupt::KillReceiver, 16 << 20).await;
    resumed(&case, "37-resume-receiver").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cut_then_resumed() {
    let codes = ["38-cut", "39-resume-cut"];
    interrupt_then_resume(4, Interrupt::Cut, 12 << 20, codes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_source_is_sent_whole() {
    let case = Case::new(5);
    interrupted(&case, "41-kill", Interrupt::KillSender, 8 << 20).await;
    let changed = bytes(SIZE, 55);
    std::fs::write(&case.src, &changed).expect("change the source");
    let log = sent_directly(&case, "42-changed").await;
    assert_eq!(logged(&log, "resumed"), 0);
    assert_eq!(logged(&log, "transferred"), SIZE as u64);
    assert!(std::fs::read(case.target()).expect("received") == changed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_stream_is_refused_and_nothing_unverified_is_kept() {
    let case = Case::new(6);
    let h = spawn_default().await;
    let flip_at = (9 << 20) + 12_345;
    let proxy = Proxy::start(ProxyPlan {
        flip_at: Some(flip_at),
        ..ProxyPlan::default()
    })
    .await;
    let route = Route::Relay(proxy.addr);
    let sender = spawn_sender(&h, &route, "43-tamper", &case.src);
    let receiver = spawn_receiver(&h, &route, "43-tamper", &case.out);
    let (s, r) = tokio::join!(finish(sender), finish(receiver));
    both_failed("tampered", &s, &r);
    assert!(
        r.stderr.contains("failed verification"),
        "a clear error: {}",
        r.stderr
    );
    assert!(!case.target().exists());
    // Every byte kept in the partial file is verified source data (or a hole).
    let (data, _) = resume_files(&case.target());
    let kept = std::fs::read(&data).unwrap_or_default();
    let layout = Layout::for_size(SIZE as u64);
    let state = resume_state(&case.target()).expect("state kept");
    for g in 0..layout.groups() {
        let (start, len) = layout.group_span(g);
        let (start, end) = (start as usize, (start + len) as usize);
        let got = kept.get(start..end.min(kept.len())).unwrap_or_default();
        let hole = got.iter().all(|&b| b == 0);
        assert!(
            hole || got == &case.data[start..end],
            "group {g} holds unverified bytes"
        );
        if state.verified().contains(g as u32) {
            assert_eq!(got, &case.data[start..end], "claimed group {g}");
        }
    }
    assert!(
        state.verified_bytes() < SIZE as u64 - (30 << 20),
        "stopped near the flip"
    );
    drop(proxy);
    resumed(&case, "44-after-tamper").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_changing_during_the_transfer_is_caught() {
    use std::os::unix::fs::FileExt;
    let case = Case::new(7);
    let h = spawn_default().await;
    let proxy = throttled().await;
    let route = Route::Relay(proxy.addr);
    let sender = spawn_sender(&h, &route, "45-changing", &case.src);
    let receiver = spawn_receiver(&h, &route, "45-changing", &case.out);
    until_claimed(&case.target(), 4 << 20).await;
    // Same size, new content, written in place after the sender hashed the file.
    let changed = bytes(SIZE, 77);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&case.src)
        .expect("open");
    file.write_all_at(&changed, 0).expect("rewrite");
    let (s, r) = tokio::join!(finish(sender), finish(receiver));
    both_failed("changed while sent", &s, &r);
    // The file streamed (the receiver had nothing of it): the sender, which
    // hashes what it sends, notices the write by the file's change time.
    let said = "changed while it was being sent";
    assert!(s.stderr.contains(said), "{}", s.stderr);
    assert!(r.stderr.contains(said), "{}", r.stderr);
    // What was kept streamed before its root: every group is checked against
    // the new content's tree, so the groups read before the write (at least
    // the 4 MiB claimed) move again and those read after it are kept.
    let log = sent_directly(&case, "46-changed").await;
    let (moved, kept) = (logged(&log, "transferred"), logged(&log, "resumed"));
    assert_eq!(moved + kept, SIZE as u64);
    assert!(moved >= 4 << 20, "old groups were kept: {log}");
    assert!(std::fs::read(case.target()).expect("received") == changed);
}
