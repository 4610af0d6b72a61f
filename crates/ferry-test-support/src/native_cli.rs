//! Native-protocol transfers between two real `ferry` processes: the command
//! lines (direct, or through a relay such as [`crate::relay_proxy`]), their
//! outcome, and a reader for the receiver's resume state.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ferry_proto::native::resume::ResumeState;
use ferry_server::ServerHandle;
use tokio::process::{Child, Command};

/// Longest a `ferry` process, or its progress, may take.
pub const WAIT: Duration = Duration::from_secs(90);

/// Where each side's transit goes.
#[derive(Clone)]
pub enum Route {
    /// Direct on loopback, with the server's relay as the fallback.
    Direct,
    /// Only through this relay (both sides `--force-relay`).
    Relay(std::net::SocketAddr),
}

fn ferry() -> Command {
    let mut c = Command::new(crate::ferry_bin::path());
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        // These tests interrupt transfers for good; reconnecting is tested apart.
        .env("FERRY_RECONNECT_FOR", "0")
        .kill_on_drop(true);
    c
}

fn common(h: &ServerHandle, route: &Route) -> Vec<String> {
    let mut args = vec![
        "--server".to_owned(),
        format!("ws://{}/v1", h.mailbox_addr().expect("mailbox")),
        "--listen".to_owned(),
        "127.0.0.1".to_owned(),
        "--hide-progress".to_owned(),
    ];
    let relay = match route {
        Route::Direct => h.relay_tcp_addr().expect("relay"),
        Route::Relay(addr) => *addr,
    };
    args.extend(["--relay".to_owned(), format!("tcp:{relay}")]);
    if matches!(route, Route::Relay(_)) {
        args.push("--force-relay".to_owned());
    }
    args
}

pub fn spawn_sender(h: &ServerHandle, route: &Route, code: &str, path: &Path) -> Child {
    sender(h, route, code, path)
        .spawn()
        .expect("ferry send starts")
}

pub fn spawn_receiver(h: &ServerHandle, route: &Route, code: &str, out: &Path) -> Child {
    receiver(h, route, code, out)
        .spawn()
        .expect("ferry receive starts")
}

/// The command [`spawn_sender`] runs, for more flags or variables.
pub fn sender(h: &ServerHandle, route: &Route, code: &str, path: &Path) -> Command {
    let mut c = ferry();
    c.arg("send")
        .args(common(h, route))
        .args(["--code", code])
        .arg(path);
    c
}

/// The command [`spawn_receiver`] runs, for more flags or variables.
pub fn receiver(h: &ServerHandle, route: &Route, code: &str, out: &Path) -> Command {
    let mut c = ferry();
    c.args(["-v", "receive"])
        .args(common(h, route))
        .args(["--yes", "-o"])
        .arg(out)
        .arg(code);
    c
}

/// `ferry receive --resume` into `out`: no code, the stored session's.
pub fn resumer(h: &ServerHandle, route: &Route, out: &Path) -> Command {
    let mut c = ferry();
    c.args(["-v", "receive"])
        .args(common(h, route))
        .args(["--yes", "--resume", "-o"])
        .arg(out);
    c
}

/// How a `ferry` process ended.
#[derive(Debug)]
pub struct Outcome {
    pub success: bool,
    pub stderr: String,
}

pub async fn finish(child: Child) -> Outcome {
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("ferry exits in time")
        .expect("wait");
    Outcome {
        success: out.status.success(),
        stderr: strip_ansi(&String::from_utf8_lossy(&out.stderr)),
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A number logged as `name=N` by the receiver's `-v` summary line.
pub fn logged(stderr: &str, name: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains("native receive complete"))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
    let key = format!("{name}=");
    let rest = &line[line
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad {name} in {line}"))
}

/// The resume files the receiver keeps beside `target`.
pub fn resume_files(target: &Path) -> (PathBuf, PathBuf) {
    let dir = target.parent().expect("parent");
    let name = target.file_name().expect("name").to_string_lossy();
    (
        dir.join(format!(".{name}.ferry-resume")),
        dir.join(format!(".{name}.ferry-resume-state")),
    )
}

/// The saved resume state beside `target`, if any.
pub fn resume_state(target: &Path) -> Option<ResumeState> {
    let bytes = std::fs::read(resume_files(target).1).ok()?;
    ResumeState::decode(&bytes)
}

/// Waits until the receiver's saved state claims at least `bytes`.
pub async fn until_claimed(target: &Path, bytes: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if resume_state(target).is_some_and(|s| s.verified_bytes() >= bytes) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress to {bytes} bytes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
