//! A receiver that dies mid-transfer continues in a new process, with real
//! `ferry` processes: the receiver is killed (SIGKILL: no chance to say
//! anything) while a rate-limited relay makes it mid-way; the sender, in its
//! healing loop, waits; `ferry receive --resume` in the same directory (or
//! the same code again) rejoins the mailbox with the stored session and the
//! file arrives verified. The stored session is private and gone at the end.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ferry_test_support::files::bytes;
use ferry_test_support::native_cli::{finish, receiver, resumer, sender, until_claimed, Route};
use ferry_test_support::relay_proxy::{Proxy, ProxyPlan};
use ferry_test_support::server::spawn_default;
use tokio::process::Command;

const SIZE: usize = 24 << 20;

/// The stored session files under `state` (`XDG_STATE_HOME`).
fn sessions(state: &Path) -> Vec<PathBuf> {
    let dir = state.join("ferry/sessions");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "session"))
        .collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("meta").permissions().mode() & 0o777
}

/// How the second receiver is started: `--resume`, or the same code.
enum Again {
    Resume,
    SameCode,
}

/// How the first receiver stops: SIGKILL (a crash), or SIGINT (Ctrl-C).
enum Stop {
    Kill,
    CtrlC,
}

async fn stopped_then_continued(stop: Stop, again: Again, code: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("big.bin");
    let data = bytes(SIZE, 4);
    std::fs::write(&src, &data).expect("source");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    let state = dir.path().join("state");
    let h = spawn_default().await;
    let proxy = Proxy::start(ProxyPlan {
        rate: Some(8 << 20),
        ..ProxyPlan::default()
    })
    .await;
    let route = Route::Relay(proxy.addr);
    let spawn = |mut c: Command| {
        c.env("XDG_STATE_HOME", &state)
            .args(["--reconnect-for", "30"]);
        c.spawn().expect("ferry starts")
    };
    let sending = spawn(sender(&h, &route, code, &src));
    let mut receiving = spawn(receiver(&h, &route, code, &out));
    until_claimed(&out.join("big.bin"), 1).await;
    let stored = sessions(&state);
    assert_eq!(stored.len(), 1, "one session stored");
    assert_eq!(mode(&stored[0]), 0o600);
    assert_eq!(mode(&state.join("ferry/sessions")), 0o700);
    let text = std::fs::read_to_string(&stored[0]).expect("session");
    assert!(!text.contains(code), "the code is not stored");
    match stop {
        Stop::Kill => {
            receiving.start_kill().expect("SIGKILL");
            assert!(!receiving.wait().await.expect("wait").success());
        }
        Stop::CtrlC => {
            let pid = receiving.id().expect("pid").to_string();
            let sent = std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .expect("kill");
            assert!(sent.success());
            let r = finish(receiving).await;
            assert!(!r.success);
            assert!(
                r.stderr
                    .contains("Interrupted: run `ferry receive --resume` in")
                    && r.stderr.contains("within 30 s to continue."),
                "{}",
                r.stderr
            );
            assert_eq!(sessions(&state).len(), 1, "kept for --resume");
        }
    }
    let again = match again {
        Again::Resume => resumer(&h, &route, &out),
        Again::SameCode => receiver(&h, &route, code, &out),
    };
    let (s, r) = tokio::join!(finish(sending), finish(spawn(again)));
    let both = format!("sender:\n{}\nsecond receiver:\n{}", s.stderr, r.stderr);
    assert!(s.success && r.success, "{both}");
    assert!(
        r.stderr
            .contains("Continuing the interrupted transfer into")
            && !r.stderr.contains("Waiting up to"),
        "{}",
        r.stderr
    );
    assert!(
        s.stderr
            .contains("Waiting up to 30 s for the other side to come back"),
        "{}",
        s.stderr
    );
    assert!(std::fs::read(out.join("big.bin")).expect("received") == data);
    assert!(
        sessions(&state).is_empty(),
        "the session went with the transfer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_receiver_continues_with_resume() {
    stopped_then_continued(Stop::Kill, Again::Resume, "6-crashed-laptop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_receiver_says_how_and_continues() {
    stopped_then_continued(Stop::CtrlC, Again::Resume, "8-crashed-laptop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_receiver_continues_with_the_same_code() {
    stopped_then_continued(Stop::Kill, Again::SameCode, "7-crashed-laptop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_with_nothing_stored_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = spawn_default().await;
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    let mut c = resumer(&h, &Route::Direct, &out);
    c.env("XDG_STATE_HOME", dir.path().join("state"));
    let r = finish(c.spawn().expect("ferry starts")).await;
    assert!(!r.success);
    assert!(r.stderr.contains("nothing to resume in"), "{}", r.stderr);
}
