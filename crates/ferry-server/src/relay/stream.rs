//! A relay endpoint as a byte stream, whether it came over TCP or WebSocket, so
//! that pairing and splicing do not care (TCP pairs with WebSocket).
//!
//! Over WebSocket every frame must be binary; incoming frame boundaries mean
//! nothing, and each write becomes one binary frame.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite_030::tungstenite::{Bytes, Message};
use tokio_tungstenite_030::WebSocketStream;

use crate::io::MaybeTls;

/// A WebSocket seen as bytes (on the relay's own listener, or at `/relay` of
/// the mailbox port, which may be TLS).
pub(crate) struct WsBytes {
    ws: WebSocketStream<MaybeTls>,
    /// The rest of the last binary frame.
    pending: Bytes,
    eof: bool,
}

impl WsBytes {
    pub(crate) fn new(ws: WebSocketStream<MaybeTls>) -> Self {
        WsBytes {
            ws,
            pending: Bytes::new(),
            eof: false,
        }
    }
}

fn ws_err(e: tokio_tungstenite_030::tungstenite::Error) -> io::Error {
    io::Error::other(e)
}

impl AsyncRead for WsBytes {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.pending.is_empty() {
                let n = buf.remaining().min(self.pending.len());
                buf.put_slice(&self.pending[..n]);
                self.pending = self.pending.slice(n..);
                return Poll::Ready(Ok(()));
            }
            if self.eof {
                return Poll::Ready(Ok(()));
            }
            match ready!(self.ws.poll_next_unpin(cx)) {
                Some(Ok(Message::Binary(b))) => self.pending = b,
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "text frame on the relay",
                    )))
                }
                Some(Ok(Message::Close(_))) | None => self.eof = true,
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
        ready!(self.ws.poll_ready_unpin(cx)).map_err(ws_err)?;
        let frame = Message::Binary(Bytes::copy_from_slice(buf));
        self.ws.start_send_unpin(frame).map_err(ws_err)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ws.poll_flush_unpin(cx).map_err(ws_err)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.ws.poll_close_unpin(cx).map_err(ws_err)
    }
}

/// One relay endpoint.
pub(crate) enum RelayStream {
    Tcp(TcpStream),
    Ws(Box<WsBytes>),
}

impl AsyncRead for RelayStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RelayStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            RelayStream::Ws(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for RelayStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            RelayStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            RelayStream::Ws(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RelayStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            RelayStream::Ws(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RelayStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            RelayStream::Ws(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
