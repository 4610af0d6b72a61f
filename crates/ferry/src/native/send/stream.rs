//! The wanted groups of one batch, read ahead: a blocking thread reads each group
//! straight into a record buffer laid out for sealing in place, and the buffers
//! come back for reuse once sent. No copy of the bulk data, no allocation per
//! group once the first buffers circulate.

use std::fs::File;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use ferry_proto::native::machine::DataRef;
use ferry_proto::native::record::{PREFIX_LEN, TAG_LEN};
use ferry_proto::native::wire::{data_header, DATA_HEADER_LEN};

use crate::error::{join_error, Error, Result};

use super::super::hash::read_at;
use super::super::link::Link;
use super::source::Source;

/// Bytes around a group in its record buffer: length prefix and `DATA` header in
/// front, the tag behind.
const FRAMING: usize = PREFIX_LEN + DATA_HEADER_LEN + TAG_LEN;

/// One batch's groups on their way from the files to the socket.
pub(super) struct Stream {
    rx: mpsc::Receiver<Vec<u8>>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
    reader: JoinHandle<Result<()>>,
}

impl Stream {
    /// Starts reading `groups`, in order, at most `depth` records ahead.
    pub(super) fn start(source: &Arc<Source>, groups: Vec<DataRef>, depth: usize) -> Stream {
        let (tx, rx) = mpsc::channel::<Vec<u8>>(depth);
        let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
        let source = Arc::clone(source);
        let reader =
            tokio::task::spawn_blocking(move || read_groups(&source, &groups, &tx, &spare));
        Stream { rx, back, reader }
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

/// The blocking half: reads each group, in order, into a buffer laid out for
/// sealing in place (see [`FRAMING`]).
fn read_groups(
    source: &Source,
    groups: &[DataRef],
    tx: &mpsc::Sender<Vec<u8>>,
    spare: &std::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<()> {
    let mut open: Option<(u32, File)> = None;
    for data in groups {
        let path = &source.paths[data.file as usize];
        let file = open_file(&mut open, data.file, path)?;
        let mut frame = spare.try_recv().unwrap_or_default();
        // Same-sized buffers are reused as they are: no zeroing per record.
        frame.resize(FRAMING + data.len as usize, 0);
        let data_at = PREFIX_LEN + DATA_HEADER_LEN;
        frame[PREFIX_LEN..data_at].copy_from_slice(&data_header(data.file, data.group));
        let data_end = frame.len() - TAG_LEN;
        read_at(file, data.offset, &mut frame[data_at..data_end])
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if tx.blocking_send(frame).is_err() {
            return Ok(()); // the socket side stopped and reports why
        }
    }
    Ok(())
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
