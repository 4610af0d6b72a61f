//! `ferry send --lan` / `receive --lan` / `lan devices` end to end, two ferry
//! processes per test in a private network namespace (loopback only, with the
//! multicast route), so discovery is real and nothing leaves the namespace.
//! The real LocalSend peers are in the interop suite.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::path::Path;
use std::time::Duration;

use ferry_test_support::files;
use ferry_test_support::netns;
use ferry_test_support::{Ferry, Finished, Running, Sandbox, Tree};

/// `ferry receive --lan` on loopback (port 53317: each test has a namespace of
/// its own) as `alias`, into the sandbox's `out/`,
/// with its identity under `root/recv`; returns once its server accepts.
async fn receiver(sb: &Sandbox, alias: &str, extra: &[&str]) -> Running {
    let mut f = Ferry::lan("receive", &sb.root.join("recv"));
    f.args(["--listen", "127.0.0.1", "--alias", alias, "-o"])
        .arg(&sb.out)
        .args(extra);
    serving(f.spawn(), "the receiver").await
}

/// `running` once it accepts on 127.0.0.1:53317 (each test has a namespace of its own).
async fn serving(running: Running, who: &str) -> Running {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", 53317))
            .await
            .is_ok()
        {
            return running;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{who} never served HTTPS");
}

/// `ferry send --lan` on loopback with its identity under `root/send`.
async fn send(sb: &Sandbox, args: &[&str]) -> Finished {
    let mut f = Ferry::lan("send", &sb.root.join("send"));
    f.args(["--listen", "127.0.0.1"]).args(args).cwd(&sb.cwd);
    f.spawn().finish().await
}

fn in_netns<F, Fut>(test: &str, body: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    netns::run(module_path!(), test, body);
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    let parse = |line: &str| serde_json::from_str(line).unwrap();
    stdout.lines().map(parse).collect()
}

fn tree(dir: &Path) -> Tree {
    Tree::of(dir)
}

#[test]
fn a_file_and_a_folder_cross_by_alias_and_land_as_sent() {
    in_netns(
        "a_file_and_a_folder_cross_by_alias_and_land_as_sent",
        || async {
            let sb = Sandbox::new();
            std::fs::write(sb.cwd.join("blob.bin"), files::bytes(3 << 20, 7)).unwrap();
            std::fs::create_dir_all(sb.cwd.join("dir/sous-dossier")).unwrap();
            std::fs::write(sb.cwd.join("dir/sous-dossier/é.txt"), "ça va").unwrap();
            std::fs::write(sb.cwd.join("dir/empty"), "").unwrap();
            let recv = receiver(&sb, "kitchen", &["--yes"]).await;
            let sent = send(&sb, &["--to", "kitchen", "blob.bin", "dir"]).await;
            sent.assert_success();
            let got = recv.finish().await;
            got.assert_success();
            assert!(
                got.stderr.contains("Received 2 items (3 files)"),
                "{}",
                got.stderr
            );
            assert_eq!(tree(&sb.out.join("dir")), tree(&sb.cwd.join("dir")));
            let same = std::fs::read(sb.out.join("blob.bin")).unwrap();
            assert_eq!(same, std::fs::read(sb.cwd.join("blob.bin")).unwrap());
            sb.assert_no_partials(&[]);
        },
    );
}

#[test]
fn lan_devices_lists_the_receiver_as_json() {
    in_netns("lan_devices_lists_the_receiver_as_json", || async {
        let sb = Sandbox::new();
        let recv = receiver(&sb, "living room", &["--yes"]).await;
        let mut f = Ferry::bare();
        f.args([
            "lan",
            "devices",
            "--json",
            "--timeout",
            "2",
            "--listen",
            "127.0.0.1",
        ]);
        f.env("XDG_CONFIG_HOME", sb.root.join("send").to_str().unwrap());
        let listed = f.spawn().finish().await;
        listed.assert_success();
        let lines = json_lines(&listed.stdout);
        assert_eq!(lines.len(), 1, "{}", listed.stdout);
        assert_eq!(lines[0]["alias"], "living room");
        assert_eq!(lines[0]["ip"], "127.0.0.1");
        assert_eq!(lines[0]["port"], 53317);
        let fingerprint = lines[0]["fingerprint"].as_str().unwrap();
        assert_eq!(fingerprint.len(), 64);
        assert_eq!(fingerprint, fingerprint.to_uppercase());
        drop(recv);
    });
}

#[test]
fn a_wrong_or_missing_pin_exits_3_saying_pin_then_the_right_one_works() {
    in_netns(
        "a_wrong_or_missing_pin_exits_3_saying_pin_then_the_right_one_works",
        || async {
            let sb = Sandbox::new();
            std::fs::write(sb.cwd.join("a.txt"), "secret").unwrap();
            let recv = receiver(&sb, "r", &["--yes", "--pin", "4321"]).await;
            for pin in [None, Some("1111")] {
                let mut args = vec!["--to", "127.0.0.1", "a.txt"];
                args.extend(pin.iter().flat_map(|p| ["--pin", *p]));
                let refused = send(&sb, &args).await;
                refused.assert_failed_with(&["PIN"]);
                assert_eq!(refused.code(), Some(3), "{}", refused.stderr);
            }
            let sent = send(&sb, &["--to", "127.0.0.1", "--pin", "4321", "a.txt"]).await;
            sent.assert_success();
            recv.finish().await.assert_success();
            assert_eq!(
                std::fs::read_to_string(sb.out.join("a.txt")).unwrap(),
                "secret"
            );
        },
    );
}

#[test]
fn a_receiver_without_a_terminal_or_yes_declines_and_the_sender_exits_4() {
    in_netns(
        "a_receiver_without_a_terminal_or_yes_declines_and_the_sender_exits_4",
        || async {
            let sb = Sandbox::new();
            std::fs::write(sb.cwd.join("a.txt"), "x").unwrap();
            let recv = receiver(&sb, "r", &[]).await;
            let refused = send(&sb, &["--to", "127.0.0.1", "a.txt"]).await;
            refused.assert_failed_with(&["declined"]);
            assert_eq!(refused.code(), Some(4), "{}", refused.stderr);
            let got = recv.finish().await;
            assert_eq!(got.code(), Some(4), "{}", got.stderr);
            assert!(sb.out_names().is_empty(), "{:?}", sb.out_names());
        },
    );
}

#[test]
fn text_is_printed_by_the_receiver_and_stored_nowhere() {
    in_netns(
        "text_is_printed_by_the_receiver_and_stored_nowhere",
        || async {
            let sb = Sandbox::new();
            let recv = receiver(&sb, "r", &["--yes"]).await;
            let sent = send(&sb, &["--to", "r", "--text", "héllo wörld"]).await;
            sent.assert_success();
            let got = recv.finish().await;
            got.assert_success();
            assert_eq!(got.stdout, "héllo wörld\n");
            assert!(sb.out_names().is_empty(), "{:?}", sb.out_names());
        },
    );
}

#[test]
fn without_to_and_without_a_terminal_the_sender_names_what_answered() {
    in_netns(
        "without_to_and_without_a_terminal_the_sender_names_what_answered",
        || async {
            let sb = Sandbox::new();
            std::fs::write(sb.cwd.join("a.txt"), "x").unwrap();
            let recv = receiver(&sb, "the one", &["--yes"]).await;
            let refused = send(&sb, &["a.txt"]).await;
            refused.assert_failed_with(&["--to", "the one", "127.0.0.1"]);
            assert_eq!(refused.code(), Some(2), "{}", refused.stderr);
            drop(recv);
            assert!(sb.out_names().is_empty());
        },
    );
}

#[test]
fn the_json_receiver_reports_waiting_offer_and_done() {
    in_netns(
        "the_json_receiver_reports_waiting_offer_and_done",
        || async {
            let sb = Sandbox::new();
            std::fs::write(sb.cwd.join("a.txt"), "abc").unwrap();
            let recv = receiver(&sb, "r", &["--yes", "--json"]).await;
            send(&sb, &["--to", "127.0.0.1", "a.txt"])
                .await
                .assert_success();
            let got = recv.finish().await;
            got.assert_success();
            let events = json_lines(&got.stdout);
            let names: Vec<&str> = events
                .iter()
                .map(|e| e["event"].as_str().unwrap())
                .collect();
            assert_eq!(names.first(), Some(&"waiting"), "{names:?}");
            assert_eq!(events[0]["alias"], "r");
            assert!(names.contains(&"offer"), "{names:?}");
            assert_eq!(names.last(), Some(&"done"), "{names:?}");
        },
    );
}

/// No namespace needed: these fail before any socket is opened.
#[tokio::test]
async fn wormhole_options_are_refused_with_lan() {
    let sb = Sandbox::new();
    std::fs::write(sb.cwd.join("a.txt"), "x").unwrap();
    for args in [
        vec!["--code", "7-guitarist-revenge", "a.txt"],
        vec!["--server", "ws://127.0.0.1:1/v1", "a.txt"],
        vec!["--qr", "a.txt"],
    ] {
        let refused = send(&sb, &args).await;
        refused.assert_failed_with(&["cannot be used with --lan"]);
        assert_eq!(refused.code(), Some(2), "{}", refused.stderr);
    }
    let mut f = Ferry::lan("receive", &sb.root.join("recv"));
    let refused = f.arg("7-guitarist-revenge").spawn().finish().await;
    refused.assert_failed_with(&["a code", "cannot be used with --lan"]);
    assert_eq!(refused.code(), Some(2));
}

/// `ferry send --lan --share --json` on loopback with its identity under
/// `root/share`; returns once its server accepts.
async fn sharer(sb: &Sandbox, args: &[&str]) -> Running {
    let mut f = Ferry::lan("send", &sb.root.join("share"));
    f.args([
        "--share",
        "--json",
        "--listen",
        "127.0.0.1",
        "--alias",
        "shelf",
    ])
    .args(args)
    .cwd(&sb.cwd);
    serving(f.spawn(), "the sharer").await
}

/// `ferry receive --lan --from …` into `out` with its identity under `root/fetch`.
async fn fetch(sb: &Sandbox, out: &Path, args: &[&str]) -> Finished {
    let mut f = Ferry::lan("receive", &sb.root.join("fetch"));
    f.args(["--listen", "127.0.0.1", "-o"]).arg(out).args(args);
    f.spawn().finish().await
}

fn events_named<'a>(events: &'a [serde_json::Value], name: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

#[test]
fn a_share_is_fetched_twice_with_from_and_says_each_fetch() {
    in_netns(
        "a_share_is_fetched_twice_with_from_and_says_each_fetch",
        || async {
            let sb = Sandbox::new();
            std::fs::write(sb.cwd.join("blob.bin"), files::bytes(2 << 20, 3)).unwrap();
            std::fs::create_dir_all(sb.cwd.join("dir/sub")).unwrap();
            std::fs::write(sb.cwd.join("dir/sub/note.txt"), "hi").unwrap();
            let share = sharer(&sb, &["blob.bin", "dir"]).await;
            let second = sb.root.join("second");
            for (out, by) in [(&sb.out, "127.0.0.1"), (&second, "shelf")] {
                std::fs::create_dir_all(out).unwrap();
                let got = fetch(&sb, out, &["--from", by, "--yes"]).await;
                got.assert_success();
                assert!(got.stderr.contains("Received 2 items"), "{}", got.stderr);
                assert!(got.stderr.contains("as announced"), "{}", got.stderr);
                assert_eq!(tree(&out.join("dir")), tree(&sb.cwd.join("dir")));
                let blob = std::fs::read(out.join("blob.bin")).unwrap();
                assert_eq!(blob, std::fs::read(sb.cwd.join("blob.bin")).unwrap());
            }
            ferry_test_support::ferry_bin::interrupt(&share.child);
            let shared = share.finish().await;
            assert_eq!(shared.code(), Some(130), "{}", shared.stderr);
            let events = json_lines(&shared.stdout);
            let sharing = events_named(&events, "sharing");
            assert_eq!(sharing[0]["urls"][0], "https://127.0.0.1:53317/");
            let served = events_named(&events, "served");
            assert_eq!(served.len(), 4, "{events:?}");
            assert!(served
                .iter()
                .all(|e| e["complete"] == true && e["to"] == "127.0.0.1"));
            sb.assert_no_partials(&[]);
        },
    );
}

#[test]
fn a_fetch_without_the_share_pin_exits_3_and_with_it_lands() {
    in_netns(
        "a_fetch_without_the_share_pin_exits_3_and_with_it_lands",
        || async {
            let sb = Sandbox::new();
            std::fs::write(sb.cwd.join("a.txt"), "pinned").unwrap();
            let share = sharer(&sb, &["--pin", "2468", "a.txt"]).await;
            let refused = fetch(&sb, &sb.out, &["--from", "127.0.0.1", "--yes"]).await;
            refused.assert_failed_with(&["PIN"]);
            assert_eq!(refused.code(), Some(3), "{}", refused.stderr);
            assert!(sb.out_names().is_empty(), "{:?}", sb.out_names());
            let args = ["--from", "127.0.0.1", "--yes", "--pin", "2468"];
            fetch(&sb, &sb.out, &args).await.assert_success();
            assert_eq!(
                std::fs::read_to_string(sb.out.join("a.txt")).unwrap(),
                "pinned"
            );
            drop(share);
        },
    );
}

#[test]
fn two_ferry_speak_native_unless_v1() {
    in_netns("two_ferry_speak_native_unless_v1", || async {
        let sb = Sandbox::new();
        std::fs::write(sb.cwd.join("a.bin"), files::bytes(1 << 20, 9)).unwrap();
        for (extra, native) in [(None, true), (Some("--v1"), false)] {
            let recv = receiver(&sb, "r", &["--yes"]).await;
            let mut args = vec!["--to", "127.0.0.1", "a.bin"];
            args.extend(extra);
            let sent = send(&sb, &args).await;
            sent.assert_success();
            // The sender says the receiver's certificate was the announced one.
            assert!(sent.stderr.contains("as announced"), "{}", sent.stderr);
            let got = recv.finish().await;
            got.assert_success();
            assert_eq!(
                got.stderr.contains("ferry native protocol"),
                native,
                "{}",
                got.stderr
            );
            let same = std::fs::read(sb.out.join("a.bin")).unwrap();
            assert_eq!(same, std::fs::read(sb.cwd.join("a.bin")).unwrap());
            std::fs::remove_file(sb.out.join("a.bin")).unwrap();
        }
    });
}

#[test]
fn a_plain_http_receiver_is_refused_until_the_sender_says_http() {
    in_netns(
        "a_plain_http_receiver_is_refused_until_the_sender_says_http",
        || async {
            let sb = Sandbox::new();
            std::fs::write(sb.cwd.join("a.txt"), "in the clear").unwrap();
            let recv = receiver(&sb, "old", &["--yes", "--http"]).await;
            let refused = send(&sb, &["--to", "127.0.0.1", "a.txt"]).await;
            refused.assert_failed_with(&["plain HTTP", "--http"]);
            assert_eq!(refused.code(), Some(5), "{}", refused.stderr);
            let sent = send(&sb, &["--to", "127.0.0.1", "--http", "a.txt"]).await;
            sent.assert_success();
            assert!(sent.stderr.contains("unencrypted"), "{}", sent.stderr);
            recv.finish().await.assert_success();
            let got = std::fs::read_to_string(sb.out.join("a.txt")).unwrap();
            assert_eq!(got, "in the clear");
        },
    );
}
