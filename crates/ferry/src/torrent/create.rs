//! Making a `.torrent` from files on disk: walk the path, lay the files out
//! ([`Plan`]), hash the pieces on every core, encode.
//!
//! Each worker thread claims a run of pieces at a time and reads each piece once
//! with positioned reads; both hashes of a hybrid (SHA-1 of the piece, SHA-256 of
//! its 16 KiB blocks) come from that one read. What ends up in the torrent matches
//! libtorrent 2.x for the same files (see `ferry_proto::torrent::build`).
//!
//! What is shared: regular files, found by following symbolic links (as libtorrent
//! and mktorrent do), hidden files included, empty files included; empty
//! directories are left out (a torrent cannot carry them). A file that cannot be
//! read stops the whole run: a torrent with a file missing is not what was asked.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use ferry_proto::torrent::build::{self, Extras, FileSpec, Hashed, PieceHash, Plan, PlanError};
use ferry_proto::torrent::magnet::Magnet;
use ferry_proto::torrent::metainfo::{InfoHashes, Version, MAX_PATH_DEPTH};

/// Each worker claims about this many bytes of pieces at a time: long enough runs
/// that two threads reading one file still read it mostly in order.
const CLAIM_BYTES: u64 = 4 << 20;

/// Why a torrent was not made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}: the name is not UTF-8")]
    NotUtf8(PathBuf),
    #[error("{0}: directories nested too deep (a symbolic link loop?)")]
    TooDeep(PathBuf),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("stopped")]
    Stopped,
}

/// What to make.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub version: Version,
    /// None: libtorrent's automatic size for the total ([`build::default_piece_length`]).
    pub piece_length: Option<u64>,
    pub extras: Extras,
    /// Worker threads (at least one).
    pub threads: usize,
}

/// A made torrent.
#[derive(Debug, Clone)]
pub struct Created {
    pub torrent: Vec<u8>,
    pub hashes: InfoHashes,
    pub name: String,
    pub piece_length: u64,
    pub files: usize,
    /// Bytes of file content (pad files not counted).
    pub bytes: u64,
    pub magnet: Magnet,
}

/// The files under `path`, in the order the torrent will list them.
pub struct Source {
    root: PathBuf,
    name: String,
    single_file: bool,
    files: Vec<FileSpec>,
}

impl Source {
    /// Walks `path` (a file or a directory).
    pub fn scan(path: &Path) -> Result<Source, CreateError> {
        let io_err = |source| CreateError::Io {
            path: path.to_owned(),
            source,
        };
        let root = std::fs::canonicalize(path).map_err(io_err)?;
        let name = utf8_name(&root)?;
        let meta = std::fs::metadata(&root).map_err(io_err)?;
        let mut files = Vec::new();
        let single_file = !meta.is_dir();
        match single_file {
            true => files.push(FileSpec {
                path: vec![name.clone()],
                length: meta.len(),
            }),
            false => walk(&root, &mut Vec::new(), &mut files)?,
        }
        Ok(Source {
            root,
            name,
            single_file,
            files,
        })
    }

    /// The torrent's name: the file's or directory's own name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes of content.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.length).sum()
    }

    fn disk_path(&self, path: &[String]) -> PathBuf {
        match self.single_file {
            true => self.root.clone(),
            false => path.iter().fold(self.root.clone(), |p, e| p.join(e)),
        }
    }
}

fn utf8_name(path: &Path) -> Result<String, CreateError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| CreateError::NotUtf8(path.to_owned()))
}

fn walk(dir: &Path, at: &mut Vec<String>, out: &mut Vec<FileSpec>) -> Result<(), CreateError> {
    if at.len() >= MAX_PATH_DEPTH {
        return Err(CreateError::TooDeep(dir.to_owned()));
    }
    let io_err = |source| CreateError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let path = entry.map_err(io_err)?.path();
        let name = utf8_name(&path)?;
        let meta = std::fs::metadata(&path).map_err(|source| CreateError::Io {
            path: path.clone(),
            source,
        })?;
        at.push(name);
        match meta.is_dir() {
            true => walk(&path, at, out)?,
            false => out.push(FileSpec {
                path: at.clone(),
                length: meta.len(),
            }),
        }
        at.pop();
    }
    Ok(())
}

/// Hashes `source` and encodes the torrent; `progress(bytes hashed)` is called
/// from this thread a few times a second; `stop()` is asked between pieces.
pub fn create(
    source: &Source,
    options: &CreateOptions,
    progress: &mut dyn FnMut(u64),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Created, CreateError> {
    let piece = options
        .piece_length
        .unwrap_or_else(|| build::default_piece_length(source.bytes()));
    let mut plan = Plan::new(
        &source.name,
        source.files.clone(),
        source.single_file,
        piece,
        options.version,
    )?;
    let pieces = hash_all(source, &plan, options.threads.max(1), progress, stop)?;
    let hashed: Hashed = plan.assemble(&pieces);
    let info = plan.info(&hashed);
    let torrent = build::torrent(&info, options.version, &hashed, &options.extras);
    let hashes = InfoHashes::of(&info, options.version);
    let magnet = Magnet {
        hashes,
        name: Some(source.name.clone()),
        trackers: options.extras.trackers.clone(),
        web_seeds: options.extras.web_seeds.clone(),
        peers: Vec::new(),
    };
    Ok(Created {
        torrent,
        hashes,
        name: source.name.clone(),
        piece_length: piece,
        files: source.files.len(),
        bytes: source.bytes(),
        magnet,
    })
}

/// Shared between the workers.
struct Work<'a> {
    source: &'a Source,
    plan: &'a Plan,
    next: AtomicU64,
    hashed: AtomicU64,
    failed: AtomicBool,
    stop: &'a (dyn Fn() -> bool + Sync),
}

fn hash_all(
    source: &Source,
    plan: &Plan,
    threads: usize,
    progress: &mut dyn FnMut(u64),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<PieceHash>, CreateError> {
    let work = Work {
        source,
        plan,
        next: AtomicU64::new(0),
        hashed: AtomicU64::new(0),
        failed: AtomicBool::new(false),
        stop,
    };
    let results = Mutex::new(Vec::new());
    let me = std::thread::current();
    let done = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let out = worker(&work);
                if out.is_err() {
                    work.failed.store(true, Ordering::Relaxed);
                }
                results.lock().unwrap_or_else(|e| e.into_inner()).push(out);
                done.fetch_add(1, Ordering::Release);
                me.unpark();
            });
        }
        while done.load(Ordering::Acquire) < threads as u64 {
            progress(work.hashed.load(Ordering::Relaxed));
            std::thread::park_timeout(Duration::from_millis(100));
        }
    });
    progress(work.hashed.load(Ordering::Relaxed));
    let mut pieces: Vec<(u64, PieceHash)> = Vec::with_capacity(plan.piece_count() as usize);
    for out in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        pieces.extend(out?);
    }
    pieces.sort_unstable_by_key(|(i, _)| *i);
    Ok(pieces.into_iter().map(|(_, h)| h).collect())
}

fn worker(work: &Work<'_>) -> Result<Vec<(u64, PieceHash)>, CreateError> {
    let plan = work.plan;
    let count = plan.piece_count();
    let run = (CLAIM_BYTES / plan.piece_length).max(1);
    let mut open: Option<(usize, File)> = None;
    let mut buf = Vec::with_capacity(plan.piece_length as usize);
    let mut out = Vec::new();
    loop {
        let first = work.next.fetch_add(run, Ordering::Relaxed);
        if first >= count || work.failed.load(Ordering::Relaxed) {
            return Ok(out);
        }
        for index in first..(first + run).min(count) {
            if (work.stop)() {
                return Err(CreateError::Stopped);
            }
            plan.read_piece(index, &mut buf, |file, offset, into| {
                read_at(work.source, plan, &mut open, file, offset, into)
            })?;
            out.push((index, plan.hash_piece(index, &buf)));
            let content: u64 = plan
                .segments(plan.piece_range(index))
                .iter()
                .map(|s| s.3 as u64)
                .sum();
            work.hashed.fetch_add(content, Ordering::Relaxed);
        }
    }
}

fn read_at(
    source: &Source,
    plan: &Plan,
    open: &mut Option<(usize, File)>,
    file: usize,
    offset: u64,
    into: &mut [u8],
) -> Result<(), CreateError> {
    let path = source.disk_path(&plan.files[file].path);
    let io_err = |source| CreateError::Io {
        path: path.clone(),
        source,
    };
    if open.as_ref().map(|(i, _)| *i) != Some(file) {
        *open = Some((file, File::open(&path).map_err(io_err)?));
    }
    let Some((_, handle)) = open.as_ref() else {
        return Err(CreateError::Stopped);
    };
    handle.read_exact_at(into, offset).map_err(io_err)
}

#[cfg(test)]
#[path = "create_tests.rs"]
mod tests;
