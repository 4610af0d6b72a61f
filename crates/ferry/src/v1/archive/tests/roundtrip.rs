//! scan → write_zip → extract, and what other readers make of our zips.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Cursor;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use tempfile::TempDir;
use zip::{CompressionMethod, ZipArchive};

use super::support::*;
use crate::transfer::SkipReason;
use crate::v1::archive::{extract_zip, DirPlan};

/// A source tree with the cases the brief names, plus a symlink and a
/// socket that must be skipped.
fn sample_tree() -> (TempDir, std::path::PathBuf) {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("my dir ü");
    put(&root, "a.txt", b"hello\n", 0o644);
    put(&root, "empty.bin", b"", 0o644);
    put(&root, "run.sh", b"#!/bin/sh\necho hi\n", 0o755);
    put(&root, "secret", b"s3cr3t", 0o600);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    put(&root, "sub/deeper/x.dat", &big, 0o640);
    put(
        &root,
        "sub/日本語 ファイル.txt",
        "こんにちは".as_bytes(),
        0o644,
    );
    fs::create_dir_all(root.join("emptydir")).unwrap();
    fs::create_dir_all(root.join("sub/also empty")).unwrap();
    std::os::unix::fs::symlink("a.txt", root.join("link")).unwrap();
    let _socket = UnixListener::bind(root.join("sock")).unwrap();
    let when = UNIX_EPOCH + Duration::from_secs(1_600_000_001);
    File::options()
        .write(true)
        .open(root.join("a.txt"))
        .unwrap()
        .set_modified(when)
        .unwrap();
    (tmp, root)
}

/// Every file and directory under `root`: relative path → (mode, content).
fn snapshot(root: &Path) -> BTreeMap<String, (bool, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for child in fs::read_dir(&dir).unwrap() {
            let path = child.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
                out.insert(rel, (true, Vec::new()));
            } else if meta.is_file() {
                out.insert(rel, (false, fs::read(&path).unwrap()));
            }
        }
    }
    out
}

#[test]
fn plan_counts_and_skips() {
    let (_tmp, root) = sample_tree();
    let plan = DirPlan::scan(&root).unwrap();
    assert_eq!(plan.dirname(), "my dir ü");
    assert_eq!(plan.num_files(), 6);
    assert_eq!(plan.num_bytes(), 6 + 18 + 6 + 300_000 + 15);
    let skipped: Vec<_> = plan
        .skipped()
        .iter()
        .map(|s| (s.display(), &s.reason))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(matches!(skipped[0], (ref p, SkipReason::Symlink) if p == "link"));
    assert!(matches!(skipped[1], (ref p, SkipReason::Special) if p == "sock"));
}

#[test]
fn arcnames_are_relative_and_stored() {
    let (_tmp, root) = sample_tree();
    let (_plan, bytes) = zip_to_vec(&root);
    // Pinned prefix: version 2.0, flags = UTF-8 | data descriptor, STORED.
    assert_eq!(&bytes[..10], b"PK\x03\x04\x14\x00\x08\x08\x00\x00");
    let mut zip = ZipArchive::new(Cursor::new(bytes)).unwrap();
    let names: Vec<_> = zip.file_names().map(str::to_owned).collect();
    let expected = [
        "a.txt",
        "empty.bin",
        "emptydir/",
        "run.sh",
        "secret",
        "sub/also empty/",
        "sub/deeper/x.dat",
        "sub/日本語 ファイル.txt",
    ];
    assert_eq!(names, expected);
    for i in 0..zip.len() {
        let entry = zip.by_index(i).unwrap();
        assert_eq!(entry.compression(), CompressionMethod::Stored);
        assert_eq!(entry.version_made_by(), (2, 0), "{}", entry.name());
    }
    let run = zip.by_name("run.sh").unwrap();
    assert_eq!(run.unix_mode(), Some(0o100_755));
    drop(run);
    assert_eq!(
        zip.by_name("emptydir/").unwrap().unix_mode(),
        Some(0o040_755)
    );
    let a = zip.by_name("a.txt").unwrap();
    let dos = a.last_modified().unwrap();
    // 2020-09-13 12:26:41 UTC, DOS seconds are even.
    assert_eq!((dos.year(), dos.month(), dos.day()), (2020, 9, 13));
    assert_eq!((dos.hour(), dos.minute(), dos.second()), (12, 26, 40));
}

#[test]
fn round_trip_restores_tree_and_modes() {
    let (tmp, root) = sample_tree();
    let (_plan, bytes) = zip_to_vec(&root);
    let zip = save(tmp.path(), "out.zip", &bytes);
    let dest = tmp.path().join("received");
    fs::create_dir(&dest).unwrap();
    let report = extract_zip(&zip, &dest, &roomy()).unwrap();
    assert_eq!((report.files, report.bytes), (6, 6 + 18 + 6 + 300_000 + 15));
    assert_eq!(report.dirs, 4); // emptydir, sub, sub/also empty, sub/deeper

    let mut want = snapshot(&root);
    want.retain(|k, _| k != "link");
    assert_eq!(snapshot(&dest), want);

    let mask = umask();
    for (rel, mode) in [
        ("run.sh", 0o755),
        ("secret", 0o600),
        ("sub/deeper/x.dat", 0o640),
    ] {
        assert_eq!(
            mode_of(&dest.join(rel)),
            ((mode & 0o755) | 0o400) & !mask,
            "{rel}"
        );
    }
    let mtime = fs::metadata(dest.join("a.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(mtime, UNIX_EPOCH + Duration::from_secs(1_600_000_001));
}

#[test]
fn other_readers_accept_our_zip() {
    let (tmp, root) = sample_tree();
    let (_plan, bytes) = zip_to_vec(&root);
    let zip = save(tmp.path(), "out.zip", &bytes);
    python_zipfile_test(&zip);
    unzip_test(&zip);
    // Python's own extraction (what the Python receiver builds on).
    let out = tmp.path().join("py");
    python(
        "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
        &[&zip, &out],
    );
    let mut want = snapshot(&root);
    want.retain(|k, _| k != "link");
    assert_eq!(snapshot(&out), want);
    // What the Python receiver restores: `external_attr >> 16`.
    let modes = python(
        "import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct(i.external_attr >> 16), i.create_system)",
        &[&zip],
    );
    assert!(modes.contains("run.sh 0o100755 3"), "{modes}");
    assert!(modes.contains("emptydir/ 0o40755 3"), "{modes}");
}

#[test]
fn output_is_deterministic() {
    let (_tmp, root) = sample_tree();
    assert_eq!(zip_to_vec(&root).1, zip_to_vec(&root).1);
}

#[test]
fn empty_directory_gives_empty_zip() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("nothing");
    fs::create_dir(&root).unwrap();
    let (plan, bytes) = zip_to_vec(&root);
    assert_eq!(
        (plan.num_files(), plan.num_bytes(), bytes.len()),
        (0, 0, 22)
    );
    let (report, _tmp, dest) = extract_bytes(&bytes, roomy());
    assert_eq!(report.unwrap(), Default::default());
    assert!(is_empty_dir(&dest));
}

#[test]
fn file_changed_after_scan_is_an_error() {
    for (label, change) in [("grew", b"more".as_slice()), ("shrank", b"".as_slice())] {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path().join("d");
        put(&root, "f", b"original", 0o644);
        let plan = DirPlan::scan(&root).unwrap();
        let new = if change.is_empty() {
            b"orig".to_vec()
        } else {
            [b"original", change].concat()
        };
        fs::write(root.join("f"), new).unwrap();
        let err = plan.write_zip(&mut Vec::new(), &mut |_| {}).unwrap_err();
        assert!(
            err.to_string().contains("changed while being sent"),
            "{label}: {err}"
        );
    }
}

#[test]
fn python_deflate_zip_extracts() {
    let tmp = TempDir::new().unwrap();
    let zip = tmp.path().join("py.zip");
    python(
        r##"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED)
def add(name, data, mode):
    info = zipfile.ZipInfo(name, (2021, 5, 6, 7, 8, 10))
    info.external_attr = mode << 16
    info.create_system = 3
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)
add("top.txt", b"hello\n" * 5000, 0o100644)
add("bin/run.sh", b"#!/bin/sh\n", 0o100755)
add("docs/", b"", 0o40750)
add("docs/\u00fcn\u00efc\u00f6de.txt", "\u00fc".encode() * 10, 0o100600)
add("setuid", b"x", 0o104777)
z.close()
"##,
        &[&zip],
    );
    let dest = tmp.path().join("out");
    fs::create_dir(&dest).unwrap();
    let report = extract_zip(&zip, &dest, &roomy()).unwrap();
    assert_eq!(
        (report.files, report.bytes, report.dirs),
        (4, 30_000 + 10 + 20 + 1, 2)
    );
    assert_eq!(
        fs::read(dest.join("top.txt")).unwrap(),
        b"hello\n".repeat(5000)
    );
    assert_eq!(
        fs::read(dest.join("docs/ünïcöde.txt")).unwrap(),
        "ü".repeat(10).as_bytes()
    );
    let mask = umask();
    assert_eq!(mode_of(&dest.join("bin/run.sh")), 0o755 & !mask);
    assert_eq!(mode_of(&dest.join("docs")), 0o750 & !mask);
    assert_eq!(mode_of(&dest.join("docs/ünïcöde.txt")), 0o600 & !mask);
    // setuid and group/other write are dropped.
    assert_eq!(mode_of(&dest.join("setuid")), 0o755 & !mask);
}

#[test]
fn python_empty_directory_zip_is_accepted() {
    // Python 0.24 sends an empty directory as a single "./" entry.
    let bytes = raw_zip(&[Raw {
        name: b"./",
        data: b"",
        mode: 0o040_755,
    }]);
    let (report, _tmp, dest) = extract_bytes(&bytes, roomy());
    assert_eq!(report.unwrap(), Default::default());
    assert!(is_empty_dir(&dest));
}

#[test]
fn names_a_receiver_would_refuse_are_skipped() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("d");
    put(&root, "ok.txt", b"fine", 0o644);
    put(&root, "bell\u{7}.txt", b"x", 0o644);
    put(&root, "back\\slash", b"x", 0o644);
    fs::write(root.join(OsStr::from_bytes(b"latin1-\xe9")), b"x").unwrap();
    let (plan, bytes) = zip_to_vec(&root);
    assert_eq!(plan.num_files(), 1);
    let reasons: Vec<_> = plan
        .skipped()
        .iter()
        .map(|s| (s.display(), s.reason.to_string()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|(p, r)| p == "bell\\x07.txt" && r.contains("control")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(p, r)| p == "back\\slash" && r.contains("backslash")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(_, r)| r.contains("UTF-8")),
        "{reasons:?}"
    );
    let (report, _tmp, _dest) = extract_bytes(&bytes, roomy());
    assert_eq!(report.unwrap().files, 1);
}

#[test]
fn scan_refuses_what_is_not_a_directory() {
    let tmp = TempDir::new().unwrap();
    let file = put(tmp.path(), "f", b"x", 0o644);
    assert!(DirPlan::scan(&file).is_err());
    assert!(DirPlan::scan(&tmp.path().join("missing")).is_err());
    assert!(DirPlan::scan(Path::new("/")).is_err(), "no dirname for /");
}

/// What Python 0.24's sender really streams (zipstream-ng, exactly as
/// `cmd_send.py` drives it), from the peers' venv (`interop/install-peers.sh`).
#[test]
fn zipstream_ng_archive_extracts() {
    let peers = match std::env::var_os("FERRY_PEERS") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cache/ferry-peers"),
    };
    let venv_python = peers.join("venv/bin/python");
    assert!(
        venv_python.exists(),
        "no {}: run `bash interop/install-peers.sh` first (scripts/test does)",
        venv_python.display()
    );
    let (tmp, root) = sample_tree();
    fs::remove_file(root.join("sock")).unwrap();
    let zip = tmp.path().join("zs.zip");
    let script = r#"
import os, sys
from zipstream.ng import ZipStream, walk
what, out = sys.argv[1], sys.argv[2]
zs = ZipStream(sized=True)
for p in walk(what, preserve_empty=True, followlinks=True):
    zs.add_path(p, arcname=os.path.relpath(p, what), recurse=False)
data = b"".join(zs)
assert len(data) == len(zs)
open(out, "wb").write(data)
"#;
    let status = std::process::Command::new(&venv_python)
        .args(["-c", script])
        .arg(&root)
        .arg(&zip)
        .status()
        .unwrap();
    assert!(status.success());
    let dest = tmp.path().join("out");
    fs::create_dir(&dest).unwrap();
    let report = extract_zip(&zip, &dest, &roomy()).unwrap();
    // Python follows the symlink: "link" arrives as a copy of a.txt.
    assert_eq!(report.files, 7);
    let mut want = snapshot(&root);
    want.insert("link".into(), (false, b"hello\n".to_vec()));
    assert_eq!(snapshot(&dest), want);
}

/// Several paths become top-level entries of one directory; names that clash refuse.
#[test]
fn scan_many_round_trip() {
    let tmp = TempDir::new().unwrap();
    let one = put(tmp.path(), "a/one.txt", b"first", 0o644);
    let dir = tmp.path().join("b/tree");
    put(&dir, "inner/x.bin", b"inner data", 0o644);
    fs::create_dir_all(dir.join("hollow")).unwrap();
    let plan = DirPlan::scan_many("bundle", &[one.clone(), dir.clone()]).unwrap();
    assert_eq!(plan.dirname(), "bundle");
    assert_eq!((plan.num_files(), plan.num_bytes()), (2, 15));
    let mut bytes = Vec::new();
    plan.write_zip(&mut bytes, &mut |_| {}).unwrap();
    assert_eq!(bytes.len() as u64, plan.zip_size());
    let (report, _tmp, dest) = extract_bytes(&bytes, roomy());
    report.unwrap();
    assert_eq!(fs::read(dest.join("one.txt")).unwrap(), b"first");
    assert_eq!(
        fs::read(dest.join("tree/inner/x.bin")).unwrap(),
        b"inner data"
    );
    assert!(is_empty_dir(&dest.join("tree/hollow")));
    let clash = put(tmp.path(), "c/one.txt", b"other", 0o644);
    assert!(DirPlan::scan_many("bundle", &[one, clash]).is_err());
    assert!(DirPlan::scan_many("../up", &[dir]).is_err());
}
