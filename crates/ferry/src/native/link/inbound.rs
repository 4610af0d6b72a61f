//! The reading half of a link, able to read on while a write of ours is stuck.
//!
//! A receiver whose disk stalls stops reading the socket, so the sender's writes
//! stop moving; its keep-alive task still writes. Reading those keep-alives while
//! the write waits is how the sender tells a slow peer from a dead one: bytes from
//! the peer count as life, and only silence both ways for `idle` ends the link.
//! What is read early is kept, in order, for the next `read_exact`.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::time::Instant;

use crate::error::{Error, NetworkError, Result};

use super::ReadHalf;

/// Most bytes read early: past this a stuck write no longer listens, and the
/// idle bound applies to it alone (a peer cannot keep us waiting by flooding).
const EARLY_MAX: usize = 1 << 20;

pub(super) struct Inbound {
    reader: BufReader<ReadHalf>,
    /// Bytes read while a write was stuck; `early[at..]` are not yet consumed.
    early: Vec<u8>,
    at: usize,
    /// The peer closed (or a read failed) while we wrote: listen no more; the
    /// next read after `early` finds the same end.
    ended: bool,
}

impl Inbound {
    pub(super) fn new(reader: ReadHalf) -> Self {
        Inbound {
            reader: BufReader::new(reader),
            early: Vec::new(),
            at: 0,
            ended: false,
        }
    }

    /// Fills `buf`, early bytes first; a read that brings nothing for `idle` fails
    /// (progress resets it, so a large record on a slow link is not cut).
    pub(super) async fn read_exact(
        &mut self,
        buf: &mut [u8],
        idle: Option<Duration>,
    ) -> Result<()> {
        let mut filled = self.take_early(buf);
        while filled < buf.len() {
            let n = within(idle, self.reader.read(&mut buf[filled..])).await?;
            if n == 0 {
                return Err(Error::lost(std::io::ErrorKind::UnexpectedEof.into()));
            }
            filled += n;
        }
        Ok(())
    }

    /// Waits for the peer's next byte without consuming it: `false` when it
    /// closed instead. Safe to drop while it waits.
    pub(super) async fn has_more(&mut self, idle: Option<Duration>) -> Result<bool> {
        if self.at < self.early.len() {
            return Ok(true);
        }
        Ok(!within(idle, self.reader.fill_buf()).await?.is_empty())
    }

    fn take_early(&mut self, buf: &mut [u8]) -> usize {
        let n = (self.early.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.early[self.at..self.at + n]);
        self.at += n;
        if self.at == self.early.len() {
            self.early.clear();
            self.at = 0;
        }
        n
    }

    fn listening(&self) -> bool {
        !self.ended && self.early.len() - self.at < EARLY_MAX
    }

    /// Reads whatever the peer sends next into `early`: the number of bytes, 0
    /// when it closed. Cancel-safe: a read that did not complete took nothing.
    async fn listen(&mut self) -> std::io::Result<usize> {
        self.early.reserve(64 << 10);
        self.reader.read_buf(&mut self.early).await
    }
}

/// Writes all of `bytes`. A write that moves nothing for `idle` fails, unless
/// `inbound` is given and the peer sends something meanwhile (it is alive, just
/// not reading yet): then the wait starts over.
pub(super) async fn write_all<W: AsyncWrite + Unpin>(
    writer: &mut W,
    mut bytes: &[u8],
    idle: Option<Duration>,
    mut inbound: Option<&mut Inbound>,
) -> Result<()> {
    while !bytes.is_empty() {
        let n = match (idle, inbound.as_deref_mut()) {
            (Some(idle), Some(inbound)) => write_heeding(writer, bytes, idle, inbound).await?,
            (idle, _) => within(idle, writer.write(bytes)).await?,
        };
        if n == 0 {
            return Err(Error::lost(std::io::ErrorKind::WriteZero.into()));
        }
        bytes = &bytes[n..];
    }
    // A TLS stream may still hold what we wrote (a TCP stream holds nothing):
    // the peer must get a frame before we wait on it.
    within(idle, writer.flush()).await
}

/// One write, waiting as long as the peer either takes bytes or sends some.
async fn write_heeding<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
    idle: Duration,
    inbound: &mut Inbound,
) -> Result<usize> {
    let mut deadline = Instant::now() + idle;
    loop {
        let listening = inbound.listening();
        tokio::select! {
            written = writer.write(bytes) => return written.map_err(Error::lost),
            heard = inbound.listen(), if listening => match heard {
                Ok(0) | Err(_) => inbound.ended = true,
                Ok(_) => deadline = Instant::now() + idle,
            },
            () = tokio::time::sleep_until(deadline) => {
                return Err(NetworkError::Silent(idle).into());
            }
        }
    }
}

/// `io` within `idle` (if set): an error is the peer gone, silence is `Silent`.
pub(super) async fn within<T>(
    idle: Option<Duration>,
    io: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T> {
    let done = match idle {
        Some(idle) => tokio::time::timeout(idle, io)
            .await
            .map_err(|_| NetworkError::Silent(idle))?,
        None => io.await,
    };
    done.map_err(Error::lost)
}
