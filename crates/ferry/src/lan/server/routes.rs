//! Which endpoint a request names, and the small ones: `info`, `register`,
//! `cancel` (the download API is in `download`). JSON bodies are read up to `MAX_BODY_BYTES` and no further.

use std::sync::Arc;

use ferry_proto::localsend::decode::{self, MAX_BODY_BYTES};
use ferry_proto::localsend::native::NATIVE_PATH;
use ferry_proto::localsend::Endpoint;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use tokio::time::timeout;

use super::http::{from_machine, status, with_body, Body, Peer, Query};
use super::{download, native, upload, Event, Shared};

pub(super) async fn handle(
    shared: &Arc<Shared>,
    peer: &Peer,
    request: Request<Incoming>,
) -> Response<Body> {
    // Only a receiver that announced native (never over plain HTTP) has it.
    if request.uri().path() == NATIVE_PATH && shared.device.ferry.is_some() {
        return native::upgrade(shared, peer, request);
    }
    let endpoint = Endpoint::from_path(request.uri().path());
    let query = Query::parse(request.uri().query().unwrap_or_default());
    let (parts, body) = request.into_parts();
    let (post, get) = (parts.method == Method::POST, parts.method == Method::GET);
    match endpoint {
        Some(Endpoint::Info) if get => json(&shared.device),
        Some(Endpoint::Register) if post => register(shared, peer, body).await,
        Some(Endpoint::PrepareUpload) if post => {
            let Ok(body) = read_json(shared, body).await else {
                return too_large();
            };
            upload::prepare(shared, peer, query.get("pin"), &body).await
        }
        Some(Endpoint::Upload) if post => upload::upload(shared, peer, &query, body).await,
        Some(Endpoint::Cancel) if post => cancel(shared, peer, &query),
        Some(Endpoint::PrepareDownload) if post => download::prepare(shared, peer, &query),
        Some(Endpoint::Download) if get => download::download(shared, peer, &query).await,
        Some(_) => status(StatusCode::METHOD_NOT_ALLOWED),
        None if get && parts.uri.path() == "/" => download::page(shared, peer, &query),
        None => status(StatusCode::NOT_FOUND),
    }
}

/// Discovery: answers our device info and records who registered. Over HTTPS
/// the client certificate, not the body, says who the peer is.
async fn register(shared: &Shared, peer: &Peer, body: Incoming) -> Response<Body> {
    let Ok(body) = read_json(shared, body).await else {
        return too_large();
    };
    let Ok(mut device) = decode::register(&body) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let verified = peer.fingerprint.is_some();
    if let Some(fingerprint) = &peer.fingerprint {
        device.fingerprint = fingerprint.clone();
    }
    let addr = peer.addr.ip();
    shared.report(Event::Registered {
        addr,
        device,
        verified,
    });
    json(&shared.device)
}

fn cancel(shared: &Shared, peer: &Peer, query: &Query) -> Response<Body> {
    let (answer, ended) = shared
        .machine()
        .handle_cancel(peer.addr.ip(), query.get("sessionId"));
    if let Some(ended) = ended {
        // Wakes a prepare-upload still waiting for the user.
        shared.cancels.send_modify(|n| *n += 1);
        shared.report(Event::Ended(ended));
    }
    from_machine(answer)
}

/// A JSON body, or `Err` once it passes `MAX_BODY_BYTES` (reading stops there)
/// or takes longer than the request timeout.
async fn read_json(shared: &Shared, body: Incoming) -> Result<Bytes, ()> {
    let limited = Limited::new(body, MAX_BODY_BYTES).collect();
    match timeout(shared.limits.request_timeout, limited).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        _ => Err(()),
    }
}

fn json(value: &impl serde::Serialize) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    with_body(StatusCode::OK, body)
}

fn too_large() -> Response<Body> {
    let message = br#"{"message":"Body too large or too slow"}"#.to_vec();
    with_body(StatusCode::PAYLOAD_TOO_LARGE, message)
}
