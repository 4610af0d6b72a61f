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
//! The peers send 16 KiB records; handing each to another thread would cost more
//! in wake-ups than opening it. So small records travel in batches of up to one
//! `RECORD_SIZE` (a batch is sent on as soon as the socket has nothing more
//! buffered, so batching never waits for data).
//!
//! Memory: a batch holds permits for its size (one per ferry-sized record, at
//! most all `SLOTS`) from the moment it is read until it is written and hashed,
//! so a peer's large records slow the pipeline down instead of growing it.

use std::io::{self, IoSlice, Write};
use std::sync::mpsc as sync_mpsc;
use std::sync::Arc;

use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, BufReader};
use tokio::sync::Semaphore;

use ferry_proto::transit::record::{Opener, RecordError, RecordKey, OVERHEAD};

use super::plumbing::{
    crypto_threads, join, settle_allocator, spawn_stage, spawn_workers, within, FreeList, Lease,
    Reorder,
};
use super::{ReadHalf, RECORD_SIZE, SLOTS};
use crate::error::{Error, PeerError, Result};

/// Bytes of one ferry-sized record body: the unit of batches and of permits.
const UNIT: usize = RECORD_SIZE + OVERHEAD;

/// Consecutive record bodies read into one buffer.
struct Batch {
    /// Position in the stream (batches are numbered 0, 1, 2, …).
    index: u64,
    /// The record number of the first body.
    first: u64,
    /// A reused buffer: only `bodies[..used()]` belongs to this batch (not
    /// shrinking it saves zero-filling it again for every batch).
    bodies: Lease,
    /// Where each body ends in `bodies`.
    ends: Vec<usize>,
}

impl Batch {
    /// Bytes of `bodies` in use.
    fn used(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }
}

/// The batch's plaintexts, or why one of them did not open. The ciphertext's
/// lease rides along, so its permits free only once everything is written.
type Opened = (u64, Result<Vec<Vec<u8>>, RecordError>, Lease);
/// Plaintexts shared by the sink (writing) and the hasher.
type Plain = Arc<(Vec<Vec<u8>>, Lease)>;

/// Receives exactly `size` bytes into `sink`; returns their SHA-256.
pub(super) async fn receive(
    reader: (&mut BufReader<ReadHalf>, Option<Duration>),
    opener: &mut Opener,
    sink: Box<dyn Write + Send>,
    size: u64,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<[u8; 32]> {
    settle_allocator();
    let key = opener.record_key();
    let (job_tx, job_rx) = sync_mpsc::channel::<Batch>();
    let (opened_tx, opened_rx) = sync_mpsc::channel::<Opened>();
    let (hash_tx, hash_rx) = sync_mpsc::channel::<Plain>();
    let hasher = spawn_stage("ferry-hash", move || hash_all(hash_rx))?;
    let writer = spawn_stage("ferry-write", move || {
        write_in_order(sink, opened_rx, hash_tx)
    })?;
    spawn_workers("ferry-open", crypto_threads(), job_rx, move |job| {
        open_batch(&key, job, &opened_tx)
    })?;
    let pumped = pump(reader, opener, size, job_tx, progress).await;
    // A writer failure (disk full, a forged record) explains a stopped pump
    // better than the pump's own error.
    join(writer, "file writer").await??;
    pumped?;
    join(hasher, "hasher").await
}

/// Reads records off the socket and hands them to the openers in numbered batches.
async fn pump(
    (reader, idle): (&mut BufReader<ReadHalf>, Option<Duration>),
    opener: &mut Opener,
    size: u64,
    jobs: sync_mpsc::Sender<Batch>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<()> {
    let mut batcher = Batcher::new();
    let mut got = 0u64;
    while got < size {
        let len = within(idle, read_len(reader)).await?;
        got += (len - OVERHEAD) as u64;
        if got > size {
            return Err(Error::protocol(format!(
                "sent more than the {size} bytes offered"
            )));
        }
        let batch = batcher.room_for(len, opener.reserve(), &jobs).await?;
        let start = batch.used();
        if batch.bodies.len() < start + len {
            batch.bodies.resize(start + len, 0);
        }
        let body = reader.read_exact(&mut batch.bodies[start..start + len]);
        within(idle, async { body.await.map_err(|_| Error::VANISHED) }).await?;
        batch.ends.push(start + len);
        progress(got);
        // Never sit on records while waiting for the socket.
        if got == size || reader.buffer().is_empty() {
            batcher.send(&jobs)?;
        }
    }
    Ok(())
}

/// Groups consecutive records into batches and numbers the batches.
struct Batcher {
    budget: Arc<Semaphore>,
    free: FreeList,
    open: Option<Batch>,
    next_index: u64,
}

impl Batcher {
    fn new() -> Self {
        Batcher {
            budget: Arc::new(Semaphore::new(SLOTS)),
            free: FreeList::new(0),
            open: None,
            next_index: 0,
        }
    }

    /// The batch that record `number`, a body of `len` bytes, goes into: the open
    /// one if it fits, else a new one (after sending the open one), admitted by
    /// permits for its size. Numbers come in order, so a batch's are consecutive.
    async fn room_for(
        &mut self,
        len: usize,
        number: u64,
        jobs: &sync_mpsc::Sender<Batch>,
    ) -> Result<&mut Batch> {
        if let Some(open) = &self.open {
            if open.used() + len > UNIT {
                self.send(jobs)?;
            }
        }
        if self.open.is_none() {
            let permits = len.div_ceil(UNIT).min(SLOTS) as u32;
            let permit = Arc::clone(&self.budget)
                .acquire_many_owned(permits)
                .await
                .map_err(|_| writer_stopped())?;
            let bodies = self.free.take_with(permit);
            self.open = Some(Batch {
                index: self.next_index,
                first: number,
                bodies,
                ends: Vec::new(),
            });
            self.next_index += 1;
        }
        self.open.as_mut().ok_or_else(writer_stopped)
    }

    fn send(&mut self, jobs: &sync_mpsc::Sender<Batch>) -> Result<()> {
        match self.open.take() {
            Some(batch) => jobs.send(batch).map_err(|_| writer_stopped()),
            None => Ok(()),
        }
    }
}

/// The next record's body length, bounded before anything is allocated.
async fn read_len(reader: &mut BufReader<ReadHalf>) -> Result<usize> {
    let mut prefix = [0u8; 4];
    reader
        .read_exact(&mut prefix)
        .await
        .map_err(|_| Error::VANISHED)?;
    Opener::body_len(prefix).map_err(|e| Error::protocol(e.to_string()))
}

fn writer_stopped() -> Error {
    Error::internal("the file writer stopped without saying why")
}

/// Opens one batch; false once the sink is gone.
fn open_batch(key: &RecordKey, batch: Batch, out: &sync_mpsc::Sender<Opened>) -> bool {
    let mut start = 0;
    let mut plain = Vec::with_capacity(batch.ends.len());
    let mut result = Ok(());
    for (number, &end) in (batch.first..).zip(&batch.ends) {
        match key.open(number, &batch.bodies[start..end]) {
            Ok(p) => plain.push(p),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
        start = end;
    }
    let opened = result.map(|()| plain);
    out.send((batch.index, opened, batch.bodies)).is_ok()
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
            let plain = Arc::new((
                plain.map_err(|e| PeerError::Integrity(e.to_string()))?,
                lease,
            ));
            // The hasher reads while we write. It only closes when we are failing anyway.
            let _ = hash.send(Arc::clone(&plain));
            let mut slices: Vec<IoSlice<'_>> = plain.0.iter().map(|p| IoSlice::new(p)).collect();
            write_all_vectored(&mut *sink, &mut slices)
                .map_err(|e| Error::io("writing received data", e))?;
        }
    }
    sink.flush()
        .map_err(|e| Error::io("writing received data", e))
}

/// Writes every slice, in as few system calls as the sink allows (`writev`).
fn write_all_vectored(sink: &mut dyn Write, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match sink.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn hash_all(plain: sync_mpsc::Receiver<Plain>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for batch in plain {
        for p in &batch.0 {
            hasher.update(p);
        }
    }
    hasher.finalize().into()
}
