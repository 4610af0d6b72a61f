//! The receiver's file-system checks before it accepts: where every entry lands,
//! what is already there, and whether the disk has room. Also the directories it
//! creates, whose final mode and time are set once everything inside is in place.
//!
//! The rules: a directory may already exist (sending the same folder again, or
//! resuming, lands in it); a file may already exist only with the same size, and
//! then only if its content turns out identical (checked once its hash is known);
//! anything else at a target name, a symbolic link included, refuses the transfer.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_proto::native::manifest::{EntryKind, Manifest, Mtime};
use ferry_proto::native::resume::ResumeState;

use crate::error::{Error, Result};

use super::outdir::{create_output_dir, space_dir};
use super::resume::resume_paths;
use super::space::ensure_space;

/// What is at an entry's target before the transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    Nothing,
    /// A real directory (for a directory entry).
    Dir,
    /// A regular file of the offered size (for a file entry): maybe identical.
    SameSize,
}

/// Every entry's target, in manifest order.
pub(crate) struct Targets {
    pub(crate) paths: Vec<PathBuf>,
    pub(crate) existing: Vec<Existing>,
    /// Entry index of each file number.
    pub(crate) file_entries: Vec<usize>,
}

impl Targets {
    /// Target and prior state of file number `n`.
    pub(crate) fn file(&self, n: u32) -> (&Path, Existing) {
        let i = self.file_entries[n as usize];
        (&self.paths[i], self.existing[i])
    }
}

/// Checks every target under `out_dir` and the free space; creates nothing
/// (`out_dir` may not exist yet).
pub(crate) fn check(manifest: &Manifest, out_dir: &Path) -> Result<Targets> {
    let mut targets = Targets {
        paths: Vec::new(),
        existing: Vec::new(),
        file_entries: Vec::new(),
    };
    let mut need = 0u64;
    for (i, entry) in manifest.entries().iter().enumerate() {
        let path = entry.path.to_path_under(out_dir);
        let existing = existing(&path, entry.kind)?;
        if let EntryKind::File { size } = entry.kind {
            targets.file_entries.push(i);
            if existing == Existing::Nothing {
                // Only the space check trusts a saved state by its size alone.
                let held = resumable_bytes(&path, size);
                need += size.saturating_sub(held);
            }
        }
        targets.paths.push(path);
        targets.existing.push(existing);
    }
    ensure_space(&space_dir(out_dir), need)?;
    Ok(targets)
}

fn existing(path: &Path, kind: EntryKind) -> Result<Existing> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(Error::io(format!("checking {}", path.display()), e)),
    };
    match kind {
        EntryKind::Dir if meta.is_dir() => Ok(Existing::Dir),
        EntryKind::File { size } if meta.is_file() && meta.len() == size => Ok(Existing::SameSize),
        _ => Err(Error::exists(path.to_owned())),
    }
}

/// Verified bytes a resume state beside `target` claims (rechecked later).
fn resumable_bytes(target: &Path, size: u64) -> u64 {
    let state = fs::read(resume_paths(target).state).ok();
    state
        .and_then(|bytes| ResumeState::decode(&bytes))
        .filter(|s| {
            s.verified().len() as u64 == ferry_proto::native::tree::Layout::for_size(size).groups()
        })
        .map_or(0, |s| s.verified_bytes())
}

/// Directories this transfer created, with the mode and time they get at the end.
pub(crate) struct CreatedDirs(Vec<(PathBuf, u32, Mtime)>);

/// Creates the output directory and the missing directories below it,
/// owner-only until the end.
pub(crate) fn create_dirs(
    manifest: &Manifest,
    targets: &Targets,
    out_dir: &Path,
) -> Result<CreatedDirs> {
    create_output_dir(out_dir)?;
    let mut created = Vec::new();
    for (i, entry) in manifest.entries().iter().enumerate() {
        if entry.kind != EntryKind::Dir || targets.existing[i] == Existing::Dir {
            continue;
        }
        let path = &targets.paths[i];
        match fs::create_dir(path) {
            Ok(()) => created.push((path.clone(), entry.mode, entry.mtime)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::exists(path))
            }
            Err(e) => return Err(Error::io(format!("creating {}", path.display()), e)),
        }
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
    }
    Ok(CreatedDirs(created))
}

impl CreatedDirs {
    /// Adds directories created later (after a reconnect), finished after these.
    pub(crate) fn extend(&mut self, later: CreatedDirs) {
        self.0.extend(later.0);
    }

    /// Sets times and modes, deepest first, so a read-only directory is finished last.
    pub(crate) fn finish(self) -> Result<()> {
        for (path, mode, mtime) in self.0.into_iter().rev() {
            let dir = File::open(&path)
                .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
            let _ = dir.set_modified(system_time(mtime));
            fs::set_permissions(&path, fs::Permissions::from_mode(dir_mode(mode)))
                .map_err(|e| Error::io(format!("setting the mode of {}", path.display()), e))?;
        }
        Ok(())
    }
}

/// A received file's permissions: the peer's bits without write for others or
/// group, and always readable by its owner.
pub(crate) fn file_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o400
}

/// A received directory's permissions: always usable by its owner.
fn dir_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o700
}

pub(crate) fn system_time(m: Mtime) -> SystemTime {
    let nanos = Duration::from_nanos(u64::from(m.nanos));
    let secs = Duration::from_secs(m.secs.unsigned_abs());
    match m.secs >= 0 {
        true => UNIX_EPOCH + secs + nanos,
        false => UNIX_EPOCH - secs + nanos,
    }
}
