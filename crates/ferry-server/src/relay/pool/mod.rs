//! A pool of relay instances behind one name (one TCP load balancer): the two
//! halves of a pair may reach different instances, and still meet.
//!
//! What is shared: a directory `token → owner` ([`RelayDirectory`]), owner
//! being the relay TCP address of the instance holding the waiting
//! connection(s) of that token, and a secret that signs hand-overs.
//!
//! How a connection is placed ([`Pool::place`]), with the token's lock held
//! inside this instance (so a claim and a release of one token never cross):
//! 1. a compatible partner already waits here: pair locally (no directory call);
//! 2. else `claim(token)`: `Here` (the first connection of a token makes its
//!    instance the owner; the claim is atomic, so two halves arriving at two
//!    instances at once agree on one owner) → wait here, as a lone relay does;
//!    `At(owner)` → hand over ([`forward`]).
//!
//! A hand-over connects to the owner's relay TCP port, sends a signed
//! preamble (`ferry_proto::wire::relay_pool`: token, side, the client's
//! address, time, HMAC-SHA256 under the pool secret) instead of the client's
//! line, then splices bytes both ways, for TCP and WebSocket clients alike.
//! The owner checks the tag, applies its per-address limit to the client's
//! address from the preamble, and treats the connection as a local one, except
//! that it is never handed over again (no loops): it waits at the owner even
//! if the directory names someone else. The owner alone counts the pair (usage
//! record, byte budget, pair cap); the forwarder counts its hand-overs in
//! `ferry_relay_forwarded_*` and writes no usage record.
//!
//! Failures: an owner that does not accept the connection within the relay
//! handshake timeout is evicted (compare-and-delete) and the claim retried, so
//! the forwarding instance usually becomes the owner and its client waits
//! there. A directory call that fails or times out counts in
//! `ferry_relay_pool_errors_total` and the connection is placed locally, as if
//! there were no pool. When the last waiting connection of a token here pairs
//! or leaves, the entry is released (after the pair is handed its streams,
//! so a slow directory delays no pair).

mod directory;
mod forward;
mod preamble;

use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::wire::relay::RelayRequest;
use ferry_proto::wire::relay_pool::PoolPreamble;

pub use directory::{DirFuture, DirectoryError, MemoryDirectory, NoPool, Owner, RelayDirectory};
pub(crate) use forward::forward;
use preamble::{PoolKey, Refused};

use super::pairing::Arrival;
use super::pairs::{Pairs, Waiter, TOO_MANY};
use crate::limits::IpSlot;
use crate::metrics::Metrics;

/// Locks per instance that serialise directory calls per token (by hash).
const STRIPES: usize = 64;

/// How a server joins a pool: the shared directory and the shared secret
/// (`Config::relay_pool`). Every instance of a pool needs the same secret.
#[derive(Clone)]
pub struct RelayPool {
    directory: Arc<dyn RelayDirectory>,
    secret: Arc<[u8]>,
}

impl RelayPool {
    /// The shortest pool secret accepted, in bytes.
    pub const MIN_SECRET_LEN: usize = 16;

    /// `secret` must be at least [`RelayPool::MIN_SECRET_LEN`] bytes (checked
    /// when the server starts).
    pub fn new(directory: Arc<dyn RelayDirectory>, secret: impl Into<Vec<u8>>) -> Self {
        RelayPool {
            directory,
            secret: secret.into().into(),
        }
    }
}

impl fmt::Debug for RelayPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayPool").finish_non_exhaustive()
    }
}

/// Who a relay connection came from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin {
    /// A client, connected to this instance.
    Client(IpAddr),
    /// A client of another instance of the pool, handed over here.
    Forwarded(IpAddr),
}

impl Origin {
    pub(crate) fn ip(self) -> IpAddr {
        match self {
            Origin::Client(ip) | Origin::Forwarded(ip) => ip,
        }
    }
}

/// Where [`Pool::place`] put a connection.
pub(crate) enum Placed {
    /// Paired or waiting here.
    Here(Arrival<Waiter>),
    /// The token's owner is another instance: hand over.
    At(SocketAddr),
}

/// A server's membership in a pool, at run time.
pub(crate) struct Pool {
    directory: Arc<dyn RelayDirectory>,
    /// This instance's relay TCP address as the others reach it.
    me: SocketAddr,
    key: PoolKey,
    turns: Box<[tokio::sync::Mutex<()>]>,
    /// Bound on each directory call, and on connecting to an owner.
    timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Pool {
    /// `me`: the advertised relay TCP address. Refuses a short secret.
    pub(crate) fn new(
        pool: &RelayPool,
        me: SocketAddr,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Pool, crate::Error> {
        let min = RelayPool::MIN_SECRET_LEN;
        if pool.secret.len() < min {
            return Err(crate::Error::Config(format!(
                "the relay pool secret must be at least {min} bytes"
            )));
        }
        Ok(Pool {
            directory: Arc::clone(&pool.directory),
            me,
            key: PoolKey::new(&pool.secret),
            turns: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            timeout,
            metrics,
        })
    }

    fn turn(&self, token: &str) -> &tokio::sync::Mutex<()> {
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(token);
        &self.turns[(h % self.turns.len() as u64) as usize]
    }

    /// Pairs or parks `waiter` here, or names the owner to hand over to.
    pub(crate) async fn place(
        &self,
        pairs: &Pairs,
        id: u64,
        req: &RelayRequest,
        waiter: Waiter,
        origin: Origin,
    ) -> Placed {
        let _turn = self.turn(&req.token).lock().await;
        if !pairs.would_pair(req) {
            match (self.claim(&req.token).await, origin) {
                (Owner::Here, _) => {}
                (Owner::At(owner), Origin::Client(_)) => return Placed::At(owner),
                (Owner::At(_), Origin::Forwarded(_)) => {
                    tracing::info!("a handed-over connection waits here though another instance owns its token");
                }
            }
        }
        Placed::Here(pairs.arrive(id, req, waiter))
    }

    /// A connection for `token` stopped waiting here (paired, or gave up):
    /// release the token if none is left. Checked under the token's turn, so
    /// a connection that claimed it meanwhile keeps it.
    pub(crate) async fn left(&self, pairs: &Pairs, token: &str) {
        let _turn = self.turn(token).lock().await;
        if !pairs.has_waiters(token) {
            self.release(token).await;
        }
    }

    /// The owner of `token`; this instance when the directory fails.
    async fn claim(&self, token: &str) -> Owner {
        let call = self.directory.claim(token, self.me);
        self.call("claim", call).await.unwrap_or(Owner::Here)
    }

    async fn release(&self, token: &str) {
        let call = self.directory.release(token, self.me);
        self.call("release", call).await;
    }

    /// Drops `owner`'s entry for `token`: it did not answer.
    async fn evict(&self, token: &str, owner: SocketAddr) {
        self.metrics.relay_pool_evictions_total.inc();
        let call = self.directory.evict(token, owner);
        self.call("evict", call).await;
    }

    /// Runs one directory call within the timeout; `None` (logged and
    /// counted) when it fails or is late.
    async fn call<T>(&self, name: &'static str, fut: DirFuture<'_, T>) -> Option<T> {
        let error = match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => return Some(v),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        self.metrics.relay_pool_errors_total.inc();
        tracing::warn!(call = name, error, "relay directory call failed");
        None
    }

    /// Checks a hand-over line and moves the per-address slot from the
    /// forwarding instance to the client it names. `Err` is the line to answer.
    pub(crate) fn accept(
        &self,
        p: PoolPreamble,
        slot: &mut IpSlot,
    ) -> Result<(RelayRequest, Origin), &'static [u8]> {
        if let Err(why) = self.key.verify(&p, preamble::unix_now()) {
            self.metrics.relay_pool_refused_total.inc();
            match why {
                Refused::BadTag => tracing::warn!("refusing a hand-over line with a wrong tag"),
                Refused::Stale => tracing::warn!("refusing a stale hand-over line"),
            }
            return Err(ferry_proto::wire::relay::BAD_HANDSHAKE);
        }
        if !slot.move_to(p.client_ip) {
            self.metrics.refused_per_ip_relay.inc();
            tracing::warn!("refusing a handed-over connection: too many from its client's address");
            return Err(TOO_MANY);
        }
        Ok((p.request, Origin::Forwarded(p.client_ip)))
    }
}
