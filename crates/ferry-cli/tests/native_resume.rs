//! Resume and integrity of ferry-to-ferry transfers, with real `ferry` processes:
//! a transfer is interrupted (sender or receiver killed with SIGKILL at several
//! points, or the connection cut by the relay), then the same file is sent again
//! with a new code to the same directory; only the missing bytes move and the
//! result is byte-identical. A relay that flips a bit makes the receiver refuse the
//! data and keep nothing unverified. A changed source file is sent whole.

mod native_support;

use std::path::PathBuf;

use ferry_proto::native::tree::Layout;
use native_support::*;

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

/// Runs a throttled transfer through the proxy and interrupts it once the
/// receiver's saved state claims `at` bytes.
async fn interrupted(case: &Case, code: &str, how: Interrupt, at: u64) {
    let h = server().await;
    let mut proxy = Proxy::start(ProxyPlan {
        rate: Some(RATE),
        ..ProxyPlan::default()
    })
    .await;
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
    assert!(
        !s.success && !r.success,
        "both sides fail\nsender: {}\nreceiver: {}",
        s.stderr,
        r.stderr
    );
    assert!(
        !case.target().exists(),
        "nothing in place after an interruption"
    );
    eprintln!(
        "interrupted at {at}+ bytes:\n  sender: {}\n  receiver: {}",
        last_line(&s.stderr),
        last_line(&r.stderr)
    );
}

/// Sends again, directly, and checks that exactly the missing bytes moved.
async fn resumed(case: &Case, code: &str) {
    let claimed = resume_state(&case.target())
        .expect("a resume state was kept")
        .verified_bytes();
    assert!(claimed > 0 && claimed < SIZE as u64, "claimed {claimed}");
    let h = server().await;
    let sender = spawn_sender(&h, &Route::Direct, code, &case.src);
    let receiver = spawn_receiver(&h, &Route::Direct, code, &case.out);
    let (s, r) = tokio::join!(finish(sender), finish(receiver));
    assert!(
        s.success && r.success,
        "sender: {}\nreceiver: {}",
        s.stderr,
        r.stderr
    );
    eprintln!(
        "resumed with {claimed} bytes kept: {}",
        last_line(&r.stderr)
    );
    assert_eq!(logged(&r.stderr, "resumed"), claimed, "{}", r.stderr);
    assert_eq!(
        logged(&r.stderr, "transferred"),
        SIZE as u64 - claimed,
        "{}",
        r.stderr
    );
    assert!(
        std::fs::read(case.target()).expect("received") == case.data,
        "byte-identical"
    );
    assert_eq!(names(&case.out), ["big.bin"], "resume files cleaned up");
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_killed_early_then_resumed() {
    let case = Case::new(1);
    interrupted(&case, "31-kill-sender", Interrupt::KillSender, 1).await;
    resumed(&case, "32-resume-sender").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_killed_midway_then_resumed() {
    let case = Case::new(2);
    interrupted(&case, "33-kill-sender", Interrupt::KillSender, 20 << 20).await;
    resumed(&case, "34-resume-sender").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_killed_at_two_points_then_resumed() {
    let case = Case::new(3);
    interrupted(&case, "35-kill-receiver", Interrupt::KillReceiver, 8 << 20).await;
    // Interrupted again, later, on top of the first resume state.
    let first = resume_state(&case.target())
        .expect("state")
        .verified_bytes();
    interrupted(
        &case,
        "36-kill-receiver",
        Interrupt::KillReceiver,
        first + (16 << 20),
    )
    .await;
    resumed(&case, "37-resume-receiver").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cut_then_resumed() {
    let case = Case::new(4);
    interrupted(&case, "38-cut", Interrupt::Cut, 12 << 20).await;
    resumed(&case, "39-resume-cut").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_source_is_sent_whole() {
    let case = Case::new(5);
    interrupted(&case, "41-kill", Interrupt::KillSender, 8 << 20).await;
    let changed = bytes(SIZE, 55);
    std::fs::write(&case.src, &changed).expect("change the source");
    let h = server().await;
    let sender = spawn_sender(&h, &Route::Direct, "42-changed", &case.src);
    let receiver = spawn_receiver(&h, &Route::Direct, "42-changed", &case.out);
    let (s, r) = tokio::join!(finish(sender), finish(receiver));
    assert!(
        s.success && r.success,
        "sender: {}\nreceiver: {}",
        s.stderr,
        r.stderr
    );
    assert_eq!(logged(&r.stderr, "resumed"), 0);
    assert_eq!(logged(&r.stderr, "transferred"), SIZE as u64);
    assert!(std::fs::read(case.target()).expect("received") == changed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_stream_is_refused_and_nothing_unverified_is_kept() {
    let case = Case::new(6);
    let h = server().await;
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
    assert!(
        !s.success && !r.success,
        "both fail\nsender: {}\nreceiver: {}",
        s.stderr,
        r.stderr
    );
    assert!(
        r.stderr.contains("failed verification"),
        "a clear error: {}",
        r.stderr
    );
    eprintln!(
        "tampered:\n  sender: {}\n  receiver: {}",
        last_line(&s.stderr),
        last_line(&r.stderr)
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
async fn source_changing_during_the_transfer_is_caught_by_the_hashes() {
    use std::os::unix::fs::FileExt;
    let case = Case::new(7);
    let h = server().await;
    let proxy = Proxy::start(ProxyPlan {
        rate: Some(RATE),
        ..ProxyPlan::default()
    })
    .await;
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
    assert!(
        !s.success && !r.success,
        "both fail\nsender: {}\nreceiver: {}",
        s.stderr,
        r.stderr
    );
    assert!(r.stderr.contains("does not match its hash"), "{}", r.stderr);
    eprintln!(
        "changed while sent:\n  sender: {}\n  receiver: {}",
        last_line(&s.stderr),
        last_line(&r.stderr)
    );
    // What was kept is the old content's verified groups; the new content is sent whole.
    let h = server().await;
    let sender = spawn_sender(&h, &Route::Direct, "46-changed", &case.src);
    let receiver = spawn_receiver(&h, &Route::Direct, "46-changed", &case.out);
    let (s, r) = tokio::join!(finish(sender), finish(receiver));
    assert!(
        s.success && r.success,
        "sender: {}\nreceiver: {}",
        s.stderr,
        r.stderr
    );
    assert_eq!(logged(&r.stderr, "transferred"), SIZE as u64);
    assert!(std::fs::read(case.target()).expect("received") == changed);
}
