//! What the sender offers: the walked selection as a manifest, and where each
//! file's bytes come from.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_proto::native::manifest::{Entry, EntryKind, Manifest, ManifestBuilder, Mtime};
use ferry_proto::transfer::path::SafeRelativePath;

use crate::error::{Error, Result};
use crate::transfer::{Item, ItemKind, Selection};

/// What will be sent: the manifest and where each file's bytes come from.
pub(super) struct Source {
    pub(super) manifest: Manifest,
    /// The local path of file number `n`.
    pub(super) paths: Vec<PathBuf>,
}

impl Source {
    /// The manifest of a walked file or directory: the top name first, then
    /// everything below it as `top/rel`. Several paths given together
    /// (`loose`, on the LAN) go as themselves, without the directory that
    /// wraps them in a wormhole transfer, as over LocalSend.
    pub(super) fn new(selection: Selection, loose: bool) -> Result<Source> {
        let mut source = Listing::default();
        match selection {
            Selection::File(item) => source.push(&item.rel, &item)?,
            Selection::Directory(dir) if loose => {
                for item in &dir.items {
                    source.push(&item.rel, item)?;
                }
            }
            Selection::Directory(dir) => {
                let top = Entry {
                    path: safe(&dir.name)?,
                    kind: EntryKind::Dir,
                    mode: dir.mode,
                    mtime: mtime_of(dir.mtime),
                };
                source.builder.push(top).map_err(unsendable)?;
                for item in &dir.items {
                    source.push(&format!("{}/{}", dir.name, item.rel), item)?;
                }
            }
            Selection::Text(_) => return Err(Error::internal("text offered as files")),
        }
        let totals = source.builder.totals();
        let manifest = source.builder.finish(totals).map_err(unsendable)?;
        Ok(Source {
            manifest,
            paths: source.paths,
        })
    }
}

#[derive(Default)]
struct Listing {
    builder: ManifestBuilder,
    paths: Vec<PathBuf>,
}

impl Listing {
    fn push(&mut self, path: &str, item: &Item) -> Result<()> {
        let kind = match item.kind {
            ItemKind::File { size } => EntryKind::File { size },
            ItemKind::Dir => EntryKind::Dir,
        };
        let entry = Entry {
            path: safe(path)?,
            kind,
            mode: item.mode,
            mtime: mtime_of(item.mtime),
        };
        self.builder.push(entry).map_err(unsendable)?;
        if kind != EntryKind::Dir {
            self.paths.push(item.source.clone());
        }
        Ok(())
    }
}

/// The walk checked every path with its top name, so this cannot fail.
fn safe(path: &str) -> Result<SafeRelativePath> {
    SafeRelativePath::parse(path)
        .map_err(|e| Error::internal(format!("walked an unsafe path: {e}")))
}

fn unsendable(e: impl std::fmt::Display) -> Error {
    Error::io(
        "cannot send these paths",
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
    )
}

fn mtime_of(t: Option<SystemTime>) -> Mtime {
    let Some(t) = t else {
        return Mtime::default();
    };
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
