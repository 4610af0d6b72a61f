//! Hostile file names in offers: every one is refused before anything is
//! written, with a message that names the problem and prints safely.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use ferry_test_support::scenario::offer_to_ferry;
use ferry_test_support::{Sandbox, TestServer};
use serde_json::json;

/// Offers a file called `name` and checks ferry refuses it, changing nothing.
async fn refuses_file_name(name: &str, why: &[&str]) {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let offer = json!({"file": {"filename": name, "filesize": 5}});
    let (said, ferry) = offer_to_ferry(&server, &sandbox, offer)
        .await
        .refused()
        .await;
    let done = ferry.finish().await;
    done.assert_failed_with(why);
    assert_eq!(done.code(), Some(5), "refused locally: {}", done.stderr);
    assert!(said.contains("unsafe"), "told the sender: {said}");
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
    assert!(!std::path::Path::new("/abs/path").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn parent_dir_escape() {
    refuses_file_name("../x", &["unsafe name", "separator"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn absolute_path() {
    refuses_file_name("/abs/path", &["unsafe name", "separator"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_parent_escape() {
    refuses_file_name("a/../../b", &["unsafe name"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_drive_path() {
    refuses_file_name("C:\\x", &["unsafe name", "separator"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn windows_drive_relative() {
    refuses_file_name("C:x", &["unsafe name", "drive letter"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unc_path() {
    refuses_file_name("\\\\server\\x", &["unsafe name", "separator"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nul_byte() {
    refuses_file_name("a\0b", &["unsafe name", "control character", "\\x00"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn newline() {
    refuses_file_name("a\nb.txt", &["unsafe name", "control character"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ansi_escape_sequences() {
    let name = "\x1b]0;owned\x07\x1b[2J\x1b[31mred.txt";
    refuses_file_name(name, &["unsafe name", "\\x1b"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn c1_control_and_bidi_override() {
    refuses_file_name("a\u{9b}31mb", &["unsafe name", "control character"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_chars() {
    let name = "n".repeat(10_000);
    refuses_file_name(&name, &["unsafe name", "too long"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dot() {
    refuses_file_name(".", &["unsafe name", "not a file name"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dot_dot() {
    refuses_file_name("..", &["unsafe name", "not a file name"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn empty() {
    refuses_file_name("", &["unsafe name", "empty"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_offer_with_escaping_name() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let offer = json!({"directory": {"mode": "zipfile/deflated", "dirname": "../up",
        "zipsize": 100, "numbytes": 5, "numfiles": 1}});
    let (_, ferry) = offer_to_ferry(&server, &sandbox, offer)
        .await
        .refused()
        .await;
    ferry.finish().await.assert_failed_with(&["unsafe name"]);
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
}

/// A bidi override makes `invoice\u{202e}fdp.exe` display as `invoiceexe.pdf`:
/// refused like a control character, and the refusal shows it escaped.
#[tokio::test(flavor = "multi_thread")]
async fn bidi_override_is_refused() {
    let words = [
        "unsafe name",
        "invisible formatting character",
        "invoice\\u{202e}fdp.exe",
    ];
    refuses_file_name("invoice\u{202e}fdp.exe", &words).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn zero_width_space_is_refused() {
    refuses_file_name("pay\u{200b}.pdf", &["unsafe name", "invisible formatting"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_name_with_bidi_isolate_is_refused() {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let offer = json!({"directory": {"mode": "zipfile/deflated", "dirname": "photos\u{2067}gpj.exe",
        "zipsize": 100, "numbytes": 5, "numfiles": 1}});
    let (_, ferry) = offer_to_ferry(&server, &sandbox, offer)
        .await
        .refused()
        .await;
    let done = ferry.finish().await;
    done.assert_failed_with(&["unsafe name", "invisible formatting"]);
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
}
