//! Which endpoint a request names, and the small ones: `info`, `register`,
//! `cancel`. JSON bodies are read up to `MAX_BODY_BYTES` and no further.

use std::collections::HashMap;
use std::sync::Arc;

use ferry_proto::localsend::decode::{self, MAX_BODY_BYTES};
use ferry_proto::localsend::{Endpoint, Response as Answer};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use tokio::time::timeout;

use super::conn::Peer;
use super::{upload, Event, Shared};

pub(super) type Body = Full<Bytes>;

pub(super) async fn handle(
    shared: &Arc<Shared>,
    peer: &Peer,
    request: Request<Incoming>,
) -> Response<Body> {
    let endpoint = Endpoint::from_path(request.uri().path());
    let query = Query::parse(request.uri().query().unwrap_or_default());
    let (parts, body) = request.into_parts();
    let post = parts.method == Method::POST;
    match endpoint {
        Some(Endpoint::Info) if parts.method == Method::GET => json(&shared.device),
        Some(Endpoint::Register) if post => register(shared, peer, body).await,
        Some(Endpoint::PrepareUpload) if post => {
            let Ok(body) = read_json(shared, body).await else {
                return too_large();
            };
            upload::prepare(shared, peer, query.get("pin"), &body).await
        }
        Some(Endpoint::Upload) if post => upload::upload(shared, peer, &query, body).await,
        Some(Endpoint::Cancel) if post => cancel(shared, peer, &query),
        Some(_) => status(StatusCode::METHOD_NOT_ALLOWED),
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

/// The machine's answer as an HTTP response.
pub(super) fn from_machine(answer: Answer) -> Response<Body> {
    let code = StatusCode::from_u16(answer.status.code());
    with_body(
        code.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        answer.body,
    )
}

pub(super) fn with_body(code: StatusCode, body: Vec<u8>) -> Response<Body> {
    let empty = body.is_empty();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = code;
    if !empty {
        let json = hyper::header::HeaderValue::from_static("application/json");
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, json);
    }
    response
}

fn json(value: &impl serde::Serialize) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    with_body(StatusCode::OK, body)
}

pub(super) fn status(code: StatusCode) -> Response<Body> {
    with_body(code, Vec::new())
}

fn too_large() -> Response<Body> {
    let message = br#"{"message":"Body too large or too slow"}"#.to_vec();
    with_body(StatusCode::PAYLOAD_TOO_LARGE, message)
}

/// The query string's parameters, percent-decoded (the first of each name wins).
pub(super) struct Query(HashMap<String, String>);

impl Query {
    fn parse(query: &str) -> Query {
        let mut params = HashMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            params
                .entry(percent_decode(name))
                .or_insert_with(|| percent_decode(value));
        }
        Query(params)
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => (out.push(b), i += 3),
            (b'+', _) => (out.push(b' '), i += 1),
            (b, _) => (out.push(b), i += 1),
        };
    }
    String::from_utf8_lossy(&out).into_owned()
}
