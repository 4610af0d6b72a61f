//! `--json`: one JSON object per line on stdout for every event, against real
//! ferry-to-ferry transfers (native, and v1 with `--v1`). People still read
//! stderr; the README documents the schema these tests pin.

use ferry_test_support::ferry_bin::Ferry;
use ferry_test_support::interactive::Interactive;
use ferry_test_support::json_run::{Ended, JsonRun};
use ferry_test_support::{fresh_code, Sandbox, TestServer};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Sends `what` from one `ferry --json` to another (into `sandbox.out`), the
/// receiver starting once the sender printed its code.
async fn transfer(sandbox: &Sandbox, what: &str, extra: &[&str]) -> (Ended, Ended) {
    let server = TestServer::start().await;
    let mut send_args = vec![what];
    send_args.extend_from_slice(extra);
    let mut sender = JsonRun::spawn(&server, "send", &send_args, &sandbox.root);
    let code = sender.until("code").await["code"]
        .as_str()
        .expect("the code is a string")
        .to_owned();
    let out = sandbox.out.to_str().expect("utf-8 path").to_owned();
    let mut recv_args = vec!["--yes", "-o", &out, &code];
    recv_args.extend_from_slice(extra);
    let receiver = JsonRun::spawn(&server, "receive", &recv_args, &sandbox.cwd);
    tokio::join!(sender.finish(), receiver.finish())
}

fn names(ended: &Ended) -> Vec<&str> {
    ended
        .events
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect()
}

fn assert_progress_ends_at(ended: &Ended, total: u64) {
    let progress = ended.all("progress");
    let last = progress.last().expect("progress events");
    assert_eq!(last["done"], json!(total), "{progress:?}");
    assert_eq!(last["total"], json!(total));
    let mut done = 0;
    for p in &progress {
        let now = p["done"].as_u64().expect("done is a number");
        assert!(now >= done, "progress never goes back: {progress:?}");
        done = now;
    }
}

fn file_of(size: usize, sandbox_root: &std::path::Path, name: &str) {
    let data = ferry_test_support::files::bytes(size, 7);
    std::fs::write(sandbox_root.join(name), data).expect("write the file to send");
}

async fn file_transfer(extra: &[&str]) -> (Ended, Ended, Sandbox) {
    let sandbox = Sandbox::new();
    file_of(300_000, &sandbox.root, "report.pdf");
    let path = sandbox.root.join("report.pdf");
    let path = path.to_str().expect("utf-8 path").to_owned();
    let (sent, received) = transfer(&sandbox, &path, extra).await;
    (sent, received, sandbox)
}

fn check_file_events(sent: &Ended, received: &Ended, v1: bool) {
    assert!(sent.status.success(), "sender: {}", sent.stderr);
    assert!(received.status.success(), "receiver: {}", received.stderr);
    // The sender: what it offers, its code, that it waits, the connection,
    // progress, done — in that order.
    let order: Vec<&str> = names(sent)
        .into_iter()
        .filter(|n| !["progress", "confirming"].contains(n))
        .collect();
    assert_eq!(
        order,
        ["offer", "code", "waiting", "connected", "done"],
        "{:?}",
        sent.events
    );
    let offer = sent.one("offer");
    assert_eq!(offer["what"], "file");
    assert_eq!(offer["name"], "report.pdf");
    assert_eq!(offer["bytes"], 300_000);
    let connected = sent.one("connected");
    assert_eq!(connected["path"], "direct");
    assert!(connected["description"]
        .as_str()
        .is_some_and(|d| d.starts_with("direct")));
    assert_progress_ends_at(sent, 300_000);
    assert_eq!(sent.one("done")["bytes"], 300_000);
    // The receiver came second: the sender was there, so it never waited.
    assert!(received.all("waiting").is_empty(), "{:?}", received.events);
    assert_eq!(received.one("offer")["name"], "report.pdf");
    assert_eq!(received.one("connected")["path"], "direct");
    assert_progress_ends_at(received, 300_000);
    let done = received.one("done");
    assert_eq!(done["what"], "file");
    assert_eq!(done["bytes"], 300_000);
    // Both sides name the hash the protocol checked: BLAKE3 (native) or SHA-256 (v1).
    let content = ferry_test_support::files::bytes(300_000, 7);
    let expected = match v1 {
        true => json!([{"path": "report.pdf", "sha256": hex::encode(Sha256::digest(&content))}]),
        false => {
            json!([{"path": "report.pdf", "blake3": blake3::hash(&content).to_hex().as_str()}])
        }
    };
    assert_eq!(sent.one("done")["hashes"], expected);
    assert_eq!(done["hashes"], expected);
    // People still get their messages, on stderr.
    assert!(
        sent.stderr.contains("Sending file report.pdf"),
        "{}",
        sent.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn native_file_transfer_reports_every_event() {
    let (sent, received, sandbox) = file_transfer(&[]).await;
    check_file_events(&sent, &received, false);
    assert!(sandbox.out.join("report.pdf").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_file_transfer_reports_every_event() {
    let (sent, received, sandbox) = file_transfer(&["--v1"]).await;
    check_file_events(&sent, &received, true);
    assert_eq!(sent.all("confirming").len(), 1, "{:?}", sent.events);
    // Written is not received: no 100 % before the receiver's final ack.
    let names = names(&sent);
    let confirming = names
        .iter()
        .position(|n| *n == "confirming")
        .expect("confirming");
    let early_full = sent.events[..confirming]
        .iter()
        .any(|e| e["event"] == "progress" && e["done"] == e["total"]);
    assert!(!early_full, "{:?}", sent.events);
    assert!(sandbox.out.join("report.pdf").is_file());
}

/// A folder: `file` events name each file with its place, on both sides; a
/// `warning` says what is left out (a symbolic link).
#[tokio::test(flavor = "multi_thread")]
async fn directory_transfer_names_each_file() {
    let sandbox = Sandbox::new();
    let dir = sandbox.root.join("photos");
    std::fs::create_dir(&dir).expect("mkdir");
    for n in 1..=3 {
        file_of(1000 * n, &dir, &format!("img_{n}.jpg"));
    }
    std::os::unix::fs::symlink("img_1.jpg", dir.join("link.jpg")).expect("symlink");
    let path = dir.to_str().expect("utf-8 path").to_owned();
    let (sent, received) = transfer(&sandbox, &path, &[]).await;
    let warning = sent.one("warning")["message"].as_str().expect("message");
    assert!(
        warning.contains("link.jpg") && warning.contains("symbolic link"),
        "{warning}"
    );
    assert!(sent.status.success(), "{}", sent.stderr);
    assert!(received.status.success(), "{}", received.stderr);
    let offer = sent.one("offer");
    assert_eq!(offer["what"], "directory");
    assert_eq!(offer["files"], 3);
    for side in [&sent, &received] {
        let files: Vec<(u64, u64, String)> = side
            .all("file")
            .iter()
            .map(|f| {
                let n = |k: &str| f[k].as_u64().expect("a number");
                let path = f["path"].as_str().expect("path");
                let name = path.rsplit('/').next().unwrap_or(path).to_owned();
                (n("index"), n("count"), name)
            })
            .collect();
        assert_eq!(files, [1, 2, 3].map(|n| (n, 3, format!("img_{n}.jpg"))));
    }
    assert_eq!(received.one("done")["what"], "directory");
    let hashes = &received.one("done")["hashes"];
    assert_eq!(hashes, &sent.one("done")["hashes"]);
    let img_2 = blake3::hash(&ferry_test_support::files::bytes(2000, 7));
    assert!(
        hashes.as_array().is_some_and(|h| h.len() == 3
            && h[1]["blake3"] == img_2.to_hex().as_str()
            && h[1]["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("img_2.jpg"))),
        "{hashes}"
    );
}

/// Text travels inside `done`, never raw on stdout, and hostile characters are
/// `\u` escapes in the line (the parsed text is exact).
#[tokio::test(flavor = "multi_thread")]
async fn text_arrives_inside_done() {
    let text = "hi \u{1b}]0;owned\u{7}\u{9b}\u{202e}";
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut sender = JsonRun::spawn(&server, "send", &["--text", text], &sandbox.root);
    let code = sender.until("code").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let receiver = JsonRun::spawn(&server, "receive", &["--yes", &code], &sandbox.cwd);
    let (sent, received) = tokio::join!(sender.finish(), receiver.finish());
    assert!(sent.status.success(), "{}", sent.stderr);
    assert!(received.status.success(), "{}", received.stderr);
    assert_eq!(sent.one("offer")["what"], "text");
    assert_eq!(sent.one("offer")["bytes"], text.len());
    let done = received.one("done");
    assert_eq!(done["what"], "text");
    assert_eq!(done["text"], text);
}

/// Without `--yes` there is nobody to answer the prompt: a usage error, as JSON.
#[tokio::test(flavor = "multi_thread")]
async fn receive_json_without_yes_is_a_usage_error() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let receiver = JsonRun::spawn(&server, "receive", &["7-guitarist-revenge"], &sandbox.cwd);
    let ended = receiver.finish().await;
    assert_eq!(ended.status.code(), Some(2), "{}", ended.stderr);
    let error = ended.one("error");
    assert_eq!(error["kind"], "usage");
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.contains("--yes")));
}

/// `--json` before the subcommand counts too, and a bad setting (found before
/// any transfer starts) is an `error` event as well.
#[tokio::test(flavor = "multi_thread")]
async fn json_before_the_subcommand_reports_a_bad_setting() {
    let ended = Ferry::bare()
        .args(["--json", "send", "--relay", "nonsense", "--text", "hi"])
        .spawn()
        .finish()
        .await;
    assert_eq!(ended.status.code(), Some(2), "{}", ended.stderr);
    let line = ended.stdout.lines().next().unwrap_or_default();
    let error: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(error["event"], "error");
    assert_eq!(error["kind"], "usage");
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.contains("nonsense")));
}

/// A failure is an `error` event whose kind is the exit code's class.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_code_is_an_error_event() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let mut sender = JsonRun::spawn(&server, "send", &["--text", "hi"], &sandbox.root);
    let code = sender.until("code").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let nameplate = code.split('-').next().expect("nameplate");
    let wrong = format!("{nameplate}-aardvark-adroitness");
    let receiver = JsonRun::spawn(&server, "receive", &["--yes", &wrong], &sandbox.cwd);
    let (sent, received) = tokio::join!(sender.finish(), receiver.finish());
    for side in [&sent, &received] {
        assert_eq!(side.status.code(), Some(3), "{}", side.stderr);
        assert_eq!(side.one("error")["kind"], "wrong_code", "{:?}", side.events);
    }
}

/// A receiver that came first says it waits (event and stderr), and the
/// sender, arriving second, never does.
#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_came_first_says_it_waits() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let code = fresh_code();
    let mut receiver = JsonRun::spawn(&server, "receive", &["--yes", &code], &sandbox.cwd);
    receiver.until("waiting").await;
    let sender = JsonRun::spawn(
        &server,
        "send",
        &["--text", "hi", "--code", &code],
        &sandbox.root,
    );
    let (sent, received) = tokio::join!(sender.finish(), receiver.finish());
    assert!(received.status.success(), "{}", received.stderr);
    assert!(sent.status.success(), "{}", sent.stderr);
    assert!(
        received.stderr.contains("Waiting for the sender…"),
        "{}",
        received.stderr
    );
    assert!(sent.all("waiting").is_empty(), "{:?}", sent.events);
    assert!(!sent.stderr.contains("Waiting"), "{}", sent.stderr);
}

/// Ctrl-C is an `error` event of kind `cancelled` (exit 130).
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_is_a_cancelled_error_event() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let code = fresh_code();
    let mut receiver = JsonRun::spawn(&server, "receive", &["--yes", &code], &sandbox.cwd);
    receiver.until("waiting").await;
    receiver.interrupt();
    let received = receiver.finish().await;
    assert_eq!(received.status.code(), Some(130), "{}", received.stderr);
    assert_eq!(received.one("error")["kind"], "cancelled");
}

/// The other side's Ctrl-C (at its accept prompt) is an `error` event of kind
/// `peer_cancelled` (exit 7).
#[tokio::test(flavor = "multi_thread")]
async fn the_other_sides_cancel_is_a_peer_cancelled_error_event() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    file_of(1000, &sandbox.root, "a.bin");
    let mut sender = JsonRun::spawn(&server, "send", &["a.bin"], &sandbox.root);
    let code = sender.until("code").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let mut receiver = Interactive::start(&server, "receive", &[&code], &[], false);
    receiver.wait_for("Accept? [y/N]").await;
    receiver.interrupt();
    let (sent, (status, said)) = tokio::join!(sender.finish(), receiver.finish());
    assert_eq!(status.code(), Some(130), "{said}");
    assert_eq!(sent.status.code(), Some(7), "{}", sent.stderr);
    assert_eq!(
        sent.one("error")["kind"],
        "peer_cancelled",
        "{:?}",
        sent.events
    );
}

/// A transfer that resumes says so (`resuming`), its progress starts at what
/// was already there, and `done` counts it as resumed, not transferred.
#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_transfer_says_so_and_starts_there() {
    use ferry_test_support::native_cli::Route;
    use ferry_test_support::native_cli::{finish, spawn_receiver, spawn_sender, until_claimed};
    use ferry_test_support::relay_proxy::{Proxy, ProxyPlan};
    const SIZE: usize = 8 << 20;
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    file_of(SIZE, &sandbox.root, "big.bin");
    let src = sandbox.root.join("big.bin");
    // First a slow transfer through a throttled relay, the receiver killed
    // once it saved at least 1 MiB.
    let proxy = Proxy::start(ProxyPlan {
        rate: Some(2 << 20),
        ..ProxyPlan::default()
    })
    .await;
    let route = Route::Relay(proxy.addr);
    let code = fresh_code();
    let sender = spawn_sender(server.handle(), &route, &code, &src);
    let mut receiver = spawn_receiver(server.handle(), &route, &code, &sandbox.out);
    until_claimed(&sandbox.out.join("big.bin"), 1 << 20).await;
    receiver.start_kill().expect("kill the receiver");
    let _ = tokio::join!(finish(sender), finish(receiver));
    drop(proxy);
    // Then again, with a new code, into the same folder.
    let (sent, received) = transfer(&sandbox, src.to_str().expect("utf-8"), &[]).await;
    assert!(sent.status.success(), "{}", sent.stderr);
    assert!(received.status.success(), "{}", received.stderr);
    let held = received.one("resuming")["held"].as_u64().expect("held");
    assert!(held >= 1 << 20, "{held}");
    let first = received.all("progress")[0]["done"].as_u64().expect("done");
    let resumed = received.one("done")["resumed"].as_u64().expect("resumed");
    assert!(
        resumed > 0 && first >= resumed,
        "first {first}, resumed {resumed}"
    );
    assert_eq!(
        received.one("done")["transferred"].as_u64(),
        Some(SIZE as u64 - resumed)
    );
    assert_progress_ends_at(&received, SIZE as u64);
}
