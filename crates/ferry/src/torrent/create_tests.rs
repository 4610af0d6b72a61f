use super::*;
use ferry_proto::torrent::metainfo::Metainfo;

fn options(version: Version, piece: u64, threads: usize) -> CreateOptions {
    CreateOptions {
        version,
        piece_length: Some(piece),
        extras: Extras::default(),
        threads,
    }
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("share");
    std::fs::create_dir_all(root.join("sub/deep")).unwrap();
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(root.join("big"), &data).unwrap();
    std::fs::write(root.join("sub/deep/small"), b"hello").unwrap();
    std::fs::write(root.join("sub/empty"), b"").unwrap();
    std::os::unix::fs::symlink("big", root.join("link")).unwrap();
    dir
}

fn make(path: &Path, options: &CreateOptions) -> Result<Created, CreateError> {
    let source = Source::scan(path)?;
    create(&source, options, &mut |_| {}, &|| false)
}

#[test]
fn threads_do_not_change_the_torrent() {
    let dir = tree();
    let root = dir.path().join("share");
    for version in [Version::V1, Version::V2, Version::Hybrid] {
        let one = make(&root, &options(version, 16384, 1)).unwrap();
        let four = make(&root, &options(version, 16384, 4)).unwrap();
        assert_eq!(one.torrent, four.torrent, "{version:?}");
    }
}

#[test]
fn what_a_directory_shares() {
    let dir = tree();
    let created = make(
        &dir.path().join("share"),
        &options(Version::Hybrid, 32768, 2),
    )
    .unwrap();
    let m = Metainfo::parse(&created.torrent).unwrap();
    assert_eq!(m.info.name, "share");
    assert_eq!(m.info.hashes, created.hashes);
    let files: Vec<(String, u64)> = m
        .info
        .files
        .iter()
        .filter(|f| !f.pad)
        .map(|f| (f.path.join("/"), f.length))
        .collect();
    // The link is followed; the empty directory is left out; the empty file stays.
    let want = [
        ("big", 200_000),
        ("link", 200_000),
        ("sub/deep/small", 5),
        ("sub/empty", 0),
    ];
    let want: Vec<(String, u64)> = want.iter().map(|(p, l)| (p.to_string(), *l)).collect();
    assert_eq!(files, want);
    assert_eq!(created.bytes, 400_005);
    let link = m.info.files.iter().find(|f| f.path == ["link"]).unwrap();
    assert_eq!(link.pieces_root, m.info.files[0].pieces_root);
}

#[test]
fn one_file_is_a_single_file_torrent() {
    let dir = tree();
    let created = make(
        &dir.path().join("share/big"),
        &options(Version::V1, 16384, 2),
    )
    .unwrap();
    let m = Metainfo::parse(&created.torrent).unwrap();
    assert!(m.info.single_file);
    assert_eq!(m.info.name, "big");
    assert_eq!(m.info.pieces_v1.len(), 13);
}

#[test]
fn an_unreadable_file_stops_the_run() {
    let dir = tree();
    let root = dir.path().join("share");
    std::os::unix::fs::symlink("nowhere", root.join("broken")).unwrap();
    let err = make(&root, &options(Version::Hybrid, 16384, 2)).unwrap_err();
    assert!(matches!(err, CreateError::Io { .. }), "{err}");
}

#[test]
fn a_directory_without_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("e/f")).unwrap();
    let err = make(&dir.path().join("e"), &options(Version::Hybrid, 16384, 1)).unwrap_err();
    assert!(
        matches!(err, CreateError::Plan(PlanError::NoFiles)),
        "{err}"
    );
}

#[test]
fn stop_is_heard() {
    let dir = tree();
    let source = Source::scan(&dir.path().join("share")).unwrap();
    let err = create(
        &source,
        &options(Version::V1, 16384, 2),
        &mut |_| {},
        &|| true,
    );
    assert!(matches!(err, Err(CreateError::Stopped)));
}
