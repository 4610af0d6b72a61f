//! Directory archives from a peer: `extract_zip` on a file holding the input.
//! Whatever happens, nothing may appear outside the destination, and nothing
//! inside it may be a link.
#![no_main]

use std::path::Path;

use ferry::v1::archive::{extract_zip, ExtractLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tmp = tempfile::tempdir().expect("temp dir");
    let zip = tmp.path().join("in.zip");
    let dest = tmp.path().join("out");
    std::fs::write(&zip, data).expect("write input");
    std::fs::create_dir(&dest).expect("create dest");
    let limits = ExtractLimits::new(64, 1 << 20);
    if let Ok(report) = extract_zip(&zip, &dest, &limits) {
        assert!(report.files <= 64 && report.bytes <= 1 << 20);
    }
    let mut names: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list temp dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["in.zip", "out"],
        "something escaped the destination"
    );
    assert_no_links(&dest);
});

fn assert_no_links(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("list") {
        let entry = entry.expect("entry");
        let kind = entry.file_type().expect("file type");
        assert!(!kind.is_symlink(), "symlink extracted: {:?}", entry.path());
        if kind.is_dir() {
            assert_no_links(&entry.path());
        }
    }
}
