//! Partial data, said honestly: an interrupted ferry-to-ferry receive says how
//! much it kept and how to resume or clean it; "Resuming" is claimed only for
//! the same file; `ferry clean` removes ferry's own leftovers and nothing else.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::path::Path;

use ferry_proto::native::resume::ResumeState;
use ferry_proto::native::tree::{Layout, TreeBuilder};
use ferry_test_support::files::{bytes, names};
use ferry_test_support::native_cli::*;
use ferry_test_support::relay_proxy::{Proxy, ProxyPlan};
use ferry_test_support::server::spawn_default;
use ferry_test_support::Sandbox;

const SIZE: usize = 16 << 20;

/// Interrupted by Ctrl-C mid-transfer, the receiver says what it kept (and
/// exits 130); `ferry clean` then removes exactly that.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_receive_says_what_it_kept() {
    interrupted_receive_says_what_it_kept(Interrupt::AfterASave).await;
}

/// The same before the first periodic save of the resume state (at 4 MiB/s,
/// 1 MiB in, well inside its first second): the state is saved as the
/// cancelled transfer winds down, and before the notice is printed.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_before_any_save_says_what_it_kept() {
    interrupted_receive_says_what_it_kept(Interrupt::BeforeASave).await;
}

enum Interrupt {
    /// Once the resume state says 1 MiB is verified.
    AfterASave,
    /// Once the partial data holds 1 MiB, whether or not a state was saved.
    BeforeASave,
}

async fn interrupted_receive_says_what_it_kept(when: Interrupt) {
    let sandbox = Sandbox::new();
    let src = sandbox.root.join("big.bin");
    std::fs::write(&src, bytes(SIZE, 7)).unwrap();
    let target = sandbox.out.join("big.bin");
    let h = spawn_default().await;
    let proxy = Proxy::start(ProxyPlan {
        rate: Some(4 << 20),
        ..ProxyPlan::default()
    })
    .await;
    let route = Route::Relay(proxy.addr);
    let sender = spawn_sender(&h, &route, "9-guitarist-revenge", &src);
    let receiver = spawn_receiver(&h, &route, "9-guitarist-revenge", &sandbox.out);
    match when {
        Interrupt::AfterASave => until_claimed(&target, 1 << 20).await,
        Interrupt::BeforeASave => {
            until_data(&sandbox.out.join(".big.bin.ferry-resume"), 1 << 20).await
        }
    }
    let pid = receiver.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = tokio::time::timeout(WAIT, receiver.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    drop(sender);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}");
    let out_dir = sandbox.out.display().to_string();
    let advice = format!("send again into this folder to resume, or run `ferry clean {out_dir}`");
    assert!(said.contains("ferry: kept "), "{said}");
    assert!(said.contains(&format!(" in {out_dir}; {advice}")), "{said}");
    assert!(
        !said.contains(".ferry-resume"),
        "internal names shown: {said}"
    );
    assert!(resume_state(&target).is_some(), "the data was kept");

    let done = clean(&sandbox.out, &[]).await;
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let listed = String::from_utf8_lossy(&done.stdout);
    assert!(listed.contains("resume data of big.bin"), "{listed}");
    assert!(listed.contains("Freed "), "{listed}");
    assert_eq!(
        names(&sandbox.out),
        Vec::<String>::new(),
        "all of it removed"
    );
}

/// Waits (bounded) until the file at `path` holds `bytes`.
async fn until_data(path: &Path, bytes: u64) {
    let deadline = tokio::time::Instant::now() + ferry_test_support::WAIT;
    while !std::fs::metadata(path).is_ok_and(|m| m.len() >= bytes) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no data in {path:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

async fn clean(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(ferry_test_support::ferry_bin::path());
    cmd.arg("clean").args(extra).arg(dir).kill_on_drop(true);
    tokio::time::timeout(WAIT, cmd.output())
        .await
        .unwrap()
        .unwrap()
}

/// `content` as a resume would have left it: the data file and a state that
/// vouches for every other group.
fn leave_resume_files(target: &Path, content: &[u8]) {
    let layout = Layout::for_size(content.len() as u64);
    let mut builder = TreeBuilder::new(layout);
    while let Some((start, len)) = builder.next_span() {
        let span = &content[start as usize..(start + len) as usize];
        builder.add_group(span).unwrap();
    }
    let tree = builder.finish().unwrap();
    let mut state = ResumeState::new(&tree);
    for g in (0..layout.groups() as u32).step_by(2) {
        state.set(g, true);
    }
    let (data, state_file) = resume_files(target);
    std::fs::write(data, content).unwrap();
    std::fs::write(state_file, state.encode()).unwrap();
}

/// Sends `content` as `big.bin` into `out`; returns the receiver's stderr.
async fn send_into(sandbox: &Sandbox, content: &[u8], code: &str) -> String {
    let src_dir = sandbox.root.join("src");
    std::fs::create_dir_all(&src_dir).unwrap();
    let src = src_dir.join("big.bin");
    std::fs::write(&src, content).unwrap();
    let h = spawn_default().await;
    let sender = spawn_sender(&h, &Route::Direct, code, &src);
    let receiver = spawn_receiver(&h, &Route::Direct, code, &sandbox.out);
    let (s, r) = tokio::join!(finish(sender), finish(receiver));
    assert!(
        s.success && r.success,
        "sender: {}\nreceiver: {}",
        s.stderr,
        r.stderr
    );
    r.stderr
}

/// Saved data of another file of the same name and size: no "Resuming" claim,
/// the whole file moves, and what lands is what was sent.
#[tokio::test(flavor = "multi_thread")]
async fn resuming_is_claimed_only_for_the_same_file() {
    let sandbox = Sandbox::new();
    let target = sandbox.out.join("big.bin");
    let (old, new) = (bytes(4 << 20, 1), bytes(4 << 20, 2));
    leave_resume_files(&target, &old);
    let log = send_into(&sandbox, &new, "10-guitarist-revenge").await;
    assert!(!log.contains("Resuming"), "claimed a resume: {log}");
    assert_eq!(logged(&log, "resumed"), 0, "{log}");
    assert!(
        std::fs::read(&target).unwrap() == new,
        "the file sent landed"
    );
    assert_eq!(names(&sandbox.out), ["big.bin"]);
}

/// The same file: the resume is claimed, with the verified amount.
#[tokio::test(flavor = "multi_thread")]
async fn resuming_the_same_file_is_announced() {
    let sandbox = Sandbox::new();
    let target = sandbox.out.join("big.bin");
    let data = bytes(4 << 20, 3);
    leave_resume_files(&target, &data);
    let log = send_into(&sandbox, &data, "11-guitarist-revenge").await;
    assert!(log.contains("Resuming: 2.00 MiB"), "{log}");
    assert_eq!(logged(&log, "resumed"), 2 << 20, "{log}");
    assert!(std::fs::read(&target).unwrap() == data);
}

/// Only ferry's own hidden files go, below DIR, never through a link;
/// `--dry-run` removes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn clean_removes_only_our_leftovers() {
    let sandbox = Sandbox::new();
    let sub = sandbox.out.join("photos");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join(".a.jpg.ferry-resume"), vec![0u8; 3066]).unwrap();
    std::fs::write(sub.join(".a.jpg.ferry-resume-state"), b"junk").unwrap();
    std::fs::create_dir(sandbox.out.join(".d.ferry-partial-0123abcd")).unwrap();
    std::fs::write(sandbox.out.join(".d.ferry-partial-0123abcd/x"), b"12").unwrap();
    let keep = [
        ".hidden",
        "a.ferry-resume",
        ".b.ferry-partial-xyz",
        "photos/a.jpg",
    ];
    for name in keep {
        std::fs::write(sandbox.out.join(name), b"mine").unwrap();
    }
    std::os::unix::fs::symlink(sandbox.root.join("outside"), sandbox.out.join("link")).unwrap();
    std::fs::write(sandbox.root.join("outside/.o.ferry-resume"), b"not below").unwrap();
    let before = sandbox.snapshot();

    let dry = clean(&sandbox.out, &["--dry-run"]).await;
    let listed = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success());
    assert_eq!(listed.matches("would remove").count(), 3, "{listed}");
    assert!(listed.contains("Would free 3.00 KiB"), "{listed}");
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());

    let done = clean(&sandbox.out, &[]).await;
    let listed = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success());
    assert!(listed.contains("unfinished copy of d"), "{listed}");
    let mut changes = before.changes(&sandbox.snapshot());
    changes.sort();
    assert_eq!(changes.len(), 4, "{changes:?}"); // 3 leftovers + the partial's file
    assert!(changes.iter().all(|c| c.contains(".ferry-")), "{changes:?}");
    for name in keep {
        assert!(sandbox.out.join(name).exists(), "{name} removed");
    }
    assert!(sandbox.root.join("outside/.o.ferry-resume").exists());
}
