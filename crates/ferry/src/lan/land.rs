//! Where a LocalSend offer lands. The peer's raw `fileName`s (a name, or a
//! `dir/sub/name` path for a folder) become a native manifest, so that
//! `transfer::landing` confines and checks them exactly as it does for ferry's
//! own protocol: one set of rules for every peer, never a copy of them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ferry_proto::localsend::FileDto;
use ferry_proto::native::manifest::{Entry, EntryKind, Manifest, ManifestBuilder, Mtime};
use ferry_proto::transfer::path::SafeRelativePath;

use crate::error::{Error, Result};
use crate::transfer::landing::{self, CreatedDirs, Existing, MissingDirs, Targets};
use crate::transfer::{OfferSummary, Report};

/// An offer that passed every check: each file id's final path.
pub(crate) struct Plan {
    manifest: Manifest,
    targets: Targets,
    /// File ids in manifest file order.
    ids: Vec<String>,
}

/// Checks every name of `files` and the free space under `out_dir` (from the
/// declared sizes); creates nothing. A hostile name is an `UnsafeName` error.
pub(crate) fn plan(files: &BTreeMap<String, FileDto>, out_dir: &Path) -> Result<Plan> {
    let mut named = Vec::with_capacity(files.len());
    for (id, dto) in files {
        let path = SafeRelativePath::parse(&dto.file_name).map_err(Error::unsafe_name)?;
        named.push((path, id.clone(), dto.size));
    }
    // Sorted, every directory comes before what it holds.
    named.sort();
    let (manifest, ids) = manifest(&named)?;
    let targets = landing::check(&manifest, out_dir)?;
    for n in 0..manifest.file_count() {
        // LocalSend offers no hash to prove an existing file identical: refuse.
        if let (path, Existing::SameSize) = targets.file(n) {
            return Err(Error::exists(path));
        }
    }
    Ok(Plan {
        manifest,
        targets,
        ids,
    })
}

/// The manifest of `named` (sorted), with each file's parent directories.
fn manifest(named: &[(SafeRelativePath, String, u64)]) -> Result<(Manifest, Vec<String>)> {
    let mut builder = ManifestBuilder::new();
    let mut dirs = HashSet::new();
    let mut ids = Vec::with_capacity(named.len());
    let refuse = |e: ferry_proto::native::manifest::ManifestError| Error::unsafe_name(e);
    for (path, id, size) in named {
        let parts: Vec<&str> = path.components().collect();
        for depth in 1..parts.len() {
            let dir = parts[..depth].join("/");
            if dirs.insert(dir.clone()) {
                builder.push(entry(&dir, EntryKind::Dir)?).map_err(refuse)?;
            }
        }
        let file = entry(path.as_str(), EntryKind::File { size: *size })?;
        builder.push(file).map_err(refuse)?;
        ids.push(id.clone());
    }
    let totals = builder.totals();
    Ok((builder.finish(totals).map_err(refuse)?, ids))
}

fn entry(path: &str, kind: EntryKind) -> Result<Entry> {
    Ok(Entry {
        path: SafeRelativePath::parse(path).map_err(Error::unsafe_name)?,
        kind,
        mode: 0o755,
        mtime: now(),
    })
}

/// LocalSend sends no directory times; new directories get the time they were made.
fn now() -> Mtime {
    let since = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
    let since = since.unwrap_or_default();
    Mtime {
        secs: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanos: since.subsec_nanos(),
    }
}

impl Plan {
    /// The offer as the user decides on it.
    pub(crate) fn summary(&self) -> OfferSummary {
        let roots: Vec<&Entry> = self.manifest.roots().collect();
        let (files, bytes) = (self.manifest.file_count().into(), self.bytes());
        match roots.as_slice() {
            [one] if one.kind == EntryKind::Dir => {
                OfferSummary::directory(one.path.as_str(), files, bytes, bytes)
            }
            [one] => OfferSummary::file(one.path.as_str(), bytes),
            _ => OfferSummary::several(roots.iter().map(|e| e.path.as_str()), files, bytes),
        }
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.manifest.bytes()
    }

    /// Where each accepted file id lands.
    pub(crate) fn targets(&self) -> HashMap<String, PathBuf> {
        self.files().into_iter().collect()
    }

    /// Each file id and where it lands, in manifest order (directories first
    /// sorted, as a listing shows them).
    pub(crate) fn files(&self) -> Vec<(String, PathBuf)> {
        let paths = (0..self.manifest.file_count()).map(|n| self.targets.file(n).0);
        let pairs = self.ids.iter().cloned().zip(paths.map(Path::to_owned));
        pairs.collect()
    }

    /// The top-level names, as the report lists them.
    pub(crate) fn roots(&self, out_dir: &Path) -> Vec<PathBuf> {
        let roots = self.manifest.roots();
        roots.map(|e| e.path.to_path_under(out_dir)).collect()
    }

    pub(crate) fn counts(&self) -> (u64, u64) {
        let t = self.manifest.totals();
        (t.files, t.entries - t.files)
    }

    /// Creates the output directory and the offer's directories, now that the
    /// user said yes.
    fn create_dirs(&self, out_dir: &Path) -> Result<CreatedDirs> {
        landing::create_dirs(&self.manifest, &self.targets, out_dir)
    }

    /// Creates the directories (and the output directory) once the user said
    /// yes, runs `transfer`, and after a failure removes what it created
    /// that stayed empty. Files that landed stay.
    pub(crate) async fn land(
        &self,
        out_dir: &Path,
        transfer: impl Future<Output = Result<Report>>,
    ) -> Result<Report> {
        let missing = MissingDirs::of(out_dir);
        let created = self.create_dirs(out_dir)?;
        let report = transfer.await;
        if report.is_err() {
            self.remove_empty_dirs();
        }
        drop(missing); // removes an output directory that stayed empty
        let report = report?;
        created.finish()?;
        Ok(report)
    }

    /// After a failed or cancelled transfer: removes the directories this
    /// offer made that stayed empty, deepest first (never one that was there).
    fn remove_empty_dirs(&self) {
        let entries = self.manifest.entries().iter().enumerate().rev();
        for (i, _) in entries.filter(|(_, e)| e.kind == EntryKind::Dir) {
            if self.targets.existing[i] == Existing::Nothing {
                let _ = std::fs::remove_dir(&self.targets.paths[i]);
            }
        }
    }
}

/// Where a received file's bytes go: its partial file, written in blocks of
/// [`WRITE_BLOCK`]. hyper hands over a frame per TLS record (16 KiB), and
/// each write to a tokio file is a trip to the blocking pool; batching them
/// halved the receiver's CPU per byte.
pub(super) type Sink = tokio::io::BufWriter<tokio::fs::File>;

/// How much a [`Sink`] gathers before it writes.
const WRITE_BLOCK: usize = 1 << 20;

pub(super) fn sink(file: std::fs::File) -> Sink {
    tokio::io::BufWriter::with_capacity(WRITE_BLOCK, tokio::fs::File::from_std(file))
}

/// Everything written reaches the disk (before the partial is renamed).
pub(super) async fn settle(sink: &mut Sink) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    sink.flush().await?;
    sink.get_mut().sync_all().await
}
