//! Partial files under names that cannot be mistaken for the real thing, and
//! renames that never clobber.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rand::RngCore;
use rustix::fs::{renameat_with, RenameFlags, CWD};

/// A fresh name beside the target: `.NAME.ferry-partial-XXXXXXXX`. The leading dot
/// hides it and the random tail means a stale one is never reused or clobbered.
pub(crate) fn partial_name(dir: &Path, name: &str, kind: &str) -> PathBuf {
    let tag = rand::thread_rng().next_u32();
    dir.join(format!(".{name}.ferry-{kind}-{tag:08x}"))
}

/// Renames `from` to `to` atomically, failing if `to` exists (even as a dangling
/// symlink or an empty directory, which plain rename would replace).
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            // File systems without RENAME_NOREPLACE: check, then rename (small race).
            if to.symlink_metadata().is_ok() {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            std::fs::rename(from, to)
        }
        Err(e) => Err(e.into()),
    }
}

/// Data being received under a partial name: a file, or a directory being
/// extracted. Removed (with its contents) on drop unless [`Partial::persist`] ran.
pub(crate) struct Partial {
    path: PathBuf,
    is_dir: bool,
    done: bool,
}

impl Partial {
    /// Creates a partial file with `create_new`, so an existing file or symlink at
    /// that name is never opened or followed.
    pub(crate) fn file(dir: &Path, name: &str) -> io::Result<(Self, File)> {
        let path = partial_name(dir, name, "partial");
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((
            Partial {
                path,
                is_dir: false,
                done: false,
            },
            file,
        ))
    }

    /// Creates a fresh, empty partial directory.
    pub(crate) fn dir(dir: &Path, name: &str) -> io::Result<Self> {
        let path = partial_name(dir, name, "partial");
        std::fs::create_dir(&path)?;
        Ok(Partial {
            path,
            is_dir: true,
            done: false,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the verified data to its real name, never over anything.
    pub(crate) fn persist(mut self, to: &Path) -> io::Result<()> {
        rename_noreplace(&self.path, to)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let _ = if self.is_dir {
            std::fs::remove_dir_all(&self.path)
        } else {
            std::fs::remove_file(&self.path)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        std::fs::write(&target, b"mine").unwrap();
        let (partial, _f) = Partial::file(dir.path(), "a.txt").unwrap();
        let ppath = partial.path().to_owned();
        assert!(partial.persist(&target).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"mine");
        assert!(!ppath.exists(), "partial removed after failure");
    }

    #[test]
    fn persist_refuses_dangling_symlink_and_empty_dir() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("/nonexistent/elsewhere", &link).unwrap();
        let (p, _f) = Partial::file(dir.path(), "l").unwrap();
        assert!(p.persist(&link).is_err());
        let empty = dir.path().join("d");
        std::fs::create_dir(&empty).unwrap();
        let pd = Partial::dir(dir.path(), "d").unwrap();
        assert!(pd.persist(&empty).is_err());
    }

    #[test]
    fn persist_moves_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let (p, mut f) = Partial::file(dir.path(), "b").unwrap();
        io::Write::write_all(&mut f, b"data").unwrap();
        p.persist(&dir.path().join("b")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("b")).unwrap(), b"data");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
