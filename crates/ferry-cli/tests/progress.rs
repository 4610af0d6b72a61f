//! What the user sees while a transfer runs: the sender says what it sends and
//! that it waits, a v1 sender waits visibly for the receiver's confirmation,
//! and folders name the current file under the bar (on a terminal).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::path::Path;
use std::process::Stdio;

use ferry_test_support::ferry_bin::pty_available;
use ferry_test_support::json_run::JsonRun;
use ferry_test_support::{Sandbox, TestServer, RUN};
use tokio::process::Command;

fn write_file(dir: &Path, name: &str, size: usize) {
    std::fs::write(dir.join(name), ferry_test_support::files::bytes(size, 3)).unwrap();
}

/// Sends `path` (the receiver starts once the sender waits); the human
/// messages of both sides.
async fn human_messages(path: &Path, extra: &[&str]) -> (String, String) {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut args = vec![path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut sender = JsonRun::spawn(&server, "send", &args, &sandbox.root);
    let code = sender.until("code").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    sender.until("waiting").await;
    let out = sandbox.out.to_str().unwrap().to_owned();
    let mut args = vec!["--yes", "-o", &out, &code];
    args.extend_from_slice(extra);
    let receiver = JsonRun::spawn(&server, "receive", &args, &sandbox.cwd);
    let (sent, received) = tokio::join!(sender.finish(), receiver.finish());
    assert!(sent.status.success(), "{}", sent.stderr);
    assert!(received.status.success(), "{}", received.stderr);
    (sent.stderr, received.stderr)
}

/// `needles` appear in `haystack` in this order.
fn assert_in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match haystack[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => panic!("{needle:?} missing or out of order in:\n{haystack}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sender_says_what_it_sends_and_that_it_waits() {
    let src = Sandbox::new();
    write_file(&src.root, "report.pdf", 300_000);
    let (sender, receiver) = human_messages(&src.root.join("report.pdf"), &[]).await;
    assert_in_order(
        &sender,
        &[
            "Sending file report.pdf (292.97 KiB)",
            "Wormhole code is",
            "Waiting for the other side to connect…",
            "Connected (direct",
            "Transfer complete.",
        ],
    );
    assert!(!receiver.contains("Waiting"), "{receiver}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sender_describes_a_directory() {
    let src = Sandbox::new();
    let dir = src.root.join("photos");
    std::fs::create_dir(&dir).unwrap();
    write_file(&dir, "a.jpg", 1024);
    write_file(&dir, "b.jpg", 2048);
    let (sender, _) = human_messages(&dir, &[]).await;
    assert!(
        sender.contains("Sending directory photos (2 files, 3.00 KiB)"),
        "{sender}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sender_describes_a_text() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut sender = JsonRun::spawn(&server, "send", &["--text", "hello world!"], &sandbox.root);
    let code = sender.until("code").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let receiver = JsonRun::spawn(&server, "receive", &["--yes", &code], &sandbox.cwd);
    let (sent, _) = tokio::join!(sender.finish(), receiver.finish());
    assert_in_order(
        &sent.stderr,
        &["Sending text (12 bytes)", "Wormhole code is"],
    );
}

/// v1 has only a final ack: the sender says it waits for it.
#[tokio::test(flavor = "multi_thread")]
async fn v1_sender_waits_visibly_for_the_confirmation() {
    let src = Sandbox::new();
    write_file(&src.root, "report.pdf", 300_000);
    let (sender, _) = human_messages(&src.root.join("report.pdf"), &["--v1"]).await;
    assert_in_order(
        &sender,
        &[
            "Connected (direct",
            "All data sent; waiting for the receiver to confirm…",
            "Transfer complete.",
        ],
    );
}

/// `ferry ARGS…` under a pseudo-terminal (progress shown); all it printed.
async fn under_pty(server: &TestServer, args: &[&str], cwd: &Path) -> tokio::process::Child {
    let ferry = ferry_test_support::ferry_bin::path();
    let (subcommand, args) = args.split_first().unwrap();
    let mut words = vec![ferry.to_str().unwrap().to_owned(), subcommand.to_string()];
    words.extend([
        "--server".into(),
        server.url(),
        "--relay".into(),
        server.relay(),
    ]);
    words.extend(["--listen".into(), "127.0.0.1".into()]);
    words.extend(args.iter().map(|a| a.to_string()));
    let line: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect();
    Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .current_dir(cwd)
        .env_remove("FERRY_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn output(child: tokio::process::Child) -> String {
    let out = tokio::time::timeout(RUN, child.wait_with_output())
        .await
        .expect("ferry finishes")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// On a terminal, both sides show `[N/M] path` under the bar.
#[tokio::test(flavor = "multi_thread")]
async fn folders_show_the_current_file_on_a_terminal() {
    assert!(
        pty_available(),
        "util-linux `script` is needed for the terminal tests"
    );
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let dir = sandbox.root.join("photos");
    std::fs::create_dir(&dir).unwrap();
    for n in 1..=3 {
        write_file(&dir, &format!("img_{n}.jpg"), 200_000);
    }
    let code = format!("{}-guitarist-revenge", 100 + rand::random::<u16>() % 9000);
    let dir = dir.to_str().unwrap();
    let sender = under_pty(&server, &["send", "--code", &code, dir], &sandbox.root).await;
    let out = sandbox.out.to_str().unwrap();
    let receiver = under_pty(
        &server,
        &["receive", "--yes", "-o", out, &code],
        &sandbox.cwd,
    )
    .await;
    let (sent, received) = tokio::join!(output(sender), output(receiver));
    for shown in [&sent, &received] {
        for n in 1..=3 {
            let line = format!("[{n}/3] photos/img_{n}.jpg");
            assert!(shown.contains(&line), "no {line:?} in {shown:?}");
        }
    }
}
