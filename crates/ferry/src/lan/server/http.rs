//! The HTTP vocabulary the server's parts share: who is asking, the response
//! body type, the machine's answers as responses, and the query string.

use std::collections::HashMap;
use std::net::SocketAddr;

use ferry_proto::localsend::Response as Answer;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Response, StatusCode};

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub(super) struct Peer {
    pub(super) addr: SocketAddr,
    /// The client certificate's fingerprint, if it presented one.
    pub(super) fingerprint: Option<String>,
}

/// Boxed, so a download can stream a file where other answers hold bytes.
pub(super) type Body = crate::lan::client::RequestBody;

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
    let body = Full::new(Bytes::from(body)).map_err(|never| match never {});
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = code;
    if !empty {
        let json = hyper::header::HeaderValue::from_static("application/json");
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, json);
    }
    response
}

pub(super) fn status(code: StatusCode) -> Response<Body> {
    with_body(code, Vec::new())
}

/// The query string's parameters, percent-decoded (the first of each name wins).
pub(super) struct Query(HashMap<String, String>);

impl Query {
    pub(super) fn parse(query: &str) -> Query {
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
