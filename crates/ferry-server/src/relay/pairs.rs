//! The connections waiting at this instance for their partner: the
//! [`Pairing`] table behind a lock, with the `relay_waiting` gauge kept in step.
//! Both the connection code (`conn`) and the pool (`pool`) pair through it, so
//! neither needs the other's context.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;
use tokio::time::Instant;

use ferry_proto::wire::relay::RelayRequest;

use super::pairing::{Arrival, Pairing};
use super::stream::RelayStream;
use crate::metrics::Metrics;

/// ferry's own refusals (the reference relay has none).
pub(crate) const BUSY: &[u8] = b"error: the relay is busy, try later\n";
pub(crate) const TOO_MANY: &[u8] = b"error: too many connections from your address\n";

/// How to reach a waiting connection: send it the partner's stream.
pub(crate) struct Waiter(pub(super) oneshot::Sender<Partner>);

/// The second connection of a pair, handed to the first.
pub(crate) struct Partner {
    pub(super) stream: RelayStream,
    pub(super) arrived: Instant,
}

/// See the module docs.
pub(crate) struct Pairs {
    table: Mutex<Pairing<Waiter>>,
    metrics: Arc<Metrics>,
}

impl Pairs {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        Pairs {
            table: Mutex::new(Pairing::default()),
            metrics,
        }
    }

    fn table(&self) -> MutexGuard<'_, Pairing<Waiter>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish_waiting(&self, table: &Pairing<Waiter>) {
        self.metrics.relay_waiting.set(table.waiting() as i64);
    }

    /// Pairs with a waiting partner, or waits under `id`.
    pub(crate) fn arrive(&self, id: u64, req: &RelayRequest, waiter: Waiter) -> Arrival<Waiter> {
        let mut t = self.table();
        let a = t.arrive(id, &req.token, req.side.as_deref(), waiter);
        self.publish_waiting(&t);
        a
    }

    /// The connection `id` stopped waiting for `token` without a partner.
    pub(crate) fn leave(&self, id: u64, token: &str) {
        let mut t = self.table();
        t.leave(id, token);
        self.publish_waiting(&t);
    }

    /// Whether `req` would pair now.
    pub(crate) fn would_pair(&self, req: &RelayRequest) -> bool {
        self.table().would_pair(&req.token, req.side.as_deref())
    }

    /// Whether a connection waits here with `token`.
    pub(crate) fn has_waiters(&self, token: &str) -> bool {
        self.table().has_waiters(token)
    }
}
