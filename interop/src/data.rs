//! Test data: random files, a sparse file past 4 GiB, a directory tree with awkward names.

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;

/// Size of the "huge" file: past the 4 GiB boundary, where 32-bit sizes and offsets
/// overflow, and not a multiple of any record or chunk size.
pub const HUGE_SIZE: u64 = (1 << 32) + 4099;

/// Size of the ordinary file test: several MiB, odd on purpose.
pub const FILE_SIZE: u64 = 3 * 1024 * 1024 + 17;

/// A text message with non-ASCII in several scripts and widths.
pub const NON_ASCII_TEXT: &str = "héllo wörld – ñandú 日本語 ✓ 🚀";

/// The directory the tree tests send (its name is what the receiver should create).
pub const TREE_DIRNAME: &str = "tree";

/// Random bytes from the thread RNG.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// Writes a file of `size` random bytes at `path`.
pub fn random_file(path: &Path, size: u64) -> io::Result<PathBuf> {
    const CHUNK: u64 = 1 << 20;
    let mut file = io::BufWriter::new(File::create(path)?);
    let mut left = size;
    while left > 0 {
        let n = left.min(CHUNK);
        file.write_all(&random_bytes(n as usize))?;
        left -= n;
    }
    file.flush()?;
    Ok(path.to_path_buf())
}

/// Writes a sparse file of `size` bytes: mostly a hole, with random data at the start, across
/// the 4 GiB boundary (when it is inside the file) and at the end, so that a transfer that
/// truncates, wraps or misplaces data changes the hash.
pub fn sparse_file(path: &Path, size: u64) -> io::Result<PathBuf> {
    const ISLAND: u64 = 64 * 1024;
    let mut file = File::create(path)?;
    file.set_len(size)?;
    let mut islands = vec![0, size.saturating_sub(ISLAND)];
    if size > (1 << 32) + ISLAND {
        islands.push((1 << 32) - ISLAND / 2);
    }
    for start in islands {
        let len = ISLAND.min(size - start);
        file.seek(SeekFrom::Start(start))?;
        file.write_all(&random_bytes(len as usize))?;
    }
    file.sync_all()?;
    Ok(path.to_path_buf())
}

/// Creates `parent/tree` with nested folders, an empty folder, an empty file and
/// non-ASCII names, and returns its path.
///
/// ```text
/// tree/
///   hello.txt                       6 bytes
///   empty.txt                       0 bytes
///   empty-dir/                      (no entries)
///   nested/notes.md                 text
///   nested/deeper/deepest/blob.bin  70001 random bytes
///   ñandú/日本語.txt                 4097 random bytes
/// ```
pub fn sample_tree(parent: &Path) -> io::Result<PathBuf> {
    let root = parent.join(TREE_DIRNAME);
    fs::create_dir_all(root.join("empty-dir"))?;
    fs::create_dir_all(root.join("nested/deeper/deepest"))?;
    fs::create_dir_all(root.join("ñandú"))?;
    fs::write(root.join("hello.txt"), b"hello\n")?;
    fs::write(root.join("empty.txt"), b"")?;
    fs::write(root.join("nested/notes.md"), "# notes\nsome ünïcode text\n")?;
    random_file(&root.join("nested/deeper/deepest/blob.bin"), 70_001)?;
    random_file(&root.join("ñandú/日本語.txt"), 4097)?;
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn sparse_file_has_the_size_but_not_the_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = sparse_file(&dir.path().join("s"), HUGE_SIZE).expect("sparse");
        let meta = fs::metadata(&path).expect("metadata");
        assert_eq!(meta.len(), HUGE_SIZE);
        // Some filesystems allocate more than asked, but never anything near 4 GiB.
        assert!(
            meta.blocks() * 512 < 64 * 1024 * 1024,
            "{} blocks",
            meta.blocks()
        );
    }

    #[test]
    fn random_file_has_the_exact_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = random_file(&dir.path().join("r"), FILE_SIZE).expect("random");
        assert_eq!(fs::metadata(path).expect("metadata").len(), FILE_SIZE);
    }
}
