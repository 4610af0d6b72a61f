//! One QUIC stream as the byte stream transit carries records on, and its
//! orderly end. Closing a QUIC connection at once discards what is still in
//! flight (TCP's kernel would have delivered it), so: shutting the writer down
//! finishes the stream and waits until the peer acknowledged everything (the
//! native receiver does so after its last frame, before the process may exit);
//! dropping it does the same in a task, then closes the connection.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use quinn::{Connection, Endpoint, RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest a finished stream waits for the peer's acknowledgement.
const SETTLE: Duration = Duration::from_secs(3);

/// A bidirectional stream of a connection; the endpoint lives as long as it does.
pub(in crate::transit) struct QuicIo {
    recv: RecvStream,
    send: Writer,
}

impl QuicIo {
    pub(super) fn new(
        (send, recv): (SendStream, RecvStream),
        conn: Connection,
        endpoint: Endpoint,
    ) -> Self {
        let send = Writer {
            send: Some(send),
            conn,
            endpoint,
            settling: None,
        };
        QuicIo { recv, send }
    }

    /// The two halves, used without a lock.
    pub(in crate::transit) fn into_split(self) -> (RecvStream, Writer) {
        (self.recv, self.send)
    }
}

/// The sending half: the stream, and what must outlive it.
pub(in crate::transit) struct Writer {
    send: Option<SendStream>,
    conn: Connection,
    endpoint: Endpoint,
    /// Set by the first `poll_shutdown`: the wait for the peer's acknowledgement.
    settling: Option<Settling>,
}

type Settling = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

impl Writer {
    fn stream(&mut self) -> std::io::Result<&mut SendStream> {
        self.send
            .as_mut()
            .ok_or_else(|| std::io::ErrorKind::BrokenPipe.into())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let Some(mut send) = self.send.take() else {
            return;
        };
        let (conn, endpoint) = (self.conn.clone(), self.endpoint.clone());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            if send.finish().is_ok() {
                let _ = tokio::time::timeout(SETTLE, send.stopped()).await;
            }
            conn.close(0u32.into(), b"done");
            let _ = tokio::time::timeout(SETTLE, endpoint.wait_idle()).await;
        });
    }
}

impl AsyncRead for QuicIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.recv).poll_read(cx, buf)
    }
}

impl AsyncWrite for QuicIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.send).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.send).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.send).poll_shutdown(cx)
    }
}

impl AsyncWrite for Writer {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        AsyncWrite::poll_write(Pin::new(self.stream()?), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(self.stream()?).poll_flush(cx)
    }

    /// Finishes the stream and resolves once the peer has all of it (or
    /// stopped reading, or the connection ended), at most [`SETTLE`] later.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.settling.is_none() {
            let send = self.stream()?;
            let _ = send.finish();
            let stopped = send.stopped();
            self.settling = Some(Box::pin(async move {
                let _ = tokio::time::timeout(SETTLE, stopped).await;
            }));
        }
        match self.settling.as_mut() {
            Some(settling) => settling.as_mut().poll(cx).map(Ok),
            None => Poll::Ready(Ok(())),
        }
    }
}
