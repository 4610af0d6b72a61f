//! The harness proven on the peers alone (no ferry): if these fail, the test network, the
//! servers or the harness are broken, not ferry. They also pin the peers' own behaviour that
//! the ferry tests rely on (directory formats, relay accounting, wrong-code exits).

use ferry_interop::cases;
use ferry_interop::Peer::{Python, Rust, William};

#[test]
fn text_python_to_william() {
    cases::text(Python, William);
}

#[test]
fn file_python_to_william() {
    cases::file(Python, William);
}

/// The william empty-file hang is william's, not ferry's: Python's sender meets it too.
#[test]
fn empty_file_python_to_william_known_hang() {
    cases::empty_file_to_william_hangs(Python);
}

#[test]
fn empty_file_william_to_python() {
    cases::empty_file(William, Python);
}

#[test]
fn directory_william_to_python() {
    cases::directory(William, Python);
}

/// Pins william's extraction: an empty folder arrives as an empty file.
#[test]
fn directory_python_to_william() {
    cases::directory(Python, William);
}

/// Pins wormhole-rs sending a folder as `<dirname>.tar`.
#[test]
fn directory_rust_to_python() {
    cases::directory(Rust, Python);
}

/// Pins wormhole-rs saving a received folder as `<dirname>.zip`.
#[test]
fn directory_python_to_rust() {
    cases::directory(Python, Rust);
}

/// Proves that the relay accounting sees a relayed transfer (python `--no-listen` on both
/// sides leaves the relay as the only path).
#[test]
fn relay_python_to_python() {
    cases::relay(Python, Python);
}

#[test]
fn relay_rust_to_william() {
    cases::relay(Rust, William);
}

#[test]
fn wrong_code_william_to_python() {
    cases::wrong_code(William, Python);
}

#[test]
fn wrong_code_python_to_rust() {
    cases::wrong_code(Python, Rust);
}

/// What a text message to wormhole-rs looks like from a well-behaved sender: the Python
/// sender crashes on the receiver's unprompted `transit` message and wormhole-rs refuses the
/// text offer; both exit non-zero.
#[test]
fn text_python_to_rust_fails_on_both_sides() {
    cases::text_unsupported(Python, Rust);
}

/// The relay check is not vacuous: a direct transfer (python listens on both sides and
/// direct connections win on loopback) leaves no matching pairing in the relay's records.
#[test]
fn relay_check_rejects_a_direct_transfer() {
    use ferry_interop::relay::{relay_payload_size, RelayUsage};
    use ferry_interop::{data, Payload, TestEnv, Transfer};

    let usage = RelayUsage::new(TestEnv::get());
    let mark = usage.mark();
    // A size that no relay test uses (there is no william → william test).
    let size = relay_payload_size(William, William);
    let src = TestEnv::get().scratch_dir("src.");
    let path = data::random_file(&src.path().join("direct.bin"), size).expect("file");
    let run = Transfer::new(Python, Python, Payload::Path(path)).run();
    run.assert_success();
    let found = usage.find_relayed(mark, size);
    run.check(
        found.is_err(),
        &format!("a direct transfer was counted as relayed: {found:?}"),
    );
}
