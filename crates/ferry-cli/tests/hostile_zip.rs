//! Hostile directory offers: the zip is received in full, then refused as a
//! whole before (or while) anything is extracted; the partial zip and the
//! partial directory are removed and no directory appears under the real name.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::io::Write;

use ferry_test_support::scenario::offer_to_ferry;
use ferry_test_support::zipraw::{build, crc32, Entry};
use ferry_test_support::{Finished, Sandbox, TestServer};
use serde_json::json;

/// Offers `zip` as directory `d` claiming `numfiles`/`numbytes`, sends it
/// honestly over transit, and returns how ferry ended.
async fn send_dir(zip: &[u8], numfiles: u64, numbytes: u64) -> (Sandbox, Finished, Vec<String>) {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let offer = json!({"directory": {"mode": "zipfile/deflated", "dirname": "d",
        "zipsize": zip.len(), "numbytes": numbytes, "numfiles": numfiles}});
    let (_peer, ferry, mut stream) = offer_to_ferry(&server, &sandbox, offer)
        .await
        .accepted()
        .await;
    stream.send_data(zip, 16 * 1024).await;
    let _ack = stream.read_record().await;
    let done = ferry.finish().await;
    let changes = before.changes_outside(&sandbox.snapshot(), "out/d");
    (sandbox, done, changes)
}

/// Sends `zip` and expects the whole directory refused for `why`.
async fn refused(zip: &[u8], numfiles: u64, numbytes: u64, why: &[&str]) {
    let (sandbox, done, changes) = send_dir(zip, numfiles, numbytes).await;
    done.assert_failed_with(why);
    sandbox.assert_no_partials(&[]);
    assert!(!sandbox.out.join("d").exists(), "refused directory landed");
    assert_eq!(changes, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn honest_directory_arrives() {
    let zip = build(&[
        Entry::dir("sub/"),
        Entry::file("sub/a.txt", b"hello"),
        Entry::file("b", b""),
    ]);
    let (sandbox, done, changes) = send_dir(&zip, 2, 5).await;
    done.assert_success();
    assert_eq!(
        std::fs::read(sandbox.out.join("d/sub/a.txt")).unwrap(),
        b"hello"
    );
    assert!(
        changes.iter().all(|c| c.starts_with("added out/d")),
        "{changes:?}"
    );
    sandbox.assert_no_partials(&[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn entry_escaping_with_dot_dot() {
    let zip = build(&[
        Entry::file("ok.txt", b"x"),
        Entry::file("../escaped.txt", b"evil"),
    ]);
    refused(&zip, 2, 5, &["bad directory archive", "'..'"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entry_with_absolute_path() {
    let zip = build(&[Entry::file("/tmp/ferry-hostile-abs.txt", b"evil")]);
    refused(&zip, 1, 4, &["absolute path"]).await;
    assert!(!std::path::Path::new("/tmp/ferry-hostile-abs.txt").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn entry_with_backslash_escape() {
    let zip = build(&[Entry::file("..\\..\\escaped.txt", b"evil")]);
    refused(&zip, 1, 4, &["backslash"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entry_with_bidi_override() {
    let zip = build(&[Entry::file("invoice\u{202e}fdp.exe", b"evil")]);
    refused(
        &zip,
        1,
        4,
        &["bad directory archive", "invisible formatting"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn symlink_entry() {
    let zip = build(&[Entry::with_mode("link", b"/etc/passwd", 0o120_777)]);
    refused(&zip, 1, 11, &["symbolic link"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn symlink_then_write_through_it() {
    let zip = build(&[
        Entry::with_mode("link", b"../../outside", 0o120_777),
        Entry::file("link/keep.txt", b"overwritten"),
    ]);
    refused(&zip, 2, 20, &["symbolic link"]).await;
}

/// Zip has no hard-link entry type; the nearest thing is two names sharing one
/// stored body. They become two independent files, within the offer's limits.
#[tokio::test(flavor = "multi_thread")]
async fn entries_sharing_data_like_hard_links() {
    let first = Entry::file("a", b"same bytes");
    let second = Entry {
        name: b"b".to_vec(),
        share_data_of: Some(0),
        ..first.clone()
    };
    let zip = build(&[first, second]);
    let (sandbox, done, _) = send_dir(&zip, 2, 20).await;
    done.assert_success();
    let (a, b) = (sandbox.out.join("d/a"), sandbox.out.join("d/b"));
    assert_eq!(std::fs::read(&b).unwrap(), b"same bytes");
    use std::os::unix::fs::MetadataExt;
    assert_ne!(
        std::fs::metadata(&a).unwrap().ino(),
        std::fs::metadata(&b).unwrap().ino(),
        "shared entries must not become hard links"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_entries() {
    let zip = build(&[
        Entry::file("same", b"first"),
        Entry::file("same", b"second"),
    ]);
    refused(&zip, 2, 11, &["more than once"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_after_normalisation() {
    let zip = build(&[
        Entry::file("a/b", b"first"),
        Entry::file("a//./b", b"second"),
    ]);
    refused(&zip, 2, 11, &["more than once"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn file_and_directory_of_one_name() {
    let zip = build(&[Entry::file("x", b"file"), Entry::file("x/y", b"inside")]);
    refused(&zip, 2, 10, &["both a file and a directory"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn device_fifo_and_socket_entries() {
    for mode in [0o020_644, 0o060_644, 0o010_644, 0o140_644] {
        let zip = build(&[Entry::with_mode("dev", b"", mode)]);
        refused(&zip, 1, 0, &["not a regular file or directory"]).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn more_files_than_offered() {
    let zip = build(&[
        Entry::file("a", b"1"),
        Entry::file("b", b"2"),
        Entry::file("c", b"3"),
    ]);
    refused(&zip, 1, 3, &["more than 1 files"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fewer_files_than_offered_is_reported_truthfully() {
    let zip = build(&[Entry::file("a", b"1"), Entry::file("b", b"2")]);
    let (sandbox, done, _) = send_dir(&zip, 5, 2).await;
    done.assert_success();
    assert!(done.stderr.contains("2 files"), "{}", done.stderr);
    assert_eq!(sandbox.out_names(), ["d"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn more_bytes_than_offered() {
    let zip = build(&[Entry::file("a", &[1u8; 100])]);
    refused(&zip, 1, 10, &["expands to more than 10 bytes"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_size_smaller_than_content() {
    let mut e = Entry::file("a", &[1u8; 100]);
    e.declared_size = 10;
    let zip = build(&[e]);
    refused(&zip, 1, 1000, &["bad directory archive"]).await;
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// 64 MiB of zeros in ~64 KiB, its header claiming 1 KiB: extraction stops
/// at the offer's byte limit, mid-stream, and everything is removed.
#[tokio::test(flavor = "multi_thread")]
async fn compression_bomb_with_lying_header() {
    let zeros = vec![0u8; 64 << 20];
    let mut e = Entry::file("bomb", b"");
    e.stored = deflate(&zeros);
    e.method = 8;
    e.declared_size = 1024;
    e.crc = crc32(&zeros);
    let zip = build(&[e]);
    assert!(zip.len() < 200_000);
    refused(&zip, 1, 1024, &["bad directory archive"]).await;
}

/// The "overlapping entries" bomb: many names sharing one compressed kernel.
#[tokio::test(flavor = "multi_thread")]
async fn overlapping_entries_bomb() {
    let zeros = vec![0u8; 4 << 20];
    let mut kernel = Entry::file("k0", b"");
    kernel.stored = deflate(&zeros);
    kernel.method = 8;
    kernel.declared_size = zeros.len() as u32;
    kernel.crc = crc32(&zeros);
    let mut entries = vec![kernel.clone()];
    for i in 1..50 {
        entries.push(Entry {
            name: format!("k{i}").into_bytes(),
            share_data_of: Some(0),
            ..kernel.clone()
        });
    }
    let zip = build(&entries);
    refused(&zip, 50, 4 << 20, &["expands to more than"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn not_a_zip_at_all() {
    refused(&[0x42; 5000], 1, 10, &["bad directory archive"]).await;
}
