//! File transfer v1 (appid `lothar.com/wormhole/text-or-file-xfer`): the messages
//! the two sides exchange through the mailbox, and safe handling of peer paths.

mod invisible;
pub mod path;
pub mod v1;

pub use invisible::{is_disguising, is_invisible};

/// The application id every wormhole file-transfer client uses by default.
pub const DEFAULT_APPID: &str = "lothar.com/wormhole/text-or-file-xfer";
