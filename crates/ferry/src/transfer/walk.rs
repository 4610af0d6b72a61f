//! The one walk of what a user sends, with the one skip policy every protocol
//! shares: symbolic links below a chosen path are never followed nor sent (a path
//! the user named may be one), special files have no content, and names a
//! receiver would refuse (not UTF-8, control characters, too long or too deep)
//! are left out. What is left out is listed so the user can be told.

use std::fs::{self, DirEntry, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ferry_proto::transfer::path::{escape_for_terminal, PathError, SafeRelativePath};

/// A regular file or a directory found by the walk.
#[derive(Debug, Clone)]
pub struct Item {
    /// `/`-separated path relative to the top of what is sent (the top name
    /// itself not included); safe for any receiver.
    pub rel: String,
    pub kind: ItemKind,
    /// Where the content is read from.
    pub source: PathBuf,
    /// Permission bits only (`0o777` at most).
    pub mode: u32,
    pub mtime: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A regular file of this many bytes, as seen by the walk.
    File {
        size: u64,
    },
    Dir,
}

/// Something that will not be sent.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// Path relative to the top of what is sent.
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

/// Why an item is left out.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SkipReason {
    /// Symbolic links are never followed nor sent.
    #[error("symbolic link")]
    Symlink,
    /// Devices, FIFOs and sockets have no content to send.
    #[error("not a regular file or directory")]
    Special,
    /// The name is not UTF-8, which no transfer protocol here can carry.
    #[error("name is not valid UTF-8")]
    NotUtf8,
    /// A receiver would refuse the name (control character, too long…).
    #[error("{0}")]
    BadName(PathError),
}

/// Accumulates items in sorted pre-order: a directory before what it holds.
pub(super) struct Walk {
    /// The name the receiver will see at the top; every path is checked with it
    /// in front, so what the walk accepts, a receiver accepts too.
    top: String,
    pub(super) items: Vec<Item>,
    pub(super) skipped: Vec<Skipped>,
}

impl Walk {
    pub(super) fn new(top: &str) -> Walk {
        Walk {
            top: top.to_owned(),
            items: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Adds what is under the directory `abs`, whose path is `rel`.
    /// Recursion is bounded: `SafeRelativePath` refuses deep paths.
    pub(super) fn dir_contents(&mut self, abs: &Path, rel: &str) -> io::Result<()> {
        for child in sorted_children(abs)? {
            self.child(&child, rel)?;
        }
        Ok(())
    }

    /// One path the user named, under `name` (it may be a link: the user chose it).
    pub(super) fn top_level(&mut self, abs: &Path, name: String) -> io::Result<()> {
        let meta = fs::metadata(abs).map_err(|e| at(abs, e))?;
        if meta.is_dir() {
            return self.dir(abs, name, &meta);
        }
        if !meta.is_file() {
            return Err(not_regular(abs));
        }
        self.file(abs, name, &meta)
    }

    /// Classifies one directory child and adds it, recurses, or skips it.
    fn child(&mut self, child: &DirEntry, rel: &str) -> io::Result<()> {
        let child_rel = match self.child_name(child, rel) {
            Ok(name) => name,
            Err(reason) => {
                self.skip(child, rel, reason);
                return Ok(());
            }
        };
        let abs = child.path();
        let kind = child.file_type().map_err(|e| at(&abs, e))?;
        if kind.is_symlink() {
            self.skip(child, rel, SkipReason::Symlink);
        } else if kind.is_dir() {
            let meta = fs::symlink_metadata(&abs).map_err(|e| at(&abs, e))?;
            self.dir(&abs, child_rel, &meta)?;
        } else if kind.is_file() {
            let meta = fs::symlink_metadata(&abs).map_err(|e| at(&abs, e))?;
            self.file(&abs, child_rel, &meta)?;
        } else {
            self.skip(child, rel, SkipReason::Special);
        }
        Ok(())
    }

    fn dir(&mut self, abs: &Path, rel: String, meta: &Metadata) -> io::Result<()> {
        self.items.push(item(rel.clone(), ItemKind::Dir, meta, abs));
        self.dir_contents(abs, &rel)
    }

    /// Every file is opened once, so an unreadable one fails before anyone connects.
    fn file(&mut self, abs: &Path, rel: String, meta: &Metadata) -> io::Result<()> {
        let file = fs::File::open(abs).map_err(|e| at(abs, e))?;
        if meta.len() == 0 {
            size_known(abs, file)?;
        }
        let kind = ItemKind::File { size: meta.len() };
        self.items.push(item(rel, kind, meta, abs));
        Ok(())
    }

    /// The child's relative path, if it is one a receiver will accept.
    fn child_name(&self, child: &DirEntry, rel: &str) -> Result<String, SkipReason> {
        let name = child.file_name();
        let name = name.to_str().ok_or(SkipReason::NotUtf8)?;
        let joined = join(rel, name);
        // A name from `read_dir` holds no `/` and is never `.` or `..`, so an
        // accepted path is already in normal form.
        match SafeRelativePath::parse(&join(&self.top, &joined)) {
            Ok(_) => Ok(joined),
            Err(e) => Err(SkipReason::BadName(e)),
        }
    }

    fn skip(&mut self, child: &DirEntry, rel: &str, reason: SkipReason) {
        let path = Path::new(rel).join(child.file_name());
        self.skipped.push(Skipped { path, reason });
    }
}

/// Fails on a file that says it is empty but has content (`/proc`, `/sys`):
/// every offer states the size before the first byte moves.
fn size_known(abs: &Path, mut file: fs::File) -> io::Result<()> {
    let mut one = [0u8; 1];
    match io::Read::read(&mut file, &mut one).map_err(|e| at(abs, e))? {
        0 => Ok(()),
        _ => {
            let msg = format!(
                "{}: size not known in advance (a generated file, as in /proc); copy it to a regular file first",
                shown(abs)
            );
            Err(io::Error::new(io::ErrorKind::InvalidInput, msg))
        }
    }
}

/// `rel/name`, or `name` at the top.
pub(super) fn join(rel: &str, name: &str) -> String {
    match rel {
        "" => name.to_owned(),
        _ => format!("{rel}/{name}"),
    }
}

/// The children of a directory, sorted by name: every protocol sends them in a
/// deterministic order.
fn sorted_children(abs: &Path) -> io::Result<Vec<DirEntry>> {
    let mut children = fs::read_dir(abs)
        .and_then(|it| it.collect::<io::Result<Vec<_>>>())
        .map_err(|e| at(abs, e))?;
    children.sort_by_key(DirEntry::file_name);
    Ok(children)
}

fn item(rel: String, kind: ItemKind, meta: &Metadata, source: &Path) -> Item {
    Item {
        rel,
        kind,
        source: source.to_path_buf(),
        mode: permission_bits(meta),
        mtime: meta.modified().ok(),
    }
}

/// Permission bits to send; setuid, setgid and sticky are not sent.
pub(super) fn permission_bits(meta: &Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

/// An I/O error that names the path it happened on.
pub(crate) fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", shown(path)))
}

/// A local path for a message: local names can hold control characters too.
pub(crate) fn shown(path: &Path) -> String {
    escape_for_terminal(&path.to_string_lossy())
}

pub(super) fn not_regular(abs: &Path) -> io::Error {
    let msg = format!("{}: not a regular file or directory", shown(abs));
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
