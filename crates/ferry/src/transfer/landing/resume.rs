//! Resume files: partial data and its verified-group state beside each target,
//! under names fixed by the target's name (`.NAME.ferry-resume` and
//! `.NAME.ferry-resume-state`) so a later transfer of the same file finds them.
//! What they hold is verified again before it counts.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::OFlags;

use ferry_proto::transfer::path::MAX_COMPONENT_LEN;

/// The resume files of one target.
pub(crate) struct ResumePaths {
    pub(crate) data: PathBuf,
    pub(crate) state: PathBuf,
    pub(crate) state_tmp: PathBuf,
}

/// The resume file names beside `target`. A name too long to carry the suffixes is
/// shortened and made unique again with a hash of the full name.
pub(crate) fn resume_paths(target: &Path) -> ResumePaths {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let longest_suffix = ".ferry-resume-state~".len() + 1;
    let stem = if name.len() + longest_suffix <= MAX_COMPONENT_LEN {
        name
    } else {
        let mut cut = MAX_COMPONENT_LEN - longest_suffix - 17;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        let tag = &blake3::hash(name.as_bytes()).to_hex()[..16];
        format!("{}~{tag}", &name[..cut])
    };
    ResumePaths {
        data: dir.join(format!(".{stem}.ferry-resume")),
        state: dir.join(format!(".{stem}.ferry-resume-state")),
        state_tmp: dir.join(format!(".{stem}.ferry-resume-state~")),
    }
}

impl ResumePaths {
    /// Removes stale resume files (ours by name; a link there is removed, not followed).
    pub(crate) fn discard(&self) {
        let _ = std::fs::remove_file(&self.data);
        let _ = std::fs::remove_file(&self.state);
    }
}

/// Opens a regular file without following a symbolic link at its name; `write`
/// creates it owner-only if missing.
pub(crate) fn open_nofollow(path: &Path, write: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .read(!write)
        .write(write)
        .custom_flags(OFlags::NOFOLLOW.bits() as i32);
    if write {
        options.create(true).mode(0o600);
    }
    let file = options.open(path)?;
    match file.metadata()?.is_file() {
        true => Ok(file),
        false => Err(std::io::Error::other("not a regular file")),
    }
}

/// Stores `bytes` at `path` by way of `tmp` (created owner-only, written, synced if
/// `sync`, renamed over `path`): a crash leaves the old content or the new, never
/// half of one.
pub(crate) fn replace_file(
    path: &Path,
    tmp: &Path,
    bytes: &[u8],
    sync: bool,
) -> std::io::Result<()> {
    let _ = std::fs::remove_file(tmp); // a leftover of a crash; a link there is removed, not followed
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)?;
    file.write_all(bytes)?;
    if sync {
        file.sync_data()?;
    }
    std::fs::rename(tmp, path)
}
