//! The output directory: checked before the code is used, created only when
//! something is about to land, and removed again if it was ours and stayed empty
//! (a declined, failed or interrupted receive leaves no empty directory behind).

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{access, Access};

use crate::error::{Error, Result};
use crate::transfer::shown_path;

/// Fails unless `dir` is a directory we may write in, or could be created: its
/// nearest existing ancestor is such a directory. Creates nothing.
pub(crate) fn check_output_dir(dir: &Path) -> Result<()> {
    let fail = |e: io::Error| Error::io(format!("cannot receive into {}", shown_path(dir)), e);
    let existing = nearest_existing(dir).map_err(fail)?;
    let meta = existing.metadata().map_err(fail)?;
    if !meta.is_dir() {
        let shown = shown_path(&existing);
        return Err(fail(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{shown} is not a directory"),
        )));
    }
    // access(2) answers for this process (root included: it still fails on a
    // read-only file system).
    access(&existing, Access::WRITE_OK | Access::EXEC_OK).map_err(|e| {
        let shown = shown_path(&existing);
        fail(io::Error::new(
            io::Error::from(e).kind(),
            format!("cannot write in {shown}: {e}"),
        ))
    })
}

/// Creates `dir` (and missing parents) now that something lands in it.
pub(crate) fn create_output_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", shown_path(dir)), e))
}

/// Where free space is measured before `dir` exists: `dir`, or its nearest
/// existing ancestor (the same file system, unless a mount appears in between).
pub(crate) fn space_dir(dir: &Path) -> PathBuf {
    nearest_existing(dir).unwrap_or_else(|_| dir.to_owned())
}

/// `dir` itself or the closest of its ancestors that exists.
fn nearest_existing(dir: &Path) -> io::Result<PathBuf> {
    let mut at = dir;
    loop {
        match at.symlink_metadata() {
            Ok(_) => return Ok(at.to_owned()),
            // Under a regular file: the file is what the user must hear about.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) => {}
            Err(e) => return Err(e),
        }
        at = match at.parent() {
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => return Err(io::ErrorKind::NotFound.into()),
        };
    }
}

/// The directories of an output path that did not exist when the receive
/// began. On drop, those still empty are removed, deepest first: only ours,
/// and only when nothing landed (`remove_dir` refuses a non-empty directory).
pub(crate) struct MissingDirs(Vec<PathBuf>);

impl MissingDirs {
    pub(crate) fn of(dir: &Path) -> MissingDirs {
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(p) = at.filter(|p| !p.as_os_str().is_empty()) {
            if p.symlink_metadata().is_ok() {
                break;
            }
            missing.push(p.to_owned());
            at = p.parent();
        }
        MissingDirs(missing)
    }
}

impl Drop for MissingDirs {
    fn drop(&mut self) {
        for dir in &self.0 {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_under_a_file_cannot_be_received_into() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let err = check_output_dir(&file.join("sub")).unwrap_err().to_string();
        assert!(err.contains("is not a directory"), "{err}");
        let err = check_output_dir(&file).unwrap_err().to_string();
        assert!(err.contains("is not a directory"), "{err}");
    }

    #[test]
    fn a_missing_directory_is_checked_but_not_created() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        check_output_dir(&dir).unwrap();
        assert!(!tmp.path().join("a").exists());
        assert_eq!(space_dir(&dir), tmp.path());
    }

    #[test]
    fn only_our_empty_directories_go() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/c");
        let missing = MissingDirs::of(&dir);
        create_output_dir(&dir).unwrap();
        std::fs::write(tmp.path().join("a/kept"), b"x").unwrap();
        drop(missing);
        assert!(!tmp.path().join("a/b").exists());
        assert!(tmp.path().join("a/kept").exists());
    }
}
