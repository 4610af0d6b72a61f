//! ZIP64: files over 4 GiB, offsets over 4 GiB, more than 65,535 entries.

use std::fs::{self, File};
use std::io::Cursor;
use std::time::Instant;

use zip::ZipArchive;

use super::support::*;
use crate::v1::archive::dostime::Mtime;
use crate::v1::archive::entry::{Entry, EntryKind};
use crate::v1::archive::extract_zip;
use crate::v1::archive::records;

fn file_entry(name: &str, size: u64) -> Entry {
    Entry {
        name: name.to_owned(),
        kind: EntryKind::File { size },
        source: std::path::PathBuf::new(),
        mode: 0o644,
        mtime: Mtime::from_unix(1_700_000_000),
    }
}

#[test]
fn zip64_fields_appear_exactly_when_needed() {
    let n = 5; // name length
    let small = file_entry("small", u64::from(u32::MAX) - 1);
    let big = file_entry("big!!", u64::from(u32::MAX));
    // 30 fixed + name + 9 timestamp, + 20 for the ZIP64 sizes.
    assert_eq!(records::local_header(&small).len(), 30 + n + 9);
    assert_eq!(records::local_header(&big).len(), 30 + n + 9 + 20);
    assert_eq!(records::data_descriptor(&small, 0).len(), 16);
    assert_eq!(records::data_descriptor(&big, 0).len(), 24);
    // Central: 46 fixed + name + 9, + 4 + 8 per overflowing value.
    let low = u64::from(u32::MAX) - 1;
    assert_eq!(records::central_header(&small, 0, low).len(), 46 + n + 9);
    assert_eq!(
        records::central_header(&small, 0, low + 1).len(),
        46 + n + 9 + 12
    );
    assert_eq!(records::central_header(&big, 0, 0).len(), 46 + n + 9 + 20);
    assert_eq!(
        records::central_header(&big, 0, 1 << 33).len(),
        46 + n + 9 + 28
    );
}

#[test]
fn end_records_switch_to_zip64_past_65534_entries() {
    assert_eq!(records::end_records(65_534, 0, 0).len(), 22);
    assert_eq!(records::end_records(65_535, 0, 0).len(), 22 + 56 + 20);
    let end = records::end_records(70_000, 1000, 500);
    assert_eq!(&end[..4], b"PK\x06\x06");
    assert_eq!(&end[56..60], b"PK\x06\x07");
    assert_eq!(&end[76..80], b"PK\x05\x06");
    assert_eq!(u64::from_le_bytes(end[24..32].try_into().unwrap()), 70_000);
    assert_eq!(&end[84..88], &[0xff; 4]); // entry counts are markers
    assert_eq!(records::end_records(3, 1 << 32, 10).len(), 98);
}

#[test]
fn zip_size_arithmetic_for_70000_entries() {
    let entries: Vec<_> = (0..70_000)
        .map(|i| file_entry(&format!("f{i:05}"), 0))
        .collect();
    let per_entry = (30 + 6 + 9) + 16 + (46 + 6 + 9);
    assert_eq!(records::zip_size(&entries), 70_000 * per_entry + 98);
}

/// A sparse file just over 4 GiB followed by a small file whose header
/// starts past 4 GiB: both the sizes and the offset need ZIP64. The zip is
/// written to a sparse file, so nothing big is ever stored.
#[test]
fn file_over_4_gib_uses_zip64() {
    let tmp = fast_tempdir();
    let root = tmp.path().join("big");
    fs::create_dir(&root).unwrap();
    let huge = (4u64 << 30) + 7;
    File::create(root.join("a-huge.bin"))
        .unwrap()
        .set_len(huge)
        .unwrap();
    put(&root, "b-small.txt", b"after the big one", 0o644);

    let plan = crate::v1::archive::DirPlan::scan(&root).unwrap();
    let zip_path = tmp.path().join("big.zip");
    let mut sink = SparseSink {
        file: File::create(&zip_path).unwrap(),
        len: 0,
    };
    let started = Instant::now();
    plan.write_zip(&mut sink, &mut |_| {}).unwrap();
    std::io::Write::flush(&mut sink).unwrap();
    eprintln!("streamed {} bytes in {:?}", sink.len, started.elapsed());
    assert_eq!(sink.len, plan.zip_size());

    let mut zip = ZipArchive::new(File::open(&zip_path).unwrap()).unwrap();
    assert_eq!(zip.by_name("a-huge.bin").unwrap().size(), huge);
    let mut small = zip.by_name("b-small.txt").unwrap();
    assert!(small.header_start() > u64::from(u32::MAX));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut small, &mut text).unwrap();
    assert_eq!(text, "after the big one");

    let seen = python(
        "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint([(i.filename, i.file_size, i.header_offset) for i in z.infolist()])\nprint(z.read('b-small.txt'))",
        &[&zip_path],
    );
    assert!(
        seen.contains(&format!("('a-huge.bin', {huge}, 0)")),
        "{seen}"
    );
    assert!(seen.contains("b'after the big one'"), "{seen}");
    // Reads the 4 GiB back and checks the CRC (about 3 s). `unzip -t`
    // accepts this archive too but takes ten times longer, so it is left
    // out.
    python_zipfile_test(&zip_path);
}

/// More than 65,535 entries: a real archive of 70,000 empty files, read
/// back by the zip crate, Python and our extractor.
#[test]
fn seventy_thousand_entries() {
    let tmp = fast_tempdir();
    let root = tmp.path().join("many");
    for d in 0..70 {
        let dir = root.join(format!("d{d:02}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..1000 {
            File::create(dir.join(format!("{f:03}"))).unwrap();
        }
    }
    let (plan, bytes) = zip_to_vec(&root);
    assert_eq!(plan.num_files(), 70_000);
    let zip = ZipArchive::new(Cursor::new(&bytes)).unwrap();
    assert_eq!(zip.len(), 70_000);
    let zip_path = save(tmp.path(), "many.zip", &bytes);
    let count = python(
        "import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).infolist()))",
        &[&zip_path],
    );
    assert_eq!(count.trim(), "70000");
    let dest = tmp.path().join("out");
    fs::create_dir(&dest).unwrap();
    let report = extract_zip(&zip_path, &dest, &roomy()).unwrap();
    assert_eq!((report.files, report.dirs), (70_000, 70));
}
