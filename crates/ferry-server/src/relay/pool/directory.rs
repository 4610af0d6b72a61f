//! The directory of waiting tokens that the instances of a relay pool share:
//! which instance owns a token, i.e. holds the connection(s) waiting for it.
//!
//! [`RelayDirectory`] is what a shared store implements (PostgreSQL, …);
//! [`MemoryDirectory`] is one for several servers in one process (tests, and
//! instances on one host), [`NoPool`] the trivial one of a lone instance.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// What [`RelayDirectory`] methods return: a boxed future, so that the trait
/// stays object-safe (`Arc<dyn RelayDirectory>`) on the workspace MSRV.
pub type DirFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DirectoryError>> + Send + 'a>>;

/// Who owns a token after [`RelayDirectory::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The caller (`me`): its connection waits here, partners are sent here.
    Here,
    /// Another instance, reached at this relay TCP address.
    At(SocketAddr),
}

/// A directory call that failed (store unreachable, query error, …). The
/// relay then falls back to pairing locally, as a lone instance would.
#[derive(Debug, thiserror::Error)]
#[error("relay directory: {source}")]
pub struct DirectoryError {
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl DirectoryError {
    /// Wraps the store's own error.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        DirectoryError {
            source: source.into(),
        }
    }
}

/// The shared table `token → owner`, owner being an instance's relay TCP
/// address (`me`, the advertised address). Every method must be safe to call
/// from many instances at once; the relay calls them with the token's own
/// lock held inside one instance, never across instances.
///
/// Semantics each implementation must keep:
///
/// - [`claim`](RelayDirectory::claim) is one atomic insert-if-absent. With no
///   entry for `token` (or only an expired one, see below) it stores
///   `token → me` and answers [`Owner::Here`]; with an entry owned by `me` it
///   answers `Here` (and may refresh the entry's age); with an entry owned by
///   another address `a` it answers `At(a)` and changes nothing. Two instances
///   claiming the same absent token at the same moment: exactly one gets
///   `Here`, the other `At(winner)`.
/// - [`release`](RelayDirectory::release) deletes the entry only if `me` owns
///   it (compare-and-delete); no entry, or another owner, is not an error.
///   Called when this instance's last waiting connection for the token paired
///   or left.
/// - [`evict`](RelayDirectory::evict) deletes the entry only if `owner` still
///   owns it: a forwarding instance calls it after `owner` did not accept a
///   TCP connection, then claims again (and may become the owner). It must not
///   remove an entry a live instance claimed in the meantime.
/// - Entries of a dead instance stay until someone evicts them, or until they
///   are older than the directory's entry lifetime (at least the relay wait
///   timeout of the pool's instances: no connection waits longer); `claim` may
///   then treat them as absent and take them over, and the store may delete
///   them in the background. An instance that restarts on the same address
///   owns its old entries again, which is right: partners forwarded to it
///   wait there.
///
/// A call should finish within a few seconds; the relay gives each one the
/// relay handshake timeout and treats a late answer as an error.
pub trait RelayDirectory: Send + Sync + 'static {
    /// Atomic insert-if-absent of `token → me`; who owns `token` afterwards.
    fn claim<'a>(&'a self, token: &'a str, me: SocketAddr) -> DirFuture<'a, Owner>;
    /// Deletes `token` if `me` owns it.
    fn release<'a>(&'a self, token: &'a str, me: SocketAddr) -> DirFuture<'a, ()>;
    /// Deletes `token` if `owner` (which did not answer) still owns it.
    fn evict<'a>(&'a self, token: &'a str, owner: SocketAddr) -> DirFuture<'a, ()>;
}

/// A lone instance: it owns every token. (A server without a pool does not
/// even call this; it is the reference for what "no pool" means.)
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPool;

impl RelayDirectory for NoPool {
    fn claim<'a>(&'a self, _token: &'a str, _me: SocketAddr) -> DirFuture<'a, Owner> {
        Box::pin(std::future::ready(Ok(Owner::Here)))
    }
    fn release<'a>(&'a self, _token: &'a str, _me: SocketAddr) -> DirFuture<'a, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
    fn evict<'a>(&'a self, _token: &'a str, _owner: SocketAddr) -> DirFuture<'a, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The directory in this process's memory: share one `Arc` between several
/// `Server`s (tests, or instances in one process).
#[derive(Debug)]
pub struct MemoryDirectory {
    entries: Mutex<HashMap<String, (SocketAddr, Instant)>>,
    lifetime: Duration,
}

impl MemoryDirectory {
    /// Entries older than `lifetime` are taken over by the next claim.
    pub fn new(lifetime: Duration) -> Self {
        MemoryDirectory {
            entries: Mutex::new(HashMap::new()),
            lifetime,
        }
    }

    /// Tokens with an owner now (expired entries included until taken over).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no token has an owner.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The owner of `token`, if any.
    pub fn owner(&self, token: &str) -> Option<SocketAddr> {
        self.lock().get(token).map(|(owner, _)| *owner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (SocketAddr, Instant)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, token: &str, me: SocketAddr) -> Owner {
        let now = Instant::now();
        let mut entries = self.lock();
        match entries.get_mut(token) {
            Some((owner, at)) if *owner != me && now.duration_since(*at) < self.lifetime => {
                Owner::At(*owner)
            }
            Some(entry) => {
                *entry = (me, now);
                Owner::Here
            }
            None => {
                entries.insert(token.to_owned(), (me, now));
                Owner::Here
            }
        }
    }

    fn remove_if_owned(&self, token: &str, by: SocketAddr) {
        let mut entries = self.lock();
        if entries.get(token).is_some_and(|(owner, _)| *owner == by) {
            entries.remove(token);
        }
    }
}

impl RelayDirectory for MemoryDirectory {
    fn claim<'a>(&'a self, token: &'a str, me: SocketAddr) -> DirFuture<'a, Owner> {
        Box::pin(std::future::ready(Ok(self.claim_now(token, me))))
    }
    fn release<'a>(&'a self, token: &'a str, me: SocketAddr) -> DirFuture<'a, ()> {
        self.remove_if_owned(token, me);
        Box::pin(std::future::ready(Ok(())))
    }
    fn evict<'a>(&'a self, token: &'a str, owner: SocketAddr) -> DirFuture<'a, ()> {
        self.remove_if_owned(token, owner);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[tokio::test]
    async fn first_claim_owns_and_others_are_told_where() {
        let d = MemoryDirectory::new(Duration::from_secs(60));
        assert_eq!(d.claim("t", addr(1)).await.unwrap(), Owner::Here);
        assert_eq!(d.claim("t", addr(1)).await.unwrap(), Owner::Here);
        assert_eq!(d.claim("t", addr(2)).await.unwrap(), Owner::At(addr(1)));
        assert_eq!(d.claim("u", addr(2)).await.unwrap(), Owner::Here);
        assert_eq!(d.len(), 2);
    }

    #[tokio::test]
    async fn release_and_evict_only_remove_their_owner() {
        let d = MemoryDirectory::new(Duration::from_secs(60));
        d.claim("t", addr(1)).await.unwrap();
        d.release("t", addr(2)).await.unwrap();
        d.evict("t", addr(2)).await.unwrap();
        assert_eq!(d.owner("t"), Some(addr(1)));
        d.evict("t", addr(1)).await.unwrap();
        assert_eq!(d.claim("t", addr(2)).await.unwrap(), Owner::Here);
        d.release("t", addr(2)).await.unwrap();
        assert!(d.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_entry_is_taken_over() {
        let d = MemoryDirectory::new(Duration::from_secs(60));
        d.claim("t", addr(1)).await.unwrap();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(d.claim("t", addr(2)).await.unwrap(), Owner::At(addr(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(d.claim("t", addr(2)).await.unwrap(), Owner::Here);
    }

    #[tokio::test]
    async fn no_pool_owns_everything() {
        assert_eq!(NoPool.claim("t", addr(1)).await.unwrap(), Owner::Here);
        NoPool.release("t", addr(1)).await.unwrap();
    }
}
