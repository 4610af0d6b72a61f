//! Walking the paths to send into a manifest. Symbolic links below a root are
//! skipped (a root given on the command line may be one and is followed), as are
//! special files and names a receiver would refuse: the same policy as v1's
//! `DirPlan`, whose scan already warned the user about each of them.

use std::fs::{self, Metadata};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_proto::native::manifest::{
    Entry, EntryKind, Manifest, ManifestBuilder, Mtime, MODE_MASK,
};
use ferry_proto::transfer::path::{safe_file_name, SafeRelativePath};

use crate::error::{Error, Result};

use super::Roots;

/// What will be sent: the manifest and where each file's bytes come from.
pub(super) struct Source {
    pub(super) manifest: Manifest,
    /// The local path of file number `n`.
    pub(super) paths: Vec<PathBuf>,
}

/// Scans `roots`: each path becomes an entry under its own name, at the top or
/// inside the directory `roots.under`.
pub(super) fn scan(roots: &Roots) -> Result<Source> {
    let mut walk = Walk::default();
    if let Some(name) = &roots.under {
        let name = safe_file_name(name).map_err(|e| Error::UnsafeName(e.to_string()))?;
        let path = SafeRelativePath::parse(&name).map_err(|e| Error::UnsafeName(e.to_string()))?;
        let mtime = mtime_of(SystemTime::now());
        walk.push(Entry {
            path: path.clone(),
            kind: EntryKind::Dir,
            mode: 0o755,
            mtime,
        })?;
        walk.parent = Some(path);
    }
    for root in &roots.paths {
        walk.root(root)?;
    }
    let totals = walk.builder.totals();
    let manifest = walk
        .builder
        .finish(totals)
        .map_err(|e| Error::Unsupported(format!("cannot send these paths: {e}")))?;
    Ok(Source {
        manifest,
        paths: walk.paths,
    })
}

#[derive(Default)]
struct Walk {
    builder: ManifestBuilder,
    paths: Vec<PathBuf>,
    /// The directory the roots go in, if any.
    parent: Option<SafeRelativePath>,
}

impl Walk {
    fn root(&mut self, root: &Path) -> Result<()> {
        let meta = fs::metadata(root).map_err(|e| at(root, e))?;
        let canonical = fs::canonicalize(root).map_err(|e| at(root, e))?;
        let name = canonical
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let name = safe_file_name(name).map_err(|e| Error::UnsafeName(e.to_string()))?;
        let full = match &self.parent {
            Some(parent) => format!("{}/{name}", parent.as_str()),
            None => name,
        };
        let rel = SafeRelativePath::parse(&full).map_err(|e| Error::UnsafeName(e.to_string()))?;
        if meta.is_dir() {
            self.dir(root, rel, &meta)
        } else if meta.is_file() {
            self.file(root, rel, &meta)
        } else {
            Err(at(root, std::io::ErrorKind::InvalidInput.into()))
        }
    }

    fn dir(&mut self, path: &Path, rel: SafeRelativePath, meta: &Metadata) -> Result<()> {
        self.push(entry(rel.clone(), EntryKind::Dir, meta))?;
        let mut children: Vec<_> = fs::read_dir(path)
            .map_err(|e| at(path, e))?
            .collect::<std::io::Result<_>>()
            .map_err(|e| at(path, e))?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let Some(name) = child.file_name().to_str().map(str::to_owned) else {
                continue; // not UTF-8
            };
            let Ok(child_rel) = SafeRelativePath::parse(&format!("{}/{name}", rel.as_str())) else {
                continue; // a name the receiver would refuse
            };
            let child_path = child.path();
            let meta = fs::symlink_metadata(&child_path).map_err(|e| at(&child_path, e))?;
            if meta.is_dir() {
                self.dir(&child_path, child_rel, &meta)?;
            } else if meta.is_file() {
                self.file(&child_path, child_rel, &meta)?;
            } else {
                tracing::debug!(path = %child_path.display(), "not sent: symbolic link or special file");
            }
        }
        Ok(())
    }

    fn file(&mut self, path: &Path, rel: SafeRelativePath, meta: &Metadata) -> Result<()> {
        let kind = EntryKind::File { size: meta.len() };
        self.push(entry(rel, kind, meta))?;
        self.paths.push(path.to_owned());
        Ok(())
    }

    fn push(&mut self, entry: Entry) -> Result<()> {
        self.builder
            .push(entry)
            .map_err(|e| Error::Unsupported(format!("cannot send these paths: {e}")))
    }
}

fn entry(path: SafeRelativePath, kind: EntryKind, meta: &Metadata) -> Entry {
    Entry {
        path,
        kind,
        mode: meta.permissions().mode() & MODE_MASK,
        mtime: mtime(meta),
    }
}

fn mtime(meta: &Metadata) -> Mtime {
    meta.modified().map(mtime_of).unwrap_or_default()
}

fn mtime_of(t: SystemTime) -> Mtime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Mtime {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        },
        Err(before) => {
            let d = before.duration();
            // One second further back, plus the nanoseconds that bring it forward.
            match d.subsec_nanos() {
                0 => Mtime {
                    secs: -(d.as_secs() as i64),
                    nanos: 0,
                },
                n => Mtime {
                    secs: -(d.as_secs() as i64) - 1,
                    nanos: 1_000_000_000 - n,
                },
            }
        }
    }
}

fn at(path: &Path, e: std::io::Error) -> Error {
    Error::io(format!("cannot send {}", path.display()), e)
}
