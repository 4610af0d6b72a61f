//! Encrypted records on the winning transit connection, with the bulk paths
//! pipelined: file I/O and hashing run on a blocking thread while the socket side
//! stays async, connected by a small bounded channel (so memory stays flat).

use std::io::{Read, Write};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::record::{Opener, Sealer, OVERHEAD};
use ferry_proto::transit::Role;

use crate::error::{Error, Result};

/// Plaintext bytes per record we send. The peers send 16 KiB and read whatever
/// length is announced; larger records cut per-record overhead.
pub(crate) const RECORD_SIZE: usize = 256 * 1024;
/// Records in flight between the file thread and the socket.
const DEPTH: usize = 8;

/// A connected, handshaken transit connection.
pub struct TransitStream {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    sealer: Option<Sealer>,
    opener: Opener,
    description: String,
}

impl TransitStream {
    pub(super) fn new(
        stream: TcpStream,
        role: Role,
        key: &TransitKey,
        description: String,
    ) -> Self {
        let (r, w) = stream.into_split();
        TransitStream {
            reader: BufReader::with_capacity(RECORD_SIZE + 64, r),
            writer: w,
            sealer: Some(Sealer::new(key, role)),
            opener: Opener::new(key, role),
            description,
        }
    }

    /// How we are connected (`direct 1.2.3.4:5` or `relay host:port`).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Sends one record.
    pub async fn write_record(&mut self, plaintext: &[u8]) -> Result<()> {
        let sealer = self
            .sealer
            .as_mut()
            .ok_or_else(|| Error::Transit("sealer lost".into()))?;
        let mut frame = Vec::with_capacity(plaintext.len() + 4 + OVERHEAD);
        sealer.seal_frame(plaintext, &mut frame);
        self.writer.write_all(&frame).await.map_err(lost)?;
        self.writer.flush().await.map_err(lost)
    }

    /// Reads and opens one record into `buf`; returns the plaintext range start.
    pub async fn read_record(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        let mut prefix = [0u8; 4];
        self.reader.read_exact(&mut prefix).await.map_err(lost)?;
        let len = Opener::body_len(prefix).map_err(|e| Error::PeerProtocol(e.to_string()))?;
        buf.resize(len, 0);
        self.reader.read_exact(buf).await.map_err(lost)?;
        self.opener
            .open_in_place(buf)
            .map_err(|e| Error::Integrity(e.to_string()))?;
        Ok(OVERHEAD)
    }

    /// Streams exactly `size` bytes of `source` as records; returns their SHA-256.
    pub async fn send_from(
        &mut self,
        source: Box<dyn Read + Send>,
        size: u64,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<[u8; 32]> {
        let sealer = self
            .sealer
            .take()
            .ok_or_else(|| Error::Transit("sealer lost".into()))?;
        let (full_tx, mut full_rx) = mpsc::channel::<Vec<u8>>(DEPTH);
        let (free_tx, free_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let producer =
            tokio::task::spawn_blocking(move || seal_file(source, size, sealer, full_tx, free_rx));
        let mut sent = 0u64;
        while let Some(frame) = full_rx.recv().await {
            self.writer.write_all(&frame).await.map_err(lost)?;
            sent += (frame.len() - 4 - OVERHEAD) as u64;
            progress(sent);
            let _ = free_tx.send(frame);
        }
        self.writer.flush().await.map_err(lost)?;
        let (sealer, digest) = producer
            .await
            .map_err(|e| Error::Transit(e.to_string()))??;
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
        let (full_tx, full_rx) = mpsc::channel::<Vec<u8>>(DEPTH);
        let (free_tx, mut free_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let writer = tokio::task::spawn_blocking(move || write_sink(sink, full_rx, free_tx));
        let received = self
            .pump_records(size, &full_tx, &mut free_rx, progress)
            .await;
        drop(full_tx);
        // A writer failure (disk full) explains a stopped pump better than the pump's own error.
        let digest = writer.await.map_err(|e| Error::Transit(e.to_string()))??;
        received?;
        Ok(digest)
    }

    async fn pump_records(
        &mut self,
        size: u64,
        full_tx: &mpsc::Sender<Vec<u8>>,
        free_rx: &mut mpsc::UnboundedReceiver<Vec<u8>>,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<()> {
        let mut got = 0u64;
        while got < size {
            let mut buf = free_rx.try_recv().unwrap_or_default();
            self.read_record(&mut buf).await.map_err(|e| match e {
                Error::Transit(_) => Error::PeerVanished,
                other => other,
            })?;
            got += (buf.len() - OVERHEAD) as u64;
            if got > size {
                return Err(Error::PeerProtocol(format!(
                    "sent more than the {size} bytes offered"
                )));
            }
            progress(got);
            // Waits only while DEPTH records are queued for the writer.
            full_tx
                .send(buf)
                .await
                .map_err(|_| Error::Transit("writer stopped".into()))?;
        }
        Ok(())
    }
}

fn lost(e: std::io::Error) -> Error {
    Error::Transit(format!("connection lost: {e}"))
}

/// The blocking half of `send_from`: read, hash, seal.
fn seal_file(
    mut source: Box<dyn Read + Send>,
    size: u64,
    mut sealer: Sealer,
    full_tx: mpsc::Sender<Vec<u8>>,
    free_rx: std::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<(Sealer, [u8; 32])> {
    let mut hasher = Sha256::new();
    let mut left = size;
    while left > 0 {
        let n = left.min(RECORD_SIZE as u64) as usize;
        let mut frame = free_rx.try_recv().unwrap_or_default();
        frame.resize(4 + OVERHEAD + n, 0);
        source
            .read_exact(&mut frame[4 + OVERHEAD..])
            .map_err(|e| Error::io("reading the file being sent (did it shrink?)", e))?;
        hasher.update(&frame[4 + OVERHEAD..]);
        sealer.seal_in_place(&mut frame);
        if full_tx.blocking_send(frame).is_err() {
            return Err(Error::Transit("connection closed while sending".into()));
        }
        left -= n as u64;
    }
    Ok((sealer, hasher.finalize().into()))
}

/// The blocking half of `receive_into`: hash and write.
fn write_sink(
    mut sink: Box<dyn Write + Send>,
    mut full_rx: mpsc::Receiver<Vec<u8>>,
    free_tx: mpsc::UnboundedSender<Vec<u8>>,
) -> Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    while let Some(buf) = full_rx.blocking_recv() {
        let data = &buf[OVERHEAD..];
        hasher.update(data);
        sink.write_all(data)
            .map_err(|e| Error::io("writing received data", e))?;
        let _ = free_tx.send(buf);
    }
    sink.flush()
        .map_err(|e| Error::io("writing received data", e))?;
    Ok(hasher.finalize().into())
}
