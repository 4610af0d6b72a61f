//! What a transfer tells its user, and the one question it asks. The library never
//! prints; the CLI (or a test) implements this.

use crate::error::Error;
use crate::rendezvous::RendezvousObserver;
use crate::transfer::{ItemKind, OfferSummary, Selection};

/// Callbacks from a running send or receive. Every string from the peer or the
/// server is untrusted: escape it before showing it.
pub trait Ui: RendezvousObserver + Send {
    /// Sender only, before the code: what will be offered.
    fn sending(&mut self, _what: &Outgoing) {}
    /// The key is confirmed: the other side typed the right code.
    fn connected(&mut self, _verifier: &[u8; 32]) {}
    /// The bulk connection is up (`direct …` or `relay …`).
    fn transit(&mut self, _description: &str) {}
    /// `done` of `total` bytes are with the receiver.
    fn progress(&mut self, _done: u64, _total: u64) {}
    /// Like `progress`, but the step is data the receiver already had (resumed
    /// or identical files): nothing moved, so it must not count as speed.
    fn present(&mut self, done: u64, total: u64) {
        self.progress(done, total);
    }
    /// A directory transfer reached file `index` (1-based) of `count`; `path` is
    /// relative to the top name and, on the receiving side, from the peer.
    fn file(&mut self, _index: u64, _count: u64, _path: &str) {}
    /// The content of file `path` (relative, as offered) has this hash: the
    /// receiver verified it before the transfer succeeded. Said where the
    /// protocol knows it: ferry to ferry every file's BLAKE3 root (what `b3sum`
    /// prints), v1 the SHA-256 of a single file.
    fn hashed(&mut self, _path: &str, _digest: &Digest) {}
    /// v1 sender: every byte is written; the receiver's final ack is awaited.
    fn confirming(&mut self) {}
    /// ferry to ferry: the transit connection broke (`why`) and is being made
    /// again; `attempt` counts connections (2: the first reconnection). A new
    /// `transit` follows when it is made.
    fn reconnecting(&mut self, _attempt: u32, _why: &str) {}
    /// ferry to ferry: our first transit connection failed (`why`), but the
    /// peer made one that broke before we saw it and asks to connect again;
    /// we follow. Otherwise as `reconnecting` (which it calls by default).
    fn connecting_again(&mut self, attempt: u32, why: &str) {
        self.reconnecting(attempt, why);
    }
    /// Native only, once per break, before the first `reconnecting`: we wait
    /// at most `secs` for the other side to come back (a receiver may come
    /// back as a new process, with its stored session).
    fn waiting_for_peer(&mut self, _secs: u64) {}
    /// Something the user should know that does not stop the transfer.
    fn warn(&mut self, _message: &str) {}
    /// Sharing only (`lan::share`): the device at `to` fetched our file `path`
    /// (as shared, `DIR/sub/name`); `complete` is false when it stopped early.
    fn served(&mut self, _to: std::net::IpAddr, _path: &str, _complete: bool) {}
    /// Receiver only, before `accept`: an earlier, interrupted transfer left `held`
    /// of these `total` bytes here; only the rest will move (what is held is
    /// verified again first, so it may turn out less).
    fn resuming(&mut self, _held: u64, _total: u64) {}
    /// Receiver only: may we accept this (already checked for safety and space)?
    fn accept(&mut self, _offer: &OfferSummary) -> bool {
        false
    }
    /// [`Ui::accept`] for an answer that takes time (a person at a prompt):
    /// the question is put now, the answer comes with the future, and while it
    /// is pending the transfer notices the other side giving up. The default
    /// answers with `accept` at once.
    fn accept_later(&mut self, offer: &OfferSummary) -> Answer {
        Box::pin(std::future::ready(self.accept(offer)))
    }
    /// Whether the user cancelled (Ctrl-C): then a "no" from `accept` is a
    /// cancel, which the sender hears as such, not a decline.
    fn cancelled(&self) -> bool {
        false
    }
}

/// The answer to an offer, yes or no, when the user gives it.
pub type Answer = std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>;

/// Asks the user about `offer`: `Ok` for yes, else a decline or a cancel; the
/// other side leaving meanwhile (`peer_left`, which resolves with why) ends the
/// question with that error.
pub(crate) async fn ask(
    ui: &mut dyn Ui,
    offer: &OfferSummary,
    peer_left: impl std::future::Future<Output = Error>,
) -> Result<(), Error> {
    let answer = ui.accept_later(offer);
    let yes = tokio::select! {
        yes = answer => yes,
        why = peer_left => return Err(why),
    };
    match (yes, ui.cancelled()) {
        (_, true) => Err(Error::Cancelled),
        (true, false) => Ok(()),
        (false, false) => Err(Error::Declined),
    }
}

/// A file's hash, as the protocol checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Digest {
    Blake3([u8; 32]),
    Sha256([u8; 32]),
}

/// What a sender is about to offer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outgoing {
    /// A text message of this many bytes (UTF-8).
    Text { bytes: u64 },
    /// A file or a directory, as the receiver will be asked about it.
    Files(OfferSummary),
}

impl Outgoing {
    /// What `selection` will offer.
    pub fn of(selection: &Selection) -> Outgoing {
        match selection {
            Selection::Text(text) => Outgoing::Text {
                bytes: text.len() as u64,
            },
            Selection::File(item) => {
                let size = match item.kind {
                    ItemKind::File { size } => size,
                    ItemKind::Dir => 0,
                };
                Outgoing::Files(OfferSummary::file(&item.rel, size))
            }
            Selection::Directory(dir) => {
                let (files, bytes) = dir
                    .files()
                    .fold((0, 0), |(n, sum), (_, size)| (n + 1, sum + size));
                Outgoing::Files(OfferSummary::directory(&dir.name, files, bytes, bytes))
            }
        }
    }
}
