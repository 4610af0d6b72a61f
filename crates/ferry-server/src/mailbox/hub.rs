//! The state thread: owns the [`State`] (and so the store), takes [`HubOp`]s from
//! the connection tasks, and applies them in batches (batch.rs). With a store only
//! this instance uses (SQLite, memory) there is no such thread once the store is
//! open: the task that submits an operation applies it itself, with any others
//! waiting (combine.rs).
//!
//! A listener whose queue is full is dropped (it cannot keep up) instead of ever
//! blocking this thread. With a store shared by several instances (PostgreSQL),
//! batches take turns under the store's lock; other instances' messages arrive
//! as [`Changed`](crate::store::Changed) notices, and a tick every second retries
//! catch-ups a failed batch left.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::batch::{apply_batch, HubOp, MAX_BATCH};
use super::combine::{Combiner, Engine};
use super::refusal::Refusal;
use super::state::{Answer, Call, CallCtx, State, StateConfig};
use crate::metrics::Metrics;
use crate::store::{listen_for_changes, ChangeSink, Changed, Store, StoreError, UsageRecord};

/// Pending operations before connection tasks wait.
const QUEUE: usize = 4096;

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
                    let feed = store.change_feed();
                    let shared = feed.is_some();
                    if let Some(feed) = feed {
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
