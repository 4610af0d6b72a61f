//! The state thread: owns the [`State`] (and so the store), takes [`HubOp`]s from
//! the connection tasks, and answers them.
//!
//! Commands that arrive together are applied as one batch and committed once; only
//! then are live messages pushed to listeners and replies sent (in that order), so
//! no client hears of anything that a crash could lose. A listener whose queue is full is dropped
//! (it cannot keep up) instead of ever blocking this thread.

use std::sync::Arc;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

use super::refusal::Refusal;
use super::state::{Answer, Call, CallCtx, Delivery, State, StateConfig};
use crate::metrics::Metrics;
use crate::store::{Store, UsageRecord};

/// Commands applied before one commit.
const MAX_BATCH: usize = 256;
/// Pending operations before connection tasks wait.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Answer, Refusal>>;

pub(crate) enum HubOp {
    Call {
        call: Call,
        ctx: CallCtx,
        reply: Reply,
    },
    /// The connection is gone: stop delivering to it.
    Detach {
        conn: u64,
    },
    /// Run expiry: delete mailboxes not touched since `cutoff`.
    Prune {
        now: f64,
        cutoff: f64,
    },
    Usage(UsageRecord),
}

/// The connection tasks' handle on the state thread.
#[derive(Clone)]
pub(crate) struct Hub {
    tx: mpsc::Sender<HubOp>,
}

impl Hub {
    /// Starts the thread; it ends when every `Hub` clone is dropped.
    pub(crate) fn start<S: Store>(
        store: S,
        cfg: StateConfig,
        metrics: Arc<Metrics>,
    ) -> Result<(Hub, std::thread::JoinHandle<()>), crate::Error> {
        let state = State::new(store, cfg, Arc::clone(&metrics))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("ferry-state".into())
            .spawn(move || run(state, rx, &metrics))
            .map_err(crate::Error::Thread)?;
        Ok((Hub { tx }, thread))
    }

    /// Applies a call and waits for its answer.
    pub(crate) async fn call(&self, call: Call, ctx: CallCtx) -> Result<Answer, Refusal> {
        let (reply, answer) = oneshot::channel();
        if self
            .tx
            .send(HubOp::Call { call, ctx, reply })
            .await
            .is_err()
        {
            return Err(Refusal::Internal);
        }
        answer.await.unwrap_or(Err(Refusal::Internal))
    }

    /// Best effort: if the queue is full, expiry cleans the listener up later.
    pub(crate) fn detach(&self, conn: u64) {
        let _ = self.tx.try_send(HubOp::Detach { conn });
    }

    pub(crate) async fn prune(&self, now: f64, cutoff: f64) {
        let _ = self.tx.send(HubOp::Prune { now, cutoff }).await;
    }

    /// Best effort: usage statistics are not worth blocking a relay for.
    pub(crate) fn usage(&self, rec: UsageRecord) {
        let _ = self.tx.try_send(HubOp::Usage(rec));
    }
}

fn run<S: Store>(mut state: State<S>, mut rx: mpsc::Receiver<HubOp>, metrics: &Metrics) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        apply_batch(&mut state, &mut batch, metrics);
    }
    tracing::debug!("state thread stopped");
}

fn apply_batch<S: Store>(state: &mut State<S>, batch: &mut Vec<HubOp>, metrics: &Metrics) {
    let mut replies = Vec::with_capacity(batch.len());
    let mut out = Vec::new();
    for op in batch.drain(..) {
        match op {
            HubOp::Call { call, ctx, reply } => {
                replies.push((reply, state.apply(call, ctx, &mut out)))
            }
            HubOp::Detach { conn } => state.detach(conn),
            HubOp::Prune { now, cutoff } => state.prune(now, cutoff),
            HubOp::Usage(rec) => state.record(&rec),
        }
    }
    if let Err(e) = state.commit() {
        tracing::error!(error = %e, "commit failed; the batch was rolled back");
        for (reply, _) in replies {
            let _ = reply.send(Err(Refusal::Internal));
        }
        return;
    }
    // Live messages first: a connection that gets its answer then finds in its
    // queue everything this batch broadcast before (and with) its command.
    for d in out {
        deliver(state, d, metrics);
    }
    for (reply, answer) in replies {
        // The connection may have gone meanwhile; nothing to do then.
        let _ = reply.send(answer);
    }
    state.maintain();
}

fn deliver<S: Store>(state: &mut State<S>, d: Delivery, metrics: &Metrics) {
    match d.tx.try_send(d.frame) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            tracing::warn!(conn = d.conn, "dropping a client that does not keep up");
            metrics.slow_clients_dropped.inc();
            state.detach(d.conn);
        }
        Err(TrySendError::Closed(_)) => state.detach(d.conn),
    }
}
