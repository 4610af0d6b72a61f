//! The real Python client (PyPI magic-wormhole 0.24) through our server: a text
//! message through the mailbox, and a file through the relay only (`--no-listen`
//! on both sides). Skipped, with a message, when the peers are not installed
//! (`interop/install-peers.sh` installs them).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use ferry_server::ServerHandle;
use ferry_test_support::server::{spawn_default, wait_metrics};
use tokio::process::Command;

fn python_wormhole() -> Option<PathBuf> {
    let base = std::env::var_os("FERRY_PEERS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ferry-peers"))
        })?;
    let bin = base.join("venv/bin/wormhole");
    if bin.exists() {
        Some(bin)
    } else {
        eprintln!(
            "SKIPPED: python wormhole not found at {} (run interop/install-peers.sh)",
            bin.display()
        );
        None
    }
}

fn wormhole(bin: &PathBuf, h: &ServerHandle) -> Command {
    let mut c = Command::new(bin);
    c.arg("--relay-url")
        .arg(format!("ws://{}/v1", h.mailbox_addr().unwrap()))
        .arg("--transit-helper")
        .arg(format!(
            "tcp:127.0.0.1:{}",
            h.relay_tcp_addr().unwrap().port()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

async fn finish(child: tokio::process::Child, what: &str) -> String {
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} timed out"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_text_send_and_receive() {
    let Some(bin) = python_wormhole() else { return };
    let h = spawn_default().await;
    let send = wormhole(&bin, &h)
        .args([
            "send",
            "--code",
            "123-foo-bar",
            "--text",
            "hi",
            "--hide-progress",
            "--no-qr",
        ])
        .spawn()
        .unwrap();
    let recv = wormhole(&bin, &h)
        .args(["receive", "--hide-progress", "123-foo-bar"])
        .spawn()
        .unwrap();
    let (sent, got) = tokio::join!(finish(send, "send"), finish(recv, "receive"));
    assert_eq!(got.trim_end(), "hi", "sender said: {sent}");
    let m = wait_metrics(&h, |m| {
        m.contains("ferry_mailbox_results_total{result=\"happy\"} 1")
    })
    .await;
    assert!(
        m.contains("ferry_mailbox_results_total{result=\"happy\"} 1"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_file_transfer_through_the_relay() {
    let Some(bin) = python_wormhole() else { return };
    let h = spawn_default().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("payload.bin");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    let out = dir.path().join("received.bin");
    let send = wormhole(&bin, &h)
        .args([
            "send",
            "--code",
            "124-foo-bar",
            "--no-listen",
            "--hide-progress",
            "--no-qr",
        ])
        .arg(&src)
        .spawn()
        .unwrap();
    let recv = wormhole(&bin, &h)
        .args([
            "receive",
            "--accept-file",
            "--no-listen",
            "--hide-progress",
            "-o",
        ])
        .arg(&out)
        .arg("124-foo-bar")
        .spawn()
        .unwrap();
    let (_sent, _got) = tokio::join!(finish(send, "send"), finish(recv, "receive"));
    assert_eq!(std::fs::read(&out).unwrap(), data);
    let m = h.metrics_text();
    let relayed: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("ferry_relay_bytes_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        relayed > data.len() as u64,
        "the file went through the relay: {relayed} bytes"
    );
}
