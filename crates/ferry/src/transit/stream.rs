//! Encrypted records on the winning transit connection.
//!
//! Single records (the ack) go through [`TransitStream::write_record`] and
//! [`TransitStream::read_record`]. Bulk data is pipelined so that reading the
//! file, hashing, sealing or opening, and the socket all overlap and use every
//! core: see `send_pipe` and `recv_pipe`. Records are independent because their
//! nonce is their number, so several threads seal or open them at once and the
//! order is restored before the socket (sending) or the file (receiving).

mod plumbing;
mod recv_pipe;
mod send_pipe;
#[cfg(test)]
mod tests;

use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::record::{Opener, Sealer, OVERHEAD};
use ferry_proto::transit::Role;

use super::portmap::Mapping;
use super::race::Conn;
use crate::error::{Error, PeerError, Result};

/// Plaintext bytes per record we send to another ferry (`--v1`). The peers send
/// 16 KiB and read whatever length is announced; larger records cut per-record
/// overhead.
pub const RECORD_SIZE: usize = 256 * 1024;
/// Plaintext bytes per record we send to other clients. Python's receiver copies
/// its buffer for every TCP read until a record is whole: with 256 KiB records it
/// spent 4.2 CPU-s per GiB and took 244 MB/s, with 64 KiB 2.9 CPU-s and 354 MB/s
/// (`bench/transfer`, ferry->python direct); the Go and Rust peers do not mind.
pub const PEER_RECORD_SIZE: usize = 64 * 1024;
/// Records in flight in either pipeline (each slot holds one plaintext and one
/// ciphertext of up to `RECORD_SIZE`): enough to keep every stage busy, small
/// enough that memory stays flat (16 × 2 × 256 KiB = 8 MiB).
const SLOTS: usize = 16;
/// The socket read buffer. Smaller than a record on purpose: a large record's
/// body then bypasses it and lands straight in its own buffer (one copy less),
/// while the peers' 16 KiB records still come several per system call.
const READ_BUFFER: usize = 64 * 1024;

/// The two halves of whatever carries the records: a TCP connection (direct or
/// relayed), TLS or a WebSocket to a relay, or (LocalSend between two ferry)
/// an upgraded TLS connection.
pub(crate) type ReadHalf = Box<dyn AsyncRead + Unpin + Send>;
pub(crate) type WriteHalf = Box<dyn AsyncWrite + Unpin + Send>;

/// A connected, handshaken transit connection.
pub struct TransitStream {
    reader: BufReader<ReadHalf>,
    writer: WriteHalf,
    sealer: Option<Sealer>,
    opener: Opener,
    description: String,
    /// The router's port forwarded to our listener, deleted when this ends.
    mapping: Option<Mapping>,
    /// Silence while records are awaited (`receive_into`), or a socket that
    /// takes nothing while they are sent (`send_from`), after which the peer
    /// counts as gone. A v1 sender writes without a pause once connected (Python
    /// and Go zip a folder before they offer it; ferry's zip streams as fast as
    /// the disk reads) and a v1 receiver reads as it writes, so
    /// `Timing::transit_idle` fits.
    pub(super) idle: Option<std::time::Duration>,
}

impl TransitStream {
    pub(super) fn new(stream: Conn, role: Role, key: &TransitKey, description: String) -> Self {
        // TCP splits without a lock; the rest shares one.
        let (r, w): (ReadHalf, WriteHalf) = match stream {
            Conn::Tcp(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
            Conn::Quic(s) => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
            Conn::Other(s) => {
                let (r, w) = tokio::io::split(s);
                (Box::new(r), Box::new(w))
            }
        };
        TransitStream {
            reader: BufReader::with_capacity(READ_BUFFER, r),
            writer: w,
            sealer: Some(Sealer::new(key, role)),
            opener: Opener::new(key, role),
            description,
            mapping: None,
            idle: None,
        }
    }

    /// Keeps `mapping` for as long as this connection (or its writer) lives.
    pub(super) fn holding(mut self, mapping: Option<Mapping>) -> Self {
        self.mapping = mapping;
        self
    }

    /// How we are connected (`direct 1.2.3.4:5` or `relay host:port`).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The bare connection, for a protocol that seals records its own way (the
    /// native protocol); no record has been sent or read on it yet.
    pub(crate) fn into_parts(self) -> (BufReader<ReadHalf>, WriteHalf) {
        let writer = match self.mapping {
            Some(mapping) => Box::new(Holding {
                inner: self.writer,
                _mapping: mapping,
            }),
            None => self.writer,
        };
        (self.reader, writer)
    }

    /// Sends one record.
    pub async fn write_record(&mut self, plaintext: &[u8]) -> Result<()> {
        let sealer = self.sealer.as_mut().ok_or_else(sealer_lost)?;
        let mut frame = Vec::with_capacity(plaintext.len() + 4 + OVERHEAD);
        sealer.seal_frame(plaintext, &mut frame);
        self.writer.write_all(&frame).await.map_err(lost)?;
        self.writer.flush().await.map_err(lost)
    }

    /// Reads and opens one record into `buf`; returns the plaintext range start.
    pub async fn read_record(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        let mut prefix = [0u8; 4];
        self.reader.read_exact(&mut prefix).await.map_err(lost)?;
        let len = Opener::body_len(prefix).map_err(|e| Error::protocol(e.to_string()))?;
        buf.resize(len, 0);
        self.reader.read_exact(buf).await.map_err(lost)?;
        self.opener
            .open_in_place(buf)
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        Ok(OVERHEAD)
    }

    /// Streams exactly `size` bytes of `source` as records of `record` bytes (the
    /// last one shorter; at most [`RECORD_SIZE`]); returns their SHA-256.
    pub async fn send_from(
        &mut self,
        source: Box<dyn Read + Send>,
        (size, record): (u64, usize),
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<[u8; 32]> {
        let sealer = self.sealer.take().ok_or_else(sealer_lost)?;
        let record = record.clamp(1, RECORD_SIZE);
        let writer = (&mut self.writer, self.idle);
        let (sealer, digest) =
            send_pipe::send(writer, source, (size, record), sealer, progress).await?;
        self.sealer = Some(sealer);
        Ok(digest)
    }

    /// Receives exactly `size` bytes into `sink`; returns their SHA-256. The peer
    /// sending more than offered, or anything that fails to open, is an error.
    pub async fn receive_into(
        &mut self,
        sink: Box<dyn Write + Send>,
        size: u64,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<[u8; 32]> {
        let reader = (&mut self.reader, self.idle);
        recv_pipe::receive(reader, &mut self.opener, sink, size, progress).await
    }
}

fn sealer_lost() -> Error {
    Error::internal("the record sealer was lost")
}

fn lost(e: std::io::Error) -> Error {
    Error::lost(e)
}

/// A writer that keeps the router's port mapping until the transfer drops it.
struct Holding {
    inner: WriteHalf,
    _mapping: Mapping,
}

impl AsyncWrite for Holding {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
