//! An evil sender that speaks ferry's native protocol (it advertises
//! `native-v2`, so a ferry receiver picks it): hostile manifests and frames
//! are refused before anything is written. It prefers ChaCha20-Poly1305, so the
//! transfer uses it whatever this machine's CPU.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use ferry_proto::native::negotiate::{app_versions, transit_key};
use ferry_proto::native::record::{Aead, Opener, Sealer, PREFIX_LEN};
use ferry_proto::transit::Role;
use ferry_test_support::scenario::verified;
use ferry_test_support::{EvilPeer, EvilTransit, Ferry, Finished, Sandbox, TestServer};
use serde_json::json;
use tokio::io::AsyncReadExt;

/// Meets `ferry receive` natively, sends `frames` (one per record), and
/// returns how ferry ended; checks nothing changed in the sandbox.
async fn native_frames(sandbox: &Sandbox, frames: Vec<Vec<u8>>) -> Finished {
    let server = TestServer::start().await;
    let before = sandbox.snapshot();
    let mut peer = EvilPeer::allocate_with(&server.url(), app_versions(CIPHER)).await;
    let ferry = Ferry::receive(&server, &peer.code, &sandbox.out, &sandbox.cwd).spawn();
    let ferry = verified(&mut peer, ferry).await;
    let transit = EvilTransit::new().await;
    let hints = transit.message()["transit"].clone();
    peer.send_json(json!({ "native-transit": hints })).await;
    let key = transit_key(peer.key());
    let mut stream = transit.accept(&key, Role::Sender).await;
    let mut sealer = Sealer::new(&key, CIPHER, Role::Sender);
    for f in frames {
        let mut record = Vec::new();
        sealer.seal_frame(&f, &mut record);
        stream.write_raw(&record).await;
    }
    let mut opener = Opener::new(&key, CIPHER, Role::Sender);
    let reply = read_native(&mut stream.stream, &mut opener).await;
    assert!(
        reply.is_some(),
        "ferry answered with a record that did not open"
    );
    let done = ferry.finish().await;
    assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
    sandbox.assert_no_partials(&[]);
    done
}

const CIPHER: Aead = Aead::ChaCha20Poly1305;

/// Reads and opens ferry's next native record (its REJECT or ERROR).
async fn read_native(stream: &mut tokio::net::TcpStream, opener: &mut Opener) -> Option<Vec<u8>> {
    let mut prefix = [0u8; PREFIX_LEN];
    stream.read_exact(&mut prefix).await.ok()?;
    let mut body = vec![0u8; Opener::body_len(prefix).ok()?];
    stream.read_exact(&mut body).await.ok()?;
    let n = opener.open_in_place(prefix, &mut body).ok()?;
    body.truncate(n);
    Some(body)
}

/// An `ENTRIES` frame with one file entry, laid out byte by byte (the
/// encoder only takes safe paths, so hostile ones are written by hand).
fn entries(path: &str, size: u64) -> Vec<u8> {
    let mut f = vec![0x01, 0, 1, 1];
    f.extend_from_slice(&(path.len() as u16).to_be_bytes());
    f.extend_from_slice(path.as_bytes());
    f.extend_from_slice(&0o644u16.to_be_bytes());
    f.extend_from_slice(&0i64.to_be_bytes());
    f.extend_from_slice(&0u32.to_be_bytes());
    f.extend_from_slice(&size.to_be_bytes());
    f
}

fn manifest_end(entries: u64, files: u64, bytes: u64) -> Vec<u8> {
    let mut f = vec![0x02];
    for n in [entries, files, bytes] {
        f.extend_from_slice(&n.to_be_bytes());
    }
    f
}

async fn refused(frames: Vec<Vec<u8>>, words: &[&str]) {
    let sandbox = Sandbox::new();
    native_frames(&sandbox, frames)
        .await
        .assert_failed_with(words);
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_entry_escaping_with_dot_dot() {
    refused(
        vec![entries("../escape.txt", 4), manifest_end(1, 1, 4)],
        &["'..'"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_entry_with_absolute_path() {
    refused(
        vec![entries("/tmp/ferry-native-abs", 4), manifest_end(1, 1, 4)],
        &["absolute"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_entry_with_escape_sequences() {
    refused(
        vec![entries("a\u{1b}[2Jb", 4), manifest_end(1, 1, 4)],
        &["control character"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_entry_with_bidi_override() {
    refused(
        vec![entries("invoice\u{202e}fdp.exe", 4), manifest_end(1, 1, 4)],
        &["invisible formatting"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_entry_not_in_normal_form() {
    refused(
        vec![entries("a//./b", 4), manifest_end(1, 1, 4)],
        &["normal form"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_totals_that_lie() {
    refused(
        vec![entries("a.txt", 5), manifest_end(1, 1, 999)],
        &["manifest"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_frame_type() {
    refused(vec![vec![0x99, 1, 2, 3]], &["sent something invalid"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn manifest_of_one_exbibyte() {
    refused(
        vec![entries("big.bin", 1 << 60), manifest_end(1, 1, 1 << 60)],
        &["too large"],
    )
    .await;
}

/// Within the protocol's file size cap, but larger than any disk here.
#[tokio::test(flavor = "multi_thread")]
async fn manifest_larger_than_free_space() {
    let size = 1u64 << 50;
    refused(
        vec![entries("big.bin", size), manifest_end(1, 1, size)],
        &["space"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_file_is_not_overwritten() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.out.join("a.txt"), b"mine").unwrap();
    let done = native_frames(&sandbox, vec![entries("a.txt", 5), manifest_end(1, 1, 5)]).await;
    assert!(!done.status.success() || std::fs::read(sandbox.out.join("a.txt")).unwrap() == b"mine");
    done.assert_clean_stderr();
    assert_eq!(std::fs::read(sandbox.out.join("a.txt")).unwrap(), b"mine");
}
