//! The first pass of extraction: every entry of the central directory is
//! checked, and the whole archive refused on the first bad one, before
//! anything is written.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use ferry_proto::transfer::path::{escape_for_terminal, SafeRelativePath};
use zip::read::ZipFile;
use zip::{ExtraField, ZipArchive};

use super::limits::{ExtractError, ExtractLimits};

/// Bound on directories (explicit entries and implied parents), which the
/// offer does not announce; each costs an inode, not much else.
const MAX_DIRS: u64 = 1_000_000;

const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
/// Default permissions when the archive carries none.
const DEFAULT_FILE_MODE: u32 = 0o644;
pub(super) const DEFAULT_DIR_MODE: u32 = 0o755;

/// The zip crate keys entries by name, so an exact duplicate silently
/// replaces the first. Walk the central directory ourselves to see it.
pub(super) fn refuse_hidden_duplicates<R: Read + Seek>(
    zip: &Path,
    archive: &ZipArchive<R>,
) -> Result<(), ExtractError> {
    let file = File::open(zip).map_err(ExtractError::io(zip))?;
    let mut reader = BufReader::new(file);
    let start = archive.central_directory_start();
    reader
        .seek(SeekFrom::Start(start))
        .map_err(ExtractError::io(zip))?;
    let mut seen = HashSet::with_capacity(archive.len());
    while let Some(name) = next_central_name(&mut reader).map_err(ExtractError::io(zip))? {
        if !seen.insert(name.clone()) {
            let name = escape_for_terminal(&String::from_utf8_lossy(&name));
            return Err(ExtractError::Duplicate { name });
        }
    }
    // Distinct raw names can still decode to one (a Unicode path field).
    match seen.len() == archive.len() {
        true => Ok(()),
        false => Err(ExtractError::corrupt(NameCountMismatch {
            records: seen.len(),
            names: archive.len(),
        })),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{records} central directory records but {names} distinct names")]
struct NameCountMismatch {
    records: usize,
    names: usize,
}

/// The raw name of the next central directory header, or `None` at its end.
fn next_central_name(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    const CENTRAL_SIG: [u8; 4] = [b'P', b'K', 1, 2];
    let mut fixed = [0u8; 46];
    if r.read_exact(&mut fixed).is_err() || fixed[..4] != CENTRAL_SIG {
        return Ok(None);
    }
    let len_at = |i: usize| u64::from(u16::from_le_bytes([fixed[i], fixed[i + 1]]));
    let mut name = vec![0u8; len_at(28) as usize];
    r.read_exact(&mut name)?;
    let rest = len_at(30) + len_at(32);
    io::copy(&mut r.take(rest), &mut io::sink())?;
    Ok(Some(name))
}

/// What one entry becomes.
#[derive(Debug)]
pub(super) enum Kind {
    File {
        mode: u32,
        declared: u64,
        mtime: Option<u32>,
    },
    Dir {
        mode: u32,
    },
}

#[derive(Debug)]
pub(super) struct Item {
    pub(super) index: usize,
    pub(super) path: SafeRelativePath,
    pub(super) kind: Kind,
}

/// The first pass: every entry checked, nothing written yet.
#[derive(Default)]
pub(super) struct Plan {
    pub(super) items: Vec<Item>,
    files: HashSet<String>,
    explicit_dirs: HashSet<String>,
    /// Every directory to create (explicit or implied), with its mode.
    pub(super) dir_modes: HashMap<String, u32>,
    declared_bytes: u64,
}

impl Plan {
    pub(super) fn build<R: Read + Seek>(
        archive: &mut ZipArchive<R>,
        limits: &ExtractLimits,
    ) -> Result<Plan, ExtractError> {
        let mut plan = Plan::default();
        for index in 0..archive.len() {
            let entry = archive.by_index_raw(index).map_err(ExtractError::corrupt)?;
            if let Some(item) = classify(index, &entry)? {
                plan.add(item, limits)?;
            }
        }
        Ok(plan)
    }

    fn add(&mut self, item: Item, limits: &ExtractLimits) -> Result<(), ExtractError> {
        let key = item.path.as_str().to_owned();
        match &item.kind {
            Kind::File { declared, .. } => self.add_file(key, *declared, limits)?,
            Kind::Dir { mode } => self.add_dir(key, *mode)?,
        }
        self.add_parents(&item.path)?;
        self.items.push(item);
        Ok(())
    }

    fn add_file(
        &mut self,
        key: String,
        declared: u64,
        limits: &ExtractLimits,
    ) -> Result<(), ExtractError> {
        if self.dir_modes.contains_key(&key) {
            return Err(ExtractError::Conflict { name: shown(&key) });
        }
        if !self.files.insert(key.clone()) {
            return Err(ExtractError::Duplicate { name: shown(&key) });
        }
        if self.files.len() as u64 > limits.max_files {
            return Err(ExtractError::TooManyFiles {
                limit: limits.max_files,
            });
        }
        self.declared_bytes = self.declared_bytes.saturating_add(declared);
        if self.declared_bytes > limits.max_bytes {
            return Err(ExtractError::TooManyBytes {
                limit: limits.max_bytes,
            });
        }
        Ok(())
    }

    fn add_dir(&mut self, key: String, mode: u32) -> Result<(), ExtractError> {
        if self.files.contains(&key) {
            return Err(ExtractError::Conflict { name: shown(&key) });
        }
        if !self.explicit_dirs.insert(key.clone()) {
            return Err(ExtractError::Duplicate { name: shown(&key) });
        }
        self.dir_modes.insert(key, mode);
        self.check_dirs()
    }

    /// Records the implied parent directories of `path`.
    fn add_parents(&mut self, path: &SafeRelativePath) -> Result<(), ExtractError> {
        for parent in parents(path.as_str()) {
            if self.files.contains(parent) {
                return Err(ExtractError::Conflict {
                    name: shown(parent),
                });
            }
            self.dir_modes
                .entry(parent.to_owned())
                .or_insert(DEFAULT_DIR_MODE);
        }
        self.check_dirs()
    }

    fn check_dirs(&self) -> Result<(), ExtractError> {
        match self.dir_modes.len() as u64 > MAX_DIRS {
            true => Err(ExtractError::TooManyDirs { limit: MAX_DIRS }),
            false => Ok(()),
        }
    }
}

/// `a`, `a/b` for `a/b/c`.
pub(super) fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Checks one entry's name and type; `None` for an entry naming the root
/// itself (`./`, which Python 0.24 sends for an empty directory).
fn classify<R: Read>(index: usize, entry: &ZipFile<'_, R>) -> Result<Option<Item>, ExtractError> {
    let raw = entry.name();
    if is_root_alias(raw) {
        return Ok(None);
    }
    let path = SafeRelativePath::parse(raw).map_err(ExtractError::UnsafeName)?;
    let name = path.to_string();
    if entry.encrypted() {
        return Err(ExtractError::Encrypted { name });
    }
    let kind = match entry.unix_mode().map(|m| m & S_IFMT) {
        Some(S_IFLNK) => return Err(ExtractError::Symlink { name }),
        Some(S_IFDIR) => dir_kind(entry),
        _ if raw.ends_with('/') => dir_kind(entry),
        None | Some(0 | S_IFREG) => file_kind(entry),
        Some(_) => return Err(ExtractError::SpecialFile { name }),
    };
    Ok(Some(Item { index, path, kind }))
}

/// `.`, `./`, `././`: the extraction root, named by a directory entry.
fn is_root_alias(name: &str) -> bool {
    name.ends_with('/')
        && name.split('/').all(|c| c.is_empty() || c == ".")
        && name.starts_with('.')
}

fn file_kind<R: Read>(entry: &ZipFile<'_, R>) -> Kind {
    let perms = entry.unix_mode().map(|m| m & 0o777);
    Kind::File {
        mode: perms.map_or(DEFAULT_FILE_MODE, |m| (m & 0o755) | 0o400),
        declared: entry.size(),
        mtime: extended_mtime(entry),
    }
}

/// Safe bits, owner always `rwx` so that the contents can be written (even
/// when the entry comes first) and later removed.
fn dir_kind<R: Read>(entry: &ZipFile<'_, R>) -> Kind {
    let mode = entry
        .unix_mode()
        .map_or(DEFAULT_DIR_MODE, |m| (m & 0o755) | 0o700);
    Kind::Dir { mode }
}

/// The UTC modification time from an Info-ZIP extended timestamp field.
fn extended_mtime<R: Read>(entry: &ZipFile<'_, R>) -> Option<u32> {
    entry.extra_data_fields().find_map(|f| match f {
        ExtraField::ExtendedTimestamp(ts) => ts.mod_time(),
        _ => None,
    })
}

/// An already escaped, already validated name for an error message.
pub(super) fn shown(key: &str) -> String {
    escape_for_terminal(key)
}
