//! The test matrix, as functions of (sender, receiver). Each function sets up its data, runs
//! one transfer and checks exit codes and contents (by SHA-256); none can pass without the
//! receiver actually producing the expected bytes.
//!
//! What each peer really does is pinned here, in [`expected_directory`] and the comments:
//! tests fail when a peer (or ferry) starts behaving differently.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

use crate::data::{self, FILE_SIZE, HUGE_SIZE, NON_ASCII_TEXT, TREE_DIRNAME};
use crate::env::TestEnv;
use crate::peer::{Payload, Peer};
use crate::relay::{relay_payload_size, RelayUsage};
use crate::transfer::{Transfer, TransferRun, HUGE_TIMEOUT};
use crate::tree::{assert_same_tree, file_node, Tree};

/// Name of the file in the file tests: non-ASCII, so that the offer's `filename` must
/// survive JSON and the receiver's filesystem calls.
const FILE_NAME: &str = "données.bin";

fn source_dir() -> TempDir {
    TestEnv::get().scratch_dir("src.")
}

/// A text message with non-ASCII arrives on the receiver's stdout, exactly, plus one `\n`.
pub fn text(sender: Peer, receiver: Peer) {
    let run = Transfer::new(sender, receiver, Payload::Text(NON_ASCII_TEXT.into())).run();
    run.assert_success();
    let stdout = run.receiver.stdout_text();
    run.check(
        stdout == format!("{NON_ASCII_TEXT}\n"),
        &format!("receiver's stdout is {stdout:?}, expected the text and one newline"),
    );
    run.assert_output_names(&[]);
}

/// A text message to a peer without a text mode fails on both sides, without hanging.
pub fn text_unsupported(sender: Peer, receiver: Peer) {
    let run = Transfer::new(sender, receiver, Payload::Text(NON_ASCII_TEXT.into())).run();
    run.check(
        run.sender.failed_cleanly() && run.receiver.failed_cleanly(),
        "expected both sides to exit by themselves with a non-zero status",
    );
    run.assert_output_names(&[]);
}

/// A file of `size` bytes (created by `make`) arrives under its own name with the same hash.
fn file_transfer(transfer: impl FnOnce(Payload) -> Transfer, make: MakeFile) -> TransferRun {
    let src = source_dir();
    let path = make(&src.path().join(FILE_NAME)).expect("creating the file to send");
    // Hash the (possibly huge) source while the transfer runs.
    let hashing = {
        let path = path.clone();
        thread::spawn(move || file_node(&path))
    };
    let run = transfer(Payload::Path(path)).run();
    let expected = hashing
        .join()
        .expect("hashing thread")
        .expect("hashing the source");
    run.assert_success();
    run.assert_output_names(&[FILE_NAME]);
    let got = file_node(&run.out_path().join(FILE_NAME)).expect("hashing the received file");
    run.check(
        got == expected,
        &format!("received file differs: expected {expected}, got {got}"),
    );
    run
}

type MakeFile = Box<dyn FnOnce(&Path) -> std::io::Result<PathBuf>>;

fn sized(size: u64) -> MakeFile {
    Box::new(move |p| data::random_file(p, size))
}

/// An empty file arrives as an empty file (no transit records at all on the wire).
pub fn empty_file(sender: Peer, receiver: Peer) {
    file_transfer(|p| Transfer::new(sender, receiver, p), sized(0));
}

/// How long [`empty_file_to_william_hangs`] waits before calling it a hang.
const HANG_DEADLINE: Duration = Duration::from_secs(15);

/// Pinned peer bug: `wormhole-william` cannot receive an empty file from any sender. Its
/// reader (`IncomingMessage.readCrypt`) waits for a first transit record before it compares
/// the byte count with the file size, and senders send no record for an empty file, so both
/// sides wait for each other until killed. If this test fails because the transfer
/// succeeded, william (or ferry, by sending one empty record) changed: switch the test to
/// [`empty_file`].
pub fn empty_file_to_william_hangs(sender: Peer) {
    let src = source_dir();
    let path = data::random_file(&src.path().join(FILE_NAME), 0).expect("empty file");
    let run = Transfer::new(sender, Peer::William, Payload::Path(path))
        .timeout(HANG_DEADLINE)
        .run();
    let written = run.out_path().join(FILE_NAME).exists();
    run.check(
        !run.receiver.succeeded() && !written,
        "expected wormhole-william to hang on an empty file (known bug); did it get fixed?",
    );
}

/// A file of a few MiB.
pub fn file(sender: Peer, receiver: Peer) {
    file_transfer(|p| Transfer::new(sender, receiver, p), sized(FILE_SIZE));
}

/// A sparse file past 4 GiB (sizes and offsets beyond 32 bits).
pub fn huge_file(sender: Peer, receiver: Peer) {
    let make: MakeFile = Box::new(|p| data::sparse_file(p, HUGE_SIZE));
    file_transfer(
        |p| Transfer::new(sender, receiver, p).timeout(HUGE_TIMEOUT),
        make,
    );
}

/// A file forced through the transit relay: each side uses its own relay-only switch where
/// it has one (`wormhole-william` has none; with it, ferry's `--force-relay` alone must keep
/// the transfer off direct connections). The relay's usage database must show the pairing.
pub fn relay(sender: Peer, receiver: Peer) {
    let usage = RelayUsage::new(TestEnv::get());
    let mark = usage.mark();
    let size = relay_payload_size(sender, receiver);
    let run = file_transfer(
        |p| Transfer::new(sender, receiver, p).force_relay(),
        sized(size),
    );
    if let Err(why) = usage.find_relayed(mark, size) {
        run.check(false, &why);
    }
}

/// The receiver mistypes the code: key confirmation fails, both sides exit non-zero by
/// themselves, nothing is written, and ferry (on whichever side) says "wrong code".
pub fn wrong_code(sender: Peer, receiver: Peer) {
    let src = source_dir();
    let path = data::random_file(&src.path().join("secret.bin"), 1000).expect("source file");
    let run = Transfer::new(sender, receiver, Payload::Path(path))
        .wrong_code()
        .run();
    run.check(
        run.sender.failed_cleanly() && run.receiver.failed_cleanly(),
        "expected both sides to exit by themselves with a non-zero status",
    );
    run.assert_output_names(&[]);
    for side in run.side(Peer::Ferry) {
        let says = side.all_output().to_lowercase().contains("wrong code");
        run.check(says, &format!("{} does not say \"wrong code\"", side.label));
    }
}

/// ferry never overwrites: with a file of the offered name already in its output
/// directory, the ferry receiver refuses (non-zero exit) and leaves it untouched, and the
/// sender, told so, fails too instead of waiting.
pub fn existing_file_is_kept(sender: Peer) {
    const PRECIOUS: &[u8] = b"already here, keep me\n";
    let src = source_dir();
    let path = data::random_file(&src.path().join(FILE_NAME), 1000).expect("source file");
    let out_dir = TestEnv::get().scratch_dir("out.");
    std::fs::write(out_dir.path().join(FILE_NAME), PRECIOUS).expect("existing file");
    let run = Transfer::new(sender, Peer::Ferry, Payload::Path(path)).run_into(out_dir);
    run.check(
        run.receiver.failed_cleanly() && run.sender.failed_cleanly(),
        "expected both sides to exit by themselves with a non-zero status",
    );
    run.assert_output_names(&[FILE_NAME]);
    let now = std::fs::read(run.out_path().join(FILE_NAME)).expect("reading the existing file");
    run.check(now == PRECIOUS, "the existing file was modified");
}

/// How a directory sent by `sender` lands at `receiver`.
#[derive(Debug)]
pub enum Arrival {
    /// Extracted as a directory of this name.
    Dir(String),
    /// Kept as a tar file of this name whose members sit under `<dirname>/`.
    Tar(String),
    /// Kept as a zip file of this name.
    Zip(String),
}

/// The pinned directory behaviour of each pair, and the tree the receiver ends up with.
pub fn expected_directory(sender: Peer, receiver: Peer, sent: &Tree) -> (Arrival, Tree) {
    match (sender, receiver) {
        // wormhole-rs never sends a `directory` offer: it tars the folder and offers
        // `<dirname>.tar` as a plain file, which every receiver stores as such.
        (Peer::Rust, _) => (Arrival::Tar(format!("{TREE_DIRNAME}.tar")), sent.clone()),
        // wormhole-william's zip has no entries for directories, so empty ones are lost.
        (Peer::William, Peer::Rust) => (
            Arrival::Zip(format!("{TREE_DIRNAME}.zip")),
            sent.without_empty_dirs(),
        ),
        (Peer::William, _) => (Arrival::Dir(TREE_DIRNAME.into()), sent.without_empty_dirs()),
        // wormhole-rs stores a received `directory` offer as the raw `<dirname>.zip`.
        (_, Peer::Rust) => (Arrival::Zip(format!("{TREE_DIRNAME}.zip")), sent.clone()),
        // wormhole-william creates every zip member as a file, so an empty directory
        // (which has a member of its own) comes out as an empty file.
        (_, Peer::William) => (
            Arrival::Dir(TREE_DIRNAME.into()),
            sent.with_empty_dirs_as_files(),
        ),
        _ => (Arrival::Dir(TREE_DIRNAME.into()), sent.clone()),
    }
}

/// A directory tree with nested folders, an empty folder, an empty file and non-ASCII
/// names arrives as [`expected_directory`] says.
pub fn directory(sender: Peer, receiver: Peer) {
    let src = source_dir();
    let root = data::sample_tree(src.path()).expect("creating the tree to send");
    let sent = Tree::of_dir(&root).expect("snapshot of the sent tree");
    let run = Transfer::new(sender, receiver, Payload::Path(root)).run();
    run.assert_success();
    let (arrival, expected) = expected_directory(sender, receiver, &sent);
    let (name, got) = match &arrival {
        Arrival::Dir(name) => (name, dir_tree(&run, name)),
        Arrival::Tar(name) => (name, tar_tree(&run, name)),
        Arrival::Zip(name) => (name, Tree::of_zip(&run.out_path().join(name))),
    };
    run.assert_output_names(&[name]);
    let got = got.unwrap_or_else(|e| panic!("cannot read the received {arrival:?}: {e}\n{run}"));
    assert_same_tree(&expected, &got, &format!("{arrival:?}\n{run}"));
}

fn dir_tree(run: &TransferRun, name: &str) -> Result<Tree, String> {
    let path = run.out_path().join(name);
    Tree::of_dir(&path).map_err(|e| format!("{}: {e}", path.display()))
}

fn tar_tree(run: &TransferRun, name: &str) -> Result<Tree, String> {
    let path = run.out_path().join(name);
    // A tar arrives as a plain file: say so first if it is something else.
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Tree::of_tar(&path, TREE_DIRNAME),
        Ok(_) => Err(format!("{} is not a file", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
