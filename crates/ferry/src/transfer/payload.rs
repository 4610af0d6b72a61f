//! What a user sends, and the same thing walked once, checked and measured
//! before anyone connects: every protocol sends from a [`Selection`].

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ferry_proto::transfer::path::{escape_for_terminal, safe_file_name};

use super::walk::{at, not_regular, permission_bits, shown, Item, ItemKind, Skipped, Walk};

/// What to send.
#[derive(Debug, Clone)]
pub enum Payload {
    Text(String),
    /// A regular file or a directory (decided by what the path is).
    Path(PathBuf),
    /// Several files and directories, sent as one directory named `name`.
    Paths {
        name: String,
        paths: Vec<PathBuf>,
    },
}

/// A payload after the walk.
#[derive(Debug, Clone)]
pub enum Selection {
    Text(String),
    /// One regular file; `item.rel` is its name.
    File(Item),
    Directory(Directory),
}

/// A directory to send: its own name and what it holds, in sorted pre-order.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The top name the receiver sees.
    pub name: String,
    pub mode: u32,
    pub mtime: Option<SystemTime>,
    /// Every file and directory below the top, a directory before its content;
    /// `rel` paths do not include `name`.
    pub items: Vec<Item>,
    /// What the walk left out.
    pub skipped: Vec<Skipped>,
}

impl Directory {
    /// Regular files below the top.
    pub fn files(&self) -> impl Iterator<Item = (&Item, u64)> {
        self.items.iter().filter_map(|i| match i.kind {
            ItemKind::File { size } => Some((i, size)),
            ItemKind::Dir => None,
        })
    }
}

impl Selection {
    /// Walks `payload`. Fails on a path that cannot be read or sent (nothing is
    /// skipped silently at the top level: the user named it).
    pub fn walk(payload: Payload) -> io::Result<Selection> {
        match payload {
            Payload::Text(text) => Ok(Selection::Text(text)),
            Payload::Path(path) => one(&path),
            Payload::Paths { name, paths } => several(&name, &paths).map(Selection::Directory),
        }
    }
}

fn one(path: &Path) -> io::Result<Selection> {
    let meta = fs::metadata(path).map_err(|e| at(path, e))?;
    let name = top_name(path)?;
    if meta.is_file() {
        let mut walk = Walk::new("");
        walk.top_level(path, name)?;
        return Ok(Selection::File(walk.items.remove(0)));
    }
    if !meta.is_dir() {
        return Err(not_regular(path));
    }
    let mut walk = Walk::new(&name);
    walk.dir_contents(path, "")?;
    Ok(Selection::Directory(Directory {
        name,
        mode: permission_bits(&meta),
        mtime: meta.modified().ok(),
        items: walk.items,
        skipped: walk.skipped,
    }))
}

/// Several paths as one directory `name` that exists only in the transfer.
fn several(name: &str, paths: &[PathBuf]) -> io::Result<Directory> {
    let name = safe_file_name(name).map_err(|e| invalid(format!("{name:?}: {e}")))?;
    let mut walk = Walk::new(&name);
    let mut names = HashSet::new();
    for path in paths {
        let top = top_name(path)?;
        if !names.insert(top.clone()) {
            let shown = escape_for_terminal(&top);
            return Err(invalid(format!("two paths are both named {shown}")));
        }
        walk.top_level(path, top)?;
    }
    Ok(Directory {
        name,
        mode: 0o755,
        mtime: Some(SystemTime::now()),
        items: walk.items,
        skipped: walk.skipped,
    })
}

/// The last component of `path` (resolved when it is `.` or ends in `..`),
/// checked the way a receiver checks a name.
fn top_name(path: &Path) -> io::Result<String> {
    let resolved = match path.file_name() {
        Some(_) => path.to_path_buf(),
        None => path.canonicalize().map_err(|e| at(path, e))?,
    };
    let name = resolved.file_name().and_then(|n| n.to_str()).unwrap_or("");
    safe_file_name(name).map_err(|e| match path.as_os_str() == name {
        true => invalid(format!("unusable name: {e}")), // the error names it
        false => invalid(format!("{}: unusable name: {e}", shown(path))),
    })
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
