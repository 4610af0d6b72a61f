//! The README's examples are what ferry prints: each sample is read from
//! README.md and compared with a real run. Only what differs from run to run is
//! normalised on both sides (the code, addresses, hashes, and the server flags a
//! test must add).

use std::path::Path;

use ferry_test_support::ferry_bin::{pty_available, Ferry};
use ferry_test_support::interactive::Interactive;
use ferry_test_support::json_run::JsonRun;
use ferry_test_support::{fresh_code, Sandbox, TestServer};
use serde_json::Value;

/// The README's code in its samples.
const README_CODE: &str = "7-guitarist-revenge";
const JSON_CODE: &str = "9-guitarist-revenge";
/// report.pdf's size in the samples (2.10 MiB).
const REPORT_BYTES: usize = 2_200_000;

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(path).expect("README.md")
}

/// The lines after the line `start` up to (not including) the first line for
/// which `end` holds, trailing blank lines dropped.
fn sample(text: &str, start: &str, end: impl Fn(&str) -> bool) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| l.trim_end() != start);
    assert!(lines.next().is_some(), "README has no line {start:?}");
    let mut got: Vec<String> = lines.take_while(|l| !end(l)).map(String::from).collect();
    while got.last().is_some_and(|l| l.is_empty()) {
        got.pop();
    }
    got
}

/// One side of a run or a sample, with what legitimately varies made equal.
fn normalised(text: &str, code: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .replace("\r\n", "\n")
        .replace(code, "CODE")
        .lines()
        .map(|l| connected(&without_server_flags(l)))
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// The test's own servers appear in the "run this" lines; the README's
/// sender uses the defaults, which need no flags.
fn without_server_flags(line: &str) -> String {
    let mut line = line.to_owned();
    for flag in ["--server", "--relay", "--relay-url", "--transit-helper"] {
        while let Some(at) = line.find(&format!(" {flag} ")) {
            let value_start = at + flag.len() + 2;
            let value_end = line[value_start..]
                .find(' ')
                .map_or(line.len(), |i| value_start + i);
            line.replace_range(at..value_end, "");
        }
    }
    line
}

/// Which path and address a connection took varies (direct or relay).
fn connected(line: &str) -> String {
    match line.starts_with("Connected (") && line.ends_with(").") {
        true => "Connected (…).".to_owned(),
        false => line.to_owned(),
    }
}

/// The first sample under "Use": a sender, then the receiver who answers `y`,
/// each at a terminal.
#[tokio::test(flavor = "multi_thread")]
async fn the_use_sample_is_what_a_terminal_shows() {
    assert!(
        pty_available(),
        "util-linux `script` is needed for terminal tests"
    );
    let text = readme();
    let receiver_start = format!("$ ferry receive {README_CODE}        # on the other computer");
    let sent_sample = sample(&text, "$ ferry send report.pdf", |l| l.starts_with("$ "));
    let received_sample = sample(&text, &receiver_start, |l| l.starts_with("```"));

    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.root.join("report.pdf"), vec![7u8; REPORT_BYTES]).unwrap();
    let mut sender = Interactive::at_terminal_in(&sandbox.root, &server, "send", &["report.pdf"]);
    sender.wait_for("Waiting for the other side").await;
    let code = code_in(&sender.seen);
    let mut receiver = Interactive::at_terminal_in(&sandbox.out, &server, "receive", &[&code]);
    receiver.wait_for("Accept? [y/N]").await;
    receiver.write(b"y\n").await;
    let ((sent_status, sent), (received_status, received)) =
        tokio::join!(sender.finish(), receiver.finish());
    assert!(sent_status.success(), "{sent}");
    assert!(received_status.success(), "{received}");

    assert_eq!(
        normalised(&sent, &code),
        normalised(&sent_sample.join("\n"), README_CODE)
    );
    assert_eq!(
        normalised(&received, &code),
        normalised(&received_sample.join("\n"), README_CODE)
    );
}

fn code_in(said: &str) -> String {
    let line = said
        .lines()
        .find_map(|l| l.strip_prefix("Wormhole code is: "))
        .expect("a code line");
    line.trim().to_owned()
}

/// The `--json` sample: the same events in the same order, each with the same
/// keys (values that vary from run to run aside, the fixed ones equal).
#[tokio::test(flavor = "multi_thread")]
async fn the_json_sample_has_the_events_and_keys_ferry_prints() {
    let text = readme();
    let start = format!("$ ferry receive --json --yes {JSON_CODE}");
    let lines = sample(&text, &start, |l| l.starts_with("```"));
    let expected: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();

    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.root.join("report.pdf"), vec![7u8; REPORT_BYTES]).unwrap();
    let code = fresh_code();
    let mut receiver = JsonRun::spawn(&server, "receive", &["--yes", &code], &sandbox.cwd);
    receiver.until("waiting").await;
    let sender = JsonRun::spawn(
        &server,
        "send",
        &["--code", &code, "report.pdf"],
        &sandbox.root,
    );
    let (sent, received) = tokio::join!(sender.finish(), receiver.finish());
    assert!(sent.status.success(), "{}", sent.stderr);
    assert!(received.status.success(), "{}", received.stderr);

    assert_eq!(shapes(&received.events), shapes(&expected));
    // The values that do not vary: what, how much, and where it landed.
    let (got, want) = (received.one("done"), expected.last().expect("a done line"));
    let fixed = ["what", "bytes", "files", "paths", "transferred", "resumed"];
    for key in fixed.into_iter().chain(["already_present"]) {
        assert_eq!(got[key], want[key], "{key} of {got}");
    }
    assert_eq!(received.one("offer"), &expected[3]);
}

/// Each run of events of one kind once (progress comes as often as the
/// transfer's speed makes it), with its sorted keys.
fn shapes(events: &[Value]) -> Vec<(String, Vec<String>)> {
    let mut shapes: Vec<(String, Vec<String>)> = Vec::new();
    for event in events {
        let name = event["event"].as_str().unwrap_or_default().to_owned();
        let mut keys: Vec<String> = event
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        if shapes.last().is_some_and(|(n, _)| *n == name) {
            continue;
        }
        shapes.push((name, keys));
    }
    shapes
}

/// The config file's errors, as the README quotes them (its path aside).
#[tokio::test(flavor = "multi_thread")]
async fn the_config_file_errors_are_quoted_as_printed() {
    let text = readme();
    let quoted: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("    ferry: error: config file "))
        .collect();
    assert_eq!(quoted.len(), 2, "the README quotes two config file errors");
    let readme_path = "/home/me/.config/ferry/config.toml";
    for (content, quote) in [
        ("sever = \"ws://h/v1\"\n", quoted[0]),
        ("relay = \"nonsense\"\n", quoted[1]),
    ] {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("ferry");
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("config.toml");
        std::fs::write(&file, content).unwrap();
        let run = Ferry::bare()
            .env("XDG_CONFIG_HOME", home.path().to_str().unwrap())
            .args(["send", "--text", "hi"])
            .spawn()
            .finish()
            .await;
        assert_eq!(run.code(), Some(2), "{}", run.stderr);
        let printed = run.stderr.replace(file.to_str().unwrap(), readme_path);
        let want = format!("ferry: error: config file {quote}");
        assert!(
            printed.lines().any(|l| l == want),
            "README: {want}\nprinted: {printed}"
        );
    }
}
