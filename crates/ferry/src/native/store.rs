//! Where received data lives until it is complete, and what to ask for: a partial
//! file and a resume state file beside each target, under names fixed by the
//! target's name (`.NAME.ferry-resume` and `.NAME.ferry-resume-state`) so a later
//! transfer of the same file finds them; what they hold is verified again before
//! it counts. `writer` fills them.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::OFlags;

use ferry_proto::native::ranges::GroupSet;
use ferry_proto::native::resume::ResumeState;
use ferry_proto::native::tree::Tree;
use ferry_proto::transfer::path::MAX_COMPONENT_LEN;

use crate::error::{Error, Result};

use super::hash::{hash_open, read_span};
use super::local::Existing;

/// The resume files of one target.
pub(super) struct ResumePaths {
    pub(super) data: PathBuf,
    pub(super) state: PathBuf,
    pub(super) state_tmp: PathBuf,
}

/// The resume file names beside `target`. A name too long to carry the suffixes is
/// shortened and made unique again with a hash of the full name.
pub(super) fn resume_paths(target: &Path) -> ResumePaths {
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

/// What to do about one file of a batch.
pub(super) enum FilePlan {
    /// The target already holds exactly this content.
    AlreadyThere,
    /// Receive the groups not yet verified in `state`.
    Receive { state: ResumeState, resumed: u64 },
}

/// Decides, from what is on disk, what to ask for (blocking: it hashes).
pub(super) fn plan_file(target: &Path, existing: Existing, tree: &Tree) -> Result<FilePlan> {
    let paths = resume_paths(target);
    if existing == Existing::SameSize {
        return match identical(target, tree)? {
            true => {
                discard(&paths); // leftovers of an earlier run are of no use now
                Ok(FilePlan::AlreadyThere)
            }
            false => Err(Error::Exists(target.to_owned())),
        };
    }
    let saved = fs::read(&paths.state)
        .ok()
        .and_then(|b| ResumeState::decode(&b));
    let state = match saved.filter(|s| s.matches(tree)) {
        Some(state) => recheck(&paths.data, tree, state),
        None => {
            discard(&paths);
            ResumeState::new(tree)
        }
    };
    let resumed = state.verified_bytes();
    Ok(FilePlan::Receive { state, resumed })
}

/// Whether the existing target has the offered content.
fn identical(target: &Path, tree: &Tree) -> Result<bool> {
    let file = open_nofollow(target, false)
        .map_err(|e| Error::io(format!("reading {}", target.display()), e))?;
    let ours = hash_open(&file, tree.layout().size())
        .map_err(|e| Error::io(format!("reading {}", target.display()), e))?;
    Ok(ours.root() == tree.root())
}

/// Verifies again every group the state claims; a group that no longer checks out
/// (disk trouble, or a torn write before a crash) is asked for again.
fn recheck(data: &Path, tree: &Tree, mut state: ResumeState) -> ResumeState {
    let Ok(file) = open_nofollow(data, false) else {
        return ResumeState::new(tree);
    };
    let claimed: Vec<u32> = state.verified().iter().collect();
    let mut buf = Vec::new();
    for g in claimed {
        let (start, len) = tree.layout().group_span(g.into());
        let ok = read_span(&file, start, len, &mut buf).is_ok()
            && tree.verify_group(g.into(), &buf).is_ok();
        state.set(g, ok);
    }
    state
}

/// Removes stale resume files (ours by name; a link there is removed, not followed).
fn discard(paths: &ResumePaths) {
    let _ = fs::remove_file(&paths.data);
    let _ = fs::remove_file(&paths.state);
}

pub(super) fn open_nofollow(path: &Path, write: bool) -> std::io::Result<File> {
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

/// The groups still wanted of a file, given its plan.
pub(super) fn wanted(plan: &FilePlan, tree: &Tree) -> GroupSet {
    match plan {
        FilePlan::AlreadyThere => GroupSet::empty(tree.layout().groups() as u32),
        FilePlan::Receive { state, .. } => state.verified().complement(),
    }
}
