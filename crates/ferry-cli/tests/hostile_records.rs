//! An evil sender that speaks the transit record layer wrongly: every
//! deviation ends the transfer with a clear error, the partial file is
//! removed, and nothing appears under the real name.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use ferry_test_support::scenario::offer_to_ferry;
use ferry_test_support::{EvilPeer, EvilStream, Finished, Running, Sandbox, TestServer, Tree};
use serde_json::json;

const NAME: &str = "data.bin";

/// A transfer of `size` bytes that ferry accepted, ready to be abused.
struct Accepted {
    _server: TestServer,
    sandbox: Sandbox,
    before: Tree,
    _peer: EvilPeer,
    ferry: Running,
    stream: EvilStream,
}

async fn accepted(size: u64) -> Accepted {
    let server = TestServer::start().await;
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let offer = json!({"file": {"filename": NAME, "filesize": size}});
    let (peer, ferry, stream) = offer_to_ferry(&server, &sandbox, offer)
        .await
        .accepted()
        .await;
    Accepted {
        _server: server,
        sandbox,
        before,
        _peer: peer,
        ferry,
        stream,
    }
}

impl Accepted {
    /// Hangs up, then checks ferry failed naming `words`, wrote nothing final
    /// and left no partial data.
    async fn expect_failure(self, words: &[&str]) -> Finished {
        let Accepted {
            sandbox,
            before,
            ferry,
            stream,
            ..
        } = self;
        drop(stream);
        let done = ferry.finish().await;
        done.assert_failed_with(words);
        sandbox.assert_no_partials(&[]);
        assert_eq!(before.changes(&sandbox.snapshot()), Vec::<String>::new());
        done
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupted_record() {
    let mut t = accepted(100).await;
    let mut frame = t.stream.frame(&[7u8; 100]);
    let last = frame.len() - 1;
    frame[last] ^= 0x01;
    t.stream.write_raw(&frame).await;
    t.expect_failure(&["failed authentication"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupted_tag() {
    let mut t = accepted(100).await;
    let mut frame = t.stream.frame(&[7u8; 100]);
    frame[4 + 24] ^= 0x80;
    t.stream.write_raw(&frame).await;
    t.expect_failure(&["failed authentication"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_record() {
    let mut t = accepted(100).await;
    let first = t.stream.frame(&[1u8; 50]);
    t.stream.write_raw(&first).await;
    t.stream.write_raw(&first).await;
    t.expect_failure(&["out of order or replayed"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reordered_records() {
    let mut t = accepted(100).await;
    let first = t.stream.frame(&[1u8; 50]);
    let second = t.stream.frame(&[2u8; 50]);
    t.stream.write_raw(&second).await;
    t.stream.write_raw(&first).await;
    t.expect_failure(&["out of order or replayed"]).await;
}

/// A length prefix near 4 GiB is refused as announced, before any buffer of
/// that size exists (the refusal names the length, which only the prefix holds).
#[tokio::test(flavor = "multi_thread")]
async fn oversize_length_prefix() {
    let mut t = accepted(100).await;
    let mut bogus = 0xffff_fff0u32.to_be_bytes().to_vec();
    bogus.extend_from_slice(&[0u8; 64]);
    t.stream.write_raw(&bogus).await;
    t.expect_failure(&["record length 4294967280 is out of bounds"])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn undersize_length_prefix() {
    let mut t = accepted(100).await;
    t.stream.write_raw(&[0, 0, 0, 3, 1, 2, 3]).await;
    t.expect_failure(&["record length 3 is out of bounds"])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_mid_record() {
    let mut t = accepted(100).await;
    let frame = t.stream.frame(&[9u8; 100]);
    t.stream.write_raw(&frame[..30]).await;
    t.expect_failure(&["went away"]).await;
}

/// A record sealed with the receiver's key (a reflection) does not open.
#[tokio::test(flavor = "multi_thread")]
async fn record_sealed_with_the_wrong_direction_key() {
    let mut t = accepted(10).await;
    let key = t._peer.transit_key();
    let mut reflected =
        ferry_proto::transit::record::Sealer::new(&key, ferry_proto::transit::Role::Receiver);
    let mut frame = Vec::new();
    reflected.seal_frame(&[5u8; 10], &mut frame);
    t.stream.write_raw(&frame).await;
    t.expect_failure(&["failed authentication"]).await;
}

/// Good records first, then garbage: the good part is not kept either.
#[tokio::test(flavor = "multi_thread")]
async fn good_records_then_garbage() {
    let mut t = accepted(300_000).await;
    t.stream.send_data(&[3u8; 200_000], 16 * 1024).await;
    t.stream.write_raw(&[0u8; 100]).await;
    t.expect_failure(&["out of bounds"]).await;
}
