//! Blocking file reads for the native protocol: hashing a file into its tree and
//! reading single groups.
//!
//! A large file is hashed in stripes on every core: nothing else runs while the
//! sender hashes a batch (the receiver waits for its trees), so this is where
//! parallel hashing pays.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ferry_proto::native::tree::{group_hash, Hash32, Layout, Tree};

use crate::error::{Error, Result};

/// Fewest groups worth a thread of their own (4 MiB at the smallest group size).
const MIN_STRIPE_GROUPS: u64 = 16;

/// Hashes the file at `path`, which must still be `size` bytes long; gives up
/// soon after `stop` is set.
pub(super) fn hash_file(path: &Path, size: u64, stop: &AtomicBool) -> Result<Tree> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    hash_open_until(&file, size, stop)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

/// Hashes an open file of `size` bytes. A file shorter than `size` is an error.
pub(super) fn hash_open(file: &File, size: u64) -> std::io::Result<Tree> {
    hash_open_until(file, size, &AtomicBool::new(false))
}

fn hash_open_until(file: &File, size: u64, stop: &AtomicBool) -> std::io::Result<Tree> {
    let layout = Layout::for_size(size);
    let stripes = stripes(layout.groups());
    let hashes = match stripes.len() {
        0 | 1 => hash_groups(file, &layout, 0..layout.groups(), stop)?,
        _ => std::thread::scope(|s| {
            let workers: Vec<_> = stripes
                .into_iter()
                .map(|r| s.spawn(|| hash_groups(file, &layout, r, stop)))
                .collect();
            let mut all = Vec::with_capacity(layout.groups() as usize);
            for worker in workers {
                let part = worker
                    .join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a hashing thread panicked")));
                all.extend(part?);
            }
            Ok::<_, std::io::Error>(all)
        })?,
    };
    Tree::from_group_hashes(layout, hashes).map_err(std::io::Error::other)
}

/// The group ranges to hash in parallel: one per core, none smaller than
/// [`MIN_STRIPE_GROUPS`] (one range for a small file).
fn stripes(groups: u64) -> Vec<std::ops::Range<u64>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let count = (groups / MIN_STRIPE_GROUPS).clamp(1, cores);
    let per = groups.div_ceil(count);
    (0..count)
        .map(|i| i * per..((i + 1) * per).min(groups))
        .filter(|r| !r.is_empty())
        .collect()
}

fn hash_groups(
    file: &File,
    layout: &Layout,
    groups: std::ops::Range<u64>,
    stop: &AtomicBool,
) -> std::io::Result<Vec<Hash32>> {
    let mut buf = Vec::new();
    groups
        .map(|g| {
            if stop.load(Ordering::Relaxed) {
                return Err(std::io::Error::other("hashing stopped: the transfer ended"));
            }
            let (start, len) = layout.group_span(g);
            read_span(file, start, len, &mut buf)?;
            group_hash(layout, g, &buf).map_err(std::io::Error::other)
        })
        .collect()
}

/// Reads `len` bytes at `start` into `buf` (replacing its contents).
pub(super) fn read_span(
    file: &File,
    start: u64,
    len: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    buf.resize(len as usize, 0);
    read_at(file, start, buf)
}

/// Fills `buf` from `start`; running out of file is an error.
pub(super) fn read_at(file: &File, start: u64, buf: &mut [u8]) -> std::io::Result<()> {
    file.read_exact_at(buf, start).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            std::io::Error::new(e.kind(), "the file got shorter while being sent")
        }
        _ => e,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use ferry_proto::native::tree::TreeBuilder;

    use super::*;

    #[test]
    fn striped_hashing_equals_the_sequential_tree_and_b3sum() {
        for size in [0, 1, 256 * 1024, 16 * 256 * 1024 + 7, 40 * 256 * 1024 + 1] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 253) as u8).collect();
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&data).unwrap();
            let layout = Layout::for_size(size as u64);
            let mut builder = TreeBuilder::new(layout);
            while let Some((start, len)) = builder.next_span() {
                let span = &data[start as usize..(start + len) as usize];
                builder.add_group(span).unwrap();
            }
            let tree = hash_open(&file, size as u64).unwrap();
            assert_eq!(tree, builder.finish().unwrap(), "size {size}");
            assert_eq!(tree.root(), blake3::hash(&data).as_bytes());
        }
    }

    #[test]
    fn stripes_cover_every_group_once() {
        for groups in [0, 1, 15, 16, 33, 1000, 65_536] {
            let all: Vec<u64> = stripes(groups).into_iter().flatten().collect();
            assert_eq!(all, (0..groups).collect::<Vec<_>>());
        }
    }

    #[test]
    fn hashing_stops_when_asked() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![1; 40 * 256 * 1024]).unwrap();
        let stop = AtomicBool::new(true);
        assert!(hash_open_until(&file, 40 * 256 * 1024, &stop).is_err());
    }

    #[test]
    fn a_short_file_is_an_error() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&[1; 100 * 1024]).unwrap();
        assert!(hash_open(&file, 20 * 256 * 1024).is_err());
    }
}
