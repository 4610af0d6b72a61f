//! ferry ↔ localsendd 0.1.1 on a test LAN, both directions.
//!
//! What localsendd cannot do, pinned here: it sends files only (a folder is skipped as
//! "missing") and flattens what it receives to the last path part; it has no text message
//! (a message arrives as a `.txt` file). It counts a missing PIN as a failure too, so its
//! lockout (429) comes on the third bad try (docs/localsend/peers.md §1, §3). It cannot
//! receive an empty file: its upload handler takes 0 bytes for a failed write and answers
//! 500 (`received == expected if expected else received > 0`, localsendd/http_api.py).

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_interop::data::{sample_tree, sparse_file};
use ferry_interop::lan_cases::*;
use ferry_interop::lan_ferry::{exit_code, Ferry};
use ferry_interop::lan_net::Lan;
use ferry_interop::lan_peers::{DaemonOptions, Localsendd};
use ferry_interop::process::Running;
use ferry_interop::TestEnv;

fn unattended(pin: Option<&str>) -> DaemonOptions {
    DaemonOptions {
        alias: "daemonA".into(),
        pin: pin.map(Into::into),
        unattended: true,
        ..DaemonOptions::default()
    }
}

#[test]
fn ferry_lists_localsendd() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let devices = ferry.devices(3);
    assert_eq!(exit_code(&devices), Some(0), "{devices}");
    let line = assert_listed(&devices, "daemonA", &daemon.host.ip);
    let fp = format!("\"fingerprint\":\"{}\"", daemon.fingerprint);
    assert!(line.to_uppercase().contains(&fp.to_uppercase()), "{line}");
}

/// `--to` takes the start of a fingerprint (found by a scan).
#[test]
fn to_a_fingerprint_prefix() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let data = TestEnv::get().scratch_dir("data-");
    let files = non_empty_files(data.path());
    let prefix = &daemon.fingerprint[..12];
    let sent = ferry.send(prefix, &[], &[&files[0]], TRANSFER_TIMEOUT);
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{}", daemon.log());
    assert_copies(&files[..1], &daemon.download_dir, "to a fingerprint prefix");
}

/// Without --to and not at a terminal there is no one to ask: exit 2, naming what answered.
#[test]
fn no_target_off_a_terminal_names_what_answered() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let data = TestEnv::get().scratch_dir("data-");
    let files = non_empty_files(data.path());
    let mut inv = ferry.invocation("ferry send", &["send", "--lan"]);
    inv.arg(&files[0]);
    let sent = ferry.host.run(&inv, TRANSFER_TIMEOUT);
    assert_exit(&sent, 2, "daemonA", "no --to");
    assert_eq!(files_in(&daemon.download_dir), vec![]);
}

#[test]
fn localsendd_lists_ferry() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let out = TestEnv::get().scratch_dir("out-");
    let receiver = ferry.receive("ferryB", out.path(), &["--yes"]);
    let devices = daemon.devices(4);
    drop(receiver);
    assert_listed(&devices, "ferryB", &ferry.host.ip);
}

#[test]
fn files_ferry_to_localsendd() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let data = TestEnv::get().scratch_dir("data-");
    let files = non_empty_files(data.path());
    let paths: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
    let sent = ferry.send(&daemon.host.ip, &[], &paths, TRANSFER_TIMEOUT);
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{}", daemon.log());
    assert_copies(&files, &daemon.download_dir, "ferry → localsendd");
}

/// Pins localsendd's limit: an empty file gets 500, which ferry reports (exit 1).
#[test]
fn empty_file_ferry_to_localsendd_is_refused_by_localsendd() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let data = TestEnv::get().scratch_dir("data-");
    let empty = data.path().join("empty.bin");
    std::fs::write(&empty, b"").expect("empty file");
    let sent = ferry.send(&daemon.host.ip, &[], &[&empty], TRANSFER_TIMEOUT);
    assert_exit(&sent, 1, "500", "empty file to localsendd");
}

/// To an alias (found by ferry's scan); localsendd keeps only each file's last path part
/// (the tree's empty file is left out: see the header).
#[test]
fn directory_ferry_to_localsendd_by_alias_is_flattened() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let data = TestEnv::get().scratch_dir("data-");
    let tree = sample_tree(data.path()).expect("tree");
    std::fs::remove_file(tree.join("empty.txt")).expect("no empty file");
    let sent = ferry.send("daemonA", &[], &[&tree], TRANSFER_TIMEOUT);
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{}", daemon.log());
    let flat = [
        ("hello.txt", "hello.txt"),
        ("nested/notes.md", "notes.md"),
        ("nested/deeper/deepest/blob.bin", "blob.bin"),
        ("ñandú/日本語.txt", "日本語.txt"),
    ];
    for (rel, name) in flat {
        assert_copy(
            &tree.join(rel),
            &daemon.download_dir,
            name,
            "folder → localsendd",
        );
    }
    assert_eq!(files_in(&daemon.download_dir).len(), flat.len(), "{sent}");
}

#[test]
fn files_localsendd_to_ferry() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let files = several_files(data.path());
    let receiver = ferry.receive("ferryB", out.path(), &["--yes"]);
    let paths: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
    let sent = daemon.send(&paths, &ferry.host.ip, None, TRANSFER_TIMEOUT);
    let received = receiver.finish(Instant::now() + TRANSFER_TIMEOUT);
    assert!(sent.succeeded(), "{sent}\n{received}\n{}", daemon.log());
    assert_eq!(exit_code(&received), Some(0), "{received}");
    assert_copies(&files, out.path(), "localsendd → ferry");
}

#[test]
fn huge_file_ferry_to_localsendd() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let data = TestEnv::get().scratch_dir("data-");
    let file = sparse_file(&data.path().join("huge.bin"), GIB).expect("1 GiB file");
    let sent = ferry.send(&daemon.host.ip, &[], &[&file], HUGE_TIMEOUT);
    assert_eq!(exit_code(&sent), Some(0), "{sent}\n{}", daemon.log());
    assert_copy(
        &file,
        &daemon.download_dir,
        "huge.bin",
        "1 GiB ferry → localsendd",
    );
}

#[test]
fn huge_file_localsendd_to_ferry() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = sparse_file(&data.path().join("huge.bin"), GIB).expect("1 GiB file");
    let receiver = ferry.receive("ferryB", out.path(), &["--yes"]);
    let sent = daemon.send(&[&file], &ferry.host.ip, None, HUGE_TIMEOUT);
    let received = receiver.finish(Instant::now() + TRANSFER_TIMEOUT);
    assert!(sent.succeeded(), "{sent}\n{received}");
    assert_eq!(exit_code(&received), Some(0), "{received}");
    assert_copy(&file, out.path(), "huge.bin", "1 GiB localsendd → ferry");
}

/// Right PIN → sent; missing or wrong → exit 3 "PIN"; localsendd counts both, so the next
/// wrong one meets its lockout (429): exit 3, "PIN", at once (no retry), and nothing saved.
#[test]
fn pin_ferry_to_localsendd() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(Some("4321")));
    let data = TestEnv::get().scratch_dir("data-");
    let file = several_files(data.path()).remove(0);
    let ip = daemon.host.ip.clone();
    let right = ferry.send(&ip, &["--pin", "4321"], &[&file], TRANSFER_TIMEOUT);
    assert_eq!(exit_code(&right), Some(0), "{right}\n{}", daemon.log());
    assert_copy(&file, &daemon.download_dir, "blob.bin", "right PIN");
    std::fs::remove_file(daemon.download_dir.join("blob.bin")).expect("clear");

    let missing = ferry.send(&ip, &[], &[&file], TRANSFER_TIMEOUT);
    assert_exit(&missing, 3, "PIN", "missing PIN");
    let wrong = ferry.send(&ip, &["--pin", "1111"], &[&file], TRANSFER_TIMEOUT);
    assert_exit(&wrong, 3, "PIN", "wrong PIN");
    let locked = ferry.send(&ip, &["--pin", "2222"], &[&file], TRANSFER_TIMEOUT);
    assert_exit(&locked, 3, "PIN", "third bad PIN (429)");
    assert!(
        locked.elapsed < Duration::from_secs(10),
        "retried?\n{locked}"
    );
    let right_too_late = ferry.send(&ip, &["--pin", "4321"], &[&file], TRANSFER_TIMEOUT);
    assert_exit(
        &right_too_late,
        3,
        "PIN",
        "right PIN while locked out (429)",
    );
    assert_eq!(
        files_in(&daemon.download_dir),
        vec![],
        "nothing may land after a refusal"
    );
}

/// ferry's lockout: a missing PIN is not counted (as in the app), three wrong ones are.
#[test]
fn pin_localsendd_to_ferry() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = several_files(data.path()).remove(0);
    let receiver = ferry.receive("ferryB", out.path(), &["--yes", "--pin", "9876"]);
    let to = ferry.host.ip.clone();
    let missing = daemon.send(&[&file], &to, None, TRANSFER_TIMEOUT);
    assert!(missing.stdout_text().contains("pin_required"), "{missing}");
    for n in 1..=3 {
        let wrong = daemon.send(&[&file], &to, Some("0000"), TRANSFER_TIMEOUT);
        assert!(
            wrong.stdout_text().contains("pin_required"),
            "wrong PIN {n}\n{wrong}"
        );
    }
    let locked = daemon.send(&[&file], &to, Some("9876"), TRANSFER_TIMEOUT);
    assert!(locked.stdout_text().contains("rate_limited"), "{locked}");
    let received = receiver.into_outcome();
    assert_eq!(files_in(out.path()), vec![], "{received}");
}

#[test]
fn pin_right_localsendd_to_ferry() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = several_files(data.path()).remove(0);
    let receiver = ferry.receive("ferryB", out.path(), &["--yes", "--pin", "9876"]);
    let sent = daemon.send(&[&file], &ferry.host.ip, Some("9876"), TRANSFER_TIMEOUT);
    let received = receiver.finish(Instant::now() + TRANSFER_TIMEOUT);
    assert!(sent.succeeded(), "{sent}\n{received}");
    assert_copy(&file, out.path(), "blob.bin", "right PIN to ferry");
}

/// localsendd attended with no control client declines at once: 403 → exit 4.
#[test]
fn localsendd_declines() {
    let mut opts = unattended(None);
    opts.unattended = false;
    let (_lan, daemon, ferry) = localsendd_and_ferry(opts);
    let data = TestEnv::get().scratch_dir("data-");
    let file = several_files(data.path()).remove(0);
    let sent = ferry.send(&daemon.host.ip, &[], &[&file], TRANSFER_TIMEOUT);
    assert_eq!(exit_code(&sent), Some(4), "{sent}\n{}", daemon.log());
    assert_eq!(files_in(&daemon.download_dir), vec![]);
}

/// ferry without --yes and not at a terminal cannot ask, so it declines (403).
#[test]
fn ferry_declines_without_yes_off_a_terminal() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = several_files(data.path()).remove(0);
    let receiver = ferry.receive("ferryB", out.path(), &[]);
    let sent = daemon.send(&[&file], &ferry.host.ip, None, TRANSFER_TIMEOUT);
    let received = receiver.finish(Instant::now() + Duration::from_secs(10));
    assert!(
        sent.stdout_text().contains("declined"),
        "{sent}\n{received}"
    );
    assert_eq!(files_in(out.path()), vec![], "{received}");
}

/// Ctrl-C in ferry send mid-upload: exit 130, and localsendd (told by a cancel) drops its
/// partial file.
#[test]
fn ferry_sender_interrupted_mid_upload_to_localsendd() {
    let (lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    lan.host(1).limit_rate(40);
    let data = TestEnv::get().scratch_dir("data-");
    let file = sparse_file(&data.path().join("slow.bin"), 64 << 20).expect("file");
    let mut sender = ferry.spawn_send(&daemon.host.ip, &[], &[&file]);
    wait_for_data(&daemon.download_dir, &mut sender, TRANSFER_TIMEOUT);
    sender.interrupt().expect("SIGINT");
    let sent = sender.finish(Instant::now() + Duration::from_secs(15));
    assert_eq!(exit_code(&sent), Some(130), "{sent}");
    assert_empty_soon(
        &daemon.download_dir,
        Duration::from_secs(15),
        "after ferry's cancel",
    );
}

/// localsendd cancels its own send mid-upload (`localsendctl cancel`): it drops the upload
/// connection, then posts `cancel`. ferry fails and keeps nothing, partial or final. (Its
/// exit code for a dropped upload is pinned in lan_localsend_cli.rs.)
#[test]
fn localsendd_cancels_mid_upload_to_ferry() {
    let up = slow_upload_under_way();
    let cancel = up.daemon.ctl(&["cancel"], TRANSFER_TIMEOUT);
    assert!(cancel.succeeded(), "{cancel}");
    let received = up.receiver.finish(Instant::now() + Duration::from_secs(15));
    assert!(received.failed_cleanly(), "{received}\n{}", up.daemon.log());
    assert_eq!(files_in(up.out.path()), vec![], "{received}");
}

/// localsendd killed mid-upload: the connection drops; ferry fails and keeps nothing.
#[test]
fn localsendd_killed_mid_upload_to_ferry() {
    let up = slow_upload_under_way();
    drop(up.daemon);
    let received = up.receiver.finish(Instant::now() + Duration::from_secs(60));
    assert!(received.failed_cleanly(), "{received}");
    assert_eq!(files_in(up.out.path()), vec![], "{received}");
}

/// A slowed 64 MiB upload from localsendd to `ferry receive --lan --yes`, once data
/// has reached ferry's output directory. Keep it whole (no `..` pattern): its fields
/// hold the LAN, ferry's home and the source, which the receiver needs until it ends.
struct Upload {
    _lan: Lan,
    _ferry: Ferry,
    _data: tempfile::TempDir,
    daemon: Localsendd,
    receiver: Running,
    out: tempfile::TempDir,
}

fn slow_upload_under_way() -> Upload {
    let (lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    lan.host(0).limit_rate(40);
    let env = TestEnv::get();
    let (data, out) = (env.scratch_dir("data-"), env.scratch_dir("out-"));
    let file = sparse_file(&data.path().join("slow.bin"), 64 << 20).expect("file");
    let mut receiver = ferry.receive("ferryB", out.path(), &["--yes"]);
    let (f, to) = (file.display().to_string(), ferry.host.ip.clone());
    let send = daemon.ctl(&["send", &f, "--to", &to], TRANSFER_TIMEOUT);
    assert!(send.succeeded(), "{send}");
    wait_for_data(out.path(), &mut receiver, TRANSFER_TIMEOUT);
    Upload {
        _lan: lan,
        _ferry: ferry,
        _data: data,
        daemon,
        receiver,
        out,
    }
}

/// A device announces localsendd's address with another fingerprint: ferry must refuse
/// the certificate it meets there (exit 1, "certificate") and send nothing.
#[test]
fn forged_fingerprint_is_refused() {
    let (_lan, daemon, ferry) = localsendd_and_ferry(unattended(None));
    let env = TestEnv::get();
    let data = env.scratch_dir("data-");
    let file = several_files(data.path()).remove(0);
    let forged = "AB".repeat(32);
    let forger = forge_announcements(&daemon.host, &env.python(), "impostor", &forged, 8);
    let sent = ferry.send("impostor", &[], &[&file], TRANSFER_TIMEOUT);
    drop(forger);
    assert_exit(&sent, 1, "certificate", "forged fingerprint");
    assert_eq!(files_in(&daemon.download_dir), vec![], "{sent}");
}
