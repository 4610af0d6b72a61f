//! The background checkpointer of a SQLite file database.
//!
//! Checkpoints (copying the WAL into the database file, with two `fsync`s) do
//! not run inside a commit, where SQLite's automatic checkpoint would stall the
//! state thread and every client waiting on it. A thread with its own connection
//! runs a passive checkpoint [`CHECKPOINT_DELAY`] after a commit, while the state
//! thread goes on committing. Under sustained load those never catch up
//! completely, so the WAL could not restart from its beginning; once it has grown
//! past [`WAL_RESET_FRAMES`] the thread raises a flag and the state runs
//! one checkpoint itself (`SqliteStore::maintain`), after the batch's replies have
//! gone out.
//!
//! The state thread commits several times per rendezvous; waking the
//! checkpointer each time cost a futex wake and a context switch per commit
//! (4 % of the server's CPU under load, `perf`). It is woken only by the first
//! commit after its last checkpoint began: one wake-up per [`CHECKPOINT_DELAY`]
//! at most.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::err;
use crate::store::StoreError;

/// WAL frames (pages) past which the state checkpoints itself, so that the WAL
/// restarts: about 32 MiB with 4 KiB pages (a second or two of full load), half
/// the size the WAL file is kept at (`WAL_KEEP_BYTES`).
const WAL_RESET_FRAMES: i64 = 8 * 1024;
/// The checkpointer waits this long after a commit so that one checkpoint
/// covers many commits.
pub(super) const CHECKPOINT_DELAY: Duration = Duration::from_millis(200);

/// The background checkpoint thread of a file database.
pub(super) struct Checkpointer {
    /// A commit happened; dropping it stops the thread.
    wake: Option<SyncSender<()>>,
    /// Set by the first commit after a checkpoint began, cleared by the thread
    /// when it begins the next one: while it is set, commits need not wake it.
    pending: Arc<AtomicBool>,
    /// Set by the thread when the WAL is too long to restart on its own.
    pub(super) wal_long: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the thread shares with the store.
struct Shared {
    pending: Arc<AtomicBool>,
    wal_long: Arc<AtomicBool>,
    path: PathBuf,
    delay: Duration,
}

impl Checkpointer {
    pub(super) fn start(path: &Path, delay: Duration) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(err)?;
        let (wake, woken) = mpsc::sync_channel(1);
        let shared = Shared {
            pending: Arc::new(AtomicBool::new(false)),
            wal_long: Arc::new(AtomicBool::new(false)),
            path: path.to_owned(),
            delay,
        };
        let (pending, wal_long) = (Arc::clone(&shared.pending), Arc::clone(&shared.wal_long));
        let thread = std::thread::Builder::new()
            .name("ferry-checkpoint".into())
            .spawn(move || checkpoint_loop(&conn, &woken, &shared))
            .map_err(|e| StoreError::new(e.to_string()))?;
        Ok(Checkpointer {
            wake: Some(wake),
            pending,
            wal_long,
            thread: Some(thread),
        })
    }

    /// A commit happened: wakes the thread unless a checkpoint is due already.
    pub(super) fn committed(&self) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(w) = &self.wake {
            // Full: a wake-up is pending already.
            let _ = w.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs a passive checkpoint shortly after commits, until the store is dropped.
fn checkpoint_loop(conn: &Connection, woken: &mpsc::Receiver<()>, s: &Shared) {
    while woken.recv().is_ok() {
        // Let more commits pile up (they do not wake us); stop at once if the
        // store goes away.
        match woken.recv_timeout(s.delay) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        // Commits from now on are not in this checkpoint: the next one wakes us.
        s.pending.store(false, Ordering::Release);
        match passive_checkpoint(conn) {
            Ok((_, log, _)) if log > WAL_RESET_FRAMES => s.wal_long.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, db = %s.path.display(), "checkpoint failed"),
        }
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: (busy, frames in the WAL, frames copied).
pub(super) fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}
