//! Builders shared by the unit tests of the native sender and receiver.

use crate::native::manifest::{Entry, EntryKind, Manifest, ManifestBuilder, Mtime};
use crate::transfer::path::SafeRelativePath;

/// A manifest of regular files `f0`, `f1`, … with these sizes.
pub(crate) fn manifest(sizes: &[u64]) -> Manifest {
    let mut b = ManifestBuilder::new();
    for (i, &size) in sizes.iter().enumerate() {
        let path = SafeRelativePath::parse(&format!("f{i}")).expect("safe name");
        let e = Entry {
            path,
            kind: EntryKind::File { size },
            mode: 0o644,
            mtime: Mtime::default(),
        };
        b.push(e).expect("valid entry");
    }
    let t = b.totals();
    b.finish(t).expect("valid manifest")
}
