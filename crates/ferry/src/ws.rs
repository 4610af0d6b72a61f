//! Opening a client WebSocket, `ws://` or `wss://`: the TCP connection and TLS
//! (verified against a [`Trust`]) are ours, tungstenite only does the upgrade.
//! Used by the mailbox connection and the WebSocket transit relay, which sees
//! the WebSocket as bytes through [`WsBytes`].

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

use crate::tls::{CertProblem, Trust};

/// A byte stream under a WebSocket: TCP, or TLS over TCP.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub(crate) type ClientWs = WebSocketStream<Box<dyn Io>>;

/// Where a WebSocket URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) tls: bool,
    /// Without IPv6 brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Endpoint {
    /// `ws://HOST[:PORT]/…` (port 80 by default) or `wss://…` (443).
    pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
        let (tls, rest) = match url.split_once("://") {
            Some(("ws", rest)) => (false, rest),
            Some(("wss", rest)) => (true, rest),
            _ => return Err(format!("{url:?} is not a ws:// or wss:// URL")),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => {
                let port = p.parse().map_err(|_| format!("{url:?} has a bad port"))?;
                (h, port)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 {
            return Err(format!("{url:?} needs a host"));
        }
        Ok(Endpoint {
            tls,
            host: host.to_owned(),
            port,
        })
    }
}

/// Why a WebSocket did not open.
#[derive(Debug)]
pub(crate) enum DialError {
    /// The server's certificate failed verification.
    Certificate(CertProblem),
    Other(String),
    /// The server answered HTTP without upgrading.
    Http(u16),
}

impl std::fmt::Display for DialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialError::Certificate(problem) => write!(f, "refused: {problem}"),
            DialError::Other(why) => f.write_str(why),
            DialError::Http(status) => write!(f, "HTTP {status} instead of a WebSocket"),
        }
    }
}

/// Connects to `url` and upgrades to WebSocket.
pub(crate) async fn dial(url: &str, trust: &Trust) -> Result<ClientWs, DialError> {
    let endpoint = Endpoint::parse(url).map_err(DialError::Other)?;
    let request = url
        .into_client_request()
        .map_err(|e| DialError::Other(e.to_string()))?;
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| DialError::Other(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = match endpoint.tls {
        false => Box::new(tcp),
        true => Box::new(
            trust
                .connect(&endpoint.host, tcp)
                .await
                .map_err(tls_failure)?,
        ),
    };
    let (ws, _) = tokio_tungstenite::client_async(request, io)
        .await
        .map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(r) => DialError::Http(r.status().as_u16()),
            e => DialError::Other(e.to_string()),
        })?;
    Ok(ws)
}

fn tls_failure(e: io::Error) -> DialError {
    match CertProblem::of(&e) {
        Some(problem) => DialError::Certificate(problem),
        None => DialError::Other(format!("TLS: {e}")),
    }
}

/// A client WebSocket as a byte stream, as the relay protocol over WebSocket
/// wants it (the same as `ferry serve`'s side, `relay/stream.rs`): each write
/// is one binary frame, incoming frame boundaries mean nothing, a text frame is
/// an error, a close is the end.
pub(crate) struct WsBytes {
    ws: ClientWs,
    /// The rest of the last binary frame.
    pending: Bytes,
    eof: bool,
}

impl WsBytes {
    pub(crate) fn new(ws: ClientWs) -> Self {
        WsBytes {
            ws,
            pending: Bytes::new(),
            eof: false,
        }
    }
}

fn ws_err(e: tokio_tungstenite::tungstenite::Error) -> io::Error {
    io::Error::other(e)
}

impl AsyncRead for WsBytes {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.pending.is_empty() {
                let n = buf.remaining().min(this.pending.len());
                buf.put_slice(&this.pending.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(b))) => this.pending = b,
                Some(Ok(Message::Text(_))) => {
                    let e = io::Error::new(io::ErrorKind::InvalidData, "text frame on the relay");
                    return Poll::Ready(Err(e));
                }
                Some(Ok(Message::Close(_))) | None => this.eof = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(ws_err(e))),
            }
        }
    }
}

impl AsyncWrite for WsBytes {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let ws = Pin::new(&mut self.ws);
        ready!(Sink::<Message>::poll_ready(ws, cx)).map_err(ws_err)?;
        let frame = Message::Binary(Bytes::copy_from_slice(buf));
        Pin::new(&mut self.ws).start_send(frame).map_err(ws_err)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Sink::<Message>::poll_flush(Pin::new(&mut self.ws), cx).map_err(ws_err)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Sink::<Message>::poll_close(Pin::new(&mut self.ws), cx).map_err(ws_err)
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    fn ep(tls: bool, host: &str, port: u16) -> Endpoint {
        Endpoint {
            tls,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn endpoints() {
        assert_eq!(Endpoint::parse("ws://h:4000/v1"), Ok(ep(false, "h", 4000)));
        assert_eq!(Endpoint::parse("wss://h/v1"), Ok(ep(true, "h", 443)));
        assert_eq!(Endpoint::parse("ws://h"), Ok(ep(false, "h", 80)));
        assert_eq!(
            Endpoint::parse("wss://[::1]:4000/relay"),
            Ok(ep(true, "::1", 4000))
        );
        assert_eq!(Endpoint::parse("wss://[::1]/v1"), Ok(ep(true, "::1", 443)));
        assert!(Endpoint::parse("http://h/v1").is_err());
        assert!(Endpoint::parse("wss://:4000/v1").is_err());
        assert!(Endpoint::parse("wss://h:x/v1").is_err());
    }
}
