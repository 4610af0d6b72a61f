//! `ferry send` prints the browser link `URL#CODE` beside the code: from
//! `--web-url` (or `FERRY_WEB_URL`, or the config file's `web_url`), else from the
//! server's welcome (`ferry-web`); `--json` carries it in the `code` event
//! (`--qr` drawing it is tested with the other QR test, in cli_surface.rs). Every run is the real binary against an in-process server on
//! loopback.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use ferry_test_support::json_run::{Ended, JsonRun};
use ferry_test_support::{fresh_code, Ferry, Finished, Sandbox, TestServer};

const PAGE: &str = "http://192.0.2.7:4000/";
const ADVERTISED: &str = "http://198.51.100.9:4000/";

/// A text send with `sender_args` (and `--code CODE`), received to the end.
async fn text_send(server: &TestServer, sender_args: &[&str], env: &[(&str, &str)]) -> Finished {
    let code = fresh_code();
    let mut sender = Ferry::new(server, "send");
    sender
        .args(sender_args)
        .args(["--code", &code, "--text", "hi"]);
    for (k, v) in env {
        sender.env(k, v);
    }
    let mut receiver = Ferry::new(server, "receive");
    receiver.args(["--yes", &code]);
    let (s, r) = (sender.spawn(), receiver.spawn());
    let (sent, got) = (s.finish().await, r.finish().await);
    sent.assert_success();
    got.assert_success();
    assert!(sent.stderr.contains(&format!("Wormhole code is: {code}")));
    sent
}

fn link_line(url: &str, stderr: &str) -> Option<String> {
    let prefix = format!("Or open in a browser: {url}#");
    stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .map(|l| l.trim_start_matches("Or open in a browser: ").to_owned())
}

/// `ferry send --json --text hi ARGS` with an allocated code, received to the end.
async fn json_send(server: &TestServer, args: &[&str]) -> (Ended, String) {
    let sandbox = Sandbox::new();
    let mut send_args = vec!["--text", "hi"];
    send_args.extend_from_slice(args);
    let mut sender = JsonRun::spawn(server, "send", &send_args, &sandbox.root);
    let code = sender.until("code").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let receiver = JsonRun::spawn(server, "receive", &["--yes", &code], &sandbox.cwd);
    let (sent, got) = tokio::join!(sender.finish(), receiver.finish());
    assert!(sent.status.success(), "{}", sent.stderr);
    assert!(got.status.success(), "{}", got.stderr);
    (sent, code)
}

#[tokio::test(flavor = "multi_thread")]
async fn web_url_flag_prints_the_link_with_the_code_in_the_fragment() {
    let server = TestServer::start().await;
    let sent = text_send(&server, &["--web-url", PAGE], &[]).await;
    let code = sent
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Wormhole code is: "))
        .unwrap();
    assert_eq!(
        link_line(PAGE, &sent.stderr),
        Some(format!("{PAGE}#{code}")),
        "{}",
        sent.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_and_config_file_give_the_link_and_a_bad_one_is_bad_usage() {
    let server = TestServer::start().await;
    let sent = text_send(&server, &[], &[("FERRY_WEB_URL", PAGE)]).await;
    assert!(link_line(PAGE, &sent.stderr).is_some(), "{}", sent.stderr);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, format!("web_url = \"{ADVERTISED}\"\n")).unwrap();
    let config = file.to_str().unwrap();
    let sent = text_send(&server, &["--config", config], &[]).await;
    assert!(
        link_line(ADVERTISED, &sent.stderr).is_some(),
        "{}",
        sent.stderr
    );
    // the environment beats the file
    let sent = text_send(&server, &["--config", config], &[("FERRY_WEB_URL", PAGE)]).await;
    assert!(link_line(PAGE, &sent.stderr).is_some(), "{}", sent.stderr);
    let done = Ferry::new(&server, "send")
        .args(["--web-url", "ftp://x/#frag", "--text", "hi"])
        .spawn()
        .finish()
        .await;
    assert_eq!(done.code(), Some(2), "{}", done.stderr);
    done.assert_failed_with(&["--web-url"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_link_when_none_is_known() {
    let server = TestServer::start().await;
    let sent = text_send(&server, &[], &[]).await;
    assert!(!sent.stderr.contains("browser"), "{}", sent.stderr);
    let (json, _) = json_send(&server, &[]).await;
    assert_eq!(json.one("code").get("web_url"), None);
    assert!(json.all("web_url").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn json_code_event_carries_the_link() {
    let server = TestServer::start().await;
    let (sent, code) = json_send(&server, &["--web-url", PAGE]).await;
    assert_eq!(sent.one("code")["web_url"], format!("{PAGE}#{code}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_is_discovered_from_the_welcome() {
    let server = TestServer::start_with(|c| c.web_url = Some(ADVERTISED.into())).await;
    // an allocated code: the welcome comes first, so the code event has it
    let (sent, code) = json_send(&server, &[]).await;
    assert_eq!(sent.one("code")["web_url"], format!("{ADVERTISED}#{code}"));
    assert!(
        sent.stderr
            .contains(&format!("Or open in a browser: {ADVERTISED}#{code}")),
        "{}",
        sent.stderr
    );
    // a code given with --code is shown before the welcome: the link follows
    let sent = text_send(&server, &[], &[]).await;
    assert!(
        link_line(ADVERTISED, &sent.stderr).is_some(),
        "{}",
        sent.stderr
    );
    // --web-url beats what the server advertises
    let sent = text_send(&server, &["--web-url", PAGE], &[]).await;
    assert!(link_line(PAGE, &sent.stderr).is_some(), "{}", sent.stderr);
    assert!(!sent.stderr.contains(ADVERTISED), "{}", sent.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_advertised_page_is_not_shown() {
    let evil = "http://h/\u{1b}[2J";
    let server = TestServer::start_with(|c| c.web_url = Some(evil.into())).await;
    let sent = text_send(&server, &[], &[]).await;
    assert!(!sent.stderr.contains("browser"), "{}", sent.stderr);
    assert!(!sent.raw_stderr.contains(&0x1b));
}
