//! Key agreement, key derivation and message encryption.

pub mod kdf;
pub mod pake;
pub mod secretbox;
