//! Whole native transfers between the two machines, many seeds each: clean
//! runs, damaged records, a lying disk, and a dropped connection then a resume;
//! each run with or without `late-roots` (fresh files streamed before their roots).

use rand::rngs::StdRng;
use rand::Rng;

use crate::native::machine::NativeError;
use crate::native::manifest::{Entry, EntryKind, ManifestBuilder, Mtime};
use crate::native::wire::ErrorCode;
use crate::transfer::path::SafeRelativePath;

use super::for_seeds;
use super::native::{run, Disk, Run, Source};
use super::pipe::Faults;
use super::side::Failure;

const SEEDS: u64 = 100;
const GROUP: u64 = 256 * 1024;

/// Small batches and window so that a few MiB cross several of each:
/// at most 2 files or 600 KiB per batch, a checkpoint every 200 KiB.
const LIMITS: (u32, u64, u64) = (2, 600 * 1024, 200 * 1024);

fn entry(path: &str, kind: EntryKind) -> Entry {
    Entry {
        path: SafeRelativePath::parse(path).expect("safe test path"),
        kind,
        mode: 0o644,
        mtime: Mtime::default(),
    }
}

/// Up to five files of random sizes (empty, small, one group, a few groups),
/// some in directories.
fn source(rng: &mut StdRng) -> Source {
    let mut b = ManifestBuilder::new();
    let mut parents = vec![String::new()];
    if rng.gen_bool(0.5) {
        b.push(entry("d", EntryKind::Dir)).expect("dir");
        b.push(entry("d/e", EntryKind::Dir)).expect("dir");
        parents.extend(["d/".to_owned(), "d/e/".to_owned()]);
    }
    let mut files = Vec::new();
    for i in 0..rng.gen_range(1..=5) {
        let size = match rng.gen_range(0..4) {
            0 => 0,
            1 => rng.gen_range(1..4000),
            2 => GROUP,
            _ => rng.gen_range(GROUP + 1..3 * GROUP),
        };
        let mut data = vec![0u8; size as usize];
        // blake3's XOF is built optimised in tests: random bytes at memory speed.
        let mut xof = blake3::Hasher::new()
            .update(&rng.gen::<[u8; 32]>())
            .finalize_xof();
        xof.fill(&mut data);
        let parent = &parents[rng.gen_range(0..parents.len())];
        b.push(entry(&format!("{parent}f{i}"), EntryKind::File { size }))
            .expect("file");
        files.push(data);
    }
    let totals = b.totals();
    let manifest = b.finish(totals).expect("manifest");
    Source {
        manifest,
        files,
        lie_at: None,
    }
}

fn content<'s>(source: &'s Source, path: &str) -> &'s [u8] {
    (0..source.manifest.file_count())
        .find(|&n| source.manifest.file(n).map(|e| e.path.as_str()) == Some(path))
        .map(|n| &source.files[n as usize][..])
        .expect("a path of the source")
}

/// Nothing but the sender's bytes on the disk: under final names, and in every
/// group a resume state calls verified (an unrooted state, of a file that
/// streamed before its root, vouches for nothing until a tree checks it).
fn assert_safe(disk: &Disk, source: &Source) {
    for (path, data) in &disk.finals {
        assert!(data == content(source, path), "wrong bytes at {path}");
    }
    let rooted = disk.partials.iter().filter(|(_, (_, s))| s.is_rooted());
    for (path, (data, state)) in rooted {
        let want = content(source, path);
        for g in state.verified().iter() {
            let span = (u64::from(g) * GROUP) as usize
                ..(data.len()).min((u64::from(g) + 1) as usize * GROUP as usize);
            assert!(
                data[span.clone()] == want[span],
                "unverified group {g} of {path} kept"
            );
        }
    }
}

/// Every file at its final name, every directory made.
fn assert_complete(disk: &Disk, source: &Source) {
    assert_safe(disk, source);
    assert_eq!(disk.finals.len(), source.files.len());
    assert!(disk.partials.is_empty(), "resume files left behind");
    let dirs = source
        .manifest
        .entries()
        .iter()
        .filter(|e| e.size().is_none());
    assert!(dirs.count() == disk.dirs.len());
}

fn succeeded(run: &Run) -> bool {
    run.sender.is_ok() && run.receiver.is_ok()
}

#[test]
fn clean_transfers_deliver_every_byte() {
    let streamed = std::cell::Cell::new(0);
    for_seeds(SEEDS, |rng| {
        let source = source(rng);
        let mut disk = Disk::default();
        let run = run(&source, &mut disk, Faults::default(), LIMITS, rng);
        assert!(succeeded(&run), "{run:?}");
        assert_complete(&disk, &source);
        assert_eq!(run.sent, source.manifest.bytes());
        streamed.set(streamed.get() + run.streamed);
    });
    assert!(streamed.get() > 0, "no run streamed a file before its root");
}

/// A failure a damaged record may cause: the side that reads it cannot open
/// it, the other side hears of it or loses the connection.
fn clean_failure(f: &Failure) -> bool {
    matches!(
        f,
        Failure::Record(_) | Failure::Lost | Failure::Machine(NativeError::Peer { .. })
    )
}

#[test]
fn damaged_records_end_in_a_clean_error() {
    let faults = Faults {
        duplicate: 0.03,
        reorder: 0.03,
        truncate: 0.02,
        corrupt: 0.03,
        drop_before: None,
    };
    for_seeds(SEEDS, |rng| {
        let source = source(rng);
        let mut disk = Disk::default();
        let run = run(&source, &mut disk, faults, LIMITS, rng);
        assert_safe(&disk, &source);
        if succeeded(&run) {
            return assert_complete(&disk, &source);
        }
        assert!(run.injected.damaged || run.injected.dropped, "{run:?}");
        for outcome in [&run.sender, &run.receiver] {
            if let Err(f) = outcome {
                assert!(clean_failure(f), "{f:?} from a damaged record");
            }
        }
        assert!(
            matches!(run.receiver, Err(Failure::Record(_) | Failure::Lost)),
            "the receiver read the damage: {run:?}"
        );
    });
}

#[test]
fn a_bad_group_never_reaches_a_final_name() {
    for_seeds(SEEDS, |rng| {
        let mut source = source(rng);
        let groups: u64 = source
            .files
            .iter()
            .map(|f| (f.len() as u64).div_ceil(GROUP))
            .sum();
        if groups == 0 {
            return;
        }
        source.lie_at = Some(rng.gen_range(0..groups));
        let mut disk = Disk::default();
        let run = run(&source, &mut disk, Faults::default(), LIMITS, rng);
        assert_safe(&disk, &source);
        assert!(
            matches!(run.receiver, Err(Failure::Integrity(_))),
            "{run:?}"
        );
        assert!(
            matches!(
                &run.sender,
                Err(Failure::Machine(NativeError::Peer {
                    code: ErrorCode::Integrity,
                    ..
                }))
            ),
            "the sender must hear of it: {run:?}"
        );
    });
}

/// Group bytes the disk still lacks for `source`.
fn missing(disk: &Disk, source: &Source) -> u64 {
    (0..source.manifest.file_count())
        .map(|n| {
            let path = source.manifest.file(n).expect("file").path.as_str();
            let size = source.files[n as usize].len() as u64;
            match (disk.finals.get(path), disk.partials.get(path)) {
                (Some(_), _) => 0,
                (None, Some((_, state))) => size - state.verified_bytes(),
                (None, None) => size,
            }
        })
        .sum()
}

#[test]
fn a_dropped_connection_resumes_with_only_what_is_missing() {
    for_seeds(SEEDS, |rng| {
        let source = source(rng);
        let records = 4 + source.files.len() as u64 * 2 + source.manifest.bytes() / GROUP;
        let faults = Faults {
            drop_before: Some(rng.gen_range(0..records)),
            ..Faults::default()
        };
        let mut disk = Disk::default();
        let first = run(&source, &mut disk, faults, LIMITS, rng);
        assert_safe(&disk, &source);
        if !first.injected.dropped {
            return assert!(succeeded(&first), "{first:?}");
        }
        assert!(first.receiver == Err(Failure::Lost), "{first:?}");
        let left = missing(&disk, &source);
        let second = run(&source, &mut disk, Faults::default(), LIMITS, rng);
        assert!(succeeded(&second), "{second:?}");
        assert_complete(&disk, &source);
        assert_eq!(second.sent, left, "the resume moved only what was missing");
    });
}
