//! The receiver's side of a batch, without I/O: collecting and checking the `TREE`
//! frames, and checking that `DATA` frames bring exactly the wanted groups, in
//! order; or, for a `STREAM` batch, every group of each file and then its `ROOT`.

use std::collections::VecDeque;
use std::ops::Range;

use super::manifest::Manifest;
use super::ranges::GroupSet;
use super::tree::{Hash32, Layout, Tree};
use super::wire::Want;
use super::ProtocolError;

/// The name the async receiver knows [`BatchTrees`] by.
pub type BatchReceiver = BatchTrees;

/// The `TREE` frames of one batch, as they arrive; owns the layouts it checks
/// against, so a machine that owns the manifest can keep it next to this.
#[derive(Debug)]
pub struct BatchTrees {
    files: Range<u32>,
    /// The layout of each file of the batch, from the manifest's sizes.
    layouts: Vec<Layout>,
    trees: Vec<Tree>,
    /// The file whose CV list is being collected: root, total, CVs so far.
    current: Option<(Hash32, u32, Vec<Hash32>)>,
}

impl BatchTrees {
    /// Starts a batch announced as `BATCH {first, count}`; `next` is the first file
    /// not yet covered by an earlier batch.
    pub fn start(
        manifest: &Manifest,
        next: u32,
        first: u32,
        count: u32,
    ) -> Result<Self, ProtocolError> {
        let end = first
            .checked_add(count)
            .filter(|&e| e <= manifest.file_count());
        match end {
            Some(end) if first == next && count > 0 => Ok(BatchTrees {
                files: first..end,
                layouts: (first..end).map(|n| layout(manifest, n)).collect(),
                trees: Vec::with_capacity(count.min(4096) as usize),
                current: None,
            }),
            _ => Err(ProtocolError::new(format!(
                "BATCH {first}+{count} out of sequence"
            ))),
        }
    }

    /// The file numbers of this batch.
    pub fn files(&self) -> Range<u32> {
        self.files.clone()
    }

    /// One `TREE` frame. CV lists come in order, in one or more frames per file.
    pub fn on_tree(
        &mut self,
        file: u32,
        root: Hash32,
        total: u32,
        start: u32,
        cvs: Vec<Hash32>,
    ) -> Result<(), ProtocolError> {
        let n = self.files.start + self.trees.len() as u32;
        if file != n || n >= self.files.end {
            return Err(ProtocolError::new(format!(
                "TREE for file {file}, expected {n}"
            )));
        }
        let (cur_root, cur_total, mut got) =
            self.current.take().unwrap_or((root, total, Vec::new()));
        if (cur_root, cur_total) != (root, total) || start as usize != got.len() {
            return Err(ProtocolError::new(format!(
                "TREE frames of file {file} do not line up"
            )));
        }
        let layout = self.layouts[self.trees.len()];
        if u64::from(total) != layout.cv_count() || got.len() + cvs.len() > total as usize {
            return Err(ProtocolError::new(format!(
                "TREE of file {file} has the wrong number of hashes"
            )));
        }
        got.extend(cvs);
        if got.len() < total as usize {
            self.current = Some((root, total, got));
            return Ok(());
        }
        let tree = Tree::from_parts(layout, root, got)
            .map_err(|e| ProtocolError::new(format!("TREE of file {file}: {e}")))?;
        self.trees.push(tree);
        Ok(())
    }

    /// Whether every file of the batch has its tree.
    pub fn is_complete(&self) -> bool {
        self.trees.len() == self.files.len()
    }

    /// The trees, in file order.
    pub fn finish(self) -> Vec<Tree> {
        self.trees
    }
}

/// The layout of file `n`, from its size in the manifest.
fn layout(manifest: &Manifest, n: u32) -> Layout {
    let size = manifest.file(n).and_then(|e| e.size()).unwrap_or(0);
    Layout::for_size(size)
}

/// The `WANTS` entries for a batch from the groups wanted of each file.
pub fn wants(wanted: &[(u32, GroupSet)]) -> Vec<Want> {
    wanted
        .iter()
        .map(|(file, set)| Want {
            file: *file,
            ranges: set.ranges(),
        })
        .collect()
}

/// Where an arriving group belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// No more groups of this file are wanted in this batch.
    pub last_of_file: bool,
}

/// The groups still expected in a batch's data phase, in order.
pub struct Incoming {
    queue: VecDeque<(u32, u32)>,
}

impl Incoming {
    pub fn new(wanted: &[(u32, GroupSet)]) -> Self {
        let queue = wanted
            .iter()
            .flat_map(|(file, set)| set.iter().map(move |g| (*file, g)))
            .collect();
        Incoming { queue }
    }

    /// A `DATA` frame: it must carry the next expected group.
    pub fn on_data(&mut self, file: u32, group: u32) -> Result<Placed, ProtocolError> {
        match self.queue.front() {
            Some(&next) if next == (file, group) => {
                self.queue.pop_front();
                let last_of_file = self.queue.front().is_none_or(|&(f, _)| f != file);
                Ok(Placed { last_of_file })
            }
            Some(&(f, g)) => Err(ProtocolError::new(format!(
                "DATA for file {file} group {group}, expected file {f} group {g}"
            ))),
            None => Err(ProtocolError::new("DATA that was not asked for")),
        }
    }

    /// At `BATCH_END`: every wanted group must have come.
    pub fn finish(&self) -> Result<(), ProtocolError> {
        match self.queue.front() {
            None => Ok(()),
            Some((f, g)) => Err(ProtocolError::new(format!(
                "BATCH_END before file {f} group {g}"
            ))),
        }
    }
}

/// A `STREAM` batch's data phase: every group of each file, in order, then
/// the file's `ROOT`. Only files the receiver named fresh may stream.
#[derive(Debug)]
pub struct Whole {
    files: Range<u32>,
    layouts: Vec<Layout>,
    /// The file arriving now, and its next group.
    file: u32,
    group: u64,
}

/// Where a streamed group goes: byte offset and length in its file, and
/// whether it is the file's last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub len: u64,
    pub last_of_file: bool,
}

impl Whole {
    /// Starts a batch announced as `STREAM {first, count}`; `next` is the first
    /// file not yet covered by an earlier batch.
    pub fn start(
        manifest: &Manifest,
        next: u32,
        (first, count): (u32, u32),
        fresh: &GroupSet,
    ) -> Result<Self, ProtocolError> {
        let end = first
            .checked_add(count)
            .filter(|&e| e <= manifest.file_count());
        let end = match end {
            Some(end) if first == next && count > 0 => end,
            _ => {
                let why = format!("STREAM {first}+{count} out of sequence");
                return Err(ProtocolError::new(why));
            }
        };
        if let Some(n) = (first..end).find(|&n| !fresh.contains(n)) {
            let why = format!("STREAM of file {n}, which the receiver did not name fresh");
            return Err(ProtocolError::new(why));
        }
        Ok(Whole {
            files: first..end,
            layouts: (first..end).map(|n| layout(manifest, n)).collect(),
            file: first,
            group: 0,
        })
    }

    /// The file numbers of this batch.
    pub fn files(&self) -> Range<u32> {
        self.files.clone()
    }

    /// The layout of each file of the batch, in order.
    pub fn layouts(&self) -> &[Layout] {
        &self.layouts
    }

    fn current(&self) -> Option<&Layout> {
        self.layouts.get((self.file - self.files.start) as usize)
    }

    /// A `DATA` frame: it must carry the current file's next group, whole.
    pub fn on_data(&mut self, file: u32, group: u32, len: usize) -> Result<Span, ProtocolError> {
        let expected = (self.file, self.group);
        let layout = match self.current() {
            Some(l) if (file, u64::from(group)) == expected && expected.1 < l.groups() => *l,
            _ => {
                let why = format!("DATA for file {file} group {group} in a stream, not expected");
                return Err(ProtocolError::new(why));
            }
        };
        let (offset, want) = layout.group_span(self.group);
        if len as u64 != want {
            let why = format!("DATA for file {file} group {group} has {len} bytes, not {want}");
            return Err(ProtocolError::new(why));
        }
        self.group += 1;
        let last_of_file = self.group == layout.groups();
        Ok(Span {
            offset,
            len: want,
            last_of_file,
        })
    }

    /// A `ROOT` frame: it must name the current file, whose groups all came.
    pub fn on_root(&mut self, file: u32) -> Result<(), ProtocolError> {
        match self.current() {
            Some(l) if file == self.file && self.group == l.groups() => {
                self.file += 1;
                self.group = 0;
                Ok(())
            }
            _ => Err(ProtocolError::new(format!(
                "ROOT of file {file} before its data, or out of order"
            ))),
        }
    }

    /// At `BATCH_END`: every file's root must have come.
    pub fn finish(&self) -> Result<(), ProtocolError> {
        match self.file == self.files.end {
            true => Ok(()),
            false => Err(ProtocolError::new(format!(
                "BATCH_END before the ROOT of file {}",
                self.file
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::test_support::manifest;
    use crate::native::tree::TreeBuilder;

    const BIG: u64 = 3 * 256 * 1024;

    fn tree(size: u64) -> Tree {
        let mut b = TreeBuilder::new(Layout::for_size(size));
        while let Some((_, l)) = b.next_span() {
            b.add_group(&vec![2u8; l as usize]).unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn collects_trees_in_order() {
        let m = manifest(&[BIG, 0, 10]);
        assert!(BatchReceiver::start(&m, 0, 1, 1).is_err());
        assert!(BatchReceiver::start(&m, 0, 0, 4).is_err());
        assert!(BatchReceiver::start(&m, 0, 0, 0).is_err());
        let mut b = BatchReceiver::start(&m, 0, 0, 3).unwrap();
        let t0 = tree(BIG);
        let (root, cvs) = (*t0.root(), t0.cvs().to_vec());
        b.on_tree(0, root, 3, 0, cvs[..2].to_vec()).unwrap();
        assert!(
            b.on_tree(0, root, 3, 0, cvs[2..].to_vec()).is_err(),
            "start must follow on"
        );
        let mut b = BatchReceiver::start(&m, 0, 0, 3).unwrap();
        b.on_tree(0, root, 3, 0, cvs[..2].to_vec()).unwrap();
        b.on_tree(0, root, 3, 2, cvs[2..].to_vec()).unwrap();
        assert!(
            b.on_tree(2, *tree(10).root(), 0, 0, vec![]).is_err(),
            "file 1 comes first"
        );
        b.on_tree(1, *tree(0).root(), 0, 0, vec![]).unwrap();
        b.on_tree(2, *tree(10).root(), 0, 0, vec![]).unwrap();
        assert!(b.is_complete());
        assert_eq!(b.finish()[0], t0);
    }

    #[test]
    fn refuses_bad_trees() {
        let m = manifest(&[BIG]);
        let t0 = tree(BIG);
        let mut b = BatchReceiver::start(&m, 0, 0, 1).unwrap();
        assert!(
            b.on_tree(0, *t0.root(), 2, 0, t0.cvs()[..2].to_vec())
                .is_err(),
            "wrong total"
        );
        let mut b = BatchReceiver::start(&m, 0, 0, 1).unwrap();
        assert!(
            b.on_tree(0, [0; 32], 3, 0, t0.cvs().to_vec()).is_err(),
            "wrong root"
        );
    }

    #[test]
    fn data_must_follow_the_wants() {
        let wanted = vec![
            (0, GroupSet::from_ranges(3, &[(1, 3)]).unwrap()),
            (1, GroupSet::empty(0)),
        ];
        assert_eq!(
            wants(&wanted)[0],
            Want {
                file: 0,
                ranges: vec![(1, 3)]
            }
        );
        let mut inc = Incoming::new(&wanted);
        assert!(inc.on_data(0, 2).is_err());
        assert!(inc.finish().is_err());
        let mut inc = Incoming::new(&wanted);
        assert_eq!(
            inc.on_data(0, 1),
            Ok(Placed {
                last_of_file: false
            })
        );
        assert_eq!(inc.on_data(0, 2), Ok(Placed { last_of_file: true }));
        assert!(inc.on_data(0, 3).is_err());
        inc.finish().unwrap();
    }
}
