//! The sender's side of the data phase, without I/O: how files are grouped into
//! batches, the `TREE` frames of a file, checking the receiver's `WANTS`, and the
//! checkpoint window that lets the receiver's errors reach a sender busy writing.

use std::ops::Range;

use super::manifest::Manifest;
use super::ranges::GroupSet;
use super::tree::Tree;
use super::wire::{Frame, Want, MAX_CVS_PER_FRAME};
use super::ProtocolError;

/// Most files in one batch (one `WANTS` round trip per batch).
pub const MAX_BATCH_FILES: u32 = 1024;
/// A batch stops growing once it holds this many bytes: the sender hashes a whole
/// batch before its data moves, so this bounds that wait.
pub const BATCH_BYTES: u64 = 256 << 20;
/// The sender asks for an acknowledgement after this many data bytes.
pub const WINDOW_BYTES: u64 = 16 << 20;
/// Checkpoints that may be unacknowledged before the sender waits.
pub const MAX_OUTSTANDING: u64 = 4;

/// File numbers of each batch, in order.
pub fn batches(manifest: &Manifest) -> Vec<Range<u32>> {
    batches_within(manifest, MAX_BATCH_FILES, BATCH_BYTES)
}

/// [`batches`] with other limits (the simulation uses small ones to get many
/// batches out of little data).
pub(crate) fn batches_within(
    manifest: &Manifest,
    max_files: u32,
    max_bytes: u64,
) -> Vec<Range<u32>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0u32, 0u64);
    for n in 0..manifest.file_count() {
        let size = manifest.file(n).and_then(|e| e.size()).unwrap_or(0);
        let full = n - start >= max_files || (n > start && bytes + size > max_bytes);
        if full {
            out.push(start..n);
            (start, bytes) = (n, 0);
        }
        bytes += size;
    }
    if start < manifest.file_count() {
        out.push(start..manifest.file_count());
    }
    out
}

/// One batch of the conversation: its files, and whether they go whole, each
/// file's root after its data (`STREAM`, the `late-roots` feature), or trees
/// first (`BATCH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub files: Range<u32>,
    pub streamed: bool,
}

/// Cuts `batches` where the receiver's `fresh` set (files it holds nothing
/// of) starts or stops, so that each batch either streams or sends trees.
pub fn split_fresh(batches: Vec<Range<u32>>, fresh: &GroupSet) -> Vec<Batch> {
    let mut out: Vec<Batch> = Vec::new();
    for range in batches {
        let mut start = range.start;
        for n in range.clone() {
            let streamed = fresh.contains(start);
            if fresh.contains(n) != streamed {
                out.push(Batch {
                    files: start..n,
                    streamed,
                });
                start = n;
            }
        }
        if start < range.end {
            let streamed = fresh.contains(start);
            out.push(Batch {
                files: start..range.end,
                streamed,
            });
        }
    }
    out
}

/// The `TREE` frames of file `file`: the CV list cut into frames, at least one frame.
pub fn tree_frames(file: u32, tree: &Tree) -> Vec<Frame<'static>> {
    let total = tree.cvs().len() as u32;
    let root = *tree.root();
    let mut frames: Vec<Frame<'static>> = tree
        .cvs()
        .chunks(MAX_CVS_PER_FRAME)
        .enumerate()
        .map(|(i, cvs)| Frame::Tree {
            file,
            root,
            total,
            start: (i * MAX_CVS_PER_FRAME) as u32,
            cvs: cvs.to_vec(),
        })
        .collect();
    if frames.is_empty() {
        frames.push(Frame::Tree {
            file,
            root,
            total,
            start: 0,
            cvs: Vec::new(),
        });
    }
    frames
}

/// Checks the receiver's `WANTS` for a batch: one entry per file, in order, with
/// ranges inside the file. Returns the groups to send, per file.
pub fn check_wants(
    batch: Range<u32>,
    trees: &[Tree],
    wants: Vec<Want>,
) -> Result<Vec<(u32, GroupSet)>, ProtocolError> {
    if wants.len() != trees.len() || wants.len() != batch.len() {
        return Err(ProtocolError::new("WANTS does not cover the batch"));
    }
    let mut out = Vec::with_capacity(wants.len());
    for ((want, tree), n) in wants.into_iter().zip(trees).zip(batch) {
        if want.file != n {
            return Err(ProtocolError::new("WANTS lists files out of order"));
        }
        let groups = tree.layout().groups() as u32;
        let set = GroupSet::from_ranges(groups, &want.ranges)
            .map_err(|e| ProtocolError::new(format!("WANTS for file {n}: {e}")))?;
        out.push((n, set));
    }
    Ok(out)
}

/// Where checkpoints go and when the sender must wait for acknowledgements.
#[derive(Debug)]
pub struct Window {
    window_bytes: u64,
    since_checkpoint: u64,
    sent: u64,
    acked: u64,
}

impl Default for Window {
    fn default() -> Self {
        Self::new()
    }
}

impl Window {
    pub fn new() -> Self {
        Self::with_bytes(WINDOW_BYTES)
    }

    /// A window of another size (the simulation's small transfers need small ones
    /// to exercise checkpoints; the receiver cannot tell the difference).
    pub(crate) fn with_bytes(window_bytes: u64) -> Self {
        Window {
            window_bytes,
            since_checkpoint: 0,
            sent: 0,
            acked: 0,
        }
    }

    /// Counts data bytes just sent; returns the sequence number of a checkpoint to
    /// send now, if a window is full.
    pub fn on_data(&mut self, bytes: u64) -> Option<u64> {
        self.since_checkpoint += bytes;
        (self.since_checkpoint >= self.window_bytes).then(|| self.checkpoint())
    }

    /// A checkpoint to send regardless of the window (end of a batch).
    pub fn checkpoint(&mut self) -> u64 {
        self.since_checkpoint = 0;
        self.sent += 1;
        self.sent - 1
    }

    /// Whether too many checkpoints are unacknowledged to send more data.
    pub fn must_wait(&self) -> bool {
        self.sent - self.acked > MAX_OUTSTANDING
    }

    /// Whether every checkpoint sent has been acknowledged.
    pub fn all_acked(&self) -> bool {
        self.sent == self.acked
    }

    /// An `ACK`: it must be for the oldest unacknowledged checkpoint.
    pub fn on_ack(&mut self, seq: u64) -> Result<(), ProtocolError> {
        if seq != self.acked || self.acked == self.sent {
            return Err(ProtocolError::new(format!("unexpected ACK {seq}")));
        }
        self.acked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::test_support::manifest;
    use crate::native::tree::{Layout, TreeBuilder};

    fn tree(size: u64) -> Tree {
        let layout = Layout::with_group_log(size, 0);
        let mut b = TreeBuilder::new(layout);
        while let Some((_, l)) = b.next_span() {
            b.add_group(&vec![1u8; l as usize]).unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn batches_by_count_and_bytes() {
        assert_eq!(
            batches(&manifest(&[1; 2500])),
            vec![0..1024, 1024..2048, 2048..2500]
        );
        let big = BATCH_BYTES;
        assert_eq!(
            batches(&manifest(&[big * 2, 1, big - 1, 5])),
            vec![0..1, 1..3, 3..4]
        );
    }

    #[test]
    fn fresh_files_stream_in_batches_of_their_own() {
        let fresh = GroupSet::from_ranges(7, &[(1, 3), (5, 7)]).unwrap();
        let cut = split_fresh(vec![0..4, 4..7], &fresh);
        let got: Vec<(Range<u32>, bool)> = cut.into_iter().map(|b| (b.files, b.streamed)).collect();
        assert_eq!(
            got,
            vec![
                (0..1, false),
                (1..3, true),
                (3..4, false),
                (4..5, false),
                (5..7, true)
            ]
        );
        let one: Vec<Range<u32>> = std::iter::once(0..2).collect();
        let none = split_fresh(one, &GroupSet::empty(2));
        assert_eq!(
            none,
            vec![Batch {
                files: 0..2,
                streamed: false
            }]
        );
    }

    #[test]
    fn tree_frames_cover_the_list() {
        let frames = tree_frames(3, &tree(0));
        assert!(matches!(
            &frames[..],
            [Frame::Tree {
                file: 3,
                total: 0,
                ..
            }]
        ));
        let frames = tree_frames(0, &tree(5000));
        assert!(
            matches!(&frames[..], [Frame::Tree { total: 5, start: 0, cvs, .. }] if cvs.len() == 5)
        );
    }

    #[test]
    fn wants_are_checked() {
        let trees = vec![tree(3000), tree(10)];
        let ok = vec![
            Want {
                file: 4,
                ranges: vec![(1, 3)],
            },
            Want {
                file: 5,
                ranges: vec![],
            },
        ];
        let got = check_wants(4..6, &trees, ok).unwrap();
        assert_eq!(got[0].1.iter().collect::<Vec<_>>(), vec![1, 2]);
        assert!(got[1].1.is_empty());
        let past_end = vec![
            Want {
                file: 4,
                ranges: vec![(0, 4)],
            },
            Want {
                file: 5,
                ranges: vec![],
            },
        ];
        assert!(check_wants(4..6, &trees, past_end).is_err());
        let wrong_file = vec![
            Want {
                file: 5,
                ranges: vec![],
            },
            Want {
                file: 4,
                ranges: vec![],
            },
        ];
        assert!(check_wants(4..6, &trees, wrong_file).is_err());
        assert!(check_wants(4..6, &trees, vec![]).is_err());
    }

    #[test]
    fn window_paces_the_sender() {
        let mut w = Window::new();
        assert_eq!(w.on_data(WINDOW_BYTES - 1), None);
        assert_eq!(w.on_data(1), Some(0));
        for seq in 1..=MAX_OUTSTANDING {
            assert!(!w.must_wait());
            assert_eq!(w.on_data(WINDOW_BYTES), Some(seq));
        }
        assert!(w.must_wait());
        assert!(w.on_ack(1).is_err());
        w.on_ack(0).unwrap();
        assert!(!w.must_wait());
        (1..=MAX_OUTSTANDING).for_each(|s| w.on_ack(s).unwrap());
        assert!(w.all_acked());
        assert!(w.on_ack(MAX_OUTSTANDING + 1).is_err());
    }
}
