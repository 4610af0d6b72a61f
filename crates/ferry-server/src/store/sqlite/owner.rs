//! One `ferry serve` per SQLite file.
//!
//! Part of a SQLite store's state lives in the process that serves it (who
//! listens to which mailbox; the operations it combines into one commit), so a
//! second instance on the same file would take clients that never meet the
//! first's, with no error anywhere. Instances share state through PostgreSQL.
//!
//! The guard is an advisory lock (`flock`) on a file beside the database,
//! `<file>-lock`, which holds the owner's process id. Not on the database file
//! itself: SQLite holds POSIX locks on it, and closing any other handle on that
//! file would drop them.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::store::StoreError;

/// Held while the store is open; the lock goes with it (or with the process).
#[derive(Debug)]
pub(super) struct Owner {
    _file: File,
}

/// The lock file of the database at `db`.
pub(super) fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-lock");
    PathBuf::from(name)
}

/// Takes the database at `db` for this process, or says who has it. A path
/// that is there but not a file (a directory, say) is refused before a lock
/// file is made beside it.
pub(super) fn claim(db: &Path) -> Result<Owner, StoreError> {
    if std::fs::metadata(db).is_ok_and(|m| !m.is_file()) {
        return Err(StoreError::new(format!(
            "{} is not a database file",
            db.display()
        )));
    }
    let path = lock_path(db);
    let fail = |e: std::io::Error| StoreError::new(format!("{}: {e}", path.display()));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(fail)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let who = match pid.trim() {
                "" => "another ferry serve".to_string(),
                pid => format!("another ferry serve (process {pid})"),
            };
            return Err(StoreError::new(format!(
                "{} is in use by {who}: one instance per SQLite file \
                 (several instances share state through --database postgres://…)",
                db.display()
            )));
        }
        Err(TryLockError::Error(e)) => return Err(fail(e)),
    }
    file.set_len(0).map_err(fail)?;
    file.rewind().map_err(fail)?;
    writeln!(file, "{}", std::process::id()).map_err(fail)?;
    Ok(Owner { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_names_the_owner_and_a_released_file_is_free_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("serve.sqlite");
        let first = claim(&db).unwrap();
        let e = claim(&db).unwrap_err().to_string();
        assert!(
            e.contains("serve.sqlite is in use by another ferry serve"),
            "{e}"
        );
        assert!(
            e.contains(&format!("process {}", std::process::id())),
            "{e}"
        );
        assert!(e.contains("postgres://"), "{e}");
        drop(first);
        claim(&db).unwrap();
        assert_eq!(lock_path(&db), dir.path().join("serve.sqlite-lock"));
    }

    #[test]
    fn a_directory_is_refused_and_nothing_is_made_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("data");
        std::fs::create_dir(&sub).unwrap();
        let e = claim(&sub).unwrap_err().to_string();
        assert!(e.ends_with("data is not a database file"), "{e}");
        assert!(!lock_path(&sub).exists());
    }
}
