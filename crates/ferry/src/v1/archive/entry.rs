//! One entry of the zip a v1 directory travels as.

use std::path::PathBuf;

use super::dostime::Mtime;

#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The arcname: relative to the directory, `/`-separated, a trailing
    /// `/` for directories.
    pub(super) name: String,
    pub(super) kind: EntryKind,
    /// Where the content is read from when the zip is written.
    pub(super) source: PathBuf,
    /// Permission bits only (`0o777` at most).
    pub(super) mode: u32,
    pub(super) mtime: Mtime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryKind {
    /// A regular file of this many bytes, as seen by the walk.
    File { size: u64 },
    /// A directory with nothing else in the archive under it.
    Dir,
}
