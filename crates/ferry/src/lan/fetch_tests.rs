//! `lan::fetch` against `lan::share` over loopback: byte-exact files and
//! trees, PINs, the user's answer, and plain HTTP only when allowed.

use std::path::PathBuf;

use tokio::sync::mpsc;

use super::*;
use crate::error::LocalError;
use crate::lan::receive::tests::tree;
use crate::lan::share::tests::{start, write_tree, Fixture, LIMIT};
use crate::rendezvous::RendezvousObserver;
use crate::transfer::OfferSummary;
use crate::ui::Answer;

#[path = "fetch_tests/hostile.rs"]
mod hostile;

/// The fetching user: answers `yes`, and tells `asked` what it was asked.
pub(super) struct FetchUi {
    yes: bool,
    asked: mpsc::UnboundedSender<OfferSummary>,
}

impl RendezvousObserver for FetchUi {}

impl Ui for FetchUi {
    fn accept_later(&mut self, offer: &OfferSummary) -> Answer {
        let _ = self.asked.send(offer.clone());
        Box::pin(std::future::ready(self.yes))
    }
}

/// Fetches from `addr` into a fresh `out` under `f`'s directory.
pub(super) async fn fetch_from(
    addr: std::net::SocketAddr,
    dir: &std::path::Path,
    yes: bool,
    configure: impl FnOnce(&mut FetchOptions),
) -> (
    Result<Received>,
    PathBuf,
    mpsc::UnboundedReceiver<OfferSummary>,
) {
    let out = dir.join("out");
    let identity = Identity::load_or_create(&dir.join("fetcher")).unwrap();
    let mut options = FetchOptions::new(Target::Addr(addr), out.clone(), "fetcher".into());
    configure(&mut options);
    let (tx, asked) = mpsc::unbounded_channel();
    let mut ui = FetchUi { yes, asked: tx };
    let fetched = tokio::time::timeout(LIMIT, fetch(options, &identity, &mut ui));
    (fetched.await.unwrap(), out, asked)
}

async fn fetch_share(
    f: &Fixture,
    configure: impl FnOnce(&mut FetchOptions),
) -> (Result<Received>, PathBuf) {
    let (result, out, _) = fetch_from(f.addr, f.tmp.path(), true, configure).await;
    (result, out)
}

#[tokio::test]
async fn a_file_arrives_byte_exact_and_the_sharer_hears_it() {
    let data: Vec<u8> = (0..300_000u32).map(|n| (n % 251) as u8).collect();
    let mut f = start(&[("big.bin", &data)], "big.bin", |_| {}).await;
    let (result, out) = fetch_share(&f, |_| {}).await;
    let Received::Files(report) = result.unwrap() else {
        panic!("not files");
    };
    assert_eq!(
        (report.files, report.bytes, report.transferred),
        (1, 300_000, 300_000)
    );
    assert_eq!(std::fs::read(out.join("big.bin")).unwrap(), data);
    assert_eq!(tree(&out), ["big.bin"]);
    let (to, name, complete) = f.next_served().await;
    assert_eq!(
        (to.to_string().as_str(), name.as_str(), complete),
        ("127.0.0.1", "big.bin", true)
    );
    f.stop().await;
}

#[tokio::test]
async fn a_tree_with_non_ascii_names_and_an_empty_file_arrives_whole() {
    let files: [(&str, &[u8]); 3] = [
        ("dïr/süb/ñame ✓.txt", b"deep"),
        ("dïr/top", b"top"),
        ("dïr/empty", b""),
    ];
    let f = start(&files, "dïr", |_| {}).await;
    let (result, out) = fetch_share(&f, |_| {}).await;
    result.unwrap();
    for (name, data) in files {
        assert_eq!(std::fs::read(out.join(name)).unwrap(), data, "{name}");
    }
    let expected = [
        "dïr",
        "dïr/empty",
        "dïr/süb",
        "dïr/süb/ñame ✓.txt",
        "dïr/top",
    ];
    assert_eq!(tree(&out), expected);
    f.stop().await;
}

#[tokio::test]
async fn the_pin_is_sent_and_a_missing_one_refused() {
    let f = start(&[("a", b"x")], "a", |o| o.pin = Some("1234".into())).await;
    let (result, out) = fetch_share(&f, |_| {}).await;
    let err = result.unwrap_err();
    assert!(err.to_string().contains("PIN"), "{err}");
    assert!(!out.exists());
    let (result, out) = fetch_share(&f, |o| o.pin = Some("1234".into())).await;
    result.unwrap();
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"x");
    f.stop().await;
}

#[tokio::test]
async fn declined_writes_nothing_and_an_existing_file_is_kept() {
    let f = start(&[("a", b"new")], "a", |_| {}).await;
    let (result, out, mut asked) = fetch_from(f.addr, f.tmp.path(), false, |_| {}).await;
    assert!(matches!(result, Err(Error::Declined)));
    assert_eq!(asked.recv().await.unwrap().files, 1);
    assert!(!out.exists());
    write_tree(&out, &[("a", b"old")]);
    let (result, _) = fetch_share(&f, |_| {}).await;
    assert!(
        matches!(result, Err(Error::Local(LocalError::Exists(_)))),
        "{result:?}"
    );
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"old");
    f.stop().await;
}

#[tokio::test]
async fn plain_http_is_refused_without_the_opt_in_and_works_with_it() {
    let f = start(&[("a", b"x")], "a", |o| o.http = true).await;
    let (result, out) = fetch_share(&f, |_| {}).await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, Error::Local(LocalError::PlainHttp(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("--http"), "{err}");
    assert!(!out.exists());
    let (result, out) = fetch_share(&f, |o| o.http = true).await;
    result.unwrap();
    assert_eq!(std::fs::read(out.join("a")).unwrap(), b"x");
    f.stop().await;
}

#[tokio::test]
async fn https_stays_https_when_http_is_allowed() {
    let f = start(&[("a", b"x")], "a", |_| {}).await;
    let (result, _) = fetch_share(&f, |o| o.http = true).await;
    result.unwrap();
    f.stop().await;
}
