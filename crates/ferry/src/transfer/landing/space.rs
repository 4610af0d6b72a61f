//! Free space, checked before anything is accepted.

use std::io;
use std::path::Path;

use rustix::fs::statvfs;

use crate::error::{Error, LocalError, Result};

/// Bytes available to us on the file system holding `dir`.
pub(crate) fn free_space(dir: &Path) -> io::Result<u64> {
    let st = statvfs(dir)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Fails with `NoSpace` unless the file system holding `dir` has `need` bytes free.
pub(crate) fn ensure_space(dir: &Path, need: u64) -> Result<()> {
    ensure_space_with(dir, need, free_space)
}

/// [`ensure_space`], asking `free` how much room there is (tests give a figure).
pub(crate) fn ensure_space_with(
    dir: &Path,
    need: u64,
    free: impl FnOnce(&Path) -> io::Result<u64>,
) -> Result<()> {
    let available =
        free(dir).map_err(|e| Error::io(format!("checking free space in {}", dir.display()), e))?;
    match need > available {
        true => Err(LocalError::NoSpace {
            dir: dir.to_owned(),
            need,
            available,
        }
        .into()),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_temp_dir_has_room() {
        let dir = tempfile::tempdir().unwrap();
        assert!(super::free_space(dir.path()).unwrap() > 0);
        assert!(super::ensure_space(dir.path(), 1).is_ok());
        assert!(super::ensure_space(dir.path(), u64::MAX).is_err());
    }
}
