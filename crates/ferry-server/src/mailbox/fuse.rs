//! A byte stream whose write half "blows" on the first write error.
//!
//! A client may write its last commands and drop the connection at once (a reset
//! when it leaves unread data behind). The server must still apply everything it
//! reads, as the reference server does, but every write it tries after the reset
//! fails, and the WebSocket layer also writes on its own while reading (pongs,
//! close replies, retries of a frame that failed). After the first error this
//! stream therefore swallows writes, so reading goes on until the client's data
//! runs out. The first error is still returned: the connection stops writing then.
//!
//! It also carries the handshake's answer (`101 Switching Protocols`) until the
//! first frame is written, so that the two leave in one `sendto`: one system call
//! less per connection, of about a dozen (the client waits for both anyway).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// See the module docs.
#[derive(Debug)]
pub(crate) struct WriteFuse<S> {
    inner: S,
    blown: bool,
    /// Bytes accepted but not yet written: the handshake's answer, then the first
    /// write joined to it. Empty (and unallocated) once they are out.
    owed: Vec<u8>,
    /// How much of `owed` is out.
    sent: usize,
    /// The next write is the first, to be joined to the head.
    joining: bool,
}

impl<S> WriteFuse<S> {
    #[cfg(test)]
    pub(crate) fn new(inner: S) -> Self {
        Self::owing(inner, Vec::new())
    }

    /// A stream that writes `head` before anything else, together with the
    /// first write.
    pub(crate) fn owing(inner: S, head: Vec<u8>) -> Self {
        WriteFuse {
            inner,
            blown: false,
            joining: !head.is_empty(),
            owed: head,
            sent: 0,
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

impl<S: AsyncWrite + Unpin> WriteFuse<S> {
    /// Writes what is owed; ready once nothing is.
    fn poll_owed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.owed.len() {
            let r = Pin::new(&mut self.inner).poll_write(cx, &self.owed[self.sent..]);
            match self.check(r) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if !self.owed.is_empty() {
            self.owed = Vec::new();
            self.sent = 0;
        }
        Poll::Ready(Ok(()))
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
        if std::mem::take(&mut self.joining) {
            // The first write joins the head: taken whole, written with it.
            self.owed.extend_from_slice(buf);
            if let Poll::Ready(Err(e)) = self.poll_owed(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        std::task::ready!(self.poll_owed(cx))?;
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.blown {
            return Poll::Ready(Ok(()));
        }
        std::task::ready!(self.poll_owed(cx))?;
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.blown {
            return Poll::Ready(Ok(()));
        }
        std::task::ready!(self.poll_owed(cx))?;
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

    /// A stream that records each write it takes, up to `cap` bytes a call.
    struct Recorder {
        writes: Vec<Vec<u8>>,
        cap: usize,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.cap);
            self.writes.push(buf[..n].to_vec());
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn the_head_leaves_with_the_first_write_then_writes_pass_through() {
        let rec = Recorder {
            writes: Vec::new(),
            cap: usize::MAX,
        };
        let mut s = WriteFuse::owing(rec, b"HTTP 101\r\n\r\n".to_vec());
        s.write_all(b"welcome").await.unwrap();
        s.write_all(b"ack").await.unwrap();
        s.flush().await.unwrap();
        assert_eq!(s.inner.writes, [&b"HTTP 101\r\n\r\nwelcome"[..], b"ack"]);
        assert_eq!(s.owed.capacity(), 0, "the joined bytes are freed once out");
    }

    #[tokio::test]
    async fn a_short_write_of_the_head_is_finished_before_the_next_write() {
        let rec = Recorder {
            writes: Vec::new(),
            cap: 4,
        };
        let mut s = WriteFuse::owing(rec, b"101 ".to_vec());
        s.write_all(b"welcome").await.unwrap();
        s.write_all(b"ack").await.unwrap();
        s.flush().await.unwrap();
        assert_eq!(s.inner.writes.concat(), b"101 welcomeack");
    }

    #[tokio::test]
    async fn a_head_that_cannot_be_written_blows_the_fuse() {
        let mut s = WriteFuse::owing(Broken { data: b"bye" }, b"101 ".to_vec());
        assert!(s.write_all(b"welcome").await.is_err());
        assert!(s.is_blown());
        s.write_all(b"more").await.unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "bye");
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
