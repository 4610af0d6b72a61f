//! file-transfer v1, the protocol every wormhole client speaks: `transit` hints,
//! an `offer` and its `answer` through the mailbox, then one stream of secretbox
//! records (a file, or a directory as a zip) and the receiver's SHA-256 ack.

pub mod archive;
mod messages;
mod receive;
mod send;

pub(crate) use messages::{ack_text, refuse, text_offer};
pub(crate) use receive::receive;
pub(crate) use send::{send, send_text};
