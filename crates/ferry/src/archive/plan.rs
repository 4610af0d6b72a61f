//! Walking a directory into the list of entries the zip will hold.

use std::fs::{self, DirEntry, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use ferry_proto::transfer::path::{
    escape_for_terminal, safe_file_name, PathError, SafeRelativePath,
};

use super::dostime::Mtime;
use super::records;

/// One entry of the archive.
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
    /// A regular file of this many bytes, as seen by the scan.
    File { size: u64 },
    /// A directory with nothing else in the archive under it.
    Dir,
}

/// Something under the directory that will not be sent.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// Path relative to the scanned directory.
    pub path: PathBuf,
    /// Why it is left out.
    pub reason: SkipReason,
}

impl Skipped {
    /// The relative path, escaped for a terminal (local names can hold
    /// control characters too).
    pub fn display(&self) -> String {
        escape_for_terminal(&self.path.to_string_lossy())
    }
}

/// Why an item is left out of the archive.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SkipReason {
    /// Symbolic links are never followed nor sent.
    #[error("symbolic link")]
    Symlink,
    /// Devices, FIFOs and sockets have no content to send.
    #[error("not a regular file or directory")]
    Special,
    /// The name is not UTF-8, so the zip cannot carry it.
    #[error("name is not valid UTF-8")]
    NotUtf8,
    /// A receiver would refuse the name (control character, too long…).
    #[error("{0}")]
    BadName(PathError),
}

/// A directory ready to be sent: what will go in the zip, and its exact size.
///
/// Built by [`DirPlan::scan`], then streamed by [`DirPlan::write_zip`].
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
    /// Walks `root` in sorted order without following symbolic links below
    /// it (`root` itself may be one). Symlinks, special files and names a
    /// receiver would refuse are left out and listed in
    /// [`skipped`](Self::skipped). Every file is opened once to fail early
    /// on unreadable ones.
    pub fn scan(root: &Path) -> io::Result<DirPlan> {
        if !fs::metadata(root).map_err(|e| at(root, e))?.is_dir() {
            let msg = format!("{}: not a directory", root.display());
            return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        }
        let dirname = dir_name(root)?;
        let mut walk = Walk::default();
        walk.dir(root, "")?;
        Ok(DirPlan::from_walk(dirname, walk))
    }

    /// Several files and directories sent as one directory named `dirname`:
    /// each path becomes a top-level entry under its own name. Paths given
    /// on the command line may be symbolic links; links below them are not
    /// followed.
    pub fn scan_many(dirname: &str, paths: &[PathBuf]) -> io::Result<DirPlan> {
        let dirname = safe_file_name(dirname).map_err(|e| invalid(format!("{dirname:?}: {e}")))?;
        let mut walk = Walk::default();
        let mut names = std::collections::HashSet::new();
        for path in paths {
            let name = dir_name(path)?;
            if !names.insert(name.clone()) {
                return Err(invalid(format!(
                    "two paths are both named {}",
                    escape_for_terminal(&name)
                )));
            }
            walk.top_level(path, name)?;
        }
        Ok(DirPlan::from_walk(dirname, walk))
    }

    /// The finished walk, with the zip size its entries will take.
    fn from_walk(dirname: String, walk: Walk) -> DirPlan {
        DirPlan {
            dirname,
            zip_size: records::zip_size(&walk.entries),
            entries: walk.entries,
            skipped: walk.skipped,
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

/// The last component of `root` (resolved when it is `.` or ends in `..`),
/// checked the way a receiver checks a `dirname`.
fn dir_name(root: &Path) -> io::Result<String> {
    let resolved = match root.file_name() {
        Some(_) => root.to_path_buf(),
        None => root.canonicalize().map_err(|e| at(root, e))?,
    };
    let name = resolved.file_name().and_then(|n| n.to_str()).unwrap_or("");
    safe_file_name(name).map_err(|e| {
        let msg = format!("{}: unusable name: {e}", root.display());
        io::Error::new(io::ErrorKind::InvalidInput, msg)
    })
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// An I/O error that names the path it happened on.
pub(super) fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Accumulates entries during the recursive walk.
#[derive(Default)]
struct Walk {
    entries: Vec<Entry>,
    skipped: Vec<Skipped>,
}

impl Walk {
    /// Adds what is under `abs` (arcname prefix `rel`); an empty directory
    /// (nothing added under it) gets an entry of its own, except the root.
    /// Recursion is bounded: `SafeRelativePath` refuses deep paths.
    fn dir(&mut self, abs: &Path, rel: &str) -> io::Result<()> {
        let before = self.entries.len();
        for child in sorted_children(abs)? {
            self.child(&child, rel)?;
        }
        if self.entries.len() == before && !rel.is_empty() {
            let meta = fs::symlink_metadata(abs).map_err(|e| at(abs, e))?;
            self.entries
                .push(entry(format!("{rel}/"), EntryKind::Dir, &meta, abs));
        }
        Ok(())
    }

    /// Classifies one directory child and adds it, recurses, or skips it.
    fn child(&mut self, child: &DirEntry, rel: &str) -> io::Result<()> {
        let child_rel = match child_name(child, rel) {
            Ok(name) => name,
            Err(reason) => {
                self.skip(child, rel, reason);
                return Ok(());
            }
        };
        let kind = child.file_type().map_err(|e| at(&child.path(), e))?;
        if kind.is_symlink() {
            self.skip(child, rel, SkipReason::Symlink);
        } else if kind.is_dir() {
            self.dir(&child.path(), &child_rel)?;
        } else if kind.is_file() {
            self.file(&child.path(), child_rel)?;
        } else {
            self.skip(child, rel, SkipReason::Special);
        }
        Ok(())
    }

    /// One path named on the command line (it may be a link: the user chose it).
    fn top_level(&mut self, abs: &Path, name: String) -> io::Result<()> {
        let meta = fs::metadata(abs).map_err(|e| at(abs, e))?;
        if meta.is_dir() {
            return self.dir(abs, &name);
        }
        if !meta.is_file() {
            return Err(invalid(format!(
                "{}: not a regular file or directory",
                abs.display()
            )));
        }
        let kind = EntryKind::File { size: meta.len() };
        fs::File::open(abs).map_err(|e| at(abs, e))?;
        self.entries.push(entry(name, kind, &meta, abs));
        Ok(())
    }

    fn file(&mut self, abs: &Path, rel: String) -> io::Result<()> {
        let meta = fs::symlink_metadata(abs).map_err(|e| at(abs, e))?;
        fs::File::open(abs).map_err(|e| at(abs, e))?;
        let kind = EntryKind::File { size: meta.len() };
        self.entries.push(entry(rel, kind, &meta, abs));
        Ok(())
    }

    fn skip(&mut self, child: &DirEntry, rel: &str, reason: SkipReason) {
        let path = Path::new(rel).join(child.file_name());
        self.skipped.push(Skipped { path, reason });
    }
}

/// The children of a directory, sorted by name for a deterministic archive.
fn sorted_children(abs: &Path) -> io::Result<Vec<DirEntry>> {
    let mut children = fs::read_dir(abs)
        .and_then(|it| it.collect::<io::Result<Vec<_>>>())
        .map_err(|e| at(abs, e))?;
    children.sort_by_key(DirEntry::file_name);
    Ok(children)
}

/// The child's arcname, if it is one a receiver will accept.
fn child_name(child: &DirEntry, rel: &str) -> Result<String, SkipReason> {
    let name = child.file_name();
    let name = name.to_str().ok_or(SkipReason::NotUtf8)?;
    let joined = match rel {
        "" => name.to_owned(),
        _ => format!("{rel}/{name}"),
    };
    // A name from `read_dir` holds no `/` and is never `.` or `..`, so an
    // accepted path is already in normal form.
    match SafeRelativePath::parse(&joined) {
        Ok(_) => Ok(joined),
        Err(e) => Err(SkipReason::BadName(e)),
    }
}

fn entry(name: String, kind: EntryKind, meta: &Metadata, source: &Path) -> Entry {
    Entry {
        name,
        kind,
        source: source.to_path_buf(),
        mode: permission_bits(meta),
        mtime: Mtime::from_system(meta.modified().ok()),
    }
}

/// Permission bits to store; setuid, setgid and sticky are not sent.
#[cfg(unix)]
fn permission_bits(meta: &Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

/// Permission bits to store, from what the platform knows.
#[cfg(not(unix))]
fn permission_bits(meta: &Metadata) -> u32 {
    match (meta.is_dir(), meta.permissions().readonly()) {
        (true, _) => 0o755,
        (false, true) => 0o444,
        (false, false) => 0o644,
    }
}
