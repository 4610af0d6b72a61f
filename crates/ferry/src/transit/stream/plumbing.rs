//! The pieces both bulk pipelines are built from: leased buffers that bound what
//! is in flight, a re-orderer for records finished out of order, named stage
//! threads whose result arrives on a oneshot, and a small pool of crypto workers.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::mpsc as sync_mpsc;
use std::sync::{Arc, Mutex, Once};

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

use crate::error::{Error, Result};

/// A buffer lent out of a [`FreeList`]. Dropping it (on whichever thread holds
/// the last reference) sends the buffer home for reuse and releases its permit,
/// which is what lets the next record in.
pub(super) struct Lease {
    buf: Vec<u8>,
    home: mpsc::UnboundedSender<Vec<u8>>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Deref for Lease {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        // A peer's oversized record must not pin a big buffer for the whole transfer.
        if buf.capacity() > self.keep_capacity() {
            buf = Vec::new();
        }
        let _ = self.home.send(buf);
    }
}

impl Lease {
    fn keep_capacity(&self) -> usize {
        2 * super::RECORD_SIZE
    }
}

/// Buffers that come back from dropped [`Lease`]s. With `slots` buffers and no
/// permits it bounds the records in flight by count (the sender's records are
/// all at most `RECORD_SIZE`); the receiver adds a semaphore to bound bytes.
pub(super) struct FreeList {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    home: mpsc::UnboundedSender<Vec<u8>>,
}

impl FreeList {
    pub(super) fn new(slots: usize) -> Self {
        let (home, rx) = mpsc::unbounded_channel();
        for _ in 0..slots {
            let _ = home.send(Vec::new());
        }
        FreeList { rx, home }
    }

    /// Waits (on a plain thread) until one of the `slots` buffers is free.
    pub(super) fn blocking_take(&mut self) -> Option<Lease> {
        let buf = self.rx.blocking_recv()?;
        Some(self.lease(buf, None))
    }

    /// A buffer for a record already admitted by `permit`: a free one if there is
    /// one, else a new one (the permits, not the buffers, bound the total).
    pub(super) fn take_with(&mut self, permit: OwnedSemaphorePermit) -> Lease {
        let buf = self.rx.try_recv().unwrap_or_default();
        self.lease(buf, Some(permit))
    }

    fn lease(&self, buf: Vec<u8>, permit: Option<OwnedSemaphorePermit>) -> Lease {
        Lease {
            buf,
            home: self.home.clone(),
            _permit: permit,
        }
    }
}

/// Puts items numbered 0, 1, 2, … back in order. Holds at most the items in
/// flight, which the leases bound.
pub(super) struct Reorder<T> {
    next: u64,
    waiting: BTreeMap<u64, T>,
}

impl<T> Reorder<T> {
    pub(super) fn new() -> Self {
        Reorder {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }

    pub(super) fn push(&mut self, index: u64, item: T) {
        self.waiting.insert(index, item);
    }

    /// The next item in order, if it has arrived.
    pub(super) fn pop(&mut self) -> Option<T> {
        let item = self.waiting.remove(&self.next)?;
        self.next += 1;
        Some(item)
    }

    /// How many items have been popped.
    pub(super) fn done(&self) -> u64 {
        self.next
    }
}

/// Runs `f` on a named thread (names show up in `perf` and `top -H`); its
/// result arrives on the returned channel, or the channel closes if it panicked.
pub(super) fn spawn_stage<T, F>(name: &str, f: F) -> Result<oneshot::Receiver<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| Error::io("starting a transfer thread", e))?;
    Ok(rx)
}

/// Waits for a stage's result; a vanished stage (a panic) is an error.
pub(super) async fn join<T>(stage: oneshot::Receiver<T>, name: &str) -> Result<T> {
    stage
        .await
        .map_err(|_| Error::internal(format!("the {name} thread stopped unexpectedly")))
}

/// Keeps the allocator from handing memory back to the kernel between records.
///
/// The cipher wrapper allocates each record's output (about 256 KiB) and we free
/// it once written. glibc's malloc returns freed memory at the top of a heap to
/// the kernel once more than its trim threshold (by then about 512 KiB) is free,
/// so the next record's buffer page-faults back in: a tenth of each side's CPU in
/// profiles. Freeing one block just under glibc's dynamic-threshold ceiling
/// (32 MiB) raises the mmap threshold to it and the trim threshold to twice
/// that, so record buffers come from, and go back to, the heap. Other allocators
/// see one short-lived allocation; the pages are never touched, so RSS does not
/// grow.
pub(super) fn settle_allocator() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let block: Vec<u8> = vec![0; 31 << 20];
        drop(std::hint::black_box(block));
    });
}

/// How many threads seal or open records: records are independent (their nonce
/// is their number), so this scales with cores; a few are plenty next to the
/// reader, hasher and socket.
pub(super) fn crypto_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4)
}

/// Starts `count` workers that take jobs from `jobs` until it closes or `work`
/// returns false (its output went away).
pub(super) fn spawn_workers<J, W>(
    name: &str,
    count: usize,
    jobs: sync_mpsc::Receiver<J>,
    work: W,
) -> Result<()>
where
    J: Send + 'static,
    W: Fn(J) -> bool + Send + Sync + 'static,
{
    let jobs = Arc::new(Mutex::new(jobs));
    let work = Arc::new(work);
    for _ in 0..count {
        let (jobs, work) = (Arc::clone(&jobs), Arc::clone(&work));
        spawn_stage(name, move || {
            while let Some(job) = next_job(&jobs) {
                if !work(job) {
                    break;
                }
            }
        })?;
    }
    Ok(())
}

fn next_job<J>(jobs: &Mutex<sync_mpsc::Receiver<J>>) -> Option<J> {
    jobs.lock().ok()?.recv().ok()
}

/// `io` within `idle` (if set): a peer that takes or gives nothing that long is gone.
pub(super) async fn within<T>(
    idle: Option<std::time::Duration>,
    io: impl std::future::Future<Output = crate::error::Result<T>>,
) -> crate::error::Result<T> {
    match idle {
        Some(idle) => tokio::time::timeout(idle, io)
            .await
            .map_err(|_| crate::error::NetworkError::Silent(idle))?,
        None => io.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorder_releases_in_sequence() {
        let mut r = Reorder::new();
        r.push(2, 'c');
        r.push(1, 'b');
        assert_eq!(r.pop(), None);
        r.push(0, 'a');
        assert_eq!(
            (r.pop(), r.pop(), r.pop(), r.pop()),
            (Some('a'), Some('b'), Some('c'), None)
        );
        assert_eq!(r.done(), 3);
    }

    #[test]
    fn dropped_leases_come_home_and_big_ones_shrink() {
        let mut free = FreeList::new(1);
        let mut lease = free.blocking_take().unwrap();
        lease.resize(4 * super::super::RECORD_SIZE, 0);
        drop(lease);
        let lease = free.blocking_take().unwrap();
        assert_eq!(lease.capacity(), 0);
    }
}
