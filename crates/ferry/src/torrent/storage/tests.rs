use std::collections::BTreeMap;

use ferry_proto::torrent::build::Extras;
use ferry_proto::torrent::metainfo::Version;
use ferry_proto::torrent::storage::verify_piece;

use super::*;
use crate::error::LocalError;
use crate::torrent::create::{create, CreateOptions, Source};

const K16: u64 = 16 * 1024;

/// `share/`: a file of several pieces ending mid-piece, one smaller than a block,
/// an empty one, one of exactly one piece.
fn share() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("share");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(root.join("big"), big).unwrap();
    std::fs::write(root.join("sub/small"), b"hello").unwrap();
    std::fs::write(root.join("sub/empty"), b"").unwrap();
    std::fs::write(root.join("one"), vec![9u8; K16 as usize]).unwrap();
    dir
}

fn torrent(path: &Path, version: Version) -> Metainfo {
    let options = CreateOptions {
        version,
        piece_length: Some(K16),
        extras: Extras::default(),
        threads: 2,
    };
    let source = Source::scan(path).unwrap();
    let made = create(&source, &options, &mut |_| {}, &|| false).unwrap();
    Metainfo::parse(&made.torrent).unwrap()
}

/// Piece `piece` as a seed serves it, block by block.
fn piece(seed: &Storage, piece: u32) -> Vec<u8> {
    let size = seed.map().piece_size(piece) as u32;
    let mut out = Vec::new();
    for begin in (0..size).step_by(MAX_BLOCK as usize) {
        let length = (size - begin).min(MAX_BLOCK);
        let block = BlockRef {
            index: piece,
            begin,
            length,
        };
        out.extend(seed.read_block(block).unwrap());
    }
    assert!(verify_piece(seed.metainfo(), seed.map(), piece, &out));
    out
}

/// Every file below `dir` with its content (directories as `None`), by path under `dir`.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().to_owned();
            match path.is_dir() {
                true => {
                    out.insert(rel, None);
                    todo.push(path);
                }
                false => {
                    out.insert(rel, Some(std::fs::read(&path).unwrap()));
                }
            }
        }
    }
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Downloads `meta` from `seed` into `out`, pieces in `order`.
fn write_all(storage: &mut Storage, seed: &Storage, order: impl Iterator<Item = u32>) {
    for p in order {
        storage.write_piece(p, &piece(seed, p)).unwrap();
    }
}

#[test]
fn round_trip_v1_v2_hybrid_and_single_file() {
    let src = share();
    let single = src.path().join("share/big");
    let cases = [
        (src.path().join("share"), Version::V1),
        (src.path().join("share"), Version::V2),
        (src.path().join("share"), Version::Hybrid),
        (single.clone(), Version::Hybrid),
    ];
    for (path, version) in cases {
        let meta = torrent(&path, version);
        let seed = Storage::open_seed(path.parent().unwrap(), &meta).unwrap();
        assert!(seed.is_complete(), "{version:?}");
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("downloads");
        let mut storage = Storage::create(&dir, &meta).unwrap();
        assert_eq!(storage.have().count(), 0);
        let n = storage.map().pieces();
        write_all(&mut storage, &seed, (0..n).rev());
        assert!(storage.is_complete());
        let done = storage.finish().unwrap();
        assert_eq!(done, dir.join(&meta.info.name));
        assert_eq!(
            names(&dir),
            std::slice::from_ref(&meta.info.name),
            "{version:?}: leftovers"
        );
        match path.is_dir() {
            true => assert_eq!(contents(&done), contents(&path), "{version:?}"),
            false => assert_eq!(std::fs::read(&done).unwrap(), std::fs::read(&path).unwrap()),
        }
    }
}

#[test]
fn resume_continues_from_verified_pieces_and_loses_a_damaged_one() {
    let src = share();
    let meta = torrent(&src.path().join("share"), Version::Hybrid);
    let seed = Storage::open_seed(src.path(), &meta).unwrap();
    let out = tempfile::tempdir().unwrap();
    let n = {
        let mut storage = Storage::create(out.path(), &meta).unwrap();
        write_all(&mut storage, &seed, 0..4);
        storage.map().pieces()
    }; // dropped mid-way: the state is saved
    let partial = partial_dir(out.path(), &meta.info.hashes);
    assert!(partial.join("state").exists());
    assert!(
        !out.path().join("share").exists(),
        "nothing complete-looking yet"
    );
    // Piece 1 is in `big` (the first file): damage it behind ferry's back.
    let big = partial.join("share/big");
    let mut bytes = std::fs::read(&big).unwrap();
    bytes[K16 as usize + 10] ^= 0xff;
    std::fs::write(&big, bytes).unwrap();
    let mut storage = Storage::create(out.path(), &meta).unwrap();
    let have: Vec<u32> = (0..n).filter(|p| storage.have().has(*p)).collect();
    assert_eq!(have, [0, 2, 3]);
    write_all(&mut storage, &seed, (0..n).filter(|p| !have.contains(p)));
    let done = storage.finish().unwrap();
    assert_eq!(contents(&done), contents(&src.path().join("share")));
    assert_eq!(names(out.path()), ["share"]);
}

#[test]
fn a_state_of_another_torrent_claims_nothing() {
    let src = share();
    let meta = torrent(&src.path().join("share"), Version::V1);
    let other = torrent(&src.path().join("share"), Version::V2);
    let hashes = &meta.info.hashes;
    let full = Bitfield::full(3);
    let bytes = state::encode(&other.info.hashes, &full);
    assert_eq!(
        state::decode(&bytes, &other.info.hashes, 3),
        Some(full.clone())
    );
    assert_eq!(state::decode(&bytes, hashes, 3), None);
    assert_eq!(state::decode(&bytes, &other.info.hashes, 4), None);
    assert_eq!(
        state::decode(&bytes[..bytes.len() - 1], &other.info.hashes, 3),
        None
    );
}

#[test]
fn an_existing_target_is_refused_and_nothing_is_written() {
    let src = share();
    let meta = torrent(&src.path().join("share"), Version::Hybrid);
    let out = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/nonexistent", out.path().join("share")).unwrap();
    let err = Storage::create(out.path(), &meta).err().unwrap();
    assert!(matches!(err, Error::Local(LocalError::Exists(_))), "{err}");
    assert_eq!(names(out.path()), ["share"]);
    // Our hidden directory replaced by a link: refused, not followed.
    std::fs::remove_file(out.path().join("share")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let partial = partial_dir(out.path(), &meta.info.hashes);
    std::os::unix::fs::symlink(elsewhere.path(), &partial).unwrap();
    assert!(Storage::create(out.path(), &meta).is_err());
    assert!(names(elsewhere.path()).is_empty());
}

/// A link planted inside the hidden directory (between two runs) is not followed.
#[test]
fn a_link_inside_the_partial_tree_is_not_followed() {
    let src = share();
    let meta = torrent(&src.path().join("share"), Version::V1);
    let out = tempfile::tempdir().unwrap();
    let partial = partial_dir(out.path(), &meta.info.hashes);
    std::fs::create_dir_all(partial.join("share")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), partial.join("share/sub")).unwrap();
    let err = Storage::create(out.path(), &meta).err().unwrap();
    assert!(err.to_string().contains("sub"), "{err}");
    assert!(names(elsewhere.path()).is_empty());
}

/// Names the parser would refuse, put in by hand: refused before anything exists.
#[test]
fn hostile_names_never_leave_the_output_directory() {
    let src = share();
    let good = torrent(&src.path().join("share"), Version::V1);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("in");
    let hostile: [&[&str]; 5] = [
        &["..", "x"],
        &["/etc", "x"],
        &["a\\b"],
        &["", "x"],
        &["a/../../b"],
    ];
    for path in hostile {
        let mut meta = good.clone();
        meta.info.files[0].path = path.iter().map(|s| s.to_string()).collect();
        let err = Storage::create(&dir, &meta).err().unwrap();
        assert!(
            matches!(err, Error::Local(LocalError::UnsafeName(_))),
            "{path:?}: {err}"
        );
    }
    for name in ["..", "../x", "/tmp/x", "."] {
        let mut meta = good.clone();
        meta.info.name = name.to_owned();
        assert!(Storage::create(&dir, &meta).is_err(), "{name}");
    }
    assert!(names(out.path()).is_empty(), "something was created");
}

#[test]
fn a_full_disk_is_refused_up_front_counting_what_resume_holds() {
    let src = share();
    let meta = torrent(&src.path().join("share"), Version::Hybrid);
    let content = 100_000 + 5 + K16;
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("in");
    let err = Storage::create_probing(&dir, &meta, |_| Ok(content - 1))
        .err()
        .unwrap();
    match err {
        Error::Local(LocalError::NoSpace {
            need, available, ..
        }) => {
            assert_eq!((need, available), (content, content - 1));
        }
        other => panic!("{other}"),
    }
    assert!(!dir.exists(), "nothing created");
    let seed = Storage::open_seed(src.path(), &meta).unwrap();
    {
        let mut storage = Storage::create_probing(&dir, &meta, |_| Ok(content)).unwrap();
        write_all(&mut storage, &seed, 0..2);
    }
    // Pieces 0 and 1 hold all of... the first 2 × 16 KiB of `big`.
    let need = content - 2 * K16;
    assert!(Storage::create_probing(&dir, &meta, |_| Ok(need - 1)).is_err());
    assert_eq!(
        Storage::create_probing(&dir, &meta, |_| Ok(need))
            .unwrap()
            .have()
            .count(),
        2
    );
}

#[test]
fn seed_finds_a_corrupted_byte_and_missing_or_resized_files() {
    let src = share();
    let meta = torrent(&src.path().join("share"), Version::V2);
    let big = src.path().join("share/big");
    let mut bytes = std::fs::read(&big).unwrap();
    bytes[3 * K16 as usize + 5] ^= 1;
    std::fs::write(&big, &bytes).unwrap();
    let seed = Storage::open_seed(src.path(), &meta).unwrap();
    let missing: Vec<u32> = (0..seed.map().pieces())
        .filter(|p| !seed.have().has(*p))
        .collect();
    assert_eq!(missing, [3]);
    let block = BlockRef {
        index: 3,
        begin: 0,
        length: 10,
    };
    assert!(
        seed.read_block(block).is_err(),
        "an unverified piece was served"
    );
    let too_long = BlockRef {
        index: 0,
        begin: 0,
        length: MAX_BLOCK + 1,
    };
    assert!(seed.read_block(too_long).is_err());
    std::fs::write(&big, &bytes[..1000]).unwrap();
    let err = Storage::open_seed(src.path(), &meta)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("is 1000 bytes, the torrent says 100000"),
        "{err}"
    );
    std::fs::remove_file(&big).unwrap();
    let err = Storage::open_seed(src.path(), &meta)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("share/big is missing"), "{err}");
}

/// A kill (no drop) within a second of the last save loses only the pieces since:
/// the state on disk is the one `create` wrote.
#[test]
fn a_kill_loses_at_most_the_pieces_since_the_last_save() {
    let src = share();
    let meta = torrent(&src.path().join("share"), Version::V2);
    let seed = Storage::open_seed(src.path(), &meta).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut storage = Storage::create(out.path(), &meta).unwrap();
    write_all(&mut storage, &seed, 0..2);
    std::mem::forget(storage);
    let mut storage = Storage::create(out.path(), &meta).unwrap();
    assert_eq!(storage.have().count(), 0);
    write_all(&mut storage, &seed, 0..2);
    storage.flush().unwrap();
    std::mem::forget(storage);
    let storage = Storage::create(out.path(), &meta).unwrap();
    assert_eq!(storage.have().count(), 2);
}

#[test]
fn misuse_is_refused() {
    let src = share();
    let meta = torrent(&src.path().join("share"), Version::V1);
    let mut seed = Storage::open_seed(src.path(), &meta).unwrap();
    assert!(
        seed.write_piece(0, &piece(&seed, 0)).is_err(),
        "wrote while seeding"
    );
    let out = tempfile::tempdir().unwrap();
    let mut storage = Storage::create(out.path(), &meta).unwrap();
    assert!(storage.write_piece(0, &[0; 10]).is_err());
    assert!(storage.write_piece(99, &[]).is_err());
    let err = storage.finish().err().unwrap();
    assert!(matches!(err, Error::Internal(_)), "{err}");
}
