//! Receiving records into a file, with every stage on its own thread:
//!
//! ```text
//! socket reader ──(numbered ciphertext)── openers ×N ──(any order)── sink ──┬── file
//!                                                                          └── hasher
//! ```
//!
//! The socket reader checks lengths and takes each record's number from the
//! [`Opener`] in arrival order; an opener refuses a record whose nonce is not that
//! number, so replays and reordering still fail. The sink restores the order,
//! writes, and feeds the hasher. Only authenticated plaintext leaves an opener.
//!
//! Memory: a record holds permits for its size (one per `RECORD_SIZE`, at most
//! all `SLOTS`) from the moment it is read until it is written and hashed, so a
//! peer's large records slow the pipeline down instead of growing it.

use std::io::Write;
use std::sync::mpsc as sync_mpsc;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::Semaphore;

use ferry_proto::transit::record::{Opener, RecordError, RecordKey, OVERHEAD};

use super::plumbing::{crypto_threads, join, spawn_stage, spawn_workers, FreeList, Lease, Reorder};
use super::{RECORD_SIZE, SLOTS};
use crate::error::{Error, Result};

/// `(position in the stream, record number, body)`.
type OpenJob = (u64, u64, Lease);
/// The ciphertext's lease rides along, so its permits free only once written.
type Opened = (u64, Result<Vec<u8>, RecordError>, Lease);
/// Plaintext shared by the sink (writing) and the hasher.
type Plain = Arc<(Vec<u8>, Lease)>;

/// Receives exactly `size` bytes into `sink`; returns their SHA-256.
pub(super) async fn receive(
    reader: &mut BufReader<OwnedReadHalf>,
    opener: &mut Opener,
    sink: Box<dyn Write + Send>,
    size: u64,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<[u8; 32]> {
    let key = opener.record_key();
    let (job_tx, job_rx) = sync_mpsc::channel::<OpenJob>();
    let (opened_tx, opened_rx) = sync_mpsc::channel::<Opened>();
    let (hash_tx, hash_rx) = sync_mpsc::channel::<Plain>();
    let hasher = spawn_stage("ferry-hash", move || hash_all(hash_rx))?;
    let writer = spawn_stage("ferry-write", move || {
        write_in_order(sink, opened_rx, hash_tx)
    })?;
    spawn_workers("ferry-open", crypto_threads(), job_rx, move |job| {
        open_one(&key, job, &opened_tx)
    })?;
    let pumped = pump(reader, opener, size, job_tx, progress).await;
    // A writer failure (disk full, a forged record) explains a stopped pump
    // better than the pump's own error.
    join(writer, "file writer").await??;
    pumped?;
    join(hasher, "hasher").await
}

/// Reads records off the socket and hands them to the openers, numbered.
async fn pump(
    reader: &mut BufReader<OwnedReadHalf>,
    opener: &mut Opener,
    size: u64,
    jobs: sync_mpsc::Sender<OpenJob>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<()> {
    let budget = Arc::new(Semaphore::new(SLOTS));
    let mut free = FreeList::new(0);
    let (mut got, mut index) = (0u64, 0u64);
    while got < size {
        let len = read_len(reader).await?;
        got += (len - OVERHEAD) as u64;
        if got > size {
            return Err(Error::PeerProtocol(format!(
                "sent more than the {size} bytes offered"
            )));
        }
        let permits = len.div_ceil(RECORD_SIZE).min(SLOTS) as u32;
        let permit = Arc::clone(&budget)
            .acquire_many_owned(permits)
            .await
            .map_err(|_| writer_stopped())?;
        let mut body = free.take_with(permit);
        body.resize(len, 0);
        reader
            .read_exact(&mut body)
            .await
            .map_err(|_| Error::PeerVanished)?;
        jobs.send((index, opener.reserve(), body))
            .map_err(|_| writer_stopped())?;
        index += 1;
        progress(got);
    }
    Ok(())
}

/// The next record's body length, bounded before anything is allocated.
async fn read_len(reader: &mut BufReader<OwnedReadHalf>) -> Result<usize> {
    let mut prefix = [0u8; 4];
    reader
        .read_exact(&mut prefix)
        .await
        .map_err(|_| Error::PeerVanished)?;
    Opener::body_len(prefix).map_err(|e| Error::PeerProtocol(e.to_string()))
}

fn writer_stopped() -> Error {
    Error::Transit("writer stopped".into())
}

/// Opens one record; false once the sink is gone.
fn open_one(
    key: &RecordKey,
    (index, number, body): OpenJob,
    out: &sync_mpsc::Sender<Opened>,
) -> bool {
    let opened = key.open(number, &body);
    out.send((index, opened, body)).is_ok()
}

/// Writes opened records in order and passes them to the hasher. Stops at the
/// first record that failed to open: nothing after it is written.
fn write_in_order(
    mut sink: Box<dyn Write + Send>,
    opened: sync_mpsc::Receiver<Opened>,
    hash: sync_mpsc::Sender<Plain>,
) -> Result<()> {
    let mut order = Reorder::new();
    for (index, plain, lease) in opened {
        order.push(index, (plain, lease));
        while let Some((plain, lease)) = order.pop() {
            let plain = Arc::new((plain.map_err(|e| Error::Integrity(e.to_string()))?, lease));
            // The hasher reads while we write. It only closes when we are failing anyway.
            let _ = hash.send(Arc::clone(&plain));
            sink.write_all(&plain.0)
                .map_err(|e| Error::io("writing received data", e))?;
        }
    }
    sink.flush()
        .map_err(|e| Error::io("writing received data", e))
}

fn hash_all(plain: sync_mpsc::Receiver<Plain>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for p in plain {
        hasher.update(&p.0);
    }
    hasher.finalize().into()
}
