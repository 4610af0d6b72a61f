//! Archives a hostile peer could send.

use std::fs;
use std::path::Path;

use tempfile::TempDir;

use super::support::*;
use crate::v1::archive::{extract_zip, ExtractError, ExtractLimits};

/// Extracts and returns the error, checking that nothing was written.
fn refused_before_writing(entries: &[Raw<'_>], limits: ExtractLimits) -> ExtractError {
    let (result, tmp, dest) = extract_bytes(&raw_zip(entries), limits);
    let err = result.expect_err("archive was accepted");
    assert!(
        is_empty_dir(&dest),
        "wrote something before refusing: {err}"
    );
    let around: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(around.len(), 2, "wrote outside dest: {around:?}");
    assert!(err.is_peer_fault());
    err
}

#[test]
fn escaping_and_odd_names_are_refused() {
    for name in [
        "../x",
        "/abs",
        "a/../../b",
        "C:\\x",
        "\\\\server\\x",
        "c:x",
        "a/\u{1b}[2Jx",
        "",
    ] {
        let entries = [raw_file("fine.txt", b"ok"), raw_file(name, b"evil")];
        let err = refused_before_writing(&entries, roomy());
        assert!(
            matches!(err, ExtractError::UnsafeName(_)),
            "{name:?}: {err}"
        );
        assert!(!err.to_string().contains('\u{1b}'), "unescaped: {err}");
    }
}

#[test]
fn links_and_special_files_are_refused() {
    let link = Raw {
        name: b"link",
        data: b"/etc/passwd",
        mode: 0o120_777,
    };
    let err = refused_before_writing(&[raw_file("a", b"1"), link], roomy());
    assert!(matches!(err, ExtractError::Symlink { .. }), "{err}");
    for mode in [0o010_644, 0o020_644, 0o060_644, 0o140_644] {
        let special = Raw {
            name: b"dev",
            data: b"",
            mode,
        };
        let err = refused_before_writing(&[special], roomy());
        assert!(
            matches!(err, ExtractError::SpecialFile { .. }),
            "{mode:o}: {err}"
        );
    }
}

#[test]
fn symlink_from_zip_crate_writer_is_refused() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.add_symlink("innocent.txt", "../../../../etc/passwd", opts)
        .unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let (result, _tmp, dest) = extract_bytes(&bytes, roomy());
    assert!(
        matches!(result, Err(ExtractError::Symlink { .. })),
        "{result:?}"
    );
    assert!(is_empty_dir(&dest));
}

#[test]
fn duplicates_and_conflicts_are_refused() {
    let dir = |name: &'static str| Raw {
        name: name.as_bytes(),
        data: b"",
        mode: 0o040_755,
    };
    let dup = |err: &ExtractError| matches!(err, ExtractError::Duplicate { .. });
    let conflict = |err: &ExtractError| matches!(err, ExtractError::Conflict { .. });
    type Check<'a> = &'a dyn Fn(&ExtractError) -> bool;
    let cases: Vec<(Vec<Raw<'_>>, Check<'_>)> = vec![
        (vec![raw_file("a", b"1"), raw_file("a", b"2")], &dup),
        (vec![raw_file("a", b"1"), raw_file("./a", b"2")], &dup),
        (vec![raw_file("x/a", b"1"), raw_file("x//a", b"2")], &dup),
        (vec![dir("d/"), dir("d/")], &dup),
        (vec![raw_file("a", b"1"), raw_file("a/b", b"2")], &conflict),
        (vec![raw_file("a/b", b"1"), raw_file("a", b"2")], &conflict),
        (vec![dir("d/"), raw_file("d", b"2")], &conflict),
        (vec![raw_file("d", b"2"), dir("d/")], &conflict),
    ];
    for (entries, want) in cases {
        let err = refused_before_writing(&entries, roomy());
        assert!(want(&err), "{err}");
    }
}

#[test]
fn too_many_files_is_refused() {
    let names = ["a", "b", "c", "d", "e"];
    let entries: Vec<_> = names.iter().map(|n| raw_file(n, b"x")).collect();
    let err = refused_before_writing(&entries, ExtractLimits::new(3, 1 << 20));
    assert!(
        matches!(err, ExtractError::TooManyFiles { limit: 3 }),
        "{err}"
    );
    let (ok, _tmp, _dest) = extract_bytes(&raw_zip(&entries), ExtractLimits::new(5, 5));
    assert_eq!(ok.unwrap().files, 5);
}

/// A 100 MiB file of zeros, DEFLATEd by Python (about 100 KiB). With
/// `lie`, both headers claim it holds 1000 bytes.
fn bomb(dir: &Path, lie: bool) -> std::path::PathBuf {
    let zip = dir.join(if lie { "liar.zip" } else { "bomb.zip" });
    let script = r#"
import struct, sys, zipfile
path, lie = sys.argv[1], sys.argv[2].endswith("lie")
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("zeros.bin", "w") as f:
        block = bytes(1 << 20)
        for _ in range(100):
            f.write(block)
if lie:
    data = bytearray(open(path, "rb").read())
    struct.pack_into("<I", data, data.rindex(b"PK\x01\x02") + 24, 1000)
    struct.pack_into("<I", data, data.index(b"PK\x03\x04") + 22, 1000)
    open(path, "wb").write(data)
"#;
    let flag = Path::new(if lie { "lie" } else { "honest" });
    python(script, &[&zip, flag]);
    assert!(fs::metadata(&zip).unwrap().len() < 1 << 20);
    zip
}

#[test]
fn honest_bomb_is_refused_from_its_headers() {
    let tmp = TempDir::new().unwrap();
    let zip = bomb(tmp.path(), false);
    let dest = tmp.path().join("out");
    fs::create_dir(&dest).unwrap();
    let err = extract_zip(&zip, &dest, &ExtractLimits::new(10, 1 << 20)).unwrap_err();
    assert!(
        matches!(err, ExtractError::TooManyBytes { limit: 1_048_576 }),
        "{err}"
    );
    assert!(is_empty_dir(&dest));
}

#[test]
fn lying_bomb_is_stopped_mid_stream() {
    let tmp = TempDir::new().unwrap();
    let zip = bomb(tmp.path(), true);
    let dest = tmp.path().join("out");
    fs::create_dir(&dest).unwrap();
    let err = extract_zip(&zip, &dest, &ExtractLimits::new(10, 1 << 20)).unwrap_err();
    assert!(matches!(err, ExtractError::TooManyBytes { .. }), "{err}");
    let written = fs::metadata(dest.join("zeros.bin")).unwrap().len();
    assert!(
        ((1 << 20) - (64 << 10)..=1 << 20).contains(&written),
        "{written}"
    );
}

#[test]
fn size_that_lies_is_refused() {
    let mut bytes = raw_zip(&[raw_file("f", b"twelve bytes")]);
    let cd = bytes.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    bytes[cd + 24..cd + 28].copy_from_slice(&100u32.to_le_bytes());
    let (result, _tmp, _dest) = extract_bytes(&bytes, roomy());
    assert!(
        matches!(
            result,
            Err(ExtractError::SizeMismatch {
                declared: 100,
                actual: 12,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn corrupt_archives_are_peer_faults() {
    let mut bytes = raw_zip(&[raw_file("f", b"some content here")]);
    let at = bytes.windows(4).position(|w| w == b"some").unwrap();
    bytes[at] ^= 1; // CRC no longer matches
    let (result, _tmp, _dest) = extract_bytes(&bytes, roomy());
    let err = result.unwrap_err();
    assert!(
        matches!(err, ExtractError::Corrupt(_)) && err.is_peer_fault(),
        "{err}"
    );
    for junk in [
        b"not a zip at all".to_vec(),
        bytes[..bytes.len() - 30].to_vec(),
    ] {
        let (result, _tmp, _dest) = extract_bytes(&junk, roomy());
        assert!(
            matches!(result, Err(ExtractError::Corrupt(_))),
            "{result:?}"
        );
    }
}

#[test]
fn destination_must_be_an_empty_directory() {
    let tmp = TempDir::new().unwrap();
    let zip = save(tmp.path(), "in.zip", &raw_zip(&[raw_file("f", b"x")]));
    let full = tmp.path().join("full");
    fs::create_dir(&full).unwrap();
    fs::write(full.join("existing"), b"keep").unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&full, &link).unwrap();
    for dest in [&full, &link] {
        let err = extract_zip(&zip, dest, &roomy()).unwrap_err();
        assert!(matches!(err, ExtractError::DestNotEmpty { .. }), "{err}");
        assert!(!err.is_peer_fault());
    }
    let missing = extract_zip(&zip, &tmp.path().join("nope"), &roomy()).unwrap_err();
    assert!(matches!(missing, ExtractError::Io { .. }), "{missing}");
}
