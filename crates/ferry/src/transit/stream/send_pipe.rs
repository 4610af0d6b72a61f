//! Sending a file as records, with every stage on its own thread:
//!
//! ```text
//! reader ──(Arc<plaintext>)──┬── hasher (SHA-256 for the ack, in order)
//!                            └── sealers ×N ──(numbered, any order)── socket writer
//! ```
//!
//! The reader takes each record's number from the [`Sealer`], so no number is
//! ever used twice; the writer puts records back in order. A plaintext buffer is
//! reused only after it was hashed and its record written, so `SLOTS` bounds
//! memory whatever the file size.

use std::io::{IoSlice, Read};
use std::sync::mpsc as sync_mpsc;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use ferry_proto::transit::record::{RecordKey, SealedRecord, Sealer};

use super::plumbing::{
    crypto_threads, join, settle_allocator, spawn_stage, spawn_workers, within, FreeList, Lease,
    Reorder,
};
use super::{lost, WriteHalf, SLOTS};
use crate::error::{Error, Result};

/// A record's plaintext, shared by the hasher and the sealer that handles it.
type Plain = Arc<Lease>;
/// `(position in the file, record number, plaintext)`.
type SealJob = (u64, u64, Plain);
/// The plaintext rides along so its slot frees only once the record is sent.
type Sealed = (u64, SealedRecord, Plain);

/// Streams exactly `size` bytes of `source`; returns the sealer (for later
/// records) and the SHA-256 of what was sent.
pub(super) async fn send(
    writer: (&mut WriteHalf, Option<Duration>),
    source: Box<dyn Read + Send>,
    (size, record): (u64, usize),
    sealer: Sealer,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<(Sealer, [u8; 32])> {
    settle_allocator();
    let key = sealer.record_key();
    let (job_tx, job_rx) = sync_mpsc::channel::<SealJob>();
    let (hash_tx, hash_rx) = sync_mpsc::channel::<Plain>();
    let (sealed_tx, sealed_rx) = mpsc::unbounded_channel::<Sealed>();
    let hasher = spawn_stage("ferry-hash", move || hash_all(hash_rx))?;
    spawn_workers("ferry-seal", crypto_threads(), job_rx, move |job| {
        seal_one(&key, job, &sealed_tx)
    })?;
    let reader = spawn_stage("ferry-read", move || {
        read_all(source, (size, record), sealer, &job_tx, &hash_tx)
    })?;
    let written = write_in_order(writer, sealed_rx, records_in(size, record), progress).await;
    let sealer = first_cause(written, join(reader, "file reader").await?)?;
    let digest = join(hasher, "hasher").await?;
    Ok((sealer, digest))
}

/// When both ends stop, say why: a file that could not be read explains a
/// stopped writer, and a lost connection explains a stopped reader.
fn first_cause(written: Result<()>, read: Result<Sealer>) -> Result<Sealer> {
    match (written, read) {
        (_, Err(e @ Error::Local(_))) => Err(e),
        (Err(e), _) => Err(e),
        (Ok(()), read) => read,
    }
}

fn records_in(size: u64, record: usize) -> u64 {
    size.div_ceil(record as u64)
}

/// Reads the file record by record, numbering each and handing it to the hasher
/// and the sealers.
fn read_all(
    mut source: Box<dyn Read + Send>,
    (size, record): (u64, usize),
    mut sealer: Sealer,
    jobs: &sync_mpsc::Sender<SealJob>,
    hash: &sync_mpsc::Sender<Plain>,
) -> Result<Sealer> {
    let mut free = FreeList::new(SLOTS);
    let mut left = size;
    for index in 0..records_in(size, record) {
        let n = left.min(record as u64) as usize;
        let mut buf = free.blocking_take().ok_or_else(stopped)?;
        buf.resize(n, 0);
        source
            .read_exact(&mut buf)
            .map_err(|e| Error::io("reading the file being sent (did it shrink?)", e))?;
        let plain = Arc::new(buf);
        hash.send(Arc::clone(&plain)).map_err(|_| stopped())?;
        jobs.send((index, sealer.reserve(), plain))
            .map_err(|_| stopped())?;
        left -= n as u64;
    }
    Ok(sealer)
}

fn stopped() -> Error {
    Error::internal("the socket writer stopped without saying why")
}

fn hash_all(plain: sync_mpsc::Receiver<Plain>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for p in plain {
        hasher.update(&p[..]);
    }
    hasher.finalize().into()
}

/// Seals one record; false once the writer is gone.
fn seal_one(
    key: &RecordKey,
    (index, number, plain): SealJob,
    out: &mpsc::UnboundedSender<Sealed>,
) -> bool {
    let record = key.seal(number, &plain);
    out.send((index, record, plain)).is_ok()
}

/// Writes the sealed records in order until all `count` are out; a socket that
/// takes nothing for `idle` means the receiver or the path is gone.
async fn write_in_order(
    (writer, idle): (&mut WriteHalf, Option<Duration>),
    mut sealed: mpsc::UnboundedReceiver<Sealed>,
    count: u64,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<()> {
    let mut order = Reorder::new();
    let mut sent = 0u64;
    while order.done() < count {
        let (index, record, plain) = sealed.recv().await.ok_or_else(stopped)?;
        order.push(index, (record, plain));
        while let Some((record, _plain)) = order.pop() {
            within(idle, async {
                write_record(writer, &record).await.map_err(lost)
            })
            .await?;
            sent += record.plaintext_len() as u64;
            progress(sent);
        }
    }
    within(idle, async { writer.flush().await.map_err(lost) }).await
}

/// Head and body in one system call where the socket takes them.
async fn write_record(writer: &mut WriteHalf, record: &SealedRecord) -> std::io::Result<()> {
    let (mut head, mut body) = (&record.head[..], &record.body[..]);
    while !head.is_empty() || !body.is_empty() {
        let n = writer
            .write_vectored(&[IoSlice::new(head), IoSlice::new(body)])
            .await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let from_head = n.min(head.len());
        head = &head[from_head..];
        body = &body[n - from_head..];
    }
    Ok(())
}
