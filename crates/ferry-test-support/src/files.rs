//! Files for tests to send and check: deterministic content, directory listings,
//! scratch space, and snapshots of a tree with its permission bits.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Names in a directory (hidden resume files included), sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A temporary directory for tens of thousands of files: on tmpfs when there is
/// one, because creating and deleting that many on a busy shared disk takes minutes.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    match shm.is_dir() {
        true => tempfile::tempdir_in(shm).unwrap_or_else(|_| tempfile::tempdir().expect("tempdir")),
        false => tempfile::tempdir().expect("tempdir"),
    }
}

/// What a tree holds: relative path → (kind, content, permission bits).
#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    Dir(u32),
    File(Vec<u8>, u32),
    Link,
}

pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let rel = path.strip_prefix(root).expect("under root").to_owned();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.file_type().is_symlink() {
            out.insert(rel, Node::Link);
        } else if meta.is_dir() {
            out.insert(rel, Node::Dir(mode));
            walk(root, &path, out);
        } else {
            out.insert(rel, Node::File(std::fs::read(&path).expect("read"), mode));
        }
    }
}

/// The tree a receiver should end up with for `sent`: no links, modes as received
/// files and directories get them.
pub fn as_received(sent: BTreeMap<PathBuf, Node>) -> BTreeMap<PathBuf, Node> {
    sent.into_iter()
        .filter_map(|(p, n)| match n {
            Node::Link => None,
            Node::Dir(m) => Some((p, Node::Dir((m & 0o755) | 0o700))),
            Node::File(c, m) => Some((p, Node::File(c, (m & 0o755) | 0o400))),
        })
        .collect()
}
