//! Cancel as an outcome, not a crash: when the user gives up (Ctrl-C), the other
//! side is told in words it reports as "cancelled", the nameplate is released and
//! the mailbox closed, so the peer stops waiting and the code is free for the
//! next try. A peer that vanished mid-transfer may have said the same through
//! the mailbox: we look there before calling it gone.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

use ferry_proto::transfer::v1::PeerMessage;

use super::Wormhole;
use crate::error::{Error, PeerError, Result};

pub use ferry_proto::transfer::v1::TRANSFER_CANCELLED;

/// The user's "stop", shared between whoever notices it (a signal handler, a
/// prompt) and the transfer that must end. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<watch::Sender<bool>>);

impl Cancel {
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Asks every holder to stop.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once [`Cancel::cancel`] was called (at once if it already was).
    pub async fn cancelled(&self) {
        let mut seen = self.0.subscribe();
        let _ = seen.wait_for(|&cancelled| cancelled).await;
    }

    /// Runs `work` until it ends or the user cancels; a failure that comes from
    /// the cancel itself (a prompt that returned "no", say) is the cancel.
    pub(crate) async fn guard<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let result = tokio::select! {
            biased;
            _ = self.cancelled() => Err(Error::Cancelled),
            result = work => result,
        };
        match result {
            Err(_) if self.is_cancelled() => Err(Error::Cancelled),
            other => other,
        }
    }
}

impl Wormhole {
    /// Tells the peer we cancelled (best effort: the close follows regardless).
    pub(super) async fn say_cancelled(&mut self) {
        let message = PeerMessage::Error(TRANSFER_CANCELLED.into()).encode();
        let patience = self.timing.mailbox_fail_close;
        let _ = tokio::time::timeout(patience, self.send(message)).await;
    }

    /// Resolves when the peer gives up while we wait on our user: with its
    /// error message (a cancel, say), or with the mailbox's own failure. Any
    /// other message is kept for whoever reads next, and the wait goes on.
    pub(crate) async fn peer_left(&mut self) -> Error {
        let bytes = match self.receive().await {
            Ok(bytes) => bytes,
            Err(e) => return e,
        };
        if let Ok(PeerMessage::Error(text)) = PeerMessage::decode(&bytes) {
            return Error::from_peer(text);
        }
        self.inbox.push_front(bytes);
        std::future::pending().await
    }

    /// The peer's connection broke: if it left word in the mailbox that it
    /// cancelled (or failed), that is the better account of what happened.
    pub(super) async fn why_peer_left(&mut self, e: Error) -> Error {
        if !matches!(e, Error::Network(_) | Error::Peer(PeerError::Vanished)) {
            return e;
        }
        let patience = self.timing.mailbox_fail_close;
        match tokio::time::timeout(patience, self.receive()).await {
            Ok(Ok(bytes)) => match PeerMessage::decode(&bytes) {
                Ok(PeerMessage::Error(text)) => Error::from_peer(text),
                _ => e,
            },
            _ => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn guard_ends_work_that_waits_forever() {
        let cancel = Cancel::new();
        let clone = cancel.clone();
        let waiting = cancel.guard(std::future::pending::<Result<()>>());
        let (result, ()) = tokio::join!(waiting, async move { clone.cancel() });
        assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    }

    /// A prompt that returned "no" because of the cancel: the failure is the cancel.
    #[tokio::test]
    async fn a_failure_caused_by_the_cancel_is_the_cancel() {
        let cancel = Cancel::new();
        let result = cancel
            .guard(async {
                cancel.cancel();
                Err::<(), _>(Error::Declined)
            })
            .await;
        assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    }

    #[tokio::test]
    async fn without_a_cancel_the_work_decides() {
        let cancel = Cancel::new();
        assert!(matches!(cancel.guard(async { Ok(7) }).await, Ok(7)));
        let declined = cancel.guard(async { Err::<(), _>(Error::Declined) }).await;
        assert!(matches!(declined, Err(Error::Declined)));
        assert!(!cancel.is_cancelled());
    }

    #[test]
    fn the_peer_hears_cancelled_not_declined() {
        assert!(matches!(
            Error::from_peer(TRANSFER_CANCELLED.into()),
            Error::Peer(PeerError::Cancelled)
        ));
        assert_eq!(Error::Cancelled.reason_for_peer(), TRANSFER_CANCELLED);
        let shown = Error::from(PeerError::Cancelled).to_string();
        assert_eq!(shown, "the other side cancelled the transfer");
    }
}
