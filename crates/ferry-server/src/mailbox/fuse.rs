//! A byte stream whose write half "blows" on the first write error.
//!
//! A client may write its last commands and drop the connection at once (a reset
//! when it leaves unread data behind). The server must still apply everything it
//! reads, as the reference server does, but every write it tries after the reset
//! fails, and the WebSocket layer also writes on its own while reading (pongs,
//! close replies, retries of a frame that failed). After the first error this
//! stream therefore swallows writes, so reading goes on until the client's data
//! runs out. The first error is still returned: the connection stops writing then.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// See the module docs.
#[derive(Debug)]
pub(crate) struct WriteFuse<S> {
    inner: S,
    blown: bool,
}

impl<S> WriteFuse<S> {
    pub(crate) fn new(inner: S) -> Self {
        WriteFuse {
            inner,
            blown: false,
        }
    }

    /// A write has failed: writes are discarded from now on.
    #[cfg(test)]
    pub(crate) fn is_blown(&self) -> bool {
        self.blown
    }

    fn check<T>(&mut self, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(_)) = &r {
            self.blown = true;
        }
        r
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteFuse<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteFuse<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.blown {
            return Poll::Ready(Ok(buf.len()));
        }
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.blown {
            return Poll::Ready(Ok(()));
        }
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.blown {
            return Poll::Ready(Ok(()));
        }
        let r = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.check(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stream that reads `data` and fails every write.
    struct Broken {
        data: &'static [u8],
    }

    impl AsyncRead for Broken {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = self.data.len().min(buf.remaining());
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Broken {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn first_write_error_is_reported_then_writes_vanish_and_reads_go_on() {
        let mut s = WriteFuse::new(Broken { data: b"left over" });
        assert!(s.write_all(b"ack").await.is_err());
        assert!(s.is_blown());
        s.write_all(b"more").await.unwrap();
        s.flush().await.unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "left over");
    }
}
