//! What can fail on this machine fails before anyone is involved: a sender with
//! a path it cannot send prints no code and never contacts the server; a
//! receiver with an output directory it cannot use never uses the code; text
//! too long for the mailbox goes as a file; and a receive that lands nothing
//! leaves no new (empty) output directory behind.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use ferry_proto::transit::Role;
use ferry_test_support::evil_peer::EvilPeer;
use ferry_test_support::scenario::{reply, verified};
use ferry_test_support::{ferry_bin, EvilTransit, Ferry, Finished, Sandbox, TestServer, RUN};
use serde_json::json;

/// How many WebSocket connections the server has seen.
fn mailbox_connections(server: &TestServer) -> u64 {
    let metrics = server.handle().metrics_text();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("ferry_mailbox_connections_total "))
        .expect("connection counter");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// `ferry send PATH` must fail naming `PATH` and `why` (once), with no code
/// printed and no connection to the server.
async fn send_fails_early(path: &Path, why: &str) -> Finished {
    let server = TestServer::start().await;
    let done = Ferry::new(&server, "send").arg(path).spawn().finish().await;
    assert_fails_before_a_code(&server, &done, path, why);
    done
}

fn assert_fails_before_a_code(server: &TestServer, done: &Finished, path: &Path, why: &str) {
    done.assert_failed_with(&[&path.display().to_string(), why]);
    assert!(!done.stderr.contains("Wormhole code"), "{}", done.stderr);
    assert_eq!(
        done.stderr.matches(why).count(),
        1,
        "said once: {}",
        done.stderr
    );
    assert_eq!(mailbox_connections(server), 0, "the server was contacted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_path() {
    let sandbox = Sandbox::new();
    send_fails_early(&sandbox.root.join("nope.txt"), "No such file or directory").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fifo() {
    let sandbox = Sandbox::new();
    let fifo = sandbox.root.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    send_fails_early(&fifo, "not a regular file or directory").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dangling_symlink() {
    let sandbox = Sandbox::new();
    let link = sandbox.root.join("link");
    std::os::unix::fs::symlink(sandbox.root.join("gone"), &link).unwrap();
    send_fails_early(&link, "No such file or directory").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_under_a_regular_file() {
    let sandbox = Sandbox::new();
    let file = sandbox.root.join("file");
    std::fs::write(&file, b"x").unwrap();
    send_fails_early(&file.join("x"), "Not a directory").await;
}

/// A file that says it is empty but is not (procfs): its size is not known
/// before it is read, and every offer states the size first.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_whose_size_is_not_known() {
    send_fails_early(Path::new("/proc/self/status"), "size not known in advance").await;
}

/// `ferry ARGS…` as the unprivileged user `nobody` (root reads and writes
/// anything, so permission checks are tested as a normal user), with the
/// server's URLs.
async fn as_nobody(server: &TestServer, args: &[&std::ffi::OsStr]) -> Finished {
    let mut cmd = tokio::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(ferry_bin::path())
        .arg(args[0])
        .args([
            "--server",
            &server.url(),
            "--relay",
            &server.relay(),
            "--hide-progress",
        ])
        .args(&args[1..])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(RUN, cmd.output())
        .await
        .unwrap()
        .unwrap();
    Finished {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        raw_stderr: out.stderr,
    }
}

/// A sandbox whose root and output directory `nobody` may enter (not write in).
fn open_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    let open = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(&sandbox.root, open.clone()).unwrap();
    std::fs::set_permissions(&sandbox.out, open).unwrap();
    sandbox
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_file() {
    let server = TestServer::start().await;
    let sandbox = open_sandbox();
    let file = sandbox.root.join("secret.txt");
    std::fs::write(&file, b"secret").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let done = as_nobody(&server, &["send".as_ref(), file.as_os_str()]).await;
    assert_fails_before_a_code(&server, &done, &file, "Permission denied");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_with_an_unreadable_file() {
    let server = TestServer::start().await;
    let sandbox = open_sandbox();
    let dir = sandbox.root.join("docs");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("ok.txt"), b"ok").unwrap();
    let locked = dir.join("locked.txt");
    std::fs::write(&locked, b"secret").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let done = as_nobody(&server, &["send".as_ref(), dir.as_os_str()]).await;
    assert_fails_before_a_code(&server, &done, &locked, "Permission denied");
}

/// `ferry receive -o DIR CODE` must fail with `why` before connecting.
fn receive_fails_early(server: &TestServer, done: &Finished, dir: &Path, why: &str) {
    done.assert_failed_with(&[&dir.display().to_string(), why]);
    assert_eq!(mailbox_connections(server), 0, "the code was used");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_dir_under_a_regular_file() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let file = sandbox.root.join("file");
    std::fs::write(&file, b"x").unwrap();
    let out = file.join("sub");
    let done = Ferry::receive(&server, "7-guitarist-revenge", &out, &sandbox.cwd)
        .spawn()
        .finish()
        .await;
    receive_fails_early(&server, &done, &out, "is not a directory");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_dir_that_is_a_file() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let file = sandbox.root.join("file");
    std::fs::write(&file, b"x").unwrap();
    let done = Ferry::receive(&server, "7-guitarist-revenge", &file, &sandbox.cwd)
        .spawn()
        .finish()
        .await;
    receive_fails_early(&server, &done, &file, "is not a directory");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_dir_we_may_not_write_in() {
    let server = TestServer::start().await;
    let sandbox = open_sandbox();
    let out = sandbox.out.join("new");
    let args = [
        "receive".as_ref(),
        "--yes".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        "7-guitarist-revenge".as_ref(),
    ];
    let done = as_nobody(&server, &args).await;
    receive_fails_early(&server, &done, &out, "Permission denied");
    assert!(!out.exists());
}

/// An evil sender offers `offer` to `ferry receive --yes -o OUT`; returns it
/// and the receiving ferry, after ferry's answer.
async fn offer_into(
    server: &TestServer,
    sandbox: &Sandbox,
    out: &Path,
    offer: serde_json::Value,
) -> (
    EvilPeer,
    ferry_test_support::Running,
    EvilTransit,
    Result<serde_json::Value, String>,
) {
    let mut peer = EvilPeer::allocate(&server.url()).await;
    let ferry = Ferry::receive(server, &peer.code, out, &sandbox.cwd).spawn();
    let ferry = verified(&mut peer, ferry).await;
    let transit = EvilTransit::new().await;
    peer.send_json(transit.message()).await;
    peer.send_json(json!({ "offer": offer })).await;
    let answer = reply(&mut peer).await;
    (peer, ferry, transit, answer)
}

/// Refused before accepting (no room): the new output directory never appears.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_offer_creates_no_output_dir() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let out = sandbox.out.join("new/deeper");
    let offer = json!({"file": {"filename": "huge.bin", "filesize": u64::MAX / 2}});
    let (_peer, ferry, _transit, answer) = offer_into(&server, &sandbox, &out, offer).await;
    assert!(answer.is_err(), "{answer:?}");
    ferry
        .finish()
        .await
        .assert_failed_with(&["not enough free space"]);
    assert!(
        !sandbox.out.join("new").exists(),
        "an empty output directory was left"
    );
}

/// Accepted, then the sender vanished: the directory created for it goes again.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_receive_leaves_no_empty_output_dir() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let out = sandbox.out.join("new");
    let offer = json!({"file": {"filename": "a.txt", "filesize": 5}});
    let (peer, ferry, transit, answer) = offer_into(&server, &sandbox, &out, offer).await;
    assert_eq!(answer, Ok(json!({"file_ack": "ok"})));
    let stream = transit.accept(&peer.transit_key(), Role::Sender).await;
    drop(stream);
    drop(peer);
    let done = ferry.finish().await;
    assert!(!done.status.success(), "{}", done.stderr);
    assert!(!out.exists(), "an empty output directory was left");
}

/// The mailbox takes about 1 MiB per message: longer text goes as a file.
#[tokio::test(flavor = "multi_thread")]
async fn text_over_the_mailbox_limit_goes_as_a_file() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let text: String = "0123456789abcdef\n".repeat(150_000); // 2.4 MiB
    let source = sandbox.root.join("text");
    std::fs::write(&source, &text).unwrap();
    let code = "8-guitarist-revenge";
    let mut sender = tokio::process::Command::new(ferry_bin::path());
    sender
        .args([
            "send",
            "--server",
            &server.url(),
            "--relay",
            &server.relay(),
        ])
        .args([
            "--hide-progress",
            "--listen",
            "127.0.0.1",
            "--code",
            code,
            "--text",
            "-",
        ])
        .stdin(std::fs::File::open(&source).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let sender = sender.spawn().unwrap();
    let receiver = Ferry::receive(&server, code, &sandbox.out, &sandbox.cwd).spawn();
    let (sent, received) = tokio::join!(
        tokio::time::timeout(RUN, sender.wait_with_output()),
        receiver.finish()
    );
    let sent = sent.unwrap().unwrap();
    let said = String::from_utf8_lossy(&sent.stderr);
    assert!(sent.status.success(), "{said}");
    received.assert_success();
    assert!(
        said.contains("over the mailbox's limit: sending it as the file message.txt"),
        "{said}"
    );
    let landed = std::fs::read_to_string(sandbox.out.join("message.txt")).unwrap();
    assert!(landed == text, "the text arrived changed");
}
