//! What an extraction may do, what it did, and why it stopped.

use std::io;
use std::path::{Path, PathBuf};

use ferry_proto::transfer::path::PathError;

/// How much an archive may unpack to. Set them from the offer the user
/// accepted (`numfiles`, `numbytes`), perhaps with some slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Most regular files (directories are bounded separately, at a
    /// million).
    pub max_files: u64,
    /// Most bytes written, counted while decompressing.
    pub max_bytes: u64,
}

impl ExtractLimits {
    /// At most `max_files` regular files and `max_bytes` bytes.
    pub fn new(max_files: u64, max_bytes: u64) -> Self {
        ExtractLimits {
            max_files,
            max_bytes,
        }
    }
}

/// What an extraction created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractReport {
    /// Regular files written.
    pub files: u64,
    /// Bytes written into them.
    pub bytes: u64,
    /// Directories created below `dest`.
    pub dirs: u64,
}

/// Why an archive was not (fully) extracted. Only [`Io`](Self::Io) and
/// [`DestNotEmpty`](Self::DestNotEmpty) are local faults; the rest mean the
/// peer sent a bad or hostile archive. Names in messages are escaped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// `dest` is missing, not a directory, or not empty.
    #[error("{}: not an empty directory", path.display())]
    DestNotEmpty { path: PathBuf },
    /// Reading the archive file or writing the output failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// The archive is not a readable zip, or uses an unsupported feature.
    #[error("corrupt or unsupported zip archive: {0}")]
    Corrupt(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An entry name that could escape `dest` or is otherwise refused.
    #[error("unsafe name in archive: {0}")]
    UnsafeName(#[source] PathError),
    /// A symbolic link entry.
    #[error("archive entry \"{name}\" is a symbolic link")]
    Symlink { name: String },
    /// A device, FIFO or socket entry.
    #[error("archive entry \"{name}\" is not a regular file or directory")]
    SpecialFile { name: String },
    /// An encrypted entry.
    #[error("archive entry \"{name}\" is encrypted")]
    Encrypted { name: String },
    /// The same path appears twice.
    #[error("archive entry \"{name}\" appears more than once")]
    Duplicate { name: String },
    /// A path is used both as a file and as a directory.
    #[error("archive entry \"{name}\" is both a file and a directory")]
    Conflict { name: String },
    /// An entry's content is not the length its header declares.
    #[error("archive entry \"{name}\" holds {actual} bytes, not the {declared} declared")]
    SizeMismatch {
        name: String,
        declared: u64,
        actual: u64,
    },
    /// More regular files than [`ExtractLimits::max_files`].
    #[error("archive holds more than {limit} files")]
    TooManyFiles { limit: u64 },
    /// More than a million directories.
    #[error("archive holds more than {limit} directories")]
    TooManyDirs { limit: u64 },
    /// More content than [`ExtractLimits::max_bytes`].
    #[error("archive expands to more than {limit} bytes")]
    TooManyBytes { limit: u64 },
}

impl ExtractError {
    /// Whether the archive (the peer) is to blame rather than this machine.
    pub fn is_peer_fault(&self) -> bool {
        !matches!(self, Self::DestNotEmpty { .. } | Self::Io { .. })
    }

    pub(super) fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Corrupt(Box::new(e))
    }

    pub(super) fn io(path: &Path) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
