//! Error messages say it once and in the user's terms: an OS cause is not
//! repeated, a server URL without `/v1` is named as the mistake it is, and the
//! sender's own unusable names are its own, not "from the other side".
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use ferry_test_support::{Ferry, Sandbox, TestServer};

#[tokio::test(flavor = "multi_thread")]
async fn an_os_error_is_said_once() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let missing = sandbox.root.join("nope.txt");
    let done = Ferry::new(&server, "send")
        .arg(&missing)
        .spawn()
        .finish()
        .await;
    done.assert_failed_with(&["cannot send", "nope.txt", "No such file or directory"]);
    assert_eq!(
        done.stderr.matches("No such file").count(),
        1,
        "{}",
        done.stderr
    );
    assert_eq!(
        done.stderr.matches("nope.txt").count(),
        1,
        "{}",
        done.stderr
    );
}

/// `ws://HOST:PORT` (no `/v1`) reaches ferry serve's web page: HTTP 200.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_url_without_v1_is_named_as_such() {
    let server = TestServer::start().await;
    let addr = server.handle().mailbox_addr().unwrap();
    let sandbox = Sandbox::new();
    let file = sandbox.root.join("a.txt");
    std::fs::write(&file, b"a").unwrap();
    let bare = format!("ws://{addr}");
    let done = Ferry::with_urls("send", &bare, &server.relay())
        .arg(&file)
        .spawn()
        .finish()
        .await;
    let fixed = format!("did you mean ws://{addr}/v1?");
    done.assert_failed_with(&["not a wormhole mailbox server (HTTP 200)", &fixed]);
    assert!(!done.stderr.contains("HTTP error"), "{}", done.stderr);
}

/// The sender's own file name with a bidi override: refused before a code, as
/// a local name, and shown escaped.
#[tokio::test(flavor = "multi_thread")]
async fn our_own_unusable_name_is_ours() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let file = sandbox.root.join("invoice\u{202e}fdp.exe");
    std::fs::write(&file, b"x").unwrap();
    let done = Ferry::new(&server, "send")
        .arg(&file)
        .spawn()
        .finish()
        .await;
    done.assert_failed_with(&["unusable name", "invoice\\u{202e}fdp.exe"]);
    assert!(!done.stderr.contains("other side"), "{}", done.stderr);
    assert!(!done.stderr.contains("Wormhole code"), "{}", done.stderr);
    // Typed as a bare name, it is said once.
    let bare = Ferry::new(&server, "send")
        .arg("invoice\u{202e}fdp.exe")
        .cwd(&sandbox.root)
        .spawn()
        .finish()
        .await;
    assert_eq!(bare.stderr.matches("fdp.exe").count(), 1, "{}", bare.stderr);
}

/// `--name` for standard input is checked as a receiver would check it, before
/// standard input is read (not "storing what is sent: No such file").
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_name_for_standard_input_says_so() {
    let server = TestServer::start().await;
    let done = Ferry::new(&server, "send")
        .args(["--name", "a/b", "-"])
        .spawn()
        .finish()
        .await;
    done.assert_failed_with(&["--name a/b", "separator"]);
    assert!(!done.stderr.contains("No such file"), "{}", done.stderr);
}
