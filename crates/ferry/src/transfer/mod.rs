//! The protocol-neutral transfer core that every protocol plugs into:
//! - what is sent: [`Payload`], walked once into a [`Selection`] with one skip
//!   policy (`walk`);
//! - what the receiver is asked: an [`OfferSummary`]; what it got: [`Received`];
//! - where received data lands safely: [`landing`] (confinement to the output
//!   directory, hidden partial names, no-overwrite rename, free space, resume files).
//!
//! Nothing here knows a wire format.

pub mod landing;
mod offer;
mod payload;
mod received;
mod walk;

pub use offer::{OfferSummary, Offered};
pub use payload::{Directory, Payload, Selection};
pub use received::{Received, Report};
pub(crate) use walk::{at as io_at, shown as shown_path};
pub use walk::{Item, ItemKind, SkipReason, Skipped};
