//! The little HTTP/1.1 the listeners need: read one request head, then either
//! upgrade to WebSocket or answer a tiny plain-text page and close.
//!
//! Doing the upgrade here (instead of inside tungstenite) lets one port serve
//! `/v1`, `/`, `/health` and `/metrics`, and keeps handshake buffers short-lived.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite_030::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite_030::tungstenite::protocol::WebSocketConfig;

/// Connection ids, for logs and for the state thread's listener table.
static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_conn_id() -> u64 {
    NEXT_CONN.fetch_add(1, Ordering::Relaxed)
}

/// Small buffers keep an idle client cheap; frames up to the body limit still fit.
pub(crate) fn ws_config(max_message: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(0)
        .max_write_buffer_size(max_message.saturating_add(64 * 1024))
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
}

/// Longest request head we read.
const MAX_HEAD: usize = 8 * 1024;
const MAX_HEADERS: usize = 32;

/// What we need from a request head.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RequestHead {
    pub(crate) method: String,
    /// Path without the query string.
    pub(crate) path: String,
    /// `Sec-WebSocket-Key` of a valid version-13 upgrade request.
    pub(crate) ws_key: Option<String>,
    /// `X-Real-IP` / `X-Real-Port` set by a front proxy.
    pub(crate) real_ip: Option<IpAddr>,
    pub(crate) real_port: Option<u16>,
    /// The `Host` header as sent (checked by whoever writes it anywhere).
    pub(crate) host: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("malformed request: {0}")]
    Malformed(#[from] httparse::Error),
    #[error("request head too long")]
    TooLong,
    #[error("connection closed during the request")]
    Closed,
    #[error("request head timed out")]
    Timeout,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Parses a request head; `Ok(None)` means more bytes are needed. On success also
/// returns the head's length (bytes after it already belong to the WebSocket).
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = req.parse(buf)? else {
        return Ok(None);
    };
    let path = req.path.unwrap_or("/");
    let mut head = RequestHead {
        method: req.method.unwrap_or("").to_owned(),
        path: path.split('?').next().unwrap_or(path).to_owned(),
        ..RequestHead::default()
    };
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    let upgrade = header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let version_ok = header("sec-websocket-version") == Some("13");
    if upgrade && version_ok && head.method == "GET" {
        head.ws_key = header("sec-websocket-key").map(str::to_owned);
    }
    head.real_ip = header("x-real-ip").and_then(|v| v.parse().ok());
    head.real_port = header("x-real-port").and_then(|v| v.parse().ok());
    head.host = header("host").map(str::to_owned);
    Ok(Some((head, len)))
}

/// Reads one request head; returns it with any bytes read past its end.
pub(crate) async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Result<(RequestHead, Vec<u8>), HttpError> {
    tokio::time::timeout(limit, read_head_inner(stream))
        .await
        .map_err(|_| HttpError::Timeout)?
}

async fn read_head_inner<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(RequestHead, Vec<u8>), HttpError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(HttpError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, len)) = parse_head(&buf)? {
            return Ok((head, buf.split_off(len)));
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::TooLong);
        }
    }
}

/// The `101 Switching Protocols` answer to an upgrade request.
pub(crate) fn upgrade_answer(key: &str) -> Vec<u8> {
    let accept = derive_accept_key(key.as_bytes());
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

/// Writes the `101 Switching Protocols` answer to an upgrade request.
pub(crate) async fn accept_upgrade<S: AsyncWrite + Unpin>(
    stream: &mut S,
    key: &str,
) -> std::io::Result<()> {
    stream.write_all(&upgrade_answer(key)).await
}

/// Writes a complete plain-text response and closes our side.
pub(crate) async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

/// The answer to a connection over the per-address limit.
pub(crate) async fn too_many<S: AsyncWrite + Unpin>(stream: &mut S) -> std::io::Result<()> {
    let body = "too many connections from your address\n";
    respond(stream, "429 Too Many Requests", "text/plain", body).await
}

/// Writes a complete answer of the browser page and closes our side; a `HEAD`
/// request gets the headers only.
pub(crate) async fn respond_web<S: AsyncWrite + Unpin>(
    stream: &mut S,
    answer: &crate::web::Answer,
    head_only: bool,
) -> std::io::Result<()> {
    let mut resp = format!("HTTP/1.1 {}\r\n", answer.status);
    for (name, value) in &answer.headers {
        resp += &format!("{name}: {value}\r\n");
    }
    resp += &format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        answer.body.len()
    );
    let mut bytes = resp.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&answer.body);
    }
    stream.write_all(&bytes).await?;
    stream.shutdown().await
}

/// A plain page answer for a non-WebSocket path, if we serve that path.
pub(crate) fn page(
    path: &str,
    metrics: impl FnOnce() -> String,
) -> (&'static str, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    match path {
        "/" => ("200 OK", TEXT, "Wormhole Relay\n".to_owned()),
        "/health" => ("200 OK", TEXT, "ok\n".to_owned()),
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics(),
        ),
        _ => ("404 Not Found", TEXT, "not found\n".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPGRADE: &[u8] = b"GET /v1?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Real-IP: 2001:db8::1\r\n\r\nXX";

    #[test]
    fn parses_upgrade_and_leftover() {
        let (head, len) = parse_head(UPGRADE).unwrap().unwrap();
        assert_eq!(head.path, "/v1");
        assert_eq!(head.ws_key.as_deref(), Some("dGhlIHNhbXBsZSBub25jZQ=="));
        assert_eq!(head.real_ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(head.host.as_deref(), Some("h"));
        assert_eq!(&UPGRADE[len..], b"XX");
    }

    #[test]
    fn partial_and_plain_requests() {
        assert!(parse_head(&UPGRADE[..20]).unwrap().is_none());
        let (head, _) = parse_head(b"GET / HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!(head.ws_key, None);
        assert!(parse_head(b"\x00\x01garbage\r\n\r\n").is_err());
    }

    #[test]
    fn pages() {
        assert_eq!(page("/", String::new).2, "Wormhole Relay\n");
        assert_eq!(page("/nope", String::new).0, "404 Not Found");
    }
}
