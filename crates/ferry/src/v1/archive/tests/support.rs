//! Helpers shared by the archive tests.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::v1::archive::{extract_zip, DirPlan, ExtractError, ExtractLimits, ExtractReport};

/// Writes `data` to `root/rel`, creating parents, with permission `mode`.
pub(super) fn put(root: &Path, rel: &str, data: &[u8], mode: u32) -> PathBuf {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, data).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// Scans `root` and streams its zip into memory, checking the announced
/// size and the progress reports on the way.
pub(super) fn zip_to_vec(root: &Path) -> (DirPlan, Vec<u8>) {
    let plan = DirPlan::scan(root).unwrap();
    let mut out = Vec::new();
    let mut last = 0;
    plan.write_zip(&mut out, &mut |n| {
        assert!(n >= last, "progress went backwards");
        last = n;
    })
    .unwrap();
    assert_eq!(out.len() as u64, plan.zip_size(), "zip_size() was wrong");
    assert_eq!(last, plan.zip_size());
    (plan, out)
}

/// A temporary directory on tmpfs when there is one: creating 70,000 files
/// or reading 4 GiB of holes is many times faster there than on disk.
pub(super) fn fast_tempdir() -> TempDir {
    let shm = Path::new("/dev/shm");
    match shm.is_dir() {
        true => tempfile::Builder::new()
            .prefix("ferry-test")
            .tempdir_in(shm),
        false => TempDir::new(),
    }
    .unwrap()
}

/// Writes `bytes` to a file in `dir` and returns its path.
pub(super) fn save(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// Extracts `bytes` into a fresh directory; returns the result and that
/// directory (kept alive by the `TempDir`).
pub(super) fn extract_bytes(
    bytes: &[u8],
    limits: ExtractLimits,
) -> (Result<ExtractReport, ExtractError>, TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let zip = save(tmp.path(), "in.zip", bytes);
    let dest = tmp.path().join("out");
    fs::create_dir(&dest).unwrap();
    (extract_zip(&zip, &dest, &limits), tmp, dest)
}

/// Generous limits for archives that should extract.
pub(super) fn roomy() -> ExtractLimits {
    ExtractLimits::new(100_000, 1 << 30)
}

/// Whether `dir` has nothing in it.
pub(super) fn is_empty_dir(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().next().is_none()
}

/// Runs python3 with a script and arguments; panics with its output on
/// failure and returns its stdout.
pub(super) fn python(script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is on the PATH");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python3 failed:\n{text}\n{err}");
    text
}

/// `python3 -m zipfile -t` (reads every entry, checks CRCs).
pub(super) fn python_zipfile_test(zip: &Path) {
    let out = Command::new("python3")
        .args(["-m", "zipfile", "-t"])
        .arg(zip)
        .output()
        .expect("python3 is on the PATH");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "zipfile -t: {text}");
    assert!(text.contains("Done testing"), "zipfile -t: {text}");
}

/// `unzip -t` (Info-ZIP, installed by `interop/install-peers.sh`).
pub(super) fn unzip_test(zip: &Path) {
    let out =
        Command::new("unzip").arg("-t").arg(zip).output().expect(
            "Info-ZIP unzip: run `bash interop/install-peers.sh` first (scripts/test does)",
        );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "unzip -t: {text}");
    assert!(text.contains("No errors detected"), "unzip -t: {text}");
}

/// The process umask, found by creating a file with mode 0o777.
pub(super) fn umask() -> u32 {
    let tmp = TempDir::new().unwrap();
    let path = tmp.path().join("probe");
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o777)
        .open(&path)
        .unwrap();
    !mode_of(&path) & 0o777
}

pub(super) fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// One hand-made STORED entry: any name bytes, any external attributes.
pub(super) struct Raw<'a> {
    pub(super) name: &'a [u8],
    pub(super) data: &'a [u8],
    /// Unix mode including the type bits, stored as `mode << 16`.
    pub(super) mode: u32,
}

/// A regular file with mode 0o644.
pub(super) fn raw_file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        data,
        mode: 0o100_644,
    }
}

/// A zip built by hand, independent of the writer under test: local
/// headers with sizes, a central directory marked "made by Unix".
pub(super) fn raw_zip(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let crc = crc32fast::hash(e.data);
        let offset = out.len() as u32;
        local(&mut out, e, crc);
        out.extend_from_slice(e.data);
        central_record(&mut central, e, crc, offset);
    }
    let (cd_offset, cd_size) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    let n = (entries.len() as u16).to_le_bytes();
    out.extend_from_slice(&[n[0], n[1], n[0], n[1]]);
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

fn local(out: &mut Vec<u8>, e: &Raw<'_>, crc: u32) {
    out.extend_from_slice(b"PK\x03\x04\x14\0\0\x08\0\0\0\0\x21\0");
    sizes_and_name(out, e, crc);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(e.name);
}

fn central_record(out: &mut Vec<u8>, e: &Raw<'_>, crc: u32, offset: u32) {
    out.extend_from_slice(b"PK\x01\x02\x14\x03\x14\0\0\x08\0\0\0\0\x21\0");
    sizes_and_name(out, e, crc);
    out.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attrs
    out.extend_from_slice(&(e.mode << 16).to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(e.name);
}

fn sizes_and_name(out: &mut Vec<u8>, e: &Raw<'_>, crc: u32) {
    out.extend_from_slice(&crc.to_le_bytes());
    let len = (e.data.len() as u32).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&len);
    out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
}

/// An output that stores everything but turns runs of zeros into holes, so
/// a multi-GiB archive of a sparse file stays sparse on disk.
pub(super) struct SparseSink {
    pub(super) file: File,
    pub(super) len: u64,
}

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

impl Write for SparseSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for piece in buf.chunks(ZEROS.len()) {
            if piece == &ZEROS[..piece.len()] {
                self.file.seek(SeekFrom::Current(piece.len() as i64))?;
            } else {
                self.file.write_all(piece)?;
            }
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.set_len(self.len)
    }
}
