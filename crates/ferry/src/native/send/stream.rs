//! The wanted groups of one batch, read ahead: a blocking thread reads each group
//! straight into a record buffer laid out for sealing in place, and the buffers
//! come back for reuse once sent. No copy of the bulk data, no allocation per
//! group once the first buffers circulate. A batch of fresh files (`STREAM`)
//! is hashed by the same thread from the same reads: each file is read once,
//! and a file written to while it was read is caught by its change time.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use ferry_proto::native::machine::DataRef;
use ferry_proto::native::record::{PREFIX_LEN, TAG_LEN};
use ferry_proto::native::tree::{Hash32, Layout, TreeBuilder};
use ferry_proto::native::wire::{data_header, DATA_HEADER_LEN};

use crate::error::{join_error, Error, LocalError, Result};

use super::super::hash::read_at;
use super::super::link::Link;
use super::source::Source;

/// Bytes around a group in its record buffer: length prefix and `DATA` header in
/// front, the tag behind.
const FRAMING: usize = PREFIX_LEN + DATA_HEADER_LEN + TAG_LEN;
/// Where a group's bytes start in its record buffer.
const DATA_AT: usize = PREFIX_LEN + DATA_HEADER_LEN;

/// One batch's groups on their way from the files to the socket.
pub(super) struct Stream {
    rx: mpsc::Receiver<Vec<u8>>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
    reader: JoinHandle<Result<()>>,
    /// A streamed batch's roots, each once its file's groups are read.
    roots: mpsc::UnboundedReceiver<(u32, Hash32)>,
}

/// What the reading thread works with.
struct Reading {
    source: Arc<Source>,
    tx: mpsc::Sender<Vec<u8>>,
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    open: Option<(u32, File)>,
}

impl Stream {
    /// Starts reading `groups`, in order, at most `depth` records ahead.
    pub(super) fn start(source: &Arc<Source>, groups: Vec<DataRef>, depth: usize) -> Stream {
        Stream::spawn(source, depth, move |reading, _| reading.groups(&groups))
    }

    /// Starts reading every group of `files` (`groups`, in order), hashing
    /// each file from those reads for its root.
    pub(super) fn start_whole(
        source: &Arc<Source>,
        (files, groups): (Range<u32>, Vec<DataRef>),
        depth: usize,
    ) -> Stream {
        Stream::spawn(source, depth, move |reading, roots| {
            reading.whole(files, &groups, &roots)
        })
    }

    fn spawn<F>(source: &Arc<Source>, depth: usize, read: F) -> Stream
    where
        F: FnOnce(&mut Reading, mpsc::UnboundedSender<(u32, Hash32)>) -> Result<()>
            + Send
            + 'static,
    {
        let (tx, rx) = mpsc::channel::<Vec<u8>>(depth);
        let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
        let (roots_tx, roots) = mpsc::unbounded_channel();
        let mut reading = Reading {
            source: Arc::clone(source),
            tx,
            spare,
            open: None,
        };
        let reader = tokio::task::spawn_blocking(move || read(&mut reading, roots_tx));
        Stream {
            rx,
            back,
            reader,
            roots,
        }
    }

    /// The root of streamed file `file`, hashed from the groups just sent.
    pub(super) async fn root(&mut self, file: u32) -> Result<Hash32> {
        match self.roots.recv().await {
            Some((n, root)) if n == file => Ok(root),
            Some(_) => Err(Error::internal("hashed another file than asked for")),
            None => {
                (&mut self.reader).await.map_err(join_error)??;
                Err(Error::internal("the reading thread stopped early"))
            }
        }
    }

    /// Seals and sends the next group, which the machine names as `data`.
    pub(super) async fn send_next(&mut self, link: &mut Link, data: DataRef) -> Result<()> {
        let Some(mut frame) = self.rx.recv().await else {
            // The reader stopped: it says why.
            (&mut self.reader).await.map_err(join_error)??;
            return Err(Error::internal("the reading thread stopped early"));
        };
        if frame.len() != FRAMING + data.len as usize {
            return Err(Error::internal("a group read ahead does not fit its DATA"));
        }
        link.send_in_place(&mut frame).await?;
        let _ = self.back.send(frame);
        Ok(())
    }

    /// Waits for the reader, which has read every group by now.
    pub(super) async fn finish(self) -> Result<()> {
        self.reader.await.map_err(join_error)?
    }
}

impl Reading {
    /// Reads each group, in order; stops early, without error, when the
    /// socket side stopped (it reports why).
    fn groups(&mut self, groups: &[DataRef]) -> Result<()> {
        for data in groups {
            let frame = self.read(data)?;
            if self.tx.blocking_send(frame).is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Reads every group of `files`, in order, and after each file's last
    /// group hands on its root, hashed from the very bytes sent.
    fn whole(
        &mut self,
        files: Range<u32>,
        groups: &[DataRef],
        roots: &mpsc::UnboundedSender<(u32, Hash32)>,
    ) -> Result<()> {
        let mut groups = groups.iter().peekable();
        for n in files {
            let size = self.source.manifest.file(n).and_then(|e| e.size());
            let mut tree = TreeBuilder::new(Layout::for_size(size.unwrap_or(0)));
            let mut before = None;
            while let Some(data) = groups.next_if(|d| d.file == n) {
                if before.is_none() {
                    before = Some(self.stamp(n)?);
                }
                let frame = self.read(data)?;
                let bytes = &frame[DATA_AT..frame.len() - TAG_LEN];
                tree.add_group(bytes)
                    .map_err(|e| Error::internal(e.to_string()))?;
                if self.tx.blocking_send(frame).is_err() {
                    return Ok(());
                }
            }
            if before.is_some() && before != Some(self.stamp(n)?) {
                let path = self.source.paths[n as usize].clone();
                return Err(LocalError::Changed(path).into());
            }
            let tree = tree.finish().map_err(|e| Error::internal(e.to_string()))?;
            if roots.send((n, *tree.root())).is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// File `n`'s size and modification and change times: any write to it
    /// moves its change time, which nobody can set back.
    fn stamp(&mut self, n: u32) -> Result<(u64, i64, i64, i64, i64)> {
        let path = &self.source.paths[n as usize];
        let file = open_file(&mut self.open, n, path)?;
        let m = file
            .metadata()
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Ok((
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        ))
    }

    /// One group, read into a buffer laid out for sealing in place (see
    /// [`FRAMING`]).
    fn read(&mut self, data: &DataRef) -> Result<Vec<u8>> {
        let path = &self.source.paths[data.file as usize];
        let file = open_file(&mut self.open, data.file, path)?;
        let mut frame = self.spare.try_recv().unwrap_or_default();
        // Same-sized buffers are reused as they are: no zeroing per record.
        frame.resize(FRAMING + data.len as usize, 0);
        frame[PREFIX_LEN..DATA_AT].copy_from_slice(&data_header(data.file, data.group));
        let data_end = frame.len() - TAG_LEN;
        read_at(file, data.offset, &mut frame[DATA_AT..data_end])
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Ok(frame)
    }
}

/// File `n`, opened once for all its groups in a row.
fn open_file<'a>(
    open: &'a mut Option<(u32, File)>,
    n: u32,
    path: &std::path::Path,
) -> Result<&'a File> {
    if open.as_ref().map(|(m, _)| *m) != Some(n) {
        let file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        *open = Some((n, file));
    }
    match open {
        Some((_, file)) => Ok(file),
        None => Err(Error::internal("no file open")),
    }
}
