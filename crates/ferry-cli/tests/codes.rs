//! Codes are forgiving: case and spaces do not matter, a mistyped word is caught
//! before the server is contacted (so the sender's code is not used up), and the
//! code never has to be on the command line, where `ps` shows it.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::net::TcpListener;

use ferry_test_support::interactive::{delivered, Interactive, CTRL_C};
use ferry_test_support::{fresh_code, Ferry, TestServer};

/// A fresh code on a nameplate no other test uses.
/// A listener standing in for a mailbox server; it only records whether ferry
/// ever connected.
struct Unused(TcpListener);

impl Unused {
    fn new() -> Unused {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Unused(listener)
    }

    fn url(&self) -> String {
        format!("ws://{}/v1", self.0.local_addr().unwrap())
    }

    fn assert_untouched(&self) {
        let accepted = self.0.accept();
        assert!(
            matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "ferry contacted the server: {accepted:?}"
        );
    }
}

async fn receive_with(code: &str) -> (ferry_test_support::Finished, Unused) {
    let server = Unused::new();
    let done = Ferry::with_urls("receive", &server.url(), "tcp:127.0.0.1:1")
        .arg(code)
        .spawn()
        .finish()
        .await;
    (done, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mistyped_word_is_refused_with_a_suggestion_before_connecting() {
    let (done, server) = receive_with("7-guitarst-revenge").await;
    assert_eq!(done.code(), Some(2), "{}", done.stderr);
    assert!(
        done.stderr
            .contains(r#"ferry: error: "guitarst" is not a code word (did you mean "guitarist"?)"#),
        "{}",
        done.stderr
    );
    server.assert_untouched();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_code_exits_2_before_connecting() {
    let (done, server) = receive_with("guitarist-revenge").await;
    assert_eq!(done.code(), Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("must be a number"), "{}", done.stderr);
    server.assert_untouched();
}

/// A sender's own words (`send --code`, from any client) are not "typos".
#[tokio::test(flavor = "multi_thread")]
async fn custom_words_are_used_as_typed() {
    let server = TestServer::start().await;
    let code = format!("{}-Purple-sausages", 1000 + rand::random::<u16>() % 60000);
    let sender = Interactive::start(
        &server,
        "send",
        &["--code", &code, "--text", "hi"],
        &[],
        false,
    );
    let receiver = Interactive::start(&server, "receive", &[&code], &[], false);
    delivered(sender, receiver, "hi").await;
}

/// The sender's generated code typed with spaces and in capitals still meets
/// it: both sides put the same normalised password on the wire.
#[tokio::test(flavor = "multi_thread")]
async fn case_and_spaces_do_not_matter() {
    let server = TestServer::start().await;
    let code = fresh_code();
    let sender = Interactive::start(
        &server,
        "send",
        &["--code", &code, "--text", "hello"],
        &[],
        false,
    );
    let typed = format!(" {} ", code.replace('-', "  ").to_uppercase());
    let receiver = Interactive::start(&server, "receive", &[&typed], &[], false);
    delivered(sender, receiver, "hello").await;
}

/// `ferry receive 7 guitarist revenge`, unquoted, as Python `wormhole` takes it.
#[tokio::test(flavor = "multi_thread")]
async fn the_words_may_be_separate_arguments() {
    let server = TestServer::start().await;
    let code = fresh_code();
    let sender = Interactive::start(
        &server,
        "send",
        &["--code", &code, "--text", "apart"],
        &[],
        false,
    );
    let words: Vec<&str> = code.split('-').collect();
    let receiver = Interactive::start(&server, "receive", &words, &[], false);
    delivered(sender, receiver, "apart").await;
}

/// `FERRY_CODE` for the sender, `--code-file -` (standard input) for the
/// receiver: the code is in neither command line.
#[tokio::test(flavor = "multi_thread")]
async fn the_code_comes_from_the_environment_or_standard_input() {
    let server = TestServer::start().await;
    let code = fresh_code();
    let env = [("FERRY_CODE", code.as_str())];
    let mut sender = Interactive::start(&server, "send", &["--text", "from env"], &env, false);
    sender.wait_for(&format!("Wormhole code is: {code}")).await;
    let mut receiver = Interactive::start(&server, "receive", &["--code-file", "-"], &[], false);
    receiver
        .write(format!("{code}\nnot the code\n").as_bytes())
        .await;
    delivered(sender, receiver, "from env").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_code_comes_from_a_file() {
    let server = TestServer::start().await;
    let code = fresh_code();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("code.txt");
    std::fs::write(&file, format!("{code}\n")).unwrap();
    let file = file.to_string_lossy().into_owned();
    let sending = ["--code-file", &file, "--text", "x"];
    let mut sender = Interactive::start(&server, "send", &sending, &[], false);
    sender.wait_for(&format!("Wormhole code is: {code}")).await;
    let receiver = Interactive::start(&server, "receive", &["--code-file", &file], &[], false);
    delivered(sender, receiver, "x").await;
}

/// Ctrl-C at the code prompt (a raw-mode prompt: the key, not a signal) exits
/// 130 with "ferry: interrupted", like Ctrl-C anywhere else.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_code_prompt_exits_130() {
    let server = TestServer::start().await;
    let mut receiver = Interactive::start(&server, "receive", &[], &[], true);
    receiver.wait_for("Enter receive wormhole code:").await;
    receiver.write(b"7-gui").await;
    receiver.write(CTRL_C).await;
    let (status, said) = receiver.finish().await;
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(said.contains("ferry: interrupted"), "{said}");
}

/// Tab at the code prompt completes the nameplate from the server's list (as
/// Python `wormhole receive` does), then the words.
#[tokio::test(flavor = "multi_thread")]
async fn tab_completes_the_nameplate_from_the_server() {
    let server = TestServer::start().await;
    let mut sender = Interactive::start(&server, "send", &["--text", "tabbed"], &[], false);
    sender.wait_for("On the other computer").await;
    let code = sender.seen.split("Wormhole code is: ").nth(1).unwrap();
    let code = code.split_whitespace().next().unwrap().to_owned();
    let (nameplate, words) = code.split_once('-').unwrap();
    let mut receiver = Interactive::start(&server, "receive", &[], &[], true);
    receiver.wait_for("Enter receive wormhole code:").await;
    receiver
        .write(format!("{}\t", &nameplate[..1]).as_bytes())
        .await;
    receiver.wait_for(&format!("{nameplate}-")).await;
    receiver.write(format!("{words}\r").as_bytes()).await;
    delivered(sender, receiver, "tabbed").await;
}
