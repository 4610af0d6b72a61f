//! ferry ↔ `wormhole-william` (Go, Debian 1.0.6), both directions.
//!
//! Names containing `huge` mark the > 4 GiB transfers: `-E 'not test(huge)'` skips them.

use ferry_interop::cases;
use ferry_interop::Peer::{Ferry, William};

#[test]
fn text_ferry_to_william() {
    cases::text(Ferry, William);
}

#[test]
fn text_william_to_ferry() {
    cases::text(William, Ferry);
}

/// Pinned: wormhole-william hangs on an empty file from any sender (see the case's docs).
#[test]
fn empty_file_ferry_to_william_known_hang() {
    cases::empty_file_to_william_hangs(Ferry);
}

#[test]
fn empty_file_william_to_ferry() {
    cases::empty_file(William, Ferry);
}

#[test]
fn file_ferry_to_william() {
    cases::file(Ferry, William);
}

#[test]
fn file_william_to_ferry() {
    cases::file(William, Ferry);
}

#[test]
fn huge_file_ferry_to_william() {
    cases::huge_file(Ferry, William);
}

#[test]
fn huge_file_william_to_ferry() {
    cases::huge_file(William, Ferry);
}

/// Pinned: wormhole-william extracts an empty directory as an empty file.
#[test]
fn directory_ferry_to_william() {
    cases::directory(Ferry, William);
}

/// Pinned: wormhole-william's zip has no directory entries, so the empty directory is lost.
#[test]
fn directory_william_to_ferry() {
    cases::directory(William, Ferry);
}

/// wormhole-william cannot be told to avoid direct connections: ferry's `--force-relay`
/// (no direct hints sent, the peer's direct hints ignored) must be enough.
#[test]
fn relay_ferry_to_william() {
    cases::relay(Ferry, William);
}

#[test]
fn relay_william_to_ferry() {
    cases::relay(William, Ferry);
}

#[test]
fn wrong_code_ferry_to_william() {
    cases::wrong_code(Ferry, William);
}

#[test]
fn wrong_code_william_to_ferry() {
    cases::wrong_code(William, Ferry);
}

#[test]
fn existing_file_william_to_ferry_is_kept() {
    cases::existing_file_is_kept(William);
}

/// Ctrl-C at ferry's accept prompt: the william sender hears "transfer cancelled", exits 1.
#[test]
fn cancel_at_ferry_prompt_william_to_ferry() {
    cases::cancel_at_ferry_prompt(William);
}

/// Ctrl-C to the ferry sender at william's prompt: ferry exits 130 at once; william does
/// not notice, and after "y" fails to connect and exits 1 by itself.
#[test]
fn cancel_ferry_sender_at_william_prompt() {
    cases::cancel_ferry_sender_at_peer_prompt(William);
}
