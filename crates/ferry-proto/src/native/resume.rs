//! The resume state file a receiver keeps beside a partial file: which file it is
//! (root hash and size) and which groups of it are on disk, verified.
//!
//! Layout: `"FRYRES01"`, root (32), size (u64 BE), group log (u8), group count
//! (u32 BE), bitmap (⌈count/8⌉ bytes, group g is bit g%8 of byte g/8), then the
//! BLAKE3 of everything before it, so a torn or foreign file is recognised and ignored.
//!
//! A file that streamed before its root was known (`late-roots`) is saved with
//! a root of zeros, "unknown": such a state fits any tree of its size, and every
//! group it lists is verified against that tree before it is trusted. (An
//! older ferry sees a root that matches nothing and starts the file over.)

use super::ranges::GroupSet;
use super::tree::{Hash32, Layout, Tree};

const MAGIC: &[u8; 8] = b"FRYRES01";
/// The root of a state whose file's root is not known yet.
const UNKNOWN_ROOT: Hash32 = [0; 32];

/// What a receiver has of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeState {
    root: Hash32,
    layout: Layout,
    verified: GroupSet,
}

impl ResumeState {
    /// Nothing verified yet of the file `tree` describes.
    pub fn new(tree: &Tree) -> Self {
        let layout = *tree.layout();
        ResumeState {
            root: *tree.root(),
            layout,
            verified: GroupSet::empty(layout.groups() as u32),
        }
    }

    /// Nothing verified yet of a file of this layout whose root is not known
    /// (it streams before its root, `late-roots`).
    pub fn unrooted(layout: Layout) -> Self {
        ResumeState {
            root: UNKNOWN_ROOT,
            layout,
            verified: GroupSet::empty(layout.groups() as u32),
        }
    }

    /// Whether the state names its file's root; an unrooted one's groups must
    /// be verified against a tree before they count.
    pub fn is_rooted(&self) -> bool {
        self.root != UNKNOWN_ROOT
    }

    /// Whether this state may belong to the file `tree` describes: same size
    /// and the same root, or a root not known.
    pub fn matches(&self, tree: &Tree) -> bool {
        let root = self.root == *tree.root() || !self.is_rooted();
        root && self.layout == *tree.layout()
    }

    pub fn verified(&self) -> &GroupSet {
        &self.verified
    }

    /// Records a group as written and verified (or forgets one that no longer checks out).
    pub fn set(&mut self, group: u32, verified: bool) {
        match verified {
            true => self.verified.insert(group),
            false => self.verified.remove(group),
        }
    }

    /// Bytes covered by the verified groups.
    pub fn verified_bytes(&self) -> u64 {
        self.verified
            .iter()
            .map(|g| self.layout.group_span(g.into()).1)
            .sum()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 + 13 + self.verified.bitmap().len() + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.root);
        out.extend_from_slice(&self.layout.size().to_be_bytes());
        out.push(self.layout.group_log());
        out.extend_from_slice(&self.verified.len().to_be_bytes());
        out.extend_from_slice(self.verified.bitmap());
        let check = blake3::hash(&out);
        out.extend_from_slice(check.as_bytes());
        out
    }

    /// The state, or `None` if the bytes are not an intact state file.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (body, check) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        if blake3::hash(body).as_bytes() != check {
            return None;
        }
        let rest = body.strip_prefix(MAGIC)?;
        let (root, rest) = rest.split_first_chunk::<32>()?;
        let (size, rest) = rest.split_first_chunk::<8>()?;
        let (log, rest) = rest.split_first()?;
        let (count, bitmap) = rest.split_first_chunk::<4>()?;
        let layout = Layout::for_size(u64::from_be_bytes(*size));
        let count = u32::from_be_bytes(*count);
        if layout.group_log() != *log || u64::from(count) != layout.groups() {
            return None;
        }
        let verified = GroupSet::from_bitmap(count, bitmap.to_vec())?;
        Some(ResumeState {
            root: *root,
            layout,
            verified,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::tree::TreeBuilder;

    fn tree(size: usize) -> Tree {
        let layout = Layout::for_size(size as u64);
        let data = vec![9u8; size];
        let mut b = TreeBuilder::new(layout);
        while let Some((s, l)) = b.next_span() {
            b.add_group(&data[s as usize..(s + l) as usize]).unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn round_trip_and_matching() {
        let t = tree(3 * 256 * 1024 + 5);
        let mut s = ResumeState::new(&t);
        s.set(0, true);
        s.set(3, true);
        assert_eq!(s.verified_bytes(), 256 * 1024 + 5);
        let back = ResumeState::decode(&s.encode()).unwrap();
        assert_eq!(back, s);
        assert!(back.matches(&t));
        assert!(!back.matches(&tree(3 * 256 * 1024 + 6)));
    }

    #[test]
    fn an_unrooted_state_fits_any_tree_of_its_size() {
        let t = tree(3 * 256 * 1024 + 5);
        let mut s = ResumeState::unrooted(*t.layout());
        s.set(1, true);
        let back = ResumeState::decode(&s.encode()).unwrap();
        assert!(!back.is_rooted());
        assert!(back.matches(&t));
        assert!(!back.matches(&tree(3 * 256 * 1024 + 6)));
        assert!(ResumeState::new(&t).is_rooted());
    }

    #[test]
    fn damaged_files_are_ignored() {
        let t = tree(1000);
        let bytes = ResumeState::new(&t).encode();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(ResumeState::decode(&bad).is_none(), "flip at {i}");
        }
        assert!(ResumeState::decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(ResumeState::decode(b"").is_none());
    }
}
