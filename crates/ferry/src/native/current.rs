//! What the user hears about single files, on both sides: which file of a
//! directory is moving now (`Ui::file`, once per file, in the order the data
//! goes), and each file's BLAKE3 root (`Ui::hashed`).

use ferry_proto::native::manifest::Manifest;
use ferry_proto::native::tree::{Hash32, Tree};

use crate::ui::{Digest, Ui};

/// The BLAKE3 roots of a batch's files, numbered from `first`.
pub(crate) fn hashed(manifest: &Manifest, first: u32, trees: &[Tree], ui: &mut dyn Ui) {
    for (n, tree) in (first..).zip(trees) {
        if let Some(entry) = manifest.file(n) {
            ui.hashed(entry.path.as_str(), &Digest::Blake3(*tree.root()));
        }
    }
}

/// The BLAKE3 root of file `n`, streamed before it (`late-roots`).
pub(crate) fn rooted(manifest: &Manifest, n: u32, root: Hash32, ui: &mut dyn Ui) {
    if let Some(entry) = manifest.file(n) {
        ui.hashed(entry.path.as_str(), &Digest::Blake3(root));
    }
}

/// The last file announced.
#[derive(Default)]
pub(crate) struct CurrentFile {
    last: Option<u32>,
}

impl CurrentFile {
    /// Data of file number `n` is moving; a single file is not announced.
    pub(crate) fn at(&mut self, manifest: &Manifest, n: u32, ui: &mut dyn Ui) {
        let count = manifest.file_count();
        if self.last == Some(n) || count < 2 {
            return;
        }
        self.last = Some(n);
        if let Some(entry) = manifest.file(n) {
            ui.file(u64::from(n) + 1, u64::from(count), entry.path.as_str());
        }
    }
}
