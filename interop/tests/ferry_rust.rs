//! ferry ↔ `wormhole-rs` (crates.io magic-wormhole-cli 0.8.1), both directions.
//!
//! Names containing `huge` mark the > 4 GiB transfers: `-E 'not test(huge)'` skips them.

use ferry_interop::cases;
use ferry_interop::Peer::{Ferry, Rust};

/// wormhole-rs has no text mode: it rejects the offer (it expects `transit` first), and
/// ferry must then fail too instead of waiting forever.
#[test]
fn text_ferry_to_rust_fails_cleanly() {
    cases::text_unsupported(Ferry, Rust);
}

#[test]
fn empty_file_ferry_to_rust() {
    cases::empty_file(Ferry, Rust);
}

#[test]
fn empty_file_rust_to_ferry() {
    cases::empty_file(Rust, Ferry);
}

#[test]
fn file_ferry_to_rust() {
    cases::file(Ferry, Rust);
}

#[test]
fn file_rust_to_ferry() {
    cases::file(Rust, Ferry);
}

#[test]
fn huge_file_ferry_to_rust() {
    cases::huge_file(Ferry, Rust);
}

#[test]
fn huge_file_rust_to_ferry() {
    cases::huge_file(Rust, Ferry);
}

/// Pinned: wormhole-rs keeps a received directory as the raw `tree.zip`.
#[test]
fn directory_ferry_to_rust() {
    cases::directory(Ferry, Rust);
}

/// Pinned: wormhole-rs sends a directory as a plain file `tree.tar`, which ferry stores as is.
#[test]
fn directory_rust_to_ferry() {
    cases::directory(Rust, Ferry);
}

#[test]
fn relay_ferry_to_rust() {
    cases::relay(Ferry, Rust);
}

#[test]
fn relay_rust_to_ferry() {
    cases::relay(Rust, Ferry);
}

#[test]
fn wrong_code_ferry_to_rust() {
    cases::wrong_code(Ferry, Rust);
}

#[test]
fn wrong_code_rust_to_ferry() {
    cases::wrong_code(Rust, Ferry);
}

#[test]
fn existing_file_rust_to_ferry_is_kept() {
    cases::existing_file_is_kept(Rust);
}
