//! ferry ↔ ferry over the native protocol, in one process against an in-process
//! mailbox server and relay on loopback: single files, many small files, deep
//! trees, empty files and folders, non-ASCII names, symbolic links (left out),
//! identical files left alone, conflicts refused, and the fall-back to v1.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::time::{Duration, SystemTime};

use ferry::{Error, LocalError, Payload, Received};
use ferry_test_support::files::{as_received, bytes, names, scratch_dir, snapshot, Node};
use ferry_test_support::in_process::{native, transfer, Sides};
use ferry_test_support::server::spawn_default;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_file_with_mode_and_time() {
    let h = spawn_default().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("report.bin");
    let data = bytes(3 * 1024 * 1024 + 77, 1);
    std::fs::write(&src, &data).unwrap();
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
    let when = SystemTime::UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
    std::fs::File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_modified(when)
        .unwrap();
    let out = dir.path().join("out");
    let (sent, got) = transfer(
        &h,
        Payload::Path(src),
        &out,
        "11-native-file",
        Sides::default(),
    )
    .await;
    sent.unwrap();
    let report = native(got);
    assert_eq!(
        (report.transferred, report.resumed, report.already_present),
        (data.len() as u64, 0, 0)
    );
    assert!(report.single_file);
    let got = out.join("report.bin");
    assert_eq!(std::fs::read(&got).unwrap(), data);
    let meta = std::fs::metadata(&got).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    assert_eq!(meta.modified().unwrap(), when);
    assert_eq!(
        names(&out),
        ["report.bin"],
        "no partial or resume files left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_small_files() {
    let h = spawn_default().await;
    let dir = scratch_dir();
    let root = dir.path().join("many");
    for d in 0..100 {
        let sub = root.join(format!("d{d:03}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..100 {
            let n = d * 100 + f;
            std::fs::write(sub.join(format!("f{f:03}")), bytes(n % 300, n as u64)).unwrap();
        }
    }
    let out = dir.path().join("out");
    let (sent, got) = transfer(
        &h,
        Payload::Path(root.clone()),
        &out,
        "12-many-files",
        Sides::default(),
    )
    .await;
    sent.unwrap();
    let report = native(got);
    assert_eq!((report.files, report.dirs), (10_000, 101));
    assert_eq!(snapshot(&out.join("many")), as_received(snapshot(&root)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_tree_empty_things_unicode_and_links() {
    let h = spawn_default().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("trée");
    let mut deep = root.clone();
    for i in 0..60 {
        deep.push(format!("niveau-{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("bottom.txt"), b"deep down").unwrap();
    std::fs::create_dir_all(root.join("empty folder")).unwrap();
    std::fs::write(root.join("empty file"), b"").unwrap();
    std::fs::write(root.join("日本語 файл ü.txt"), "non-ASCII").unwrap();
    let ro = root.join("read-only");
    std::fs::create_dir(&ro).unwrap();
    std::fs::write(ro.join("x"), b"x").unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::write(root.join("script.sh"), b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        root.join("script.sh"),
        std::fs::Permissions::from_mode(0o4777),
    )
    .unwrap();
    symlink("script.sh", root.join("link-to-file")).unwrap();
    symlink("/etc", root.join("link-outside")).unwrap();
    symlink("empty folder", root.join("link-to-dir")).unwrap();
    let out = dir.path().join("out");
    let (sent, got) = transfer(
        &h,
        Payload::Path(root.clone()),
        &out,
        "13-deep-tree",
        Sides::default(),
    )
    .await;
    sent.unwrap();
    native(got);
    let received = snapshot(&out.join("trée"));
    assert_eq!(received, as_received(snapshot(&root)));
    assert!(
        !received.values().any(|n| *n == Node::Link),
        "no links created"
    );
    // setuid and write for others are dropped.
    let Node::File(_, mode) = &received[std::path::Path::new("script.sh")] else {
        panic!()
    };
    assert_eq!(*mode, 0o755);
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        out.join("trée/read-only"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_files_are_left_alone_and_conflicts_refused() {
    let h = spawn_default().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("a.jpg"), bytes(700_000, 2)).unwrap();
    std::fs::write(root.join("b.jpg"), bytes(300_000, 3)).unwrap();
    let out = dir.path().join("out");
    let (sent, got) = transfer(
        &h,
        Payload::Path(root.clone()),
        &out,
        "14-first-time",
        Sides::default(),
    )
    .await;
    sent.unwrap();
    native(got);
    // A new file appears at the source; sending again moves only it.
    std::fs::write(root.join("c.jpg"), bytes(50_000, 4)).unwrap();
    let (sent, got) = transfer(
        &h,
        Payload::Path(root.clone()),
        &out,
        "15-second-time",
        Sides::default(),
    )
    .await;
    sent.unwrap();
    let report = native(got);
    assert_eq!(
        (report.transferred, report.already_present),
        (50_000, 1_000_000)
    );
    assert_eq!(snapshot(&out.join("photos")), as_received(snapshot(&root)));
    // Same size, other content: refused, and the receiver's file is kept.
    std::fs::write(root.join("b.jpg"), bytes(300_000, 5)).unwrap();
    let (sent, got) = transfer(
        &h,
        Payload::Path(root.clone()),
        &out,
        "16-conflict",
        Sides::default(),
    )
    .await;
    assert!(
        matches!(got, Err(Error::Local(LocalError::Exists(ref p))) if p.ends_with("photos/b.jpg")),
        "{got:?}"
    );
    assert!(sent.is_err());
    assert_eq!(
        std::fs::read(out.join("photos/b.jpg")).unwrap(),
        bytes(300_000, 3)
    );
    // Another size: refused before anything moves.
    std::fs::write(root.join("a.jpg"), b"short").unwrap();
    let (_, got) = transfer(
        &h,
        Payload::Path(root),
        &out,
        "17-conflict",
        Sides::default(),
    )
    .await;
    assert!(
        matches!(got, Err(Error::Local(LocalError::Exists(_)))),
        "{got:?}"
    );
    assert_eq!(names(&out.join("photos")), ["a.jpg", "b.jpg", "c.jpg"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_paths_travel_in_one_directory() {
    let h = spawn_default().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one.txt"), b"1").unwrap();
    std::fs::create_dir(dir.path().join("two")).unwrap();
    std::fs::write(dir.path().join("two/three.txt"), b"3").unwrap();
    let payload = Payload::Paths {
        name: "bundle".into(),
        paths: vec![dir.path().join("one.txt"), dir.path().join("two")],
    };
    let out = dir.path().join("out");
    let (sent, got) = transfer(&h, payload, &out, "18-several", Sides::default()).await;
    sent.unwrap();
    assert_eq!(native(got).files, 2);
    assert_eq!(
        std::fs::read(out.join("bundle/two/three.txt")).unwrap(),
        b"3"
    );
    assert_eq!(std::fs::read(out.join("bundle/one.txt")).unwrap(), b"1");
}

/// More than two windows of data: the sender must send checkpoints between
/// groups, wait for their acknowledgements and keep streaming the files after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_larger_than_the_window_stream_through_checkpoints() {
    let h = spawn_default().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big");
    std::fs::create_dir(&src).unwrap();
    let (a, b) = (bytes((20 << 20) + 1, 2), bytes((21 << 20) + 4097, 3));
    std::fs::write(src.join("a.bin"), &a).unwrap();
    std::fs::write(src.join("b.bin"), &b).unwrap();
    let out = dir.path().join("out");
    let payload = Payload::Path(src);
    let (sent, got) = transfer(&h, payload, &out, "19-windows", Sides::default()).await;
    sent.unwrap();
    let report = native(got);
    assert_eq!(report.transferred, (a.len() + b.len()) as u64);
    assert!(std::fs::read(out.join("big/a.bin")).unwrap() == a);
    assert!(std::fs::read(out.join("big/b.bin")).unwrap() == b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_v1_fall_back() {
    let h = spawn_default().await;
    let dir = tempfile::tempdir().unwrap();
    let (sent, got) = transfer(
        &h,
        Payload::Text("héllo".into()),
        dir.path(),
        "19-text",
        Sides::default(),
    )
    .await;
    sent.unwrap();
    assert!(
        matches!(got, Ok(Received::Text(ref t)) if t == "héllo"),
        "{got:?}"
    );
    let src = dir.path().join("f.bin");
    std::fs::write(&src, bytes(1000, 6)).unwrap();
    let cases = [
        Sides {
            receiver_v1: true,
            ..Sides::default()
        },
        Sides {
            sender_v1: true,
            ..Sides::default()
        },
        Sides {
            receiver_plain: true,
            ..Sides::default()
        },
        Sides {
            sender_plain: true,
            ..Sides::default()
        },
    ];
    for (i, sides) in cases.into_iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let code = format!("2{i}-plain-v1");
        let (sent, got) = transfer(&h, Payload::Path(src.clone()), &out, &code, sides).await;
        sent.unwrap();
        assert!(
            matches!(got, Ok(Received::File { .. })),
            "case {i}: {got:?}"
        );
        assert_eq!(std::fs::read(out.join("f.bin")).unwrap(), bytes(1000, 6));
    }
}
