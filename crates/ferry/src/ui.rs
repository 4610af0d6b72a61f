//! What a transfer tells its user, and the one question it asks. The library never
//! prints; the CLI (or a test) implements this.

use crate::error::Error;
use crate::rendezvous::RendezvousObserver;
use crate::transfer::OfferSummary;

/// Callbacks from a running send or receive. Every string from the peer or the
/// server is untrusted: escape it before showing it.
pub trait Ui: RendezvousObserver + Send {
    /// The key is confirmed: the other side typed the right code.
    fn connected(&mut self, _verifier: &[u8; 32]) {}
    /// The bulk connection is up (`direct …` or `relay …`).
    fn transit(&mut self, _description: &str) {}
    /// `done` of `total` bytes moved.
    fn progress(&mut self, _done: u64, _total: u64) {}
    /// Something the user should know that does not stop the transfer.
    fn warn(&mut self, _message: &str) {}
    /// Receiver only, before `accept`: an earlier, interrupted transfer left `held`
    /// of these `total` bytes here; only the rest will move (what is held is
    /// verified again first, so it may turn out less).
    fn resuming(&mut self, _held: u64, _total: u64) {}
    /// Receiver only: may we accept this (already checked for safety and space)?
    fn accept(&mut self, _offer: &OfferSummary) -> bool {
        false
    }
    /// Whether the user cancelled (Ctrl-C): then a "no" from `accept` is a
    /// cancel, which the sender hears as such, not a decline.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Asks the user about `offer`: `Ok` for yes, else a decline or a cancel.
pub(crate) fn ask(ui: &mut dyn Ui, offer: &OfferSummary) -> Result<(), Error> {
    match (ui.accept(offer), ui.cancelled()) {
        (_, true) => Err(Error::Cancelled),
        (true, false) => Ok(()),
        (false, false) => Err(Error::Declined),
    }
}
