//! Unpacking a zip from a peer, who controls every name and byte in it.
//!
//! Two passes. The first reads only the central directory and refuses the
//! whole archive, before anything is written, if any entry is unsafe: a name
//! `SafeRelativePath` refuses, a link, a device, a duplicate, a file that is
//! also a directory, more files or (declared) bytes than allowed. The second
//! writes, trusting nothing the headers say about sizes: bytes are counted as
//! they come out of the decompressor and the limit stops a bomb mid-stream.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use zip::ZipArchive;

use super::check::{parents, refuse_hidden_duplicates, shown, Item, Kind, Plan, DEFAULT_DIR_MODE};
use super::limits::{ExtractError, ExtractLimits, ExtractReport};

/// Write in pieces of this size (also the granularity of the byte limit).
const CHUNK: usize = 64 * 1024;

/// Extracts the zip file `zip` into `dest`, which must be an empty directory
/// the caller just created. Files are created with `create_new` (never
/// overwriting, never through a link) and permissions `mode & 0o755`, plus
/// owner read for files and owner `rwx` for directories, minus the umask;
/// setuid, setgid and sticky bits are dropped. Modification times are
/// restored when the entry has an extended timestamp (UTC); DOS times, whose
/// zone is unknown, are ignored.
///
/// On error, `dest` may hold a partial tree: the caller removes it (and on
/// success renames it into place). Nothing is written outside `dest`.
pub fn extract_zip(
    zip: &Path,
    dest: &Path,
    limits: &ExtractLimits,
) -> Result<ExtractReport, ExtractError> {
    ensure_empty_dir(dest)?;
    let file = File::open(zip).map_err(ExtractError::io(zip))?;
    let mut archive = ZipArchive::new(BufReader::new(file)).map_err(ExtractError::corrupt)?;
    refuse_hidden_duplicates(zip, &archive)?;
    let plan = Plan::build(&mut archive, limits)?;
    let mut out = Writer {
        dest,
        limits,
        dir_modes: &plan.dir_modes,
        made: HashSet::new(),
        report: ExtractReport::default(),
    };
    for item in &plan.items {
        out.item(&mut archive, item)?;
    }
    Ok(out.report)
}

fn ensure_empty_dir(dest: &Path) -> Result<(), ExtractError> {
    let not_empty = || ExtractError::DestNotEmpty {
        path: dest.to_path_buf(),
    };
    let meta = std::fs::symlink_metadata(dest).map_err(ExtractError::io(dest))?;
    if !meta.is_dir() {
        return Err(not_empty());
    }
    let mut children = std::fs::read_dir(dest).map_err(ExtractError::io(dest))?;
    match children.next() {
        None => Ok(()),
        Some(_) => Err(not_empty()),
    }
}

/// The second pass: creates directories and files under `dest`.
struct Writer<'a> {
    dest: &'a Path,
    limits: &'a ExtractLimits,
    dir_modes: &'a HashMap<String, u32>,
    /// Directories created so far, relative to `dest`.
    made: HashSet<String>,
    report: ExtractReport,
}

impl Writer<'_> {
    fn item<R: Read + Seek>(
        &mut self,
        archive: &mut ZipArchive<R>,
        item: &Item,
    ) -> Result<(), ExtractError> {
        for parent in parents(item.path.as_str()) {
            self.make_dir(parent)?;
        }
        match item.kind {
            Kind::Dir { .. } => self.make_dir(item.path.as_str()),
            Kind::File {
                mode,
                declared,
                mtime,
            } => {
                let mut entry = archive
                    .by_index(item.index)
                    .map_err(ExtractError::corrupt)?;
                self.write_file(&mut entry, item, mode, declared, mtime)
            }
        }
    }

    fn make_dir(&mut self, rel: &str) -> Result<(), ExtractError> {
        if self.made.contains(rel) {
            return Ok(());
        }
        let mode = self.dir_modes.get(rel).copied().unwrap_or(DEFAULT_DIR_MODE);
        let path = self.dest.join(rel);
        match fs_ops::create_dir(&path, mode) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(ExtractError::Conflict { name: shown(rel) })
            }
            Err(e) => return Err(ExtractError::io(&path)(e)),
        }
        self.made.insert(rel.to_owned());
        self.report.dirs += 1;
        Ok(())
    }

    fn write_file(
        &mut self,
        entry: &mut impl Read,
        item: &Item,
        mode: u32,
        declared: u64,
        mtime: Option<u32>,
    ) -> Result<(), ExtractError> {
        let path = item.path.to_path_under(self.dest);
        let mut file = match fs_ops::create_new(&path, mode) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(ExtractError::Duplicate {
                    name: item.path.to_string(),
                })
            }
            Err(e) => return Err(ExtractError::io(&path)(e)),
        };
        let actual = self.copy_limited(entry, &mut file, &path)?;
        if actual != declared {
            let name = item.path.to_string();
            return Err(ExtractError::SizeMismatch {
                name,
                declared,
                actual,
            });
        }
        if let Some(t) = mtime {
            let when = UNIX_EPOCH + Duration::from_secs(u64::from(t));
            file.set_modified(when).map_err(ExtractError::io(&path))?;
        }
        self.report.files += 1;
        Ok(())
    }

    /// Copies until the entry ends, refusing to write past `max_bytes`.
    fn copy_limited(
        &mut self,
        src: &mut impl Read,
        dst: &mut File,
        path: &Path,
    ) -> Result<u64, ExtractError> {
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ExtractError::corrupt(e)),
            };
            if self.report.bytes + n as u64 > self.limits.max_bytes {
                return Err(ExtractError::TooManyBytes {
                    limit: self.limits.max_bytes,
                });
            }
            dst.write_all(&buf[..n]).map_err(ExtractError::io(path))?;
            self.report.bytes += n as u64;
            total += n as u64;
        }
    }
}

/// Creating files and directories with a mode, where the platform has one.
mod fs_ops {
    use std::fs::{DirBuilder, File, OpenOptions};
    use std::io;
    use std::path::Path;

    /// A new file (`O_CREAT|O_EXCL`: fails on anything existing, links
    /// included) with `mode` minus the umask.
    pub(super) fn create_new(path: &Path, mode: u32) -> io::Result<File> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
        #[cfg(not(unix))]
        let _ = mode;
        opts.open(path)
    }

    /// A new directory with `mode` minus the umask; fails if anything exists.
    pub(super) fn create_dir(path: &Path, mode: u32) -> io::Result<()> {
        let mut builder = DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, mode);
        #[cfg(not(unix))]
        let _ = mode;
        builder.create(path)
    }
}
