//! Which file of a directory transfer is moving now, for the user (`Ui::file`):
//! told once per file, in the order the data goes, on both sides.

use ferry_proto::native::manifest::Manifest;

use crate::ui::Ui;

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
