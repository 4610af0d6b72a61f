//! Saving a partial file's resume state: sync the data, then write the state file
//! (to a temporary name, renamed over the old one). The state is a snapshot taken
//! before the sync, so it never claims bytes that are not on disk. Periodic saves run
//! on their own thread so that the writer keeps writing during the sync.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crate::transfer::landing::replace_file;

/// Syncs `data`, then stores `state` at `path` by way of `tmp`.
pub(super) fn save_now(data: &File, state: &[u8], path: &Path, tmp: &Path) -> io::Result<()> {
    data.sync_data()?;
    replace_file(path, tmp, state, true)
}

/// At most one background save at a time.
#[derive(Default)]
pub(super) struct Saver {
    running: Option<JoinHandle<io::Result<()>>>,
}

impl Saver {
    /// Starts a save unless one is still running (then this one is skipped, and
    /// the caller tries again later). A finished save's error is returned here.
    pub(super) fn start(
        &mut self,
        data: &File,
        state: Vec<u8>,
        path: &Path,
        tmp: &Path,
    ) -> io::Result<bool> {
        if self.running.as_ref().is_some_and(|h| !h.is_finished()) {
            return Ok(false);
        }
        self.wait()?;
        let data = data.try_clone()?;
        let (path, tmp): (PathBuf, PathBuf) = (path.to_owned(), tmp.to_owned());
        self.running = Some(std::thread::spawn(move || {
            save_now(&data, &state, &path, &tmp)
        }));
        Ok(true)
    }

    /// Waits for a running save (before a final save, or before the state goes).
    pub(super) fn wait(&mut self) -> io::Result<()> {
        match self.running.take() {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the state saver panicked"))),
            None => Ok(()),
        }
    }
}
