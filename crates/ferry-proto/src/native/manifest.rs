//! The manifest: every directory and file the sender offers, in an order a receiver
//! can create them in (each parent before its children).
//!
//! Entries carry a [`SafeRelativePath`] (so no name can leave the output directory),
//! a kind, the permission bits and the modification time. Symbolic links have no
//! kind at all: senders leave them out, and a receiver never creates one.
//! A manifest may hold several roots (top-level names).

use std::collections::HashMap;

use crate::transfer::path::{escape_for_terminal, SafeRelativePath};

use super::tree::MAX_FILE_SIZE;

/// Most entries one transfer may hold.
pub const MAX_ENTRIES: u64 = 10_000_000;
/// Permission bits the protocol carries: no setuid, setgid or sticky.
pub const MODE_MASK: u32 = 0o777;

/// A modification time: seconds since the Unix epoch (negative before it) and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mtime {
    pub secs: i64,
    pub nanos: u32,
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File { size: u64 },
}

/// One directory or file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: SafeRelativePath,
    pub kind: EntryKind,
    /// Permission bits, at most [`MODE_MASK`].
    pub mode: u32,
    pub mtime: Mtime,
}

impl Entry {
    /// The file size, or `None` for a directory.
    pub fn size(&self) -> Option<u64> {
        match self.kind {
            EntryKind::File { size } => Some(size),
            EntryKind::Dir => None,
        }
    }
}

/// Why a manifest from the peer is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("\"{0}\" appears twice")]
    Duplicate(String),
    #[error("\"{0}\" comes before its parent directory")]
    NoParent(String),
    #[error("file \"{0}\" is too large")]
    TooLarge(String),
    #[error("too many entries (at most {MAX_ENTRIES})")]
    TooMany,
    #[error("mode {mode:o} of \"{path}\" has bits beyond {MODE_MASK:o}")]
    BadMode { path: String, mode: u32 },
    #[error("nanoseconds out of range for \"{0}\"")]
    BadMtime(String),
    #[error("the manifest is empty")]
    Empty,
    #[error("the manifest totals do not match its entries")]
    Totals,
}

/// A complete, checked manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    entries: Vec<Entry>,
    /// Indices into `entries` of the files, in order; file numbers on the wire index this.
    files: Vec<usize>,
    bytes: u64,
}

impl Manifest {
    /// Every entry, parents first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of files (what file numbers on the wire count).
    pub fn file_count(&self) -> u32 {
        self.files.len() as u32
    }

    /// File number `n`.
    pub fn file(&self, n: u32) -> Option<&Entry> {
        self.files.get(n as usize).map(|&i| &self.entries[i])
    }

    /// Sum of the file sizes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The top-level entries.
    pub fn roots(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| e.path.components().count() == 1)
    }

    /// The totals the sender states at the end of the manifest.
    pub fn totals(&self) -> Totals {
        Totals {
            entries: self.entries.len() as u64,
            files: self.files.len() as u64,
            bytes: self.bytes,
        }
    }
}

/// Counts that close a manifest; a receiver checks them against what it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    pub entries: u64,
    pub files: u64,
    pub bytes: u64,
}

/// Collects entries (from the local scan or from the peer) and checks the rules.
#[derive(Debug, Default)]
pub struct ManifestBuilder {
    entries: Vec<Entry>,
    files: Vec<usize>,
    bytes: u64,
    /// Path → is a directory.
    seen: HashMap<String, bool>,
}

impl ManifestBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one entry: its parent must already be a directory entry.
    pub fn push(&mut self, entry: Entry) -> Result<(), ManifestError> {
        let path = entry.path.as_str();
        let shown = || escape_for_terminal(path);
        if self.entries.len() as u64 >= MAX_ENTRIES {
            return Err(ManifestError::TooMany);
        }
        if entry.mode & !MODE_MASK != 0 {
            let (path, mode) = (shown(), entry.mode);
            return Err(ManifestError::BadMode { path, mode });
        }
        if entry.mtime.nanos >= 1_000_000_000 {
            return Err(ManifestError::BadMtime(shown()));
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            if self.seen.get(parent) != Some(&true) {
                return Err(ManifestError::NoParent(shown()));
            }
        }
        if self.seen.contains_key(path) {
            return Err(ManifestError::Duplicate(shown()));
        }
        if let EntryKind::File { size } = entry.kind {
            self.bytes = self
                .bytes
                .checked_add(size)
                .filter(|_| size <= MAX_FILE_SIZE)
                .ok_or_else(|| ManifestError::TooLarge(shown()))?;
            self.files.push(self.entries.len());
        }
        let is_dir = entry.kind == EntryKind::Dir;
        self.seen.insert(path.to_owned(), is_dir);
        self.entries.push(entry);
        Ok(())
    }

    /// What the manifest adds up to so far.
    pub fn totals(&self) -> Totals {
        Totals {
            entries: self.entries.len() as u64,
            files: self.files.len() as u64,
            bytes: self.bytes,
        }
    }

    /// The manifest, once the sender's totals agree with the entries.
    pub fn finish(self, stated: Totals) -> Result<Manifest, ManifestError> {
        if self.entries.is_empty() {
            return Err(ManifestError::Empty);
        }
        if stated != self.totals() {
            return Err(ManifestError::Totals);
        }
        Ok(Manifest {
            entries: self.entries,
            files: self.files,
            bytes: self.bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry(path: &str, kind: EntryKind) -> Entry {
        Entry {
            path: SafeRelativePath::parse(path).unwrap(),
            kind,
            mode: 0o644,
            mtime: Mtime::default(),
        }
    }

    #[test]
    fn parents_first_and_totals() {
        let mut b = ManifestBuilder::new();
        b.push(entry("d", EntryKind::Dir)).unwrap();
        b.push(entry("d/a", EntryKind::File { size: 3 })).unwrap();
        b.push(entry("d/e", EntryKind::Dir)).unwrap();
        b.push(entry("top.txt", EntryKind::File { size: 4 }))
            .unwrap();
        let t = b.totals();
        assert_eq!((t.entries, t.files, t.bytes), (4, 2, 7));
        let m = b.finish(t).unwrap();
        assert_eq!(m.file(1).unwrap().path.as_str(), "top.txt");
        assert_eq!(m.roots().count(), 2);
    }

    #[test]
    fn refusals() {
        let mut b = ManifestBuilder::new();
        assert_eq!(
            b.push(entry("d/a", EntryKind::File { size: 1 })),
            Err(ManifestError::NoParent("d/a".into()))
        );
        b.push(entry("f", EntryKind::File { size: 1 })).unwrap();
        assert!(matches!(
            b.push(entry("f/x", EntryKind::Dir)),
            Err(ManifestError::NoParent(_))
        ));
        assert!(matches!(
            b.push(entry("f", EntryKind::Dir)),
            Err(ManifestError::Duplicate(_))
        ));
        let mut bad = entry("m", EntryKind::Dir);
        bad.mode = 0o4755;
        assert!(matches!(b.push(bad), Err(ManifestError::BadMode { .. })));
        let big = EntryKind::File { size: u64::MAX };
        assert!(matches!(
            b.push(entry("big", big)),
            Err(ManifestError::TooLarge(_))
        ));
        let t = b.totals();
        let wrong = Totals {
            bytes: t.bytes + 1,
            ..t
        };
        assert_eq!(b.finish(wrong), Err(ManifestError::Totals));
        let empty = ManifestBuilder::new();
        assert_eq!(
            empty.finish(Totals {
                entries: 0,
                files: 0,
                bytes: 0
            }),
            Err(ManifestError::Empty)
        );
    }
}
