//! ferry's async client: drives the sans-IO machines of `ferry-proto` over real
//! WebSocket and TCP connections and the file system.
//!
//! Entry points: [`send()`] and [`receive()`], which report through a [`Ui`].
//! The layers, top down: `send`/`receive` pick a protocol once the key is
//! confirmed; [`v1`] and [`native`] are the protocols, siblings that never
//! import each other; below them the shared floors: [`transfer`] (what is sent,
//! what the receiver is asked, where data lands), `rendezvous` (the mailbox and
//! the PAKE), [`transit`] (connections to the peer), and `error`.

mod error;
pub mod lan;
pub mod native;
mod receive;
mod rendezvous;
mod send;
mod timing;
pub mod tls;
pub mod torrent;
pub mod transfer;
pub mod transit;
mod ui;
pub mod v1;
mod ws;

pub use error::{Error, LocalError, NetworkError, PeerError, Result, ServerError};
pub use native::{SessionStore, StoredSession};
pub use receive::{receive, receive_stored, receive_until, ReceiveOptions};
pub use rendezvous::{
    list_nameplates, Cancel, CodeChoice, MailboxConfig, RendezvousObserver, Wormhole,
    DEFAULT_MAILBOX_URL, TRANSFER_CANCELLED,
};
pub use send::{send, send_until, text_fits_mailbox, SendOptions, MAILBOX_BODY_LIMIT};
pub use timing::Timing;
pub use transfer::{OfferSummary, Payload, Received, Report};
pub use ui::{Answer, Digest, Outgoing, Ui};
