//! Blocking file reads for the native protocol: hashing a file into its tree and
//! reading single groups.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use ferry_proto::native::tree::{Layout, Tree, TreeBuilder};

use crate::error::{Error, Result};

/// Hashes the file at `path`, which must still be `size` bytes long.
pub(super) fn hash_file(path: &Path, size: u64) -> Result<Tree> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    hash_open(&file, size).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

/// Hashes an open file of `size` bytes. A file shorter than `size` is an error.
pub(super) fn hash_open(file: &File, size: u64) -> std::io::Result<Tree> {
    let layout = Layout::for_size(size);
    let mut builder = TreeBuilder::new(layout);
    let mut buf = Vec::new();
    while let Some((start, len)) = builder.next_span() {
        read_span(file, start, len, &mut buf)?;
        builder.add_group(&buf).map_err(std::io::Error::other)?;
    }
    builder.finish().map_err(std::io::Error::other)
}

/// Reads `len` bytes at `start` into `buf` (replacing its contents).
pub(super) fn read_span(
    file: &File,
    start: u64,
    len: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    buf.resize(len as usize, 0);
    read_at(file, start, buf)
}

/// Fills `buf` from `start`; running out of file is an error.
pub(super) fn read_at(file: &File, start: u64, buf: &mut [u8]) -> std::io::Result<()> {
    file.read_exact_at(buf, start).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            std::io::Error::new(e.kind(), "the file got shorter while being sent")
        }
        _ => e,
    })
}
