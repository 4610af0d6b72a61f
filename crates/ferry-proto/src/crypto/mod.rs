//! Key agreement, key derivation and message encryption.

pub mod kdf;
pub mod pake;
pub mod secretbox;

pub use kdf::{PhaseKey, SharedKey, TransitKey};
pub use pake::{Pake, PakeError};
pub use secretbox::DecryptError;
