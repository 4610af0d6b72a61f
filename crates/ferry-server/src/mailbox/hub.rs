//! The state thread: owns the [`State`] (and so the store), takes [`HubOp`]s from
//! the connection tasks, and answers them. With a store only this instance uses
//! (SQLite, memory) there is no such thread once the store is open: the task that
//! submits an operation applies it itself, with any others waiting (combine.rs).
//!
//! Commands that arrive together are applied as one batch and committed once; only
//! then are live messages pushed to listeners and replies sent (in that order), so
//! no client hears of anything that a crash could lose. A listener whose queue is full is dropped
//! (it cannot keep up) instead of ever blocking this thread.
//!
//! With a store shared by several instances (PostgreSQL), batches take turns under
//! the store's lock; one that still conflicts (a writer outside that lock) is
//! rolled back and run again, up to [`MAX_TRIES`] times;
//! other instances' messages arrive as [`Changed`] notices and are read from the
//! store, each listener getting every position once and in order.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use tokio::sync::{mpsc, oneshot};

use super::combine::{Combiner, Engine};
use super::live::TrySendError;
use super::refusal::Refusal;
use super::state::{Answer, Call, CallCtx, Delivery, Next, State, StateConfig};
use crate::metrics::Metrics;
use crate::store::{listen_for_changes, ChangeSink, Changed, Store, StoreError, UsageRecord};

/// Commands applied before one commit.
pub(super) const MAX_BATCH: usize = 256;
/// Runs of a batch that keeps conflicting before its commands fail.
const MAX_TRIES: usize = 12;
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
    /// Another instance changed the shared store.
    Changed(Changed),
    /// Nothing but a batch: it retries catch-ups a failed one left.
    Tick,
}

/// The connection tasks' handle on the state thread.
#[derive(Clone)]
pub(crate) struct Hub {
    way: Way,
}

#[derive(Clone)]
enum Way {
    /// To the state thread (a shared store).
    Thread(mpsc::Sender<HubOp>),
    /// Applied by the submitting task (see combine.rs).
    Inline(Arc<dyn Engine>),
}

/// Opens the state thread's store, on that thread: a blocking client
/// (PostgreSQL's) must not run on the async runtime.
pub(crate) type Opener<S> = Box<dyn FnOnce() -> Result<S, StoreError> + Send>;

/// Passes the listening thread's notices into the queue, without keeping the
/// state thread alive.
struct Notices(mpsc::WeakSender<HubOp>);

impl ChangeSink for Notices {
    fn changed(&mut self, c: Changed) -> bool {
        tracing::trace!(change = ?c, "another instance changed the store");
        self.0
            .upgrade()
            .is_some_and(|tx| tx.blocking_send(HubOp::Changed(c)).is_ok())
    }

    fn wanted(&self) -> bool {
        self.0.upgrade().is_some()
    }
}

impl Hub {
    /// Opens the store on a thread of its own. A shared store keeps the thread:
    /// it ends when every `Hub` clone is dropped. Any other store is handed back,
    /// the thread ends, and the callers apply their operations themselves.
    pub(crate) async fn start<S: Store>(
        opener: Opener<S>,
        cfg: StateConfig,
        metrics: Arc<Metrics>,
    ) -> Result<(Hub, std::thread::JoinHandle<()>), crate::Error> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let metrics_here = Arc::clone(&metrics);
        let notices = Notices(tx.downgrade());
        let (ready, started) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("ferry-state".into())
            .spawn(move || {
                let opened = opener().and_then(|store| {
                    let shared = store.change_feed().is_some();
                    if let Some(feed) = store.change_feed() {
                        listen_for_changes(feed, notices)?;
                    }
                    Ok((State::new(store, cfg, Arc::clone(&metrics))?, shared))
                });
                match opened {
                    Ok((state, false)) => {
                        let _ = ready.send(Ok(Some(state)));
                    }
                    Ok((state, true)) => {
                        let _ = ready.send(Ok(None));
                        run(state, rx, &metrics);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .map_err(crate::Error::Thread)?;
        let way = match started.await {
            Ok(Ok(Some(state))) => Way::Inline(Arc::new(Combiner::new(state, metrics_here))),
            Ok(Ok(None)) => {
                tokio::spawn(tick(tx.downgrade()));
                Way::Thread(tx)
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(StoreError::new("the state thread died while starting").into()),
        };
        Ok((Hub { way }, thread))
    }

    /// Hands `op` to the state without waiting (dropped if the thread's queue is full).
    fn submit(&self, op: HubOp) {
        match &self.way {
            Way::Thread(tx) => {
                let _ = tx.try_send(op);
            }
            Way::Inline(engine) => engine.submit(op),
        }
    }

    /// Applies a call and waits for its answer.
    pub(crate) async fn call(&self, call: Call, ctx: CallCtx) -> Result<Answer, Refusal> {
        let (reply, answer) = oneshot::channel();
        let op = HubOp::Call { call, ctx, reply };
        match &self.way {
            Way::Thread(tx) => {
                if tx.send(op).await.is_err() {
                    return Err(Refusal::Internal);
                }
            }
            // Usually answered by the time this returns.
            Way::Inline(engine) => engine.submit(op),
        }
        answer.await.unwrap_or(Err(Refusal::Internal))
    }

    /// Best effort: if the queue is full, expiry cleans the listener up later.
    pub(crate) fn detach(&self, conn: u64) {
        self.submit(HubOp::Detach { conn });
    }

    /// Expiry, which may delete many mailboxes: off the async workers.
    pub(crate) async fn prune(&self, now: f64, cutoff: f64) {
        let op = HubOp::Prune { now, cutoff };
        match &self.way {
            Way::Thread(tx) => {
                let _ = tx.send(op).await;
            }
            Way::Inline(engine) => {
                let engine = Arc::clone(engine);
                let _ = tokio::task::spawn_blocking(move || engine.submit(op)).await;
            }
        }
    }

    /// Best effort: usage statistics are not worth blocking a relay for.
    pub(crate) fn usage(&self, rec: UsageRecord) {
        self.submit(HubOp::Usage(rec));
    }
}

/// How often a shared store's state thread wakes up by itself to retry
/// catch-ups (notices from other instances may have stopped coming).
const TICK: Duration = Duration::from_secs(1);

/// Wakes the state thread every [`TICK`] until it is gone.
async fn tick(tx: mpsc::WeakSender<HubOp>) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(tx) = tx.upgrade() else { return };
        // A full queue means batches are running anyway.
        let _ = tx.try_send(HubOp::Tick);
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

/// Applies and commits `batch` (emptying it), then delivers and answers.
pub(super) fn apply_batch<S: Store>(
    state: &mut State<S>,
    batch: &mut Vec<HubOp>,
    metrics: &Metrics,
) {
    let mut tried = 0;
    let (answers, out) = loop {
        tried += 1;
        let (answers, out) = run_batch(state, batch);
        match state.commit() {
            Ok(()) => {
                state.settle_catch_ups(true);
                break (answers, out);
            }
            Err(e) if e.is_conflict() && tried < MAX_TRIES => {
                metrics.store_conflicts.inc();
                tracing::debug!(
                    tried,
                    "conflict with another instance; running the batch again"
                );
                std::thread::sleep(conflict_backoff(tried));
            }
            Err(e) => {
                state.settle_catch_ups(false);
                tracing::error!(error = %e, "commit failed; the batch was rolled back");
                for reply in replies(batch) {
                    let _ = reply.send(Err(Refusal::Internal));
                }
                return;
            }
        }
    };
    // Live messages first: a connection that gets its answer then finds in its
    // queue everything this batch broadcast before (and with) its command.
    deliver_all(state, out, metrics);
    for (reply, answer) in replies(batch).zip(answers) {
        // The connection may have gone meanwhile; nothing to do then.
        let _ = reply.send(answer);
    }
    state.maintain();
}

/// A random pause before running a conflicting batch again, growing with the
/// tries: the other instance, which conflicted too, is retrying at the same time,
/// and without jitter the two could keep colliding.
fn conflict_backoff(tries: usize) -> Duration {
    // PostgreSQL reports a conflict only once the other transaction has
    // committed, so the first runs again go at once: they see its writes. The
    // state thread serves every client of this instance, so it sleeps only when
    // collisions persist.
    if tries < 3 {
        return Duration::ZERO;
    }
    let cap_us = 250u64 << tries.min(8); // 2 ms, 4 ms, ... 64 ms
    Duration::from_micros(rand::thread_rng().gen_range(0..cap_us))
}

/// Applies every operation of the batch (again, after a conflict): the batch
/// keeps its operations until they are committed.
fn run_batch<S: Store>(
    state: &mut State<S>,
    batch: &[HubOp],
) -> (Vec<Result<Answer, Refusal>>, Vec<Delivery>) {
    let mut answers = Vec::with_capacity(batch.len());
    let mut out = Vec::new();
    state.prefetch(batch.iter().filter_map(|op| match op {
        HubOp::Call { call, .. } => Some(call),
        _ => None,
    }));
    state.retry_catch_ups(&mut out);
    // Other instances' messages first, all read at once: they were stored
    // before anything this batch adds.
    let mut changed = Vec::new();
    for op in batch {
        match op {
            HubOp::Changed(Changed::Mailbox { app, id }) => {
                changed.push((Arc::from(app.as_str()), id.clone()))
            }
            HubOp::Changed(Changed::All) => changed.extend(state.listened()),
            _ => {}
        }
    }
    state.catch_up(changed, &mut out);
    for op in batch {
        match op {
            HubOp::Call { call, ctx, .. } => {
                answers.push(state.apply(call.clone(), ctx.clone(), &mut out))
            }
            HubOp::Detach { conn } => state.detach(*conn),
            HubOp::Prune { now, cutoff } => state.prune(*now, *cutoff),
            HubOp::Usage(rec) => state.record(rec),
            HubOp::Changed(_) | HubOp::Tick => {}
        }
    }
    (answers, out)
}

/// The reply channels of the batch's calls, in order (the batch is spent).
fn replies(batch: &mut Vec<HubOp>) -> impl Iterator<Item = Reply> + '_ {
    batch.drain(..).filter_map(|op| match op {
        HubOp::Call { reply, .. } => Some(reply),
        _ => None,
    })
}

/// Pushes committed messages to their listeners, each position once and in
/// order; a listener that misses some (other instances added them) is caught up
/// from the store first.
fn deliver_all<S: Store>(state: &mut State<S>, out: Vec<Delivery>, metrics: &Metrics) {
    let mut behind = HashSet::new();
    for d in out {
        match state.advance(d.conn, d.pos) {
            Next::Send => deliver(state, d, metrics),
            Next::Skip => {}
            Next::Gap => {
                behind.extend(state.listened_by(d.conn));
            }
        }
    }
    if behind.is_empty() {
        return;
    }
    let mut more = Vec::new();
    state.catch_up(behind, &mut more);
    // Ends the read's transaction; nothing was written.
    let committed = state.commit();
    state.settle_catch_ups(committed.is_ok());
    if let Err(e) = committed {
        tracing::warn!(error = %e, "cannot catch up with other instances' messages; retrying");
        return;
    }
    for d in more {
        if state.advance(d.conn, d.pos) == Next::Send {
            deliver(state, d, metrics);
        }
    }
}
fn deliver<S: Store>(state: &mut State<S>, d: Delivery, metrics: &Metrics) {
    match d.tx.try_send(d.frame) {
        Ok(()) => {}
        Err(TrySendError::Full) => {
            tracing::warn!(conn = d.conn, "dropping a client that does not keep up");
            metrics.slow_clients_dropped.inc();
            state.detach(d.conn);
        }
        Err(TrySendError::Closed) => state.detach(d.conn),
    }
}
