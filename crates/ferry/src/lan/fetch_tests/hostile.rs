//! A hostile sharing device (a small plain-HTTP server that says what the
//! test wants) against `lan::fetch`: refused, nothing outside the output
//! directory, and never a half file under a final name.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

use super::*;

/// One file the fake offers: its name and declared size, and what it sends.
struct Lie {
    name: &'static str,
    declared: u64,
    sends: &'static [u8],
    /// Cut the connection after `sends` (with Content-Length = declared).
    drops: bool,
    sha256: Option<&'static str>,
}

const fn honest(name: &'static str, sends: &'static [u8]) -> Lie {
    Lie {
        name,
        declared: sends.len() as u64,
        sends,
        drops: false,
        sha256: None,
    }
}

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

/// Serves `lies` over plain HTTP on 127.0.0.1:0 until the test ends.
async fn fake(lies: Vec<Lie>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let lies = Arc::new(lies);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let lies = lies.clone();
            let service = service_fn(move |r| {
                let lies = lies.clone();
                async move { Ok::<_, Infallible>(answer(&lies, r)) }
            });
            let conn = hyper::server::conn::http1::Builder::new();
            tokio::spawn(async move { conn.serve_connection(TokioIo::new(tcp), service).await });
        }
    });
    addr
}

fn answer(lies: &[Lie], request: Request<Incoming>) -> Response<Body> {
    let info = json!({"alias": "evil", "version": "2.1", "fingerprint": "0123", "download": true});
    let full = |v: Vec<u8>| {
        Full::new(Bytes::from(v))
            .map_err(|n| match n {})
            .boxed_unsync()
    };
    match request.uri().path() {
        "/api/localsend/v2/info" => Response::new(full(info.to_string().into_bytes())),
        "/api/localsend/v2/prepare-download" => {
            let files: serde_json::Map<_, _> = lies
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let dto = json!({"id": i.to_string(), "fileName": l.name, "size": l.declared,
                    "fileType": "application/octet-stream", "sha256": l.sha256});
                    (i.to_string(), dto)
                })
                .collect();
            let body = json!({"info": info, "sessionId": "s", "files": files});
            Response::new(full(body.to_string().into_bytes()))
        }
        _ => {
            let query = request.uri().query().unwrap_or_default();
            let id = query.split("fileId=").nth(1).unwrap_or_default();
            let lie = &lies[id.parse::<usize>().unwrap()];
            let data = Ok(Frame::data(Bytes::from_static(lie.sends)));
            let cut = Err(std::io::Error::other("cut"));
            let frames = if lie.drops {
                vec![data, cut]
            } else {
                vec![data]
            };
            let body = StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync();
            let length = if lie.drops {
                lie.declared
            } else {
                lie.sends.len() as u64
            };
            let mut response = Response::new(body);
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_LENGTH, length.into());
            response
        }
    }
}

/// Fetches from a fake serving `lies`; the result and the output directory.
async fn fetch_lies(lies: Vec<Lie>) -> (Result<Received>, tempfile::TempDir) {
    let addr = fake(lies).await;
    let tmp = tempfile::tempdir().unwrap();
    let (result, _, _) = fetch_from(addr, tmp.path(), true, |o| o.http = true).await;
    (result, tmp)
}

/// Everything under the temporary directory but the fetcher's identity.
fn written(tmp: &tempfile::TempDir) -> Vec<String> {
    let all = tree(tmp.path());
    all.into_iter()
        .filter(|p| !p.starts_with("fetcher"))
        .collect()
}

#[tokio::test]
async fn names_that_climb_or_are_absolute_are_refused_before_asking() {
    for name in [
        "../escape",
        "a/../../escape",
        "/etc/escape",
        "..",
        "a/\u{202e}b",
    ] {
        let (result, tmp) = fetch_lies(vec![honest(name, b"x")]).await;
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::Local(LocalError::UnsafeName(_))),
            "{name}: {err:?}"
        );
        assert!(written(&tmp).is_empty(), "{name}: {:?}", written(&tmp));
    }
}

#[tokio::test]
async fn more_bytes_than_declared_are_refused_and_nothing_lands() {
    let lie = Lie {
        name: "a",
        declared: 4,
        sends: b"four+more",
        drops: false,
        sha256: None,
    };
    let (result, tmp) = fetch_lies(vec![lie]).await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("more bytes than declared"), "{err}");
    assert!(written(&tmp).is_empty(), "{:?}", written(&tmp));
}

#[tokio::test]
async fn a_short_file_is_refused_and_nothing_lands() {
    let lie = Lie {
        name: "a",
        declared: 10,
        sends: b"four",
        drops: false,
        sha256: None,
    };
    let (result, tmp) = fetch_lies(vec![lie]).await;
    assert!(result
        .unwrap_err()
        .to_string()
        .contains("shorter than declared"));
    assert!(written(&tmp).is_empty(), "{:?}", written(&tmp));
}

#[tokio::test]
async fn a_dropped_connection_leaves_no_half_file() {
    let lies = vec![
        honest("dir/first", b"whole"),
        Lie {
            name: "dir/second",
            declared: 1000,
            sends: &[7; 100],
            drops: true,
            sha256: None,
        },
    ];
    let (result, tmp) = fetch_lies(lies).await;
    assert!(result.is_err());
    // What landed whole stays; no partial, no final half file.
    assert_eq!(written(&tmp), ["out", "out/dir", "out/dir/first"]);
}

#[tokio::test]
async fn sizes_beyond_the_disk_are_refused_before_asking() {
    let lie = Lie {
        name: "huge",
        declared: 1 << 50, // a PiB: within the manifest's bounds, beyond the disk
        sends: b"",
        drops: false,
        sha256: None,
    };
    let addr = fake(vec![lie]).await;
    let tmp = tempfile::tempdir().unwrap();
    let (result, _, mut asked) = fetch_from(addr, tmp.path(), true, |o| o.http = true).await;
    assert!(
        matches!(result, Err(Error::Local(LocalError::NoSpace { .. }))),
        "{result:?}"
    );
    assert!(
        asked.try_recv().is_err(),
        "asked about an offer that cannot fit"
    );
    assert!(written(&tmp).is_empty());
    let lie = Lie {
        name: "impossible",
        declared: u64::MAX,
        sends: b"",
        drops: false,
        sha256: None,
    };
    let (result, tmp) = fetch_lies(vec![lie]).await;
    assert!(
        matches!(result, Err(Error::Local(LocalError::UnsafeName(_)))),
        "{result:?}"
    );
    assert!(written(&tmp).is_empty());
}

#[tokio::test]
async fn a_wrong_sha256_is_refused_and_nothing_lands() {
    let mut lie = honest("a", b"four");
    lie.sha256 = Some("00");
    let (result, tmp) = fetch_lies(vec![lie]).await;
    assert!(
        matches!(result, Err(Error::Peer(PeerError::Integrity(_)))),
        "{result:?}"
    );
    assert!(written(&tmp).is_empty(), "{:?}", written(&tmp));
    let mut right = honest("a", b"four");
    // sha256("four")
    right.sha256 = Some("04efaf080f5a3e74e1c29d1ca6a48569382cbbcd324e8d59d2b83ef21c039f00");
    let (result, _tmp) = fetch_lies(vec![right]).await;
    result.unwrap();
}
