//! Streaming the planned zip: one pass, no seeking, no temporary file.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::entry::{Entry, EntryKind};
use super::plan::DirPlan;
use super::records;
use crate::transfer::io_at as at;

/// Read and write in pieces of this size.
const CHUNK: usize = 256 * 1024;

/// A file's length differs from what the scan (and so the offer) said.
#[derive(Debug, thiserror::Error)]
#[error("{}: changed while being sent ({expected} bytes announced, {found})", path.display())]
pub(super) struct FileChanged {
    path: PathBuf,
    expected: u64,
    found: &'static str,
}

impl DirPlan {
    /// Streams the archive to `out`: exactly [`zip_size`](Self::zip_size)
    /// bytes. `progress` is called with the running total of bytes written.
    ///
    /// Fails if a file is no longer a regular file or its length changed
    /// since the scan: the offer announced the size and the receiver reads
    /// exactly that many bytes. Nothing is retried; the caller aborts.
    pub fn write_zip(&self, out: &mut dyn Write, progress: &mut dyn FnMut(u64)) -> io::Result<()> {
        let mut sink = Sink {
            out: BufWriter::with_capacity(CHUNK, out),
            written: 0,
            progress,
        };
        let mut buf = vec![0u8; CHUNK];
        let mut crcs = Vec::with_capacity(self.entries().len());
        for e in self.entries() {
            let offset = sink.written;
            crcs.push((self.write_entry(e, &mut sink, &mut buf)?, offset));
        }
        let cd_offset = sink.written;
        for (e, (crc, offset)) in self.entries().iter().zip(crcs) {
            sink.put(&records::central_header(e, crc, offset))?;
        }
        let cd_size = sink.written - cd_offset;
        let count = self.entries().len() as u64;
        sink.put(&records::end_records(count, cd_offset, cd_size))?;
        sink.out.flush()?;
        self.check_total(sink.written)
    }

    /// Local header, data, descriptor; returns the CRC of the data.
    fn write_entry(&self, e: &Entry, sink: &mut Sink<'_>, buf: &mut [u8]) -> io::Result<u32> {
        sink.put(&records::local_header(e))?;
        let EntryKind::File { size } = e.kind else {
            return Ok(0);
        };
        let crc = copy_exact(&e.source, size, sink, buf)?;
        sink.put(&records::data_descriptor(e, crc))?;
        Ok(crc)
    }

    /// A mismatch here is a bug in the size arithmetic, not a user error.
    fn check_total(&self, written: u64) -> io::Result<()> {
        if written == self.zip_size() {
            return Ok(());
        }
        let msg = format!(
            "zip size mismatch: announced {}, wrote {written}",
            self.zip_size()
        );
        Err(io::Error::other(msg))
    }
}

/// Copies exactly `size` bytes of the file at `path`, returning their CRC.
fn copy_exact(path: &Path, size: u64, sink: &mut Sink<'_>, buf: &mut [u8]) -> io::Result<u32> {
    let mut file = open_regular(path, size)?;
    let mut crc = crc32fast::Hasher::new();
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = read_some(&mut file, &mut buf[..want], path)?;
        if n == 0 {
            return Err(changed(path, size, "now shorter"));
        }
        crc.update(&buf[..n]);
        sink.put(&buf[..n])?;
        left -= n as u64;
    }
    match read_some(&mut file, &mut buf[..1], path)? {
        0 => Ok(crc.finalize()),
        _ => Err(changed(path, size, "now longer")),
    }
}

/// Opens a file that must still be a regular file (not swapped for a
/// directory, FIFO or device since the scan).
fn open_regular(path: &Path, size: u64) -> io::Result<File> {
    let file = File::open(path).map_err(|e| at(path, e))?;
    match file.metadata().map_err(|e| at(path, e))?.is_file() {
        true => Ok(file),
        false => Err(changed(path, size, "no longer a regular file")),
    }
}

/// One `read`, retried on interruption, errors naming the path.
fn read_some(file: &mut File, buf: &mut [u8], path: &Path) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(|e| at(path, e)),
        }
    }
}

fn changed(path: &Path, expected: u64, found: &'static str) -> io::Error {
    io::Error::other(FileChanged {
        path: path.to_path_buf(),
        expected,
        found,
    })
}

/// The output, with a byte count that drives offsets and progress.
struct Sink<'a> {
    out: BufWriter<&'a mut dyn Write>,
    written: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl Sink<'_> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        (self.progress)(self.written);
        Ok(())
    }
}
