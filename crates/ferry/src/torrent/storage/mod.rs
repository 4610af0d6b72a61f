//! A torrent's files on disk: where a download's pieces go, where a seed's come
//! from, and what survives a kill.
//!
//! # Where partial data lives
//! A download into `OUT` lands in one hidden directory, `OUT/.ferry-torrent-<hash>/`
//! (the v1 infohash in hex, or the v2 one for a v2-only torrent; mode 0700): the
//! torrent's tree under its own name (`<name>` or `<name>/<path>…`, files sparse at
//! their full length, no pad files) and the resume `state`. Only when every piece is
//! verified does [`Storage::finish`] rename `<name>` to `OUT/<name>` in one
//! `RENAME_NOREPLACE` and remove the hidden directory: nothing complete-looking
//! exists before the whole torrent is verified, nothing is ever replaced, a kill
//! leaves one directory whose name says whose it is, and the rename is atomic
//! because the hidden directory is on the same file system as its target.
//!
//! # Safety
//! Every path is checked again with the rules of every ferry receive (see
//! `files::relative_paths`); every element is opened with `openat` from its parent
//! without following a symbolic link; `OUT/<name>` existing refuses the download
//! (only our own hidden directory may be there already: a resume); the free space
//! for what is still missing is checked before anything is created.
//!
//! # Resume
//! `state` holds the infohashes and the bitfield of the pieces written and
//! verified; it is replaced atomically (temp + rename) at most every
//! [`STATE_EVERY`] while pieces arrive, and on [`Storage::flush`] and drop.
//! [`Storage::create`] on the same `OUT` continues from it: the pieces it claims are
//! read back and verified again on every core, and one that no longer verifies is
//! simply missing again.
//!
//! # API (what the swarm driver and the peer tasks call)
//! - [`Storage::create`] (get) or [`Storage::open_seed`] (seed): blocking, verifies
//!   on every core; call them from `spawn_blocking`.
//! - [`Storage::have`]: the verified pieces (send it as the `bitfield`; seed the
//!   picker's `verified`).
//! - [`Storage::write_piece`] with a complete piece the caller has verified with
//!   `ferry_proto::torrent::storage::verify_piece` (against [`Storage::map`]).
//! - [`Storage::read_block`] for a peer's `request` (`&self`: share the storage in
//!   an `RwLock` between the writer and the serving tasks); only verified pieces
//!   are served.
//! - [`Storage::finish`] once [`Storage::is_complete`]: the download's final path.
//!
//! All of it is positional, blocking file I/O of at most a piece at a time.

mod check;
mod files;
mod state;

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_proto::torrent::metainfo::{InfoHashes, Metainfo};
use ferry_proto::torrent::storage::PieceMap;
use ferry_proto::torrent::wire::{Bitfield, BlockRef, MAX_BLOCK};

use crate::error::{Error, Result};
use crate::transfer::landing::{
    check_output_dir, create_output_dir, ensure_space_with, free_space, open_nofollow,
    rename_noreplace, replace_file, space_dir,
};
use files::{relative_paths, Access, Files};

/// The resume state is saved at most this often while pieces arrive: a kill
/// costs at most this much of the download again, and a torrent of small
/// pieces does not rewrite its state thousands of times a second.
pub const STATE_EVERY: Duration = Duration::from_secs(1);

/// The hidden directory of a download into `out_dir`.
pub fn partial_dir(out_dir: &Path, hashes: &InfoHashes) -> PathBuf {
    let hash = match (hashes.v1, hashes.v2) {
        (Some(v1), _) => hex::encode(v1),
        (None, Some(v2)) => hex::encode(v2),
        (None, None) => String::new(),
    };
    out_dir.join(format!(".ferry-torrent-{hash}"))
}

/// A download under way, or data being seeded.
pub struct Storage {
    meta: Metainfo,
    map: PieceMap,
    files: Files,
    have: Bitfield,
    /// A download's hidden directory and final path; None when seeding.
    download: Option<Download>,
}

struct Download {
    partial: PathBuf,
    target: PathBuf,
    saved: Instant,
    dirty: bool,
}

impl Storage {
    /// Starts (or resumes) downloading `meta` into `out_dir/<name>` (see the module
    /// docs for the checks and the layout).
    pub fn create(out_dir: &Path, meta: &Metainfo) -> Result<Storage> {
        Storage::create_probing(out_dir, meta, free_space)
    }

    /// [`Storage::create`], asking `free` how much room the disk has.
    pub(crate) fn create_probing(
        out_dir: &Path,
        meta: &Metainfo,
        free: impl FnOnce(&Path) -> io::Result<u64>,
    ) -> Result<Storage> {
        let paths = relative_paths(&meta.info)?;
        check_output_dir(out_dir)?;
        let target = out_dir.join(&meta.info.name);
        if target.symlink_metadata().is_ok() {
            return Err(Error::exists(target));
        }
        let partial = partial_dir(out_dir, &meta.info.hashes);
        let map = PieceMap::new(&meta.info);
        let claimed = match partial.symlink_metadata() {
            Ok(m) if m.is_dir() => claimed(&partial, meta, &map),
            Ok(_) => return Err(Error::exists(partial)),
            Err(_) => Bitfield::empty(map.pieces()),
        };
        let need = file_bytes(meta, &map, |p| !claimed.has(p));
        ensure_space_with(&space_dir(out_dir), need, free)?;
        create_output_dir(out_dir)?;
        make_private_dir(&partial)?;
        let files = Files::new(&partial, paths, Access::Download)?;
        files.create_all(&meta.info)?;
        let pieces: Vec<u32> = (0..map.pieces()).filter(|p| claimed.has(*p)).collect();
        let have = verified(&files, meta, &map, &pieces)?;
        let mut storage = Storage {
            meta: meta.clone(),
            map,
            files,
            have,
            download: Some(Download {
                partial,
                target,
                saved: Instant::now(),
                dirty: true,
            }),
        };
        storage.flush()?;
        Ok(storage)
    }

    /// Opens the data of `meta` at `data_dir/<name>` to seed it: every file must be
    /// there at its length; every piece is verified (on every core) and only the
    /// good ones are served ([`Storage::have`]).
    pub fn open_seed(data_dir: &Path, meta: &Metainfo) -> Result<Storage> {
        let paths = relative_paths(&meta.info)?;
        let files = Files::new(data_dir, paths, Access::Seed)?;
        for (i, entry) in meta.info.files.iter().enumerate() {
            check_seed_file(&files, i, entry.length, data_dir)?;
        }
        let map = PieceMap::new(&meta.info);
        let all: Vec<u32> = (0..map.pieces()).collect();
        Ok(Storage {
            meta: meta.clone(),
            have: verified(&files, meta, &map, &all)?,
            map,
            files,
            download: None,
        })
    }

    pub fn map(&self) -> &PieceMap {
        &self.map
    }

    pub fn metainfo(&self) -> &Metainfo {
        &self.meta
    }

    /// The verified pieces.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    pub fn is_complete(&self) -> bool {
        self.have.count() == self.map.pieces()
    }

    /// Writes piece `piece`, which the caller verified; it counts from now on and is
    /// in the next saved state.
    pub fn write_piece(&mut self, piece: u32, data: &[u8]) -> Result<()> {
        let Some(download) = &mut self.download else {
            return Err(Error::internal("writing a piece while seeding"));
        };
        let size = self.map.piece_size(piece);
        if piece >= self.map.pieces() || u64::try_from(data.len()).ok() != Some(size) {
            return Err(Error::internal(format!("piece {piece} of the wrong size")));
        }
        self.files
            .write(&self.map, piece, data)
            .map_err(|e| Error::io(format!("writing piece {piece}"), e))?;
        self.have.set(piece);
        download.dirty = true;
        match download.saved.elapsed() >= STATE_EVERY {
            true => self.flush(),
            false => Ok(()),
        }
    }

    /// A block of a verified piece, for a peer's `request` (pad bytes are zeros).
    pub fn read_block(&self, block: BlockRef) -> io::Result<Vec<u8>> {
        let (begin, end) = (
            u64::from(block.begin),
            u64::from(block.begin) + u64::from(block.length),
        );
        let refuse = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, why.to_owned());
        if !self.have.has(block.index) {
            return Err(refuse("we do not have that piece"));
        }
        if block.length == 0 || block.length > MAX_BLOCK || end > self.map.piece_size(block.index) {
            return Err(refuse("not a block of that piece"));
        }
        let mut buf = Vec::new();
        self.files
            .read(&self.map, block.index, begin..end, &mut buf)?;
        Ok(buf)
    }

    /// Saves the resume state if pieces came since the last save and it is
    /// [`STATE_EVERY`] old: the driver calls this each tick, so the last pieces
    /// before a stall are saved too (`write_piece` saves only as pieces come).
    pub fn save_if_due(&mut self) -> Result<()> {
        match &self.download {
            Some(d) if d.dirty && d.saved.elapsed() >= STATE_EVERY => self.flush(),
            _ => Ok(()),
        }
    }

    /// Saves the resume state now (the driver calls this when it stops).
    pub fn flush(&mut self) -> Result<()> {
        let Some(download) = &mut self.download else {
            return Ok(());
        };
        if !download.dirty {
            return Ok(());
        }
        let bytes = state::encode(&self.meta.info.hashes, &self.have);
        let (path, tmp) = state_paths(&download.partial);
        replace_file(&path, &tmp, &bytes, false)
            .map_err(|e| Error::io(format!("saving {}", path.display()), e))?;
        download.saved = Instant::now();
        download.dirty = false;
        Ok(())
    }

    /// Moves the complete, verified download to `out_dir/<name>` (never over
    /// anything) and removes the hidden directory with its state. Returns the path.
    pub fn finish(mut self) -> Result<PathBuf> {
        if !self.is_complete() {
            return Err(Error::internal("finishing an incomplete torrent"));
        }
        // Saved first: if the move fails, the next run resumes with every piece.
        self.flush()?;
        let Some(download) = self.download.take() else {
            return Err(Error::internal("finishing a seed"));
        };
        self.sync_all()?;
        self.files.close_all();
        let from = download.partial.join(&self.meta.info.name);
        match rename_noreplace(&from, &download.target) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::exists(&download.target))
            }
            Err(e) => {
                return Err(Error::io(
                    format!("moving into {}", download.target.display()),
                    e,
                ))
            }
            Ok(()) => {}
        }
        let (path, tmp) = state_paths(&download.partial);
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_file(tmp);
        std::fs::remove_dir(&download.partial)
            .map_err(|e| Error::io(format!("removing {}", download.partial.display()), e))?;
        Ok(download.target)
    }

    fn sync_all(&self) -> Result<()> {
        for i in 0..self.meta.info.files.len() {
            if self.files.paths()[i].is_some() {
                let sync = self.files.get(i).and_then(|f| f.sync_all());
                sync.map_err(|e| Error::io(format!("syncing {}", self.files.shown(i)), e))?;
            }
        }
        Ok(())
    }
}

/// The pieces of `pieces` whose bytes on disk verify.
fn verified(files: &Files, meta: &Metainfo, map: &PieceMap, pieces: &[u32]) -> Result<Bitfield> {
    let good = check::verified(files, meta, map, pieces)
        .map_err(|e| Error::io(format!("verifying {}", meta.info.name), e))?;
    let mut have = Bitfield::empty(map.pieces());
    good.into_iter().for_each(|p| {
        have.set(p);
    });
    Ok(have)
}

impl Drop for Storage {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// The state file and its temporary name, in the hidden directory.
fn state_paths(partial: &Path) -> (PathBuf, PathBuf) {
    (partial.join("state"), partial.join("state~"))
}

/// The pieces the hidden directory's state claims (none if it is not ours).
fn claimed(partial: &Path, meta: &Metainfo, map: &PieceMap) -> Bitfield {
    let bytes = open_nofollow(&state_paths(partial).0, false)
        .and_then(|mut f| {
            let mut buf = Vec::new();
            io::Read::read_to_end(&mut f, &mut buf).map(|_| buf)
        })
        .ok();
    bytes
        .and_then(|b| state::decode(&b, &meta.info.hashes, map.pieces()))
        .unwrap_or_else(|| Bitfield::empty(map.pieces()))
}

/// Bytes of real files in the pieces `wanted` picks.
fn file_bytes(meta: &Metainfo, map: &PieceMap, wanted: impl Fn(u32) -> bool) -> u64 {
    let content: u64 = meta
        .info
        .files
        .iter()
        .filter(|f| !f.pad)
        .map(|f| f.length)
        .sum();
    let held: u64 = (0..map.pieces())
        .filter(|p| !wanted(*p))
        .map(|p| map.file_bytes(p))
        .sum();
    content - held
}

/// Creates our hidden directory owner-only, or accepts it if it is already a real
/// directory (a resume; `Files::new` opens it without following a link).
fn make_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            Err(Error::io(format!("creating {}", dir.display()), e))
        }
        _ => Ok(()),
    }
}

/// A seed's file `i` must be there at its length (pad files are not on disk).
fn check_seed_file(files: &Files, i: usize, length: u64, data_dir: &Path) -> Result<()> {
    if files.paths()[i].is_none() {
        return Ok(());
    }
    let shown = data_dir.join(files.shown(i));
    let meta = files.get(i).and_then(|f| f.metadata()).map_err(|e| {
        Error::io(
            format!("the torrent's file {} is missing", shown.display()),
            e,
        )
    })?;
    match meta.len() == length {
        true => Ok(()),
        false => Err(Error::io(
            format!("the torrent's file {}", shown.display()),
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("is {} bytes, the torrent says {length}", meta.len()),
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
