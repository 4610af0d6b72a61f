//! A batch of operations on the [`State`]: applied together, committed once,
//! then live messages pushed to listeners and replies sent (in that order), so no
//! client hears of anything that a crash could lose. Both ways of running the
//! state use it: the state thread of a shared store (hub.rs) and the submitting
//! tasks of a store only this instance uses (combine.rs).
//!
//! A batch that conflicts with another instance's is rolled back and run again,
//! up to [`MAX_TRIES`] times; other instances' messages, announced by
//! [`Changed`] notices, are read from the store first, each listener getting
//! every position once and in order.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::oneshot;

use super::live::TrySendError;
use super::refusal::Refusal;
use super::state::{Answer, Call, CallCtx, Delivery, Next, State};
use crate::metrics::Metrics;
use crate::store::{Changed, Store, UsageRecord};

/// Commands applied before one commit.
pub(super) const MAX_BATCH: usize = 256;
/// Runs of a batch that keeps conflicting before its commands fail.
const MAX_TRIES: usize = 12;

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
