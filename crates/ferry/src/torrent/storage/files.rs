//! The torrent's files under one directory, opened by descriptor: every path element
//! is opened with `openat` from the directory before it, without following a
//! symbolic link (a download), so nothing planted in the tree can lead out of it.
//! Open files are kept in a small cache for positional reads and writes.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use ferry_proto::torrent::metainfo::Info;
use ferry_proto::torrent::storage::{PieceMap, Span};
use ferry_proto::transfer::path::SafeRelativePath;
use rustix::fs::{mkdirat, openat, Mode, OFlags};

use crate::error::{Error, Result};

/// At most this many files open at once (a torrent may hold a million).
const OPEN_FILES: usize = 64;

/// Each real file's path under the directory the torrent lands in: `name` for a
/// single file, `name/path…` otherwise; `None` for a pad file. Every path is checked
/// again with the receive-side rules of every ferry transfer (`SafeRelativePath`:
/// no `..`, separators, control or invisible characters), exactly: an element the
/// check would drop refuses the torrent.
pub(super) fn relative_paths(info: &Info) -> Result<Vec<Option<Vec<String>>>> {
    let checked = |elements: Vec<String>| {
        let joined = elements.join("/");
        let safe = SafeRelativePath::parse(&joined).map_err(Error::unsafe_name)?;
        match safe.components().eq(elements.iter().map(String::as_str)) {
            true => Ok(Some(elements)),
            false => Err(Error::unsafe_name(format!("{joined:?}"))),
        }
    };
    let files = info.files.iter().map(|f| match (f.pad, info.single_file) {
        (true, _) => Ok(None),
        (false, true) => checked(vec![info.name.clone()]),
        (false, false) => checked(
            std::iter::once(&info.name)
                .chain(&f.path)
                .cloned()
                .collect(),
        ),
    });
    files.collect()
}

/// How files are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// A download's partial tree: read and write, links never followed.
    Download,
    /// Data to seed: read only, links followed (as `torrent create` follows them).
    Seed,
}

pub(super) struct Files {
    root: OwnedFd,
    paths: Vec<Option<Vec<String>>>,
    access: Access,
    open: Mutex<HashMap<usize, Arc<File>>>,
}

impl Files {
    /// The files under the directory `root` (opened here, never through a link when
    /// downloading).
    pub(super) fn new(
        root: &Path,
        paths: Vec<Option<Vec<String>>>,
        access: Access,
    ) -> Result<Files> {
        let flags = dir_flags(access);
        let root_fd = openat(rustix::fs::CWD, root, flags, Mode::empty())
            .map_err(|e| Error::io(format!("opening {}", root.display()), e.into()))?;
        Ok(Files {
            root: root_fd,
            paths,
            access,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Creates every real file of `info` (and its directories) at its full length,
    /// sparse; files already there (a resume) keep their content.
    pub(super) fn create_all(&self, info: &Info) -> Result<()> {
        for (i, path) in self.paths.iter().enumerate() {
            let Some(path) = path else { continue };
            let file = self
                .open_file(path, true)
                .map_err(|e| Error::io(format!("creating {}", path.join("/")), e))?;
            let length = info.files[i].length;
            if file.metadata().map(|m| m.len()).ok() != Some(length) {
                file.set_len(length)
                    .map_err(|e| Error::io(format!("sizing {}", path.join("/")), e))?;
            }
        }
        Ok(())
    }

    /// File `i`, opened (or from the cache).
    pub(super) fn get(&self, i: usize) -> io::Result<Arc<File>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = open.get(&i) {
            return Ok(file.clone());
        }
        let path = self.paths.get(i).and_then(Option::as_ref);
        let path = path.ok_or_else(|| io::Error::other("not a file on disk"))?;
        let file = Arc::new(self.open_file(path, false)?);
        if open.len() >= OPEN_FILES {
            let victim = open.keys().next().copied();
            victim.map(|v| open.remove(&v));
        }
        open.insert(i, file.clone());
        Ok(file)
    }

    /// Closes every cached file (before renames, and to sync them).
    pub(super) fn close_all(&self) {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The path of file `i` under the root, for messages.
    pub(super) fn shown(&self, i: usize) -> String {
        self.paths[i]
            .as_ref()
            .map_or_else(String::new, |p| p.join("/"))
    }

    pub(super) fn paths(&self) -> &[Option<Vec<String>>] {
        &self.paths
    }

    /// Reads bytes `range` of `piece` into `buf` (cleared, then filled; pads are zeros).
    pub(super) fn read(
        &self,
        map: &PieceMap,
        piece: u32,
        range: std::ops::Range<u64>,
        buf: &mut Vec<u8>,
    ) -> io::Result<()> {
        buf.clear();
        buf.resize((range.end - range.start) as usize, 0);
        for span in map.spans_in(piece, range) {
            if let Span::File { file, offset, .. } = span {
                self.get(file)?
                    .read_exact_at(&mut buf[span.range_in_piece()], offset)?;
            }
        }
        Ok(())
    }

    /// Writes a whole piece's file spans (pads are not written).
    pub(super) fn write(&self, map: &PieceMap, piece: u32, data: &[u8]) -> io::Result<()> {
        for span in map.spans(piece) {
            if let Span::File { file, offset, .. } = span {
                self.get(file)?
                    .write_all_at(&data[span.range_in_piece()], offset)?;
            }
        }
        Ok(())
    }

    fn open_file(&self, path: &[String], create: bool) -> io::Result<File> {
        let (name, dirs) = path.split_last().ok_or(io::ErrorKind::InvalidInput)?;
        let dir = self.open_dirs(dirs, create)?;
        let parent = dir.as_ref().map_or(self.root.as_fd(), |d| d.as_fd());
        let mut flags = OFlags::CLOEXEC;
        flags |= match (self.access, create) {
            (Access::Seed, _) => OFlags::RDONLY,
            (Access::Download, false) => OFlags::RDWR | OFlags::NOFOLLOW,
            (Access::Download, true) => OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CREATE,
        };
        let file = File::from(openat(
            parent,
            name.as_str(),
            flags,
            Mode::from_raw_mode(0o666),
        )?);
        match file.metadata()?.is_file() {
            true => Ok(file),
            false => Err(io::Error::other("not a regular file")),
        }
    }

    /// Opens (and creates, when asked) the directories of a path, one by one.
    fn open_dirs(&self, dirs: &[String], create: bool) -> io::Result<Option<OwnedFd>> {
        let mut at: Option<OwnedFd> = None;
        for dir in dirs {
            let parent: BorrowedFd<'_> = at.as_ref().map_or(self.root.as_fd(), |d| d.as_fd());
            if create {
                match mkdirat(parent, dir.as_str(), Mode::from_raw_mode(0o777)) {
                    Err(e) if e != rustix::io::Errno::EXIST => return Err(e.into()),
                    _ => {}
                }
            }
            at = Some(openat(
                parent,
                dir.as_str(),
                dir_flags(self.access),
                Mode::empty(),
            )?);
        }
        Ok(at)
    }
}

fn dir_flags(access: Access) -> OFlags {
    let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
    match access {
        Access::Download => flags | OFlags::NOFOLLOW,
        Access::Seed => flags,
    }
}
