//! `lan::receive` over loopback against a small hyper client: what lands,
//! what is refused, and that nothing half-written is ever left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::*;
use crate::rendezvous::RendezvousObserver;
use crate::transfer::OfferSummary;
use crate::ui::Answer;

#[path = "receive_tests/client.rs"]
mod client;
#[path = "receive_tests/hostile.rs"]
mod hostile;
use client::Client;

const LIMIT: Duration = Duration::from_secs(10);

/// What the test user answers.
#[derive(Clone, Copy)]
enum Reply {
    Yes,
    No,
    /// Never answers: the question stays open.
    Never,
}

struct TestUi {
    reply: Reply,
    /// Told when the question is put.
    asked: mpsc::UnboundedSender<OfferSummary>,
}

impl RendezvousObserver for TestUi {}

impl Ui for TestUi {
    fn accept_later(&mut self, offer: &OfferSummary) -> Answer {
        let _ = self.asked.send(offer.clone());
        match self.reply {
            Reply::Yes => Box::pin(std::future::ready(true)),
            Reply::No => Box::pin(std::future::ready(false)),
            Reply::Never => Box::pin(std::future::pending()),
        }
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    out: PathBuf,
    client: Client,
    run: JoinHandle<Result<Received>>,
    asked: mpsc::UnboundedReceiver<OfferSummary>,
}

async fn start(reply: Reply, pin: Option<&str>) -> Fixture {
    start_with(reply, |o| o.pin = pin.map(str::to_owned)).await
}

/// A receive on 127.0.0.1:0 with no multicast, `configure`d by the test.
async fn start_with(reply: Reply, configure: impl FnOnce(&mut ReceiveOptions)) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let identity = Identity::load_or_create(&tmp.path().join("id")).unwrap();
    let out = tmp.path().join("out");
    let mut options = ReceiveOptions::new(out.clone(), "ferry-test".into());
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.discovery = None;
    configure(&mut options);
    let receiving = Receiving::start(options, &identity).await.unwrap();
    let client = Client::new(receiving.local_addr(), identity.fingerprint().as_str());
    let (tx, asked) = mpsc::unbounded_channel();
    let mut ui = TestUi { reply, asked: tx };
    let run = tokio::spawn(async move { receiving.run(&mut ui).await });
    Fixture {
        _tmp: tmp,
        out,
        client,
        run,
        asked,
    }
}

impl Fixture {
    /// The receive's outcome; the temporary directory stays until `self` goes.
    async fn result(&mut self) -> Result<Received> {
        timeout(LIMIT, &mut self.run).await.unwrap().unwrap()
    }
}

/// Every path under `dir`, relative, sorted (hidden partials included).
pub(in crate::lan) fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            found.push(rel);
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Offers `files`, uploads each with its token, returns the upload statuses.
async fn send_all(f: &Fixture, files: &[client::File<'_>]) -> Vec<u16> {
    let (status, answer) = f.client.prepare(files, None).await;
    assert_eq!(status, 200);
    let answer = answer.unwrap();
    let mut statuses = Vec::new();
    for (i, (_, data)) in files.iter().enumerate() {
        let id = format!("f{i}");
        let token = &answer.files[&id];
        let status = f.client.upload(&answer.session_id, &id, token, data).await;
        statuses.push(status);
    }
    statuses
}

#[tokio::test]
async fn a_file_lands_whole_with_no_partial_left() {
    let mut f = start(Reply::Yes, None).await;
    assert_eq!(send_all(&f, &[("hello.txt", b"hello world")]).await, [200]);
    let Received::Files(report) = f.result().await.unwrap() else {
        panic!("not files");
    };
    assert_eq!((report.files, report.bytes), (1, 11));
    assert_eq!(
        std::fs::read(f.out.join("hello.txt")).unwrap(),
        b"hello world"
    );
    assert_eq!(tree(&f.out), ["hello.txt"]);
}

#[tokio::test]
async fn a_folder_lands_as_a_tree_and_an_empty_file_too() {
    let mut f = start(Reply::Yes, None).await;
    let files = [
        ("dir/sub/name", &b"deep"[..]),
        ("dir/top", b"top"),
        ("dir/empty", b""),
    ];
    assert_eq!(send_all(&f, &files).await, [200, 200, 200]);
    f.result().await.unwrap();
    assert_eq!(std::fs::read(f.out.join("dir/sub/name")).unwrap(), b"deep");
    assert_eq!(std::fs::read(f.out.join("dir/empty")).unwrap(), b"");
    let expected = ["dir", "dir/empty", "dir/sub", "dir/sub/name", "dir/top"];
    assert_eq!(tree(&f.out), expected);
}

#[tokio::test]
async fn a_pin_is_required_and_three_wrong_ones_lock_out() {
    let f = start(Reply::Yes, Some("1234")).await;
    let files = [("a", &b"x"[..])];
    assert_eq!(f.client.prepare(&files, None).await.0, 401);
    for _ in 0..3 {
        assert_eq!(f.client.prepare(&files, Some("0000")).await.0, 401);
    }
    assert_eq!(f.client.prepare(&files, Some("1234")).await.0, 429);
    assert!(!f.out.exists());
}

#[tokio::test]
async fn the_right_pin_lets_the_file_in() {
    let mut f = start(Reply::Yes, Some("1234")).await;
    let (status, answer) = f.client.prepare(&[("a", b"x")], Some("1234")).await;
    assert_eq!(status, 200);
    let answer = answer.unwrap();
    let status = f
        .client
        .upload(&answer.session_id, "f0", &answer.files["f0"], b"x")
        .await;
    assert_eq!(status, 200);
    f.result().await.unwrap();
}

#[tokio::test]
async fn declined_is_403_and_nothing_is_written() {
    let mut f = start(Reply::No, None).await;
    assert_eq!(f.client.prepare(&[("a", b"x")], None).await.0, 403);
    assert!(matches!(f.result().await, Err(Error::Declined)));
    assert!(!f.out.exists());
}

#[tokio::test]
async fn a_second_sender_gets_409_and_cancel_ends_the_wait() {
    let mut f = start(Reply::Never, None).await;
    let first = {
        let client = Client::new(f.client_addr(), &f.client_fingerprint());
        tokio::spawn(async move { client.prepare(&[("a", b"x")], None).await.0 })
    };
    timeout(LIMIT, f.asked.recv()).await.unwrap().unwrap();
    assert_eq!(f.client.prepare(&[("b", b"y")], None).await.0, 409);
    assert_eq!(f.client.post("cancel", Vec::new()).await.0, 200);
    assert_eq!(timeout(LIMIT, first).await.unwrap().unwrap(), 403);
    assert!(f.result().await.is_err());
    assert!(!f.out.exists());
}

#[tokio::test]
async fn a_wrong_token_is_403() {
    let mut f = start(Reply::Yes, None).await;
    let (_, answer) = f.client.prepare(&[("a", b"x")], None).await;
    let answer = answer.unwrap();
    assert_eq!(
        f.client
            .upload(&answer.session_id, "f0", "nope", b"x")
            .await,
        403
    );
    let status = f
        .client
        .upload(&answer.session_id, "f0", &answer.files["f0"], b"x")
        .await;
    assert_eq!(status, 200);
    f.result().await.unwrap();
}

#[tokio::test]
async fn info_answers_get_only() {
    let f = start(Reply::Yes, None).await;
    let (status, body) = f.client.get("info").await;
    assert_eq!(status, 200);
    let info = ferry_proto::localsend::decode::device_info(&body).unwrap();
    assert_eq!(info.fingerprint, f.client.server_fingerprint());
    assert_eq!(f.client.post("info", Vec::new()).await.0, 405);
    assert_eq!(f.client.get("nowhere").await.0, 404);
}

impl Fixture {
    fn client_addr(&self) -> std::net::SocketAddr {
        self.client.addr()
    }

    fn client_fingerprint(&self) -> String {
        self.client.server_fingerprint().to_owned()
    }
}
