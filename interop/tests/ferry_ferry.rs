//! ferry ↔ ferry: the same cases as against the other peers.

use ferry_interop::cases;
use ferry_interop::Peer::Ferry;

#[test]
fn text_ferry_to_ferry() {
    cases::text(Ferry, Ferry);
}

#[test]
fn empty_file_ferry_to_ferry() {
    cases::empty_file(Ferry, Ferry);
}

#[test]
fn file_ferry_to_ferry() {
    cases::file(Ferry, Ferry);
}

#[test]
fn huge_file_ferry_to_ferry() {
    cases::huge_file(Ferry, Ferry);
}

#[test]
fn directory_ferry_to_ferry() {
    cases::directory(Ferry, Ferry);
}

#[test]
fn relay_ferry_to_ferry() {
    cases::relay(Ferry, Ferry);
}

#[test]
fn wrong_code_ferry_to_ferry() {
    cases::wrong_code(Ferry, Ferry);
}

#[test]
fn existing_file_ferry_to_ferry_is_kept() {
    cases::existing_file_is_kept(Ferry);
}
