//! What to ask for, file by file, given what is on disk: nothing when the target
//! already holds the content, else the groups a resume state does not vouch for
//! (every claimed group is verified again first).

use std::fs;
use std::path::Path;

use ferry_proto::native::ranges::GroupSet;
use ferry_proto::native::resume::ResumeState;
use ferry_proto::native::tree::Tree;

use crate::error::{Error, Result};
use crate::transfer::landing::{open_nofollow, resume_paths, Existing};

use super::super::hash::{hash_open, read_span};

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
                paths.discard(); // leftovers of an earlier run are of no use now
                Ok(FilePlan::AlreadyThere)
            }
            false => Err(Error::exists(target)),
        };
    }
    let saved = fs::read(&paths.state)
        .ok()
        .and_then(|b| ResumeState::decode(&b));
    let state = match saved.filter(|s| s.matches(tree)) {
        Some(state) => recheck(&paths.data, tree, state),
        None => {
            paths.discard();
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

/// The groups still wanted of a file, given its plan.
pub(super) fn wanted(plan: &FilePlan, tree: &Tree) -> GroupSet {
    match plan {
        FilePlan::AlreadyThere => GroupSet::empty(tree.layout().groups() as u32),
        FilePlan::Receive { state, .. } => state.verified().complement(),
    }
}
