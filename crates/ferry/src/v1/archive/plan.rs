//! A walked directory as the list of entries its zip will hold.

use std::io;
use std::path::{Path, PathBuf};

use crate::transfer::{Directory, Item, ItemKind, Payload, Selection, Skipped};

use super::dostime::Mtime;
use super::entry::{Entry, EntryKind};
use super::records;

/// A directory ready to be sent: what will go in the zip, and its exact size.
///
/// Built from a walked [`Directory`], then streamed by [`DirPlan::write_zip`].
/// Entry names are relative to the directory (`sub/file.txt`, no leading
/// `dirname/`), like Python and Go senders. Only empty directories get
/// entries of their own, as Python 0.24 does: the Go receiver treats every
/// entry as a file and counts them against `numfiles`.
#[derive(Debug, Clone)]
pub struct DirPlan {
    dirname: String,
    entries: Vec<Entry>,
    skipped: Vec<Skipped>,
    zip_size: u64,
}

impl DirPlan {
    /// The zip of a walked directory: its files and its empty directories.
    pub fn new(dir: &Directory) -> DirPlan {
        let entries: Vec<Entry> = dir
            .items
            .iter()
            .enumerate()
            .filter(|(i, item)| item.kind != ItemKind::Dir || is_empty(&dir.items, *i))
            .map(|(_, item)| entry(item))
            .collect();
        DirPlan {
            dirname: dir.name.clone(),
            zip_size: records::zip_size(&entries),
            entries,
            skipped: dir.skipped.clone(),
        }
    }

    /// Walks the directory `root` (see [`Selection::walk`]) and plans its zip.
    pub fn scan(root: &Path) -> io::Result<DirPlan> {
        match Selection::walk(Payload::Path(root.to_owned()))? {
            Selection::Directory(dir) => Ok(DirPlan::new(&dir)),
            _ => {
                let msg = format!("{}: not a directory", root.display());
                Err(io::Error::new(io::ErrorKind::InvalidInput, msg))
            }
        }
    }

    /// Several files and directories sent as one directory named `dirname`.
    pub fn scan_many(dirname: &str, paths: &[PathBuf]) -> io::Result<DirPlan> {
        let payload = Payload::Paths {
            name: dirname.to_owned(),
            paths: paths.to_vec(),
        };
        match Selection::walk(payload)? {
            Selection::Directory(dir) => Ok(DirPlan::new(&dir)),
            _ => Err(io::ErrorKind::InvalidInput.into()),
        }
    }

    /// The `dirname` to offer: the directory's own name.
    pub fn dirname(&self) -> &str {
        &self.dirname
    }

    /// The exact number of bytes [`write_zip`](Self::write_zip) will write.
    pub fn zip_size(&self) -> u64 {
        self.zip_size
    }

    /// Regular files in the archive (the offer's `numfiles`).
    pub fn num_files(&self) -> u64 {
        self.file_sizes().count() as u64
    }

    /// Sum of the file sizes (the offer's `numbytes`).
    pub fn num_bytes(&self) -> u64 {
        self.file_sizes().sum()
    }

    /// What was left out, for a warning.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    pub(super) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn file_sizes(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries.iter().filter_map(|e| match e.kind {
            EntryKind::File { size } => Some(size),
            EntryKind::Dir => None,
        })
    }
}

/// Whether directory `items[i]` has nothing below it (pre-order: anything below
/// comes right after it).
fn is_empty(items: &[Item], i: usize) -> bool {
    let prefix = format!("{}/", items[i].rel);
    !items
        .get(i + 1)
        .is_some_and(|next| next.rel.starts_with(&prefix))
}

fn entry(item: &Item) -> Entry {
    let (name, kind) = match item.kind {
        ItemKind::File { size } => (item.rel.clone(), EntryKind::File { size }),
        ItemKind::Dir => (format!("{}/", item.rel), EntryKind::Dir),
    };
    Entry {
        name,
        kind,
        source: item.source.clone(),
        mode: item.mode,
        mtime: Mtime::from_system(item.mtime),
    }
}
