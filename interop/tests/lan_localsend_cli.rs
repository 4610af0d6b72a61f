//! ferry ↔ localsend-cli 0.1.1 on a test LAN, both directions.
//!
//! What localsend-cli cannot do, pinned here: its `send` has no PIN option (a PIN-protected
//! receiver refuses it) and crashes on a folder; its receiver treats a single text/* file as
//! a message (prints it, saves nothing), cannot receive a folder (it creates no
//! subdirectory) and never answers 429; it fixes port 53317 (docs/localsend/peers.md §3).

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_interop::data::NON_ASCII_TEXT;
use ferry_interop::lan_cases::*;
use ferry_interop::lan_ferry::{exit_code, Ferry};
use ferry_interop::lan_net::Lan;
use ferry_interop::lan_peers::LocalsendCli;
use ferry_interop::TestEnv;

/// host 0: localsend-cli, host 1: ferry.
fn setup() -> (Lan, LocalsendCli, Ferry) {
    let env = TestEnv::get();
    let lan = Lan::new(2);
    let cli = LocalsendCli::new(env, lan.host(0));
    let ferry = Ferry::new(env, lan.host(1));
    (lan, cli, ferry)
}

/// localsend-cli's receiver announces every 5 s: a 6 s scan hears it.
#[test]
fn ferry_lists_localsend_cli() {
    let (_lan, cli, ferry) = setup();
    let out = TestEnv::get().scratch_dir("out-");
    let receiver = cli.receive(out.path(), None);
    let devices = ferry.devices(6);
    drop(receiver);
    assert_eq!(exit_code(&devices), Some(0), "{devices}");
    let line = devices.stdout_text();
    assert!(
        line.contains(&cli.host.ip) && line.contains("localsend-cli@"),
        "{devices}"
    );
}

#[test]
fn localsend_cli_lists_ferry() {
    let (_lan, cli, ferry) = setup();
    let out = TestEnv::get().scratch_dir("out-");
    let receiver = ferry.receive("ferryB", out.path(), &["--yes"]);
    let scan = cli.scan(3);
    drop(receiver);
    assert_listed(&scan, "ferryB", &ferry.host.ip);
}

#[test]
fn files_ferry_to_localsend_cli() {
    let (_lan, cli, ferry) = setup();
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let files = several_files(data.path());
    let receiver = cli.receive(out.path(), None);
    let paths: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
    let sent = ferry.send(&cli.host.ip, &[], &paths, TRANSFER_TIMEOUT);
    let received = receiver.into_outcome();
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{received}");
    assert_copies(&files, out.path(), "ferry → localsend-cli");
}

/// A LocalSend message: localsend-cli prints it as a `text` event.
#[test]
fn text_ferry_to_localsend_cli() {
    let (_lan, cli, ferry) = setup();
    let out = TestEnv::get().scratch_dir("out-");
    let mut receiver = cli.receive(out.path(), None);
    let to = cli.host.ip.clone();
    let args = ["send", "--lan", "--to", &to, "--text", NON_ASCII_TEXT];
    let sent = ferry.run("ferry send --text", &args, TRANSFER_TIMEOUT);
    let seen = receiver.wait_for_output("\"text\"", Duration::from_secs(10));
    let received = receiver.into_outcome();
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{received}");
    assert!(seen.is_ok(), "{seen:?}\n{received}");
    let printed = received.stdout_text();
    // JSON may escape the non-ASCII: compare what it decodes to through its ASCII part.
    assert!(
        printed.contains("h\\u00e9llo") || printed.contains("héllo"),
        "{received}"
    );
}

/// localsend-cli answers 401 to a missing or wrong PIN, every time (never 429).
#[test]
fn pin_ferry_to_localsend_cli() {
    let (_lan, cli, ferry) = setup();
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = several_files(data.path()).remove(0);
    let receiver = cli.receive(out.path(), Some("1111"));
    let ip = cli.host.ip.clone();
    let missing = ferry.send(&ip, &[], &[&file], TRANSFER_TIMEOUT);
    assert_exit(&missing, 3, "PIN", "missing PIN");
    let wrong = ferry.send(&ip, &["--pin", "2222"], &[&file], TRANSFER_TIMEOUT);
    assert_exit(&wrong, 3, "PIN", "wrong PIN");
    assert_eq!(files_in(out.path()), vec![]);
    let right = ferry.send(&ip, &["--pin", "1111"], &[&file], TRANSFER_TIMEOUT);
    let received = receiver.into_outcome();
    assert_eq!(exit_code(&right), Some(0), "{right}\n{received}");
    assert_copy(&file, out.path(), "blob.bin", "right PIN");
}

#[test]
fn files_localsend_cli_to_ferry() {
    let (_lan, cli, ferry) = setup();
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let files = several_files(data.path());
    let receiver = ferry.receive("ferryB", out.path(), &["--yes"]);
    let paths: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
    let sent = cli
        .send(&ferry.host.ip, &paths)
        .finish(Instant::now() + TRANSFER_TIMEOUT);
    let received = receiver.finish(Instant::now() + TRANSFER_TIMEOUT);
    assert!(sent.succeeded(), "{sent}\n{received}");
    assert_eq!(exit_code(&received), Some(0), "{received}");
    assert_copies(&files, out.path(), "localsend-cli → ferry");
}

/// localsend-cli has no PIN option: ferry --pin refuses it (401) and saves nothing.
#[test]
fn localsend_cli_cannot_send_to_ferry_with_pin() {
    let (_lan, cli, ferry) = setup();
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = several_files(data.path()).remove(0);
    let receiver = ferry.receive("ferryB", out.path(), &["--yes", "--pin", "1234"]);
    let sent = cli
        .send(&ferry.host.ip, &[&file])
        .finish(Instant::now() + TRANSFER_TIMEOUT);
    let received = receiver.into_outcome();
    assert!(
        sent.failed_cleanly() && sent.all_output().contains("401"),
        "{sent}\n{received}"
    );
    assert_eq!(files_in(out.path()), vec![], "{received}");
}

/// ferry without --yes and not at a terminal declines (403): localsend-cli fails.
#[test]
fn ferry_declines_localsend_cli_off_a_terminal() {
    let (_lan, cli, ferry) = setup();
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = several_files(data.path()).remove(0);
    let receiver = ferry.receive("ferryB", out.path(), &[]);
    let sent = cli
        .send(&ferry.host.ip, &[&file])
        .finish(Instant::now() + TRANSFER_TIMEOUT);
    let received = receiver.finish(Instant::now() + Duration::from_secs(10));
    // localsend-cli's words for a 403.
    let rejected = sent.all_output().contains("Transfer rejected by receiver");
    assert!(sent.failed_cleanly() && rejected, "{sent}\n{received}");
    assert_eq!(files_in(out.path()), vec![], "{received}");
}

/// localsend-cli killed mid-upload (it has no cancel): ferry fails and keeps nothing.
#[test]
fn localsend_cli_killed_mid_upload_to_ferry() {
    killed_mid_upload(None);
}

/// A lost connection is exit 6 (network), not 1 (the README's table, lan-cli.md).
#[test]
fn dropped_upload_exits_6() {
    killed_mid_upload(Some(6));
}

fn killed_mid_upload(code: Option<i32>) {
    let (lan, cli, ferry) = setup();
    lan.host(0).limit_rate(40);
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file =
        ferry_interop::data::sparse_file(&data.path().join("slow.bin"), 64 << 20).expect("file");
    let mut receiver = ferry.receive("ferryB", out.path(), &["--yes"]);
    let sender = cli.send(&ferry.host.ip, &[&file]);
    wait_for_data(out.path(), &mut receiver, TRANSFER_TIMEOUT);
    let sent = sender.into_outcome();
    let received = receiver.finish(Instant::now() + Duration::from_secs(60));
    assert!(received.failed_cleanly(), "{received}\n{sent}");
    assert_eq!(files_in(out.path()), vec![], "{received}");
    if let Some(code) = code {
        assert_exit(&received, code, "connection", "dropped upload");
    }
}
