//! ferry's async client: drives the sans-IO machines of `ferry-proto` over real
//! WebSocket and TCP connections and the file system.
//!
//! Entry points: [`send()`] and [`receive()`], which report through a [`Ui`].

pub mod archive;
mod error;
mod fs;
mod mailbox;
pub mod native;
mod receive;
mod send;
mod timing;
pub mod transit;
mod ui;
mod wormhole;

pub use error::{Error, Result};
pub use receive::{receive, ReceiveOptions, Received};
pub use send::{send, Payload, SendOptions};
pub use timing::Timing;
pub use ui::Ui;
pub use wormhole::{CodeChoice, MailboxConfig, RendezvousObserver, Wormhole, DEFAULT_MAILBOX_URL};
