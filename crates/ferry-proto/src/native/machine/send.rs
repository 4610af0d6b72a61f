//! [`NativeSender`]: manifest, `ACCEPT`, then batch by batch `BATCH`/`TREE`s,
//! the receiver's `WANTS`, the wanted groups with the checkpoint window, and
//! `BATCH_END`; finally the receiver's `DONE` with matching totals. With
//! `late-roots`, the receiver's `FRESH` follows its `ACCEPT`, and batches of
//! fresh files go as `STREAM`: every group of each file, then its `ROOT`.

use std::collections::VecDeque;
use std::ops::Range;

use crate::transfer::v1::TRANSFER_REJECTED;

use super::super::manifest::Manifest;
use super::super::ranges::GroupSet;
use super::super::sender::{batches, check_wants, split_fresh, tree_frames, Batch, Window};
use super::super::tree::Tree;
use super::super::wire::{ErrorCode, Frame, MAX_ENTRIES_PER_FRAME};
use super::super::ProtocolError;
use super::{unexpected, NativeError};

/// Something to send, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// A frame to encode and seal as one record.
    Frame(Frame<'static>),
    /// A `DATA` frame the driver builds: the header from
    /// [`data_header`](crate::native::wire::data_header), then the group's bytes
    /// read from the file.
    Data(DataRef),
    /// A streamed file's `ROOT`, hashed by the driver from the reads that sent
    /// its groups (see [`SendEvent::StreamWhole`]).
    Root(u32),
}

/// One wanted group: where it lies in which file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataRef {
    pub file: u32,
    pub group: u32,
    /// Byte offset of the group in the file.
    pub offset: u64,
    /// Bytes in the group.
    pub len: u64,
}

/// What the sender asks of its driver, or tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendEvent {
    /// Hash these files (in order) and answer with [`NativeSender::batch_hashed`].
    /// A driver that hashes ahead answers with what it already has.
    HashBatch(Range<u32>),
    /// The groups about to be streamed in this batch, in order, so a driver can
    /// read ahead; every one still comes as a [`Transmit::Data`].
    Stream(Vec<DataRef>),
    /// Like `Stream`, for a batch of fresh files sent whole: the driver hashes
    /// each file from the reads that send it, for the [`Transmit::Root`] that
    /// follows the file's last group (or comes alone, for an empty file).
    StreamWhole {
        files: Range<u32>,
        groups: Vec<DataRef>,
    },
    /// The batches that send trees first, known once the receiver named its
    /// fresh files (`late-roots`): a driver that hashes ahead hashes these.
    TreeBatches(Vec<Range<u32>>),
    /// Bytes the receiver now has (acknowledged, or already there) out of the
    /// total: data counts once the receiver acknowledged it, not when written.
    Progress { done: u64, total: u64 },
    /// Like `Progress`, but the step is data the receiver already had (resumed
    /// or identical): it moved nothing, so it is no measure of speed.
    Present { done: u64, total: u64 },
    /// The receiver confirmed everything: the transfer succeeded.
    Done,
}

/// One thing of a batch's data phase, in order.
#[derive(Debug, Clone, Copy)]
enum Item {
    Data(DataRef),
    Root(u32),
}

enum State {
    AwaitAccept,
    /// `ACCEPT` came; waiting for the receiver's `FRESH` (`late-roots`).
    AwaitFresh,
    /// Asked the driver for the trees of this batch.
    Hashing(Range<u32>),
    AwaitWants(Range<u32>, Vec<Tree>),
    /// Streaming the groups left in the queue; `BATCH_END` follows them.
    Streaming(VecDeque<Item>),
    /// `BATCH_END` is out; reading the acknowledgements still owed.
    Draining,
    AwaitDone,
    Done,
    Failed,
}

/// The sender's side of a native transfer. See the [module docs](super) for the
/// driver loop.
pub struct NativeSender {
    manifest: Manifest,
    /// The first entry not yet sent; `None` once `MANIFEST_END` went out. Frames
    /// are cut as they go, so a huge manifest is not held twice.
    manifest_next: Option<usize>,
    batches: VecDeque<Batch>,
    /// Whether fresh files stream before their roots (`late-roots`).
    late_roots: bool,
    state: State,
    window: Window,
    out: VecDeque<Transmit>,
    events: VecDeque<SendEvent>,
    done_bytes: u64,
    /// Data bytes sent but not yet acknowledged: one entry per outstanding
    /// `CHECKPOINT`, then what was sent after the last one (acknowledged by the
    /// next `WANTS` or `DONE`, which the receiver sends only after writing it).
    unacked: VecDeque<u64>,
    since_checkpoint: u64,
}

impl NativeSender {
    /// Starts the conversation: the manifest goes out first.
    pub fn new(manifest: Manifest) -> Self {
        let batches = batches(&manifest);
        Self::with_plan(manifest, batches, Window::new())
    }

    /// A sender with small batches and a small window, so that little data
    /// exercises both (the simulation).
    #[cfg(test)]
    pub(crate) fn with_limits(manifest: Manifest, files: u32, bytes: u64, window: u64) -> Self {
        let batches = super::super::sender::batches_within(&manifest, files, bytes);
        Self::with_plan(manifest, batches, Window::with_bytes(window))
    }

    /// Also stream the files the receiver names fresh (both sides listed
    /// `late-roots`): it sends `FRESH` after `ACCEPT`.
    pub fn with_late_roots(mut self) -> Self {
        self.late_roots = true;
        self
    }

    fn with_plan(manifest: Manifest, batches: Vec<Range<u32>>, window: Window) -> Self {
        let batches = batches.into_iter().map(|files| Batch {
            files,
            streamed: false,
        });
        NativeSender {
            batches: batches.collect(),
            late_roots: false,
            manifest,
            manifest_next: Some(0),
            state: State::AwaitAccept,
            window,
            out: VecDeque::new(),
            events: VecDeque::new(),
            done_bytes: 0,
            unacked: VecDeque::new(),
            since_checkpoint: 0,
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The next thing to send, or `None` until the peer or the driver moves.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.out.pop_front() {
            return Some(t);
        }
        if let Some(next) = self.manifest_next {
            return Some(Transmit::Frame(self.manifest_frame(next)));
        }
        if self.window.must_wait() {
            return None;
        }
        let State::Streaming(queue) = &mut self.state else {
            return None;
        };
        match queue.pop_front() {
            Some(Item::Data(data)) => Some(self.sent_data(data)),
            Some(Item::Root(file)) => Some(Transmit::Root(file)),
            None => {
                self.state = State::Draining;
                self.after_acks();
                Some(Transmit::Frame(Frame::BatchEnd))
            }
        }
    }

    /// The `ENTRIES` frame from entry `next` on, or `MANIFEST_END` after the last.
    fn manifest_frame(&mut self, next: usize) -> Frame<'static> {
        let entries = self.manifest.entries();
        let end = entries.len().min(next + MAX_ENTRIES_PER_FRAME);
        if next < end {
            self.manifest_next = Some(end);
            return Frame::Entries(entries[next..end].to_vec());
        }
        self.manifest_next = None;
        Frame::ManifestEnd(self.manifest.totals())
    }

    /// Counts a group as sent; a full window queues a `CHECKPOINT` behind it.
    fn sent_data(&mut self, data: DataRef) -> Transmit {
        self.since_checkpoint += data.len;
        if let Some(seq) = self.window.on_data(data.len) {
            self.out.push_back(Transmit::Frame(Frame::Checkpoint(seq)));
            self.unacked
                .push_back(std::mem::take(&mut self.since_checkpoint));
        }
        Transmit::Data(data)
    }

    fn progress(&mut self, bytes: u64) {
        self.done_bytes += bytes;
        self.events.push_back(SendEvent::Progress {
            done: self.done_bytes,
            total: self.manifest.bytes(),
        });
    }

    /// `WANTS` for the next batch, or `DONE`: the receiver wrote the last batch's
    /// data after its final checkpoint too.
    fn confirm_batch(&mut self) {
        let rest = std::mem::take(&mut self.since_checkpoint);
        if rest > 0 {
            self.progress(rest);
        }
    }

    pub fn poll_event(&mut self) -> Option<SendEvent> {
        self.events.pop_front()
    }

    /// Whether the driver should read a frame now (and only then).
    pub fn wants_read(&self) -> bool {
        match self.state {
            State::AwaitAccept | State::AwaitFresh | State::AwaitWants(..) | State::AwaitDone => {
                true
            }
            State::Draining => !self.window.all_acked(),
            State::Streaming(_) => self.window.must_wait(),
            State::Hashing(_) | State::Done | State::Failed => false,
        }
    }

    /// Whether the transfer is over (succeeded or failed); nothing more to do
    /// once `poll_transmit` is empty.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done | State::Failed)
    }

    /// A frame from the receiver. An error ends the transfer.
    pub fn handle(&mut self, frame: Frame<'_>) -> Result<(), NativeError> {
        let result = self.dispatch(frame);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn dispatch(&mut self, frame: Frame<'_>) -> Result<(), NativeError> {
        match (&mut self.state, frame) {
            (State::AwaitAccept, Frame::Accept) if self.late_roots => {
                self.state = State::AwaitFresh;
                Ok(())
            }
            (State::AwaitAccept, Frame::Accept) => {
                self.next_batch();
                Ok(())
            }
            (State::AwaitFresh, Frame::Fresh(ranges)) => self.on_fresh(&ranges),
            (State::AwaitAccept, Frame::Reject(why)) if why == TRANSFER_REJECTED => {
                Err(NativeError::Declined)
            }
            (State::AwaitAccept, Frame::Reject(why)) => Err(NativeError::Rejected(why)),
            (State::AwaitWants(..), Frame::Wants(wants)) => self.on_wants(wants),
            (State::Streaming(_) | State::Draining, Frame::Ack(seq)) => {
                self.window.on_ack(seq)?;
                let acked = self.unacked.pop_front().unwrap_or_default();
                self.progress(acked);
                self.after_acks();
                Ok(())
            }
            (State::AwaitDone, Frame::Done(totals)) if totals == self.manifest.totals() => {
                self.confirm_batch();
                self.state = State::Done;
                self.events.push_back(SendEvent::Done);
                Ok(())
            }
            (State::AwaitDone, Frame::Done(_)) => {
                Err(ProtocolError::new("DONE with other totals").into())
            }
            (_, frame) => Err(unexpected(&frame, self.phase())),
        }
    }

    fn phase(&self) -> &'static str {
        match self.state {
            State::AwaitAccept => "waiting for ACCEPT",
            State::AwaitFresh => "waiting for FRESH",
            State::AwaitWants(..) => "waiting for WANTS",
            State::Streaming(_) | State::Draining => "waiting for ACK",
            State::AwaitDone => "waiting for DONE",
            State::Hashing(_) => "hashing a batch",
            State::Done | State::Failed => "finished",
        }
    }

    /// The receiver's fresh files: batches of them will stream.
    fn on_fresh(&mut self, ranges: &[(u32, u32)]) -> Result<(), NativeError> {
        let files = self.manifest.file_count();
        let fresh = GroupSet::from_ranges(files, ranges)
            .map_err(|e| ProtocolError::new(format!("FRESH: {e}")))?;
        let plain = self.batches.drain(..).map(|b| b.files).collect();
        self.batches = split_fresh(plain, &fresh).into();
        let hashed = self.batches.iter().filter(|b| !b.streamed);
        let ranges = hashed.map(|b| b.files.clone()).collect();
        self.events.push_back(SendEvent::TreeBatches(ranges));
        self.next_batch();
        Ok(())
    }

    /// Asks for the next batch's trees, or streams it, or waits for `DONE`
    /// after the last.
    fn next_batch(&mut self) {
        self.state = match self.batches.pop_front() {
            Some(Batch {
                files,
                streamed: true,
            }) => self.stream_whole(files),
            Some(Batch { files, .. }) => {
                self.events.push_back(SendEvent::HashBatch(files.clone()));
                State::Hashing(files)
            }
            None => State::AwaitDone,
        };
    }

    /// `STREAM`, then every group of each file followed by its `ROOT`.
    fn stream_whole(&mut self, files: Range<u32>) -> State {
        let count = files.len() as u32;
        let first = files.start;
        self.out
            .push_back(Transmit::Frame(Frame::Stream { first, count }));
        let mut items = VecDeque::new();
        let mut groups = Vec::new();
        for n in files.clone() {
            let size = self.manifest.file(n).and_then(|e| e.size()).unwrap_or(0);
            let layout = super::super::tree::Layout::for_size(size);
            for g in 0..layout.groups() {
                let (offset, len) = layout.group_span(g);
                let group = g as u32;
                let data = DataRef {
                    file: n,
                    group,
                    offset,
                    len,
                };
                groups.push(data);
                items.push_back(Item::Data(data));
            }
            items.push_back(Item::Root(n));
        }
        // Nothing was there already, but the driver learns that data moves now.
        self.events.push_back(SendEvent::Present {
            done: self.done_bytes,
            total: self.manifest.bytes(),
        });
        self.events
            .push_back(SendEvent::StreamWhole { files, groups });
        State::Streaming(items)
    }

    /// Once every checkpoint of a finished batch is acknowledged, the next batch.
    fn after_acks(&mut self) {
        if matches!(self.state, State::Draining) && self.window.all_acked() {
            self.next_batch();
        }
    }

    /// The trees of the batch asked for by [`SendEvent::HashBatch`], in file order.
    pub fn batch_hashed(&mut self, trees: Vec<Tree>) -> Result<(), NativeError> {
        let State::Hashing(batch) = &self.state else {
            return Err(NativeError::Usage("trees while no batch was asked for"));
        };
        let batch = batch.clone();
        if trees.len() != batch.len() || !self.sizes_match(&batch, &trees) {
            return Err(NativeError::Usage("trees do not fit the batch"));
        }
        let count = batch.len() as u32;
        self.out.push_back(Transmit::Frame(Frame::Batch {
            first: batch.start,
            count,
        }));
        for (n, tree) in batch.clone().zip(&trees) {
            self.out
                .extend(tree_frames(n, tree).into_iter().map(Transmit::Frame));
        }
        self.state = State::AwaitWants(batch, trees);
        Ok(())
    }

    fn sizes_match(&self, batch: &Range<u32>, trees: &[Tree]) -> bool {
        batch.clone().zip(trees).all(|(n, t)| {
            let size = self.manifest.file(n).and_then(|e| e.size());
            size == Some(t.layout().size())
        })
    }

    fn on_wants(&mut self, wants: Vec<super::super::wire::Want>) -> Result<(), NativeError> {
        let State::AwaitWants(batch, trees) = std::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(NativeError::Usage("WANTS out of turn"));
        };
        let batch_bytes: u64 = trees.iter().map(|t| t.layout().size()).sum();
        let wanted = check_wants(batch, &trees, wants)?;
        let queue: Vec<DataRef> = wanted
            .iter()
            .zip(&trees)
            .flat_map(|((file, set), tree)| {
                set.iter().map(move |g| {
                    let (offset, len) = tree.layout().group_span(g.into());
                    DataRef {
                        file: *file,
                        group: g,
                        offset,
                        len,
                    }
                })
            })
            .collect();
        let wanted_bytes: u64 = queue.iter().map(|d| d.len).sum();
        self.confirm_batch();
        self.done_bytes += batch_bytes - wanted_bytes;
        self.events.push_back(SendEvent::Present {
            done: self.done_bytes,
            total: self.manifest.bytes(),
        });
        let items = queue.iter().map(|d| Item::Data(*d)).collect();
        self.events.push_back(SendEvent::Stream(queue));
        self.state = State::Streaming(items);
        Ok(())
    }

    /// A local failure: queues `ERROR` for the peer and ends the transfer.
    pub fn fail(&mut self, code: ErrorCode, message: String) {
        self.out.clear();
        self.manifest_next = None;
        self.out
            .push_back(Transmit::Frame(Frame::Error { code, message }));
        self.state = State::Failed;
    }
}
