//! ferry ↔ Python `wormhole` (magic-wormhole 0.24), both directions.
//!
//! Names containing `huge` mark the > 4 GiB transfers: `-E 'not test(huge)'` skips them.

use ferry_interop::cases;
use ferry_interop::Peer::{Ferry, Python};

#[test]
fn text_ferry_to_python() {
    cases::text(Ferry, Python);
}

#[test]
fn text_python_to_ferry() {
    cases::text(Python, Ferry);
}

#[test]
fn empty_file_ferry_to_python() {
    cases::empty_file(Ferry, Python);
}

#[test]
fn empty_file_python_to_ferry() {
    cases::empty_file(Python, Ferry);
}

#[test]
fn file_ferry_to_python() {
    cases::file(Ferry, Python);
}

#[test]
fn file_python_to_ferry() {
    cases::file(Python, Ferry);
}

#[test]
fn huge_file_ferry_to_python() {
    cases::huge_file(Ferry, Python);
}

#[test]
fn huge_file_python_to_ferry() {
    cases::huge_file(Python, Ferry);
}

#[test]
fn directory_ferry_to_python() {
    cases::directory(Ferry, Python);
}

#[test]
fn directory_python_to_ferry() {
    cases::directory(Python, Ferry);
}

#[test]
fn relay_ferry_to_python() {
    cases::relay(Ferry, Python);
}

#[test]
fn relay_python_to_ferry() {
    cases::relay(Python, Ferry);
}

#[test]
fn wrong_code_ferry_to_python() {
    cases::wrong_code(Ferry, Python);
}

#[test]
fn wrong_code_python_to_ferry() {
    cases::wrong_code(Python, Ferry);
}

#[test]
fn existing_file_python_to_ferry_is_kept() {
    cases::existing_file_is_kept(Python);
}

/// Ctrl-C at ferry's accept prompt: the Python sender hears "transfer cancelled", exits 1.
#[test]
fn cancel_at_ferry_prompt_python_to_ferry() {
    cases::cancel_at_ferry_prompt(Python);
}

/// Ctrl-C to the ferry sender at Python's prompt: ferry exits 130 at once; Python does not
/// notice, and after "y" waits for transit forever (pinned, then killed).
#[test]
fn cancel_ferry_sender_at_python_prompt() {
    cases::cancel_ferry_sender_at_peer_prompt(Python);
}
