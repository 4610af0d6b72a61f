//! The sender's hashing, run ahead of the connection: batch after batch on a thread
//! of its own, started as soon as the scan is done. The first batch is thus hashed
//! while the transit connection is made and the receiver decides, and each later
//! one while the batch before it streams. With `late-roots` only the batches
//! that send trees first are hashed here (fresh files hash as they stream),
//! and only once the receiver said which files are fresh.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use ferry_proto::native::tree::Tree;

use crate::error::{Error, Result};

use super::super::hash::hash_file;
use super::source::Source;

/// The trees of each batch, in batch order. Dropping it stops the thread soon
/// (between two groups), so a declined or failed transfer does not go on reading.
pub(super) struct Hashes {
    rx: mpsc::Receiver<(Range<u32>, Result<Vec<Tree>>)>,
    stop: Arc<AtomicBool>,
}

impl Drop for Hashes {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Hashes {
    /// Starts hashing `all`, batches of `source`, in order; at most one
    /// finished batch waits.
    pub(super) fn start(source: Arc<Source>, all: Vec<Range<u32>>) -> Result<Hashes> {
        let (tx, rx) = mpsc::channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("ferry-hash".into())
            .spawn(move || {
                for batch in all {
                    let trees = hash_batch(&source, batch.clone(), &stopped);
                    let failed = trees.is_err();
                    // A closed channel: the transfer ended, nobody wants more.
                    if tx.blocking_send((batch, trees)).is_err() || failed {
                        break;
                    }
                }
            })
            .map_err(|e| Error::io("starting the hashing thread", e))?;
        Ok(Hashes { rx, stop })
    }

    /// The trees of the next batch, which the machine asks for as `batch`: both
    /// cut the manifest into batches the same way, so they come in its order.
    pub(super) async fn next(&mut self, batch: Range<u32>) -> Result<Vec<Tree>> {
        match self.rx.recv().await {
            Some((hashed, trees)) if hashed == batch => trees,
            Some(_) => Err(Error::internal("hashed another batch than asked for")),
            None => Err(Error::internal("the hashing thread stopped early")),
        }
    }
}

fn hash_batch(source: &Source, batch: Range<u32>, stop: &AtomicBool) -> Result<Vec<Tree>> {
    let started = std::time::Instant::now();
    let trees = batch
        .clone()
        .map(|n| {
            let size = source.manifest.file(n).and_then(|e| e.size()).unwrap_or(0);
            hash_file(&source.paths[n as usize], size, stop)
        })
        .collect::<Result<Vec<Tree>>>();
    tracing::debug!(files = batch.len(), elapsed = ?started.elapsed(), "batch hashed");
    trees
}
