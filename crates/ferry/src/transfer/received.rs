//! What a receive brought, whatever the protocol.

use std::path::PathBuf;

/// What arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received {
    Text(String),
    /// One file, landed whole (file-transfer v1).
    File {
        path: PathBuf,
        bytes: u64,
    },
    /// One directory, unpacked from its archive (file-transfer v1).
    Directory {
        path: PathBuf,
        files: u64,
        bytes: u64,
    },
    /// Files and directories landed one by one, perhaps partly resumed or
    /// already present (the native protocol).
    Files(Report),
}

/// What a file-by-file receive did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// What landed in the output directory: one path per top-level name.
    pub roots: Vec<PathBuf>,
    /// Whether the only root is a file.
    pub single_file: bool,
    pub files: u64,
    pub dirs: u64,
    /// Sum of the file sizes.
    pub bytes: u64,
    /// File bytes that crossed the network in this run.
    pub transferred: u64,
    /// Bytes kept from an interrupted earlier run (verified again before use).
    pub resumed: u64,
    /// Bytes of files that were already there with identical content.
    pub already_present: u64,
}

impl Report {
    /// Nothing moved yet.
    pub fn new(roots: Vec<PathBuf>, files: u64, dirs: u64, bytes: u64) -> Self {
        Report {
            single_file: roots.len() == 1 && dirs == 0,
            roots,
            files,
            dirs,
            bytes,
            transferred: 0,
            resumed: 0,
            already_present: 0,
        }
    }

    /// Bytes in place so far.
    pub fn present(&self) -> u64 {
        self.transferred + self.resumed + self.already_present
    }
}
