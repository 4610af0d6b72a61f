//! The state without a thread of its own, for a store that only this instance
//! uses (SQLite, memory): the task that submits an operation applies it itself,
//! together with every operation waiting (flat combining).
//!
//! With a state thread, each command cost two sleeps and two wake-ups more: the
//! thread woke for it and slept again after, and the connection's worker slept
//! while it waited for the answer and woke for it. Under load those context
//! switches were the largest single item of the server's CPU (`perf`: a quarter
//! of it in `finish_task_switch`). Here a submitter that finds the state free
//! applies the waiting operations as one batch (one commit, as the thread did)
//! and has its answer when it returns; one that finds it busy leaves its
//! operation in the queue, and the holder applies it before letting go. The
//! holder looks at the queue once more after unlocking the state, so no
//! operation is left behind.
//!
//! A batch blocks the worker that applies it for the commit (a `pwrite` to the
//! WAL, tens of microseconds), and for the store's housekeeping when there is
//! some (SQLite checkpointing a WAL that grew past 64 MiB: the state thread
//! blocked every command for it, here the other workers go on with their
//! connections); expiry, which may delete many mailboxes, is submitted from a
//! blocking thread (`Hub::prune`).

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use super::batch::{apply_batch, HubOp, MAX_BATCH};
use super::state::State;
use crate::metrics::Metrics;
use crate::store::Store;

/// Where operations go when there is no state thread.
pub(super) trait Engine: Send + Sync {
    /// Queues `op` and, if no one else is applying operations, applies it with
    /// everything queued.
    fn submit(&self, op: HubOp);
}

/// See the module docs.
pub(super) struct Combiner<S> {
    queue: Mutex<Vec<HubOp>>,
    state: Mutex<Owned<S>>,
    metrics: Arc<Metrics>,
}

struct Owned<S> {
    state: State<S>,
    batch: Vec<HubOp>,
}

/// A poisoned lock (a panic while applying) leaves nothing half-done that the
/// store's rollback does not undo: go on.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<S: Store> Combiner<S> {
    pub(super) fn new(state: State<S>, metrics: Arc<Metrics>) -> Self {
        Combiner {
            queue: Mutex::new(Vec::new()),
            state: Mutex::new(Owned {
                state,
                batch: Vec::new(),
            }),
            metrics,
        }
    }

    /// Applies batches while operations are queued, if the state is free.
    /// Returns whether it had the state.
    fn combine(&self) -> bool {
        let mut owned = match self.state.try_lock() {
            Ok(g) => g,
            Err(TryLockError::WouldBlock) => return false,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
        };
        let Owned { state, batch } = &mut *owned;
        loop {
            {
                let mut queue = lock(&self.queue);
                let n = queue.len().min(MAX_BATCH);
                batch.extend(queue.drain(..n));
            }
            if batch.is_empty() {
                return true;
            }
            apply_batch(state, batch, &self.metrics);
        }
    }
}

impl<S: Store> Engine for Combiner<S> {
    fn submit(&self, op: HubOp) {
        lock(&self.queue).push(op);
        // Another submitter may have queued after the holder's last look and
        // before it let go: whoever sees a queue left over takes the state.
        while self.combine() && !lock(&self.queue).is_empty() {}
    }
}
