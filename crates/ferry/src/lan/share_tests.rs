//! `lan::share` over loopback: prepare-download, download and the page, with
//! the ferry client playing the other device (or a browser).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use ferry_proto::localsend::decode;
use ferry_proto::localsend::{PrepareDownloadResponse, Scheme};
use hyper::Method;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::*;
use crate::lan::client::{Client, Remote};
use crate::rendezvous::RendezvousObserver;

pub(in crate::lan) const LIMIT: Duration = Duration::from_secs(20);

/// The sharing user: hears who fetched what.
struct ShareUi(mpsc::UnboundedSender<(IpAddr, String, bool)>);

impl RendezvousObserver for ShareUi {}

impl Ui for ShareUi {
    fn served(&mut self, to: IpAddr, path: &str, complete: bool) {
        let _ = self.0.send((to, path.to_owned(), complete));
    }
}

/// A share on 127.0.0.1:0 of `shared` (a path under the source tree made
/// from `files`), no multicast.
pub(in crate::lan) struct Fixture {
    pub(in crate::lan) tmp: tempfile::TempDir,
    pub(in crate::lan) addr: SocketAddr,
    /// The sharing side's certificate fingerprint.
    pub(in crate::lan) fingerprint: String,
    /// The other device's identity.
    pub(in crate::lan) them: Identity,
    pub(in crate::lan) http: bool,
    pub(in crate::lan) served: mpsc::UnboundedReceiver<(IpAddr, String, bool)>,
    cancel: Cancel,
    run: JoinHandle<Result<()>>,
}

pub(in crate::lan) fn write_tree(root: &Path, files: &[(&str, &[u8])]) {
    for (name, data) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
}

pub(in crate::lan) async fn start(
    files: &[(&str, &[u8])],
    shared: &str,
    configure: impl FnOnce(&mut ShareOptions),
) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    write_tree(&tmp.path().join("src"), files);
    let identity = Identity::load_or_create(&tmp.path().join("id")).unwrap();
    let them = Identity::load_or_create(&tmp.path().join("them")).unwrap();
    let mut options = ShareOptions::new("sharer".into());
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.discovery = None;
    configure(&mut options);
    let (cancel, http) = (options.cancel.clone(), options.http);
    let (tx, served) = mpsc::unbounded_channel();
    let mut ui = ShareUi(tx);
    let payload = Payload::Path(tmp.path().join("src").join(shared));
    let sharing = Sharing::start(options, payload, &identity, &mut ui);
    let sharing = sharing.await.unwrap();
    let addr = sharing.local_addr();
    let run = tokio::spawn(async move { sharing.run(&mut ui).await });
    Fixture {
        fingerprint: identity.fingerprint().as_str().to_owned(),
        tmp,
        addr,
        them,
        http,
        served,
        cancel,
        run,
    }
}

impl Fixture {
    /// The other device's client, pinned (or plain, for an HTTP share).
    pub(in crate::lan) fn client(&self) -> Client {
        let remote = Remote {
            addr: self.addr,
            fingerprint: self.fingerprint.clone(),
            alias: "sharer".into(),
        };
        let scheme = if self.http {
            Scheme::Http
        } else {
            Scheme::Https
        };
        Client::for_scheme(&self.them, remote, scheme, true).unwrap()
    }

    /// Stops the share; it ends with `Ok`.
    pub(in crate::lan) async fn stop(self) {
        self.cancel.cancel();
        timeout(LIMIT, self.run).await.unwrap().unwrap().unwrap();
    }

    pub(in crate::lan) async fn next_served(&mut self) -> (IpAddr, String, bool) {
        timeout(LIMIT, self.served.recv()).await.unwrap().unwrap()
    }
}

async fn prepare(client: &Client, query: &str) -> (u16, Option<PrepareDownloadResponse>) {
    let target = format!("/api/localsend/v2/prepare-download{query}");
    let (status, body) = client.raw(Method::POST, target, Vec::new()).await.unwrap();
    (status, decode::prepare_download_response(&body).ok())
}

async fn get(client: &Client, target: &str) -> (u16, Vec<u8>) {
    let (status, body) = client
        .raw(Method::GET, target.into(), Vec::new())
        .await
        .unwrap();
    (status, body.to_vec())
}

const TREE: [(&str, &[u8]); 3] = [
    ("dir/a.txt", b"alpha"),
    ("dir/sub/b.bin", b"\x00\x01\x02"),
    ("dir/empty", b""),
];

#[tokio::test]
async fn prepare_download_lists_the_files_and_says_download() {
    let f = start(&TREE, "dir", |_| {}).await;
    let (status, answer) = prepare(&f.client(), "").await;
    assert_eq!(status, 200);
    let answer = answer.unwrap();
    assert!(answer.info.download);
    assert_eq!(answer.info.fingerprint, f.fingerprint);
    let mut names: Vec<_> = answer.files.values().map(|d| d.file_name.clone()).collect();
    names.sort();
    assert_eq!(names, ["dir/a.txt", "dir/empty", "dir/sub/b.bin"]);
    let (status, info) = get(&f.client(), "/api/localsend/v2/info").await;
    assert_eq!(status, 200);
    assert!(decode::device_info(&info).unwrap().download);
    f.stop().await;
}

#[tokio::test]
async fn a_file_streams_whole_and_its_fetch_is_reported() {
    let mut f = start(&[("dir/ça \"va\".txt", b"hello")], "dir", |_| {}).await;
    let client = f.client();
    let answer = prepare(&client, "").await.1.unwrap();
    let mut download = client.download(&answer.session_id, "0").await.unwrap();
    assert_eq!(download.status, 200);
    let body = http_body_util::BodyExt::collect(&mut download.body).await;
    assert_eq!(body.unwrap().to_bytes().as_ref(), b"hello");
    let (_, name, complete) = f.next_served().await;
    assert_eq!((name.as_str(), complete), ("dir/ça \"va\".txt", true));
    f.stop().await;
}

#[tokio::test]
async fn pin_missing_and_wrong_are_401_then_429() {
    let f = start(&TREE, "dir", |o| o.pin = Some("1234".into())).await;
    let client = f.client();
    assert_eq!(prepare(&client, "").await.0, 401);
    assert_eq!(prepare(&client, "?pin=1234").await.0, 200);
    for _ in 0..3 {
        assert_eq!(prepare(&client, "?pin=0000").await.0, 401);
    }
    assert_eq!(prepare(&client, "?pin=1234").await.0, 429);
    f.stop().await;
}

#[tokio::test]
async fn a_bad_session_is_403_and_an_unknown_file_404() {
    let f = start(&TREE, "dir", |_| {}).await;
    let client = f.client();
    let answer = prepare(&client, "").await.1.unwrap();
    assert_eq!(client.download("forged", "0").await.unwrap().status, 403);
    assert_eq!(
        client
            .download(&answer.session_id, "9")
            .await
            .unwrap()
            .status,
        404
    );
    let again = prepare(&client, &format!("?sessionId={}", answer.session_id)).await;
    assert_eq!(again.1.unwrap().session_id, answer.session_id);
    f.stop().await;
}

/// The links of a page, unescaped.
fn links(html: &str) -> Vec<String> {
    let hrefs = html.split("href=\"").skip(1);
    let hrefs = hrefs.map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"));
    hrefs.collect()
}

#[tokio::test]
async fn the_page_lists_the_files_and_its_links_work() {
    let mut f = start(&TREE, "dir", |_| {}).await;
    let client = f.client();
    let (status, page) = get(&client, "/").await;
    assert_eq!(status, 200);
    let html = String::from_utf8(page).unwrap();
    for (name, _) in TREE {
        assert!(html.contains(name), "{name} missing from {html}");
    }
    assert!(!html.contains("<script") && !html.contains("://"), "{html}");
    let links = links(&html);
    assert_eq!(links.len(), 3);
    let mut fetched = Vec::new();
    for link in &links {
        let (status, body) = get(&client, link).await;
        assert_eq!(status, 200);
        fetched.push(body);
        assert!(f.next_served().await.2);
    }
    fetched.sort();
    let mut expected: Vec<Vec<u8>> = TREE.iter().map(|(_, d)| d.to_vec()).collect();
    expected.sort();
    assert_eq!(fetched, expected);
    f.stop().await;
}

#[tokio::test]
async fn the_page_asks_for_the_pin() {
    let f = start(&TREE, "dir", |o| o.pin = Some("1234".into())).await;
    let client = f.client();
    let (status, page) = get(&client, "/").await;
    assert_eq!(status, 401);
    let html = String::from_utf8(page).unwrap();
    assert!(
        html.contains("name=\"pin\"") && links(&html).is_empty(),
        "{html}"
    );
    let (status, page) = get(&client, "/?pin=1234").await;
    assert_eq!(status, 200);
    let link = links(&String::from_utf8(page).unwrap())[0].clone();
    assert_eq!(get(&client, &link).await.0, 200);
    f.stop().await;
}

#[tokio::test]
async fn over_plain_http_it_announces_http_and_a_random_fingerprint() {
    let f = start(&TREE, "dir", |o| o.http = true).await;
    let client = f.client();
    assert!(client.is_plain());
    let (status, info) = get(&client, "/api/localsend/v2/info").await;
    assert_eq!(status, 200);
    let info = decode::device_info(&info).unwrap();
    assert_ne!(info.fingerprint, f.fingerprint);
    assert_eq!(info.fingerprint.len(), 32);
    let (status, page) = get(&client, "/").await;
    assert_eq!(status, 200);
    let link = links(&String::from_utf8(page).unwrap())[0].clone();
    assert_eq!(get(&client, &link).await.0, 200);
    f.stop().await;
}

#[tokio::test]
async fn uploads_are_refused_while_sharing() {
    let f = start(&TREE, "dir", |_| {}).await;
    let body = br#"{"info":{"alias":"x","version":"2.1","fingerprint":"F","port":1},
        "files":{"a":{"id":"a","fileName":"a","size":1,"fileType":"t"}}}"#;
    let target = "/api/localsend/v2/prepare-upload".to_owned();
    let (status, _) = f
        .client()
        .raw(Method::POST, target, body.to_vec())
        .await
        .unwrap();
    assert_eq!(status, 403);
    f.stop().await;
}

#[tokio::test]
async fn a_download_left_hanging_is_cut_and_frees_its_slot() {
    let big = vec![7u8; 32 << 20]; // beyond what loopback socket buffers hold
    let mut f = start(&[("dir/big", &big), ("dir/small", b"s")], "dir", |o| {
        o.http = true;
        o.limits.idle_timeout = Duration::from_millis(300);
        o.limits.max_downloads = 1;
    })
    .await;
    let client = f.client();
    let sid = prepare(&client, "").await.1.unwrap().session_id;
    let mut hanging = tokio::net::TcpStream::connect(f.addr).await.unwrap();
    let request = format!(
        "GET /api/localsend/v2/download?sessionId={sid}&fileId=0 HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut hanging, request.as_bytes())
        .await
        .unwrap();
    // Never read: the server gives up once the client took nothing for a while.
    let (_, name, complete) = f.next_served().await;
    assert_eq!((name.as_str(), complete), ("dir/big", false));
    let mut small = client.download(&sid, "1").await.unwrap();
    assert_eq!(small.status, 200);
    let body = http_body_util::BodyExt::collect(&mut small.body)
        .await
        .unwrap();
    assert_eq!(body.to_bytes().as_ref(), b"s");
    drop(hanging);
    f.stop().await;
}
