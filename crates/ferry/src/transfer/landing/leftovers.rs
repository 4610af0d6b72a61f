//! ferry's own files left in an output directory by a transfer that did not
//! finish: resume data and state (`.NAME.ferry-resume`, `.NAME.ferry-resume-state`,
//! `.NAME.ferry-resume-state~`, kept on purpose so the next transfer resumes) and
//! partial files or directories (`.NAME.ferry-partial-XXXXXXXX`, normally removed at
//! once, left only when ferry was killed), and a torrent download's hidden
//! directory (`.ferry-torrent-<infohash>`, kept on purpose so `torrent get`
//! resumes; its target is the torrent's name inside it). Found by name only, below a
//! directory, without following symbolic links: nothing else is ever touched.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ferry_proto::native::resume::ResumeState;

/// One of ferry's files (or partial directories) found by [`find`].
#[derive(Debug, Clone)]
pub struct Leftover {
    pub path: PathBuf,
    /// The user's file it belongs to, relative to the searched directory
    /// (`sub/big.bin`); a very long name appears shortened, as it is on disk.
    pub target: PathBuf,
    pub kind: LeftoverKind,
    /// Bytes it takes on disk (a partial directory: everything in it).
    pub bytes: u64,
    pub modified: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeftoverKind {
    /// Partial data kept for a resume.
    ResumeData,
    /// Which parts of the resume data are verified; `verified` bytes of it.
    ResumeState { verified: u64 },
    /// An unfinished file or directory that a killed ferry could not remove.
    Partial,
}

/// Every leftover below `dir`, in a stable order.
pub fn find(dir: &Path) -> io::Result<Vec<Leftover>> {
    find_within(dir, u64::MAX)
}

/// [`find`], looking at no more than `budget` directory entries: quick enough
/// to run after a failed receive into a large directory (a home directory),
/// at the price of missing what lies beyond the budget.
pub fn find_within(dir: &Path, budget: u64) -> io::Result<Vec<Leftover>> {
    let mut found = Vec::new();
    let mut left = budget;
    walk(dir, Path::new(""), &mut found, &mut left)?;
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Removes one leftover (a partial directory with its content).
pub fn remove(leftover: &Leftover) -> io::Result<()> {
    match fs::symlink_metadata(&leftover.path)?.is_dir() {
        true => fs::remove_dir_all(&leftover.path),
        false => fs::remove_file(&leftover.path),
    }
}

fn walk(dir: &Path, rel: &Path, found: &mut Vec<Leftover>, left: &mut u64) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        if *left == 0 {
            break;
        }
        *left -= 1;
        let entry = entry?;
        let (path, name) = (entry.path(), entry.file_name());
        let meta = entry.metadata()?; // of the entry itself: links are not followed
        if let Some((target, kind)) = name.to_str().and_then(classify) {
            let target = rel.join(torrent_name(&path, &meta).unwrap_or_else(|| target.into()));
            found.push(leftover(path, target, kind, &meta));
        } else if meta.is_dir() {
            walk(&path, &rel.join(&name), found, left)?;
        }
    }
    Ok(())
}

fn leftover(path: PathBuf, target: PathBuf, kind: LeftoverKind, meta: &fs::Metadata) -> Leftover {
    let bytes = match meta.is_dir() {
        true => dir_bytes(&path),
        false => meta.len(),
    };
    let kind = match kind {
        LeftoverKind::ResumeState { .. } => LeftoverKind::ResumeState {
            verified: verified_bytes(&path),
        },
        other => other,
    };
    let modified = meta.modified().ok();
    Leftover {
        path,
        target,
        kind,
        bytes,
        modified,
    }
}

/// Whether `name` is one of ferry's, and whose: the rules of `resume_paths` and
/// `partial_name`, read backwards.
fn classify(name: &str) -> Option<(&str, LeftoverKind)> {
    let rest = name.strip_prefix('.')?;
    let suffixes = [
        (".ferry-resume", LeftoverKind::ResumeData),
        (
            ".ferry-resume-state",
            LeftoverKind::ResumeState { verified: 0 },
        ),
        (
            ".ferry-resume-state~",
            LeftoverKind::ResumeState { verified: 0 },
        ),
    ];
    for (suffix, kind) in suffixes {
        if let Some(target) = rest.strip_suffix(suffix).filter(|t| !t.is_empty()) {
            return Some((target, kind));
        }
    }
    if let Some(hash) = rest.strip_prefix("ferry-torrent-") {
        let hex = matches!(hash.len(), 40 | 64) && hash.bytes().all(|b| b.is_ascii_hexdigit());
        return hex.then_some((rest, LeftoverKind::ResumeData));
    }
    let (target, tag) = rest.rsplit_once(".ferry-partial-")?;
    let random = tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_hexdigit());
    (random && !target.is_empty()).then_some((target, LeftoverKind::Partial))
}

/// The torrent a `.ferry-torrent-<hash>` directory holds: the one entry beside
/// its `state`.
fn torrent_name(path: &Path, meta: &fs::Metadata) -> Option<String> {
    if !meta.is_dir() || !path.file_name()?.to_str()?.starts_with(".ferry-torrent-") {
        return None;
    }
    let names = fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok());
    names
        .into_iter()
        .find(|n| !matches!(n.as_str(), "state" | "state~"))
}

fn verified_bytes(state: &Path) -> u64 {
    fs::read(state)
        .ok()
        .and_then(|b| ResumeState::decode(&b))
        .map_or(0, |s| s.verified_bytes())
}

/// Bytes of the files below `dir` (links not followed).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.path(), e.metadata().ok()?)))
        .map(|(path, meta)| match meta.is_dir() {
            true => dir_bytes(&path),
            false => meta.len(),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names_are_ours() {
        let ours = [
            (".big.bin.ferry-resume", "big.bin"),
            (".big.bin.ferry-resume-state", "big.bin"),
            (".big.bin.ferry-resume-state~", "big.bin"),
            (".a.txt.ferry-partial-0123abcd", "a.txt"),
            (
                ".ferry-torrent-0123456789abcdef0123456789abcdef01234567",
                "ferry-torrent-0123456789abcdef0123456789abcdef01234567",
            ),
        ];
        for (name, target) in ours {
            assert_eq!(classify(name).map(|c| c.0), Some(target), "{name}");
        }
        let theirs = [
            "big.bin.ferry-resume",
            ".ferry-resume",
            ".a.ferry-partial-xyz",
            ".a.ferry-partial-0123abcde",
            ".a.ferry-resume.bak",
            ".ferry-torrent-0123",
            "notes.txt",
        ];
        for name in theirs {
            assert!(classify(name).is_none(), "{name}");
        }
    }

    #[test]
    fn finds_below_and_never_through_links() {
        let tmp = tempfile::tempdir().unwrap();
        let sub = tmp.path().join("sub");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join(".x.ferry-resume"), b"12345").unwrap();
        fs::write(sub.join("x"), b"user data").unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        fs::write(elsewhere.path().join(".y.ferry-resume"), b"1").unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), tmp.path().join("link")).unwrap();
        let found = find(tmp.path()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].target, Path::new("sub/x"));
        assert_eq!(found[0].bytes, 5);
        remove(&found[0]).unwrap();
        assert!(sub.join("x").exists());
        assert!(find(tmp.path()).unwrap().is_empty());
    }

    #[test]
    fn a_torrent_download_is_one_leftover_named_by_its_torrent() {
        let tmp = tempfile::tempdir().unwrap();
        let hidden = tmp
            .path()
            .join(format!(".ferry-torrent-{}", "ab".repeat(20)));
        fs::create_dir_all(hidden.join("movie/extras")).unwrap();
        fs::write(hidden.join("movie/extras/a"), b"1234").unwrap();
        fs::write(hidden.join("state"), b"12").unwrap();
        let found = find(tmp.path()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].target, Path::new("movie"));
        assert_eq!(
            (found[0].kind, found[0].bytes),
            (LeftoverKind::ResumeData, 6)
        );
        remove(&found[0]).unwrap();
        assert!(!hidden.exists());
    }
}
