//! What a broken or hostile sender gets: refusals, and never a half file, a
//! partial or a byte outside the output directory.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use super::*;
use crate::error::{Error, NetworkError, PeerError};

#[tokio::test]
async fn more_bytes_than_declared_are_refused_and_nothing_lands() {
    let mut f = start(Reply::Yes, None).await;
    let (_, answer) = f.client.prepare(&[("a", b"four")], None).await;
    let answer = answer.unwrap();
    let token = &answer.files["f0"];
    let status = f
        .client
        .upload(&answer.session_id, "f0", token, b"four+more")
        .await;
    assert_eq!(status, 400);
    let err = f.result().await.unwrap_err();
    assert!(matches!(err, Error::Peer(PeerError::Protocol(_))), "{err}");
    assert!(tree(&f.out).is_empty(), "{:?}", tree(&f.out));
}

#[tokio::test]
async fn a_wrong_sha256_is_422_and_nothing_lands() {
    let mut f = start(Reply::Yes, None).await;
    let (_, answer) = f.client.prepare(&[("a", b"four")], None).await;
    let answer = answer.unwrap();
    let token = &answer.files["f0"];
    assert_eq!(
        f.client
            .upload(&answer.session_id, "f0", token, b"FOUR")
            .await,
        422
    );
    let err = f.result().await.unwrap_err();
    assert!(err.to_string().contains("SHA-256"), "{err}");
    assert!(matches!(err, Error::Peer(PeerError::Protocol(_))), "{err}");
    assert!(tree(&f.out).is_empty(), "{:?}", tree(&f.out));
}

#[tokio::test]
async fn a_dropped_upload_leaves_no_file_and_no_partial() {
    let mut f = start(Reply::Yes, None).await;
    let (_, answer) = f.client.prepare(&[("big", &[7u8; 1000][..])], None).await;
    let answer = answer.unwrap();
    let query = format!(
        "sessionId={}&fileId=f0&token={}",
        answer.session_id, answer.files["f0"]
    );
    f.client.upload_and_drop(&query, 1000, &[7u8; 100]).await;
    // A network failure (exit 6), not a protocol one.
    let err = f.result().await.unwrap_err();
    assert!(
        matches!(err, Error::Network(NetworkError::Lost(_))),
        "{err}"
    );
    assert!(tree(&f.out).is_empty(), "{:?}", tree(&f.out));
}

#[tokio::test]
async fn a_folder_cut_short_leaves_nothing_behind() {
    let mut f = start(Reply::Yes, None).await;
    let files = [("dir/sub/big", &[7u8; 1000][..]), ("dir/small", b"s")];
    let (_, answer) = f.client.prepare(&files, None).await;
    let answer = answer.unwrap();
    let (session, tokens) = (&answer.session_id, &answer.files);
    assert_eq!(
        f.client.upload(session, "f1", &tokens["f1"], b"s").await,
        200
    );
    let query = format!("sessionId={session}&fileId=f0&token={}", tokens["f0"]);
    f.client.upload_and_drop(&query, 1000, &[7u8; 100]).await;
    assert!(f.result().await.is_err());
    // The file that landed stays; no partial and no empty directory does.
    assert_eq!(tree(&f.out), ["dir", "dir/small"]);
}

#[tokio::test]
async fn a_stalled_upload_times_out_and_leaves_nothing() {
    let idle = Duration::from_millis(200);
    let mut f = start_with(Reply::Yes, |o| o.limits.idle_timeout = idle).await;
    let (_, answer) = f.client.prepare(&[("big", &[7u8; 1000][..])], None).await;
    let answer = answer.unwrap();
    let query = format!(
        "sessionId={}&fileId=f0&token={}",
        answer.session_id, answer.files["f0"]
    );
    // Held open, silent: only the server's idle timeout can end this.
    let _held = f.client.upload_and_hold(&query, 1000, &[7u8; 100]).await;
    let err = f.result().await.unwrap_err();
    assert!(err.to_string().contains("stalled"), "{err}");
    assert!(matches!(err, Error::Network(_)), "{err}");
    assert!(tree(&f.out).is_empty(), "{:?}", tree(&f.out));
}

#[tokio::test]
async fn oversized_headers_are_refused() {
    let f = start(Reply::Yes, None).await;
    let mut tls = f.client.connect().await;
    let filler = "a".repeat(64 << 10);
    let head = format!("GET /api/localsend/v2/info HTTP/1.1\r\nx-filler: {filler}\r\n\r\n");
    // The server may close before reading it all: a write error is fine too.
    let _ = tls.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = timeout(LIMIT, tls.read_to_end(&mut answer)).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains(" 200 "), "{answer}");
}

#[tokio::test]
async fn register_answers_our_device_info() {
    let f = start(Reply::Yes, None).await;
    let body = br#"{"alias":"x","version":"2.2","fingerprint":"lie","port":53317}"#;
    let (status, answer) = f.client.post("register", body.to_vec()).await;
    assert_eq!(status, 200);
    let info = ferry_proto::localsend::decode::device_info(&answer).unwrap();
    assert_eq!(info.fingerprint, f.client.server_fingerprint());
    assert_eq!(info.alias, "ferry-test");
}

#[tokio::test]
async fn an_oversized_json_body_is_refused() {
    let f = start(Reply::Yes, None).await;
    let body = vec![b' '; ferry_proto::localsend::decode::MAX_BODY_BYTES + 1];
    assert_eq!(f.client.post("prepare-upload", body).await.0, 413);
}

#[tokio::test]
async fn hostile_names_are_refused_and_nothing_is_written() {
    for name in [
        "../evil",
        "/abs",
        "a/../../evil",
        "bad\u{202e}txt.exe",
        "ctl\u{7}",
    ] {
        let mut f = start(Reply::Yes, None).await;
        assert_eq!(
            f.client.prepare(&[(name, b"x")], None).await.0,
            403,
            "{name}"
        );
        let (out, parent) = (f.out.clone(), f.out.parent().unwrap().to_owned());
        let err = f.result().await.unwrap_err().to_string();
        assert!(err.contains("not allowed"), "{name}: {err}");
        assert!(!out.exists(), "{name}");
        assert!(!parent.join("evil").exists() && !Path::new("/abs").exists());
    }
}

#[tokio::test]
async fn an_accepted_session_with_no_uploads_expires() {
    let timeout_after = Duration::from_millis(200);
    let mut f = start_with(Reply::Yes, |o| o.session_timeout = timeout_after).await;
    assert_eq!(f.client.prepare(&[("a", b"x")], None).await.0, 200);
    let err = f.result().await.unwrap_err();
    assert!(err.to_string().contains("stopped sending"), "{err}");
    assert!(
        matches!(err, Error::Network(NetworkError::TimedOut(_))),
        "{err}"
    );
    assert!(!f.out.exists());
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let f = start_with(Reply::Yes, |o| o.limits.max_connections = 1).await;
    let first = f.client.connect().await;
    let second = {
        let client = Client::new(f.client_addr(), &f.client_fingerprint());
        tokio::spawn(async move { client.get("info").await.0 })
    };
    let mut second = std::pin::pin!(second);
    // A bounded look for something that must not happen while `first` is open.
    let early = timeout(Duration::from_millis(300), &mut second).await;
    assert!(early.is_err(), "served beyond the cap");
    drop(first);
    assert_eq!(timeout(LIMIT, second).await.unwrap().unwrap(), 200);
}
