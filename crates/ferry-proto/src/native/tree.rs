//! BLAKE3 over chunk groups: a file's root hash is its plain BLAKE3 hash (what
//! `b3sum` prints), and the chaining values of its chunk groups let a receiver verify
//! any group on its own.
//!
//! BLAKE3 is a binary tree over 1 KiB chunks whose left subtree always holds the
//! largest power of two of chunks that leaves the right one non-empty. A group of
//! 2^k chunks starting at a multiple of 2^k chunks is therefore a complete subtree,
//! and so is the shorter last group. The sender hashes each group on its own (at its
//! offset) into a 32-byte chaining value (CV) and sends the list; the receiver merges
//! the list up to the root and compares it with the root, after which every CV is as
//! trustworthy as the root, and each group is checked against its CV as it arrives.
//! A file of one group has no CV list: the group is checked against the root itself.
//!
//! Groups are 256 KiB, larger for files over 16 GiB so that a file has at most 65,536
//! of them (the CV list stays under 2 MiB), and never larger than 4 MiB.

use blake3::hazmat::{
    merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};

/// Bytes per BLAKE3 chunk.
pub const CHUNK_LEN: u64 = 1024;
/// Smallest group: 2^8 chunks, 256 KiB.
pub const MIN_GROUP_LOG: u8 = 8;
/// Largest group: 2^12 chunks, 4 MiB.
pub const MAX_GROUP_LOG: u8 = 12;
/// Groups are grown until a file has at most this many (or they reach the maximum).
const TARGET_GROUPS: u64 = 1 << 16;
/// The largest file the protocol carries: group indices must fit in 32 bits.
pub const MAX_FILE_SIZE: u64 = (CHUNK_LEN << MAX_GROUP_LOG) * (u32::MAX as u64);

/// A 32-byte BLAKE3 chaining value or root hash.
pub type Hash32 = [u8; 32];

/// Why a tree or a group failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    #[error("expected {expected} chunk-group hashes, got {got}")]
    WrongCount { expected: u64, got: u64 },
    #[error("the chunk-group hashes do not add up to the file's root hash")]
    RootMismatch,
    #[error("group {group} does not match its hash")]
    GroupMismatch { group: u64 },
    #[error("group {group} has {got} bytes, expected {expected}")]
    GroupLength { group: u64, expected: u64, got: u64 },
    #[error("group {group} is out of range (the file has {groups})")]
    NoSuchGroup { group: u64, groups: u64 },
}

/// How a file of a given size splits into groups; both sides derive it from the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    size: u64,
    group_log: u8,
}

impl Layout {
    /// The protocol's layout for a file of `size` bytes.
    pub fn for_size(size: u64) -> Self {
        let mut group_log = MIN_GROUP_LOG;
        while group_log < MAX_GROUP_LOG && size.div_ceil(CHUNK_LEN << group_log) > TARGET_GROUPS {
            group_log += 1;
        }
        Layout { size, group_log }
    }

    /// A layout with another group size (tests use tiny groups); `group_log` ≤ 12.
    pub fn with_group_log(size: u64, group_log: u8) -> Self {
        Layout {
            size,
            group_log: group_log.min(MAX_GROUP_LOG),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn group_log(&self) -> u8 {
        self.group_log
    }

    /// Bytes in every group but the last.
    pub fn group_len(&self) -> u64 {
        CHUNK_LEN << self.group_log
    }

    /// Number of groups (0 for an empty file).
    pub fn groups(&self) -> u64 {
        self.size.div_ceil(self.group_len())
    }

    /// Where group `g` starts and how long it is.
    pub fn group_span(&self, g: u64) -> (u64, u64) {
        let start = g.saturating_mul(self.group_len()).min(self.size);
        let end = start.saturating_add(self.group_len()).min(self.size);
        (start, end - start)
    }

    /// How many CVs the sender sends: one per group, none for 0 or 1 group.
    pub fn cv_count(&self) -> u64 {
        match self.groups() {
            0 | 1 => 0,
            n => n,
        }
    }
}

/// What hashing one group yields: a CV, or the root when the file is one group.
fn hash_group(layout: &Layout, g: u64, data: &[u8]) -> Hash32 {
    let mut hasher = blake3::Hasher::new();
    if layout.groups() == 1 {
        hasher.update(data);
        return *hasher.finalize().as_bytes();
    }
    hasher.set_input_offset(layout.group_span(g).0);
    hasher.update(data);
    hasher.finalize_non_root()
}

/// Merges the CVs of complete subtrees, left to right, exactly as BLAKE3 shapes its tree.
fn merge(cvs: &[ChainingValue], root: bool) -> Hash32 {
    if cvs.len() == 1 {
        return cvs[0];
    }
    let split = largest_power_of_two_below(cvs.len());
    let left = merge(&cvs[..split], false);
    let right = merge(&cvs[split..], false);
    if root {
        *merge_subtrees_root(&left, &right, Mode::Hash).as_bytes()
    } else {
        merge_subtrees_non_root(&left, &right, Mode::Hash)
    }
}

fn largest_power_of_two_below(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// A file's root hash with the CVs that let each group be checked alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    layout: Layout,
    root: Hash32,
    cvs: Vec<Hash32>,
}

impl Tree {
    /// Checks a root and CV list received from the sender against each other.
    pub fn from_parts(layout: Layout, root: Hash32, cvs: Vec<Hash32>) -> Result<Self, TreeError> {
        let expected = layout.cv_count();
        if cvs.len() as u64 != expected {
            let got = cvs.len() as u64;
            return Err(TreeError::WrongCount { expected, got });
        }
        let computed = match layout.groups() {
            0 => *blake3::hash(b"").as_bytes(),
            1 => root, // checked against the data itself
            _ => merge(&cvs, true),
        };
        if computed != root {
            return Err(TreeError::RootMismatch);
        }
        Ok(Tree { layout, root, cvs })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The file's BLAKE3 hash.
    pub fn root(&self) -> &Hash32 {
        &self.root
    }

    /// The CV list as sent (empty for files of 0 or 1 group).
    pub fn cvs(&self) -> &[Hash32] {
        &self.cvs
    }

    /// Checks one whole group of data.
    pub fn verify_group(&self, g: u64, data: &[u8]) -> Result<(), TreeError> {
        let want = match self.layout.groups() {
            1 => &self.root,
            _ => self.cvs.get(g as usize).unwrap_or(&self.root),
        };
        match group_hash(&self.layout, g, data)? == *want {
            true => Ok(()),
            false => Err(TreeError::GroupMismatch { group: g }),
        }
    }
}

/// Builds a [`Tree`] from a file's groups, fed in order (the sender hashing what it
/// offers, or a receiver hashing a file it already has).
pub struct TreeBuilder {
    layout: Layout,
    hashes: Vec<Hash32>,
}

impl TreeBuilder {
    pub fn new(layout: Layout) -> Self {
        TreeBuilder {
            layout,
            hashes: Vec::with_capacity(layout.groups().min(TARGET_GROUPS) as usize),
        }
    }

    /// The span of the next group to feed, or `None` when all are in.
    pub fn next_span(&self) -> Option<(u64, u64)> {
        let g = self.hashes.len() as u64;
        (g < self.layout.groups()).then(|| self.layout.group_span(g))
    }

    /// Feeds the next group, which must be whole.
    pub fn add_group(&mut self, data: &[u8]) -> Result<(), TreeError> {
        let g = self.hashes.len() as u64;
        self.hashes.push(group_hash(&self.layout, g, data)?);
        Ok(())
    }

    /// The finished tree; fails if groups are missing.
    pub fn finish(self) -> Result<Tree, TreeError> {
        Tree::from_group_hashes(self.layout, self.hashes)
    }
}

/// The hash of whole group `g` (its CV, or the root for a file of one group), on
/// its own: groups may be hashed on several threads and put together with
/// [`Tree::from_group_hashes`].
pub fn group_hash(layout: &Layout, g: u64, data: &[u8]) -> Result<Hash32, TreeError> {
    let groups = layout.groups();
    if g >= groups {
        return Err(TreeError::NoSuchGroup { group: g, groups });
    }
    let expected = layout.group_span(g).1;
    if data.len() as u64 != expected {
        let got = data.len() as u64;
        return Err(TreeError::GroupLength {
            group: g,
            expected,
            got,
        });
    }
    Ok(hash_group(layout, g, data))
}

impl Tree {
    /// The tree of a file whose groups hashed (in order) to `hashes`.
    pub fn from_group_hashes(layout: Layout, hashes: Vec<Hash32>) -> Result<Tree, TreeError> {
        let got = hashes.len() as u64;
        if got != layout.groups() {
            return Err(TreeError::WrongCount {
                expected: layout.groups(),
                got,
            });
        }
        let (root, cvs) = match hashes.len() {
            0 => (*blake3::hash(b"").as_bytes(), Vec::new()),
            1 => (hashes[0], Vec::new()),
            _ => (merge(&hashes, true), hashes),
        };
        Ok(Tree { layout, root, cvs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn build(layout: Layout, bytes: &[u8]) -> Tree {
        let mut b = TreeBuilder::new(layout);
        while let Some((start, len)) = b.next_span() {
            b.add_group(&bytes[start as usize..(start + len) as usize])
                .unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn root_is_plain_blake3_for_many_sizes_and_group_sizes() {
        let sizes = [
            0,
            1,
            1023,
            1024,
            1025,
            2048,
            3000,
            4096,
            4097,
            7 * 1024 + 5,
            65_536,
            100_000,
        ];
        for log in [0u8, 1, 2, 3] {
            for &size in &sizes {
                let bytes = data(size);
                let layout = Layout::with_group_log(size as u64, log);
                let tree = build(layout, &bytes);
                assert_eq!(
                    tree.root(),
                    blake3::hash(&bytes).as_bytes(),
                    "size {size} log {log}"
                );
                let again = Tree::from_parts(layout, *tree.root(), tree.cvs().to_vec()).unwrap();
                for g in 0..layout.groups() {
                    let (s, l) = layout.group_span(g);
                    again
                        .verify_group(g, &bytes[s as usize..(s + l) as usize])
                        .unwrap();
                }
            }
        }
    }

    #[test]
    fn protocol_layout_is_blake3_too() {
        let bytes = data(3 * 256 * 1024 + 17);
        let layout = Layout::for_size(bytes.len() as u64);
        assert_eq!((layout.group_log(), layout.groups()), (8, 4));
        assert_eq!(
            build(layout, &bytes).root(),
            blake3::hash(&bytes).as_bytes()
        );
    }

    #[test]
    fn layout_grows_groups_for_huge_files() {
        assert_eq!(Layout::for_size(16 << 30).group_log(), 8);
        assert_eq!(Layout::for_size((16 << 30) + 1).group_log(), 9);
        assert_eq!(Layout::for_size(1 << 40).group_log(), 12);
        assert_eq!(Layout::for_size(1 << 40).groups(), 1 << 18);
        assert!(Layout::for_size(MAX_FILE_SIZE).groups() <= u32::MAX as u64);
        assert_eq!(Layout::for_size(0).groups(), 0);
        assert_eq!(Layout::for_size(5).group_span(0), (0, 5));
    }

    #[test]
    fn tampering_is_caught() {
        let bytes = data(5000);
        let layout = Layout::with_group_log(5000, 1);
        let tree = build(layout, &bytes);
        let mut cvs = tree.cvs().to_vec();
        cvs[1][0] ^= 1;
        assert_eq!(
            Tree::from_parts(layout, *tree.root(), cvs),
            Err(TreeError::RootMismatch)
        );
        assert!(Tree::from_parts(layout, *tree.root(), vec![[0; 32]; 2]).is_err());
        let mut group = bytes[2048..4096].to_vec();
        group[7] ^= 0x80;
        assert_eq!(
            tree.verify_group(1, &group),
            Err(TreeError::GroupMismatch { group: 1 })
        );
        assert!(tree.verify_group(1, &bytes[2048..4095]).is_err());
        assert!(tree.verify_group(3, &bytes[..1]).is_err());
        // A group moved to another position does not verify there.
        assert!(tree.verify_group(0, &bytes[2048..4096]).is_err());
    }

    #[test]
    fn single_group_is_checked_against_the_root() {
        let bytes = data(700);
        let layout = Layout::for_size(700);
        let tree = Tree::from_parts(layout, *blake3::hash(&bytes).as_bytes(), vec![]).unwrap();
        tree.verify_group(0, &bytes).unwrap();
        assert!(tree.verify_group(0, &data(699)).is_err());
        let empty = Tree::from_parts(Layout::for_size(0), *blake3::hash(b"").as_bytes(), vec![]);
        assert!(empty.is_ok());
        assert!(Tree::from_parts(Layout::for_size(0), [1; 32], vec![]).is_err());
    }
}
