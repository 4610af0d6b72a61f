//! Plain HTTP only on the user's word: a receiver serving HTTP is refused
//! (naming `--http`) unless the send allows it.

use super::*;
use crate::error::LocalError;
use crate::lan::client::Remote;

#[tokio::test]
async fn a_plain_http_receiver_needs_the_opt_in() {
    let mut f = start_configured(Some(true), |o| o.http = true).await;
    let path = f.source("a.txt", b"plain");
    let refused = f
        .send_quietly(f.options(None), Payload::Path(path.clone()))
        .await;
    let err = refused.unwrap_err();
    assert!(
        matches!(err, Error::Local(LocalError::PlainHttp(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("--http"), "{err}");
    assert!(
        f.asked.try_recv().is_err(),
        "the receiver was offered something"
    );
    let mut options = f.options(None);
    options.http = true;
    f.send_quietly(options, Payload::Path(path)).await.unwrap();
    let (received, _tmp) = f.received().await;
    let Received::Files(report) = received.unwrap() else {
        panic!("not files");
    };
    assert_eq!(std::fs::read(&report.roots[0]).unwrap(), b"plain");
}

#[tokio::test]
async fn an_announced_http_device_is_refused_without_the_opt_in() {
    let tmp = tempfile::tempdir().unwrap();
    let identity = Identity::load_or_create(&tmp.path().join("id")).unwrap();
    let remote = Remote {
        addr: "127.0.0.1:9".parse().unwrap(),
        fingerprint: "abc".into(),
        alias: "phone".into(),
    };
    let refused = Client::for_scheme(&identity, remote.clone(), Scheme::Http, false);
    let err = refused.err().unwrap().to_string();
    assert!(
        err.contains("phone (127.0.0.1)") && err.contains("--http"),
        "{err}"
    );
    let allowed = Client::for_scheme(&identity, remote.clone(), Scheme::Http, true).unwrap();
    assert!(allowed.is_plain());
    let https = Client::for_scheme(&identity, remote, Scheme::Https, true).unwrap();
    assert!(!https.is_plain());
}
