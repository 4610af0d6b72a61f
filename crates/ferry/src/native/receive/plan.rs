//! What to ask for, file by file, given what is on disk: nothing when the target
//! already holds the content, else the groups a resume state does not vouch for
//! (every claimed group is verified again first). After a reconnect, a file this
//! process planned already is `Known`: what it wrote itself (a target it moved
//! into place, a state its saver kept) is taken as it is, not hashed again.

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

/// Whether this process planned the file before, on an earlier connection of
/// the same transfer (then it verified everything it wrote of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    New,
    Known,
}

/// Decides, from what is on disk, what to ask for (blocking: it hashes, unless
/// `seen` says this process wrote what is there).
pub(super) fn plan_file(
    target: &Path,
    existing: Existing,
    tree: &Tree,
    seen: Seen,
) -> Result<FilePlan> {
    let paths = resume_paths(target);
    if existing == Existing::SameSize {
        let same = seen == Seen::Known || identical(target, tree)?;
        return match same {
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
        Some(state) if seen == Seen::Known && state.is_rooted() => state,
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
/// (disk trouble, or a torn write before a crash, or a file that streamed
/// before its root and changed since) is asked for again.
fn recheck(data: &Path, tree: &Tree, claimed: ResumeState) -> ResumeState {
    let mut state = ResumeState::new(tree);
    let Ok(file) = open_nofollow(data, false) else {
        return state;
    };
    let mut buf = Vec::new();
    for g in claimed.verified().iter() {
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

#[cfg(test)]
mod tests {
    use super::*;

    use ferry_proto::native::tree::Layout;

    const GROUPS: usize = 4;

    /// A file of four groups: its bytes and tree (hashed as the sender would).
    fn content(dir: &Path) -> (Vec<u8>, Tree) {
        let layout = Layout::for_size(1);
        let len = (layout.group_len() as usize) * GROUPS;
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let path = dir.join("source");
        fs::write(&path, &bytes).unwrap();
        let file = fs::File::open(&path).unwrap();
        let tree = hash_open(&file, len as u64).unwrap();
        (bytes, tree)
    }

    /// A partial file whose saved state claims every group, over zeroes: a
    /// state this process did not write is checked against the data again;
    /// one it wrote itself is taken as it is.
    #[test]
    fn a_known_partial_is_not_verified_again() {
        let dir = tempfile::tempdir().unwrap();
        let (bytes, tree) = content(dir.path());
        let target = dir.path().join("got");
        let paths = resume_paths(&target);
        let mut state = ResumeState::new(&tree);
        for g in 0..GROUPS as u32 {
            state.set(g, true);
        }
        let save = || {
            fs::write(&paths.data, vec![0u8; bytes.len()]).unwrap();
            fs::write(&paths.state, state.encode()).unwrap();
        };
        let resumed = |seen| match plan_file(&target, Existing::Nothing, &tree, seen).unwrap() {
            FilePlan::Receive { resumed, .. } => resumed,
            FilePlan::AlreadyThere => panic!("not there"),
        };
        save();
        assert_eq!(resumed(Seen::New), 0, "every claim checked, none held");
        save();
        assert_eq!(resumed(Seen::Known), bytes.len() as u64);
    }

    /// A state saved while the file streamed before its root (`late-roots`)
    /// vouches for nothing: even this process checks it against the tree, and
    /// keeps the groups that match.
    #[test]
    fn an_unrooted_partial_is_always_verified() {
        let dir = tempfile::tempdir().unwrap();
        let (bytes, tree) = content(dir.path());
        let target = dir.path().join("got");
        let paths = resume_paths(&target);
        let mut state = ResumeState::unrooted(*tree.layout());
        (0..GROUPS as u32).for_each(|g| state.set(g, true));
        let mut partial = bytes.clone();
        let group = tree.layout().group_len() as usize;
        partial[group..2 * group].fill(0); // group 1 is not what the tree says
        fs::write(&paths.data, &partial).unwrap();
        fs::write(&paths.state, state.encode()).unwrap();
        let plan = plan_file(&target, Existing::Nothing, &tree, Seen::Known).unwrap();
        let FilePlan::Receive { state, resumed } = plan else {
            panic!("not there");
        };
        assert_eq!(resumed, bytes.len() as u64 - group as u64);
        assert_eq!(
            state.verified().complement().iter().collect::<Vec<_>>(),
            [1]
        );
        assert!(state.is_rooted(), "the state now names the tree's root");
    }

    /// A target of the right size but other bytes: a stranger's is refused
    /// after hashing; one this process moved into place is not hashed again.
    #[test]
    fn a_known_target_is_not_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let (bytes, tree) = content(dir.path());
        let target = dir.path().join("got");
        fs::write(&target, vec![0u8; bytes.len()]).unwrap();
        let plan = |seen| plan_file(&target, Existing::SameSize, &tree, seen);
        assert!(
            plan(Seen::New).is_err(),
            "a different file is not overwritten"
        );
        assert!(matches!(plan(Seen::Known), Ok(FilePlan::AlreadyThere)));
    }
}
