//! [`NativeReceiver`]: the manifest, the driver's decision (`ACCEPT`/`REJECT`),
//! then batch by batch `BATCH`/`TREE`s, the driver's plan (`WANTS`), `DATA` in
//! exactly the wanted order with an `ACK` per `CHECKPOINT`, and `BATCH_END`;
//! after the last batch the driver finishes the files and `DONE` goes out.
//! With `late-roots` the driver's `ACCEPT` names the fresh files (`FRESH`), and
//! a `STREAM` batch of them brings every group of each file, then its `ROOT`.

use std::collections::VecDeque;
use std::ops::Range;

use crate::transfer::v1::TRANSFER_REJECTED;

use super::super::manifest::{Manifest, ManifestBuilder};
use super::super::ranges::GroupSet;
use super::super::receiver::{wants, BatchTrees, Incoming, Whole};
use super::super::tree::{Hash32, Layout, Tree};
use super::super::wire::{ErrorCode, Frame};
use super::super::ProtocolError;
use super::{unexpected, NativeError};

/// What the receiver asks of its driver, or tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvEvent {
    /// The manifest is complete and valid ([`NativeReceiver::manifest`]): check
    /// the targets and the free space, ask the user, create the directories, then
    /// answer [`NativeReceiver::accept`] or [`NativeReceiver::reject`].
    Offer,
    /// The trees of files `first..`: decide per file which groups to ask for
    /// (against existing files and resume state) and answer
    /// [`NativeReceiver::planned`]. The driver keeps the trees to verify groups.
    Plan { first: u32, trees: Vec<Tree> },
    /// A `DATA` frame in its place: the driver verifies its bytes against the
    /// file's tree and writes them. `last_of_file`: no more of this file comes in
    /// this batch.
    Write {
        file: u32,
        group: u32,
        offset: u64,
        len: u64,
        last_of_file: bool,
    },
    /// A `STREAM` batch of fresh files starts: every group of each, in order
    /// (as `Write`s), then each file's `Root`. The driver hashes the groups as
    /// they come, writes them to the partial file, and moves a file into
    /// place only once its hashes merge to the `Root`.
    Stream { first: u32, layouts: Vec<Layout> },
    /// A streamed file's root hash, after its last group.
    Root { file: u32, root: Hash32 },
    /// `BATCH_END`, every wanted group came: the files of the batch are complete.
    BatchEnd(Range<u32>),
    /// The last batch ended: move the files into place, set the directories'
    /// modes and times, then call [`NativeReceiver::finished`].
    Finish,
}

enum State {
    Manifest(ManifestBuilder),
    /// Waiting for the driver's decision; the sender must stay silent.
    Deciding,
    AwaitBatch,
    Trees(BatchTrees),
    /// Waiting for the driver's plan of the batch with these layouts.
    Planning(Range<u32>, Vec<Layout>),
    Data(Range<u32>, Vec<Layout>, Incoming),
    Whole(Whole),
    Finishing,
    Done,
    Failed,
}

/// The receiver's side of a native transfer. See the [module docs](super) for
/// the driver loop.
pub struct NativeReceiver {
    manifest: Option<Manifest>,
    /// The first file not yet covered by a batch.
    next: u32,
    state: State,
    out: VecDeque<Frame<'static>>,
    events: VecDeque<RecvEvent>,
    /// The files named in `FRESH`, which may come as `STREAM`.
    fresh: Option<GroupSet>,
}

impl Default for NativeReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeReceiver {
    pub fn new() -> Self {
        NativeReceiver {
            manifest: None,
            next: 0,
            state: State::Manifest(ManifestBuilder::new()),
            out: VecDeque::new(),
            events: VecDeque::new(),
            fresh: None,
        }
    }

    /// The manifest, once [`RecvEvent::Offer`] came.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    pub fn poll_transmit(&mut self) -> Option<Frame<'static>> {
        self.out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<RecvEvent> {
        self.events.pop_front()
    }

    /// Whether the driver should read a frame now.
    pub fn wants_read(&self) -> bool {
        !matches!(
            self.state,
            State::Deciding | State::Planning(..) | State::Finishing | State::Done | State::Failed
        )
    }

    /// Whether the transfer is over (`DONE` queued, or failed).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done | State::Failed)
    }

    /// A frame from the sender. An error ends the transfer.
    pub fn handle(&mut self, frame: Frame<'_>) -> Result<(), NativeError> {
        let result = self.dispatch(frame);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn dispatch(&mut self, frame: Frame<'_>) -> Result<(), NativeError> {
        match (&mut self.state, frame) {
            (State::Manifest(builder), Frame::Entries(entries)) => {
                for entry in entries {
                    builder.push(entry).map_err(manifest_error)?;
                }
                Ok(())
            }
            (State::Manifest(_), Frame::ManifestEnd(totals)) => self.on_manifest_end(totals),
            (State::AwaitBatch, Frame::Batch { first, count }) => {
                let manifest = self.manifest.as_ref().ok_or(NO_MANIFEST)?;
                let trees = BatchTrees::start(manifest, self.next, first, count)?;
                self.state = State::Trees(trees);
                Ok(())
            }
            (
                State::Trees(batch),
                Frame::Tree {
                    file,
                    root,
                    total,
                    start,
                    cvs,
                },
            ) => {
                batch.on_tree(file, root, total, start, cvs)?;
                if batch.is_complete() {
                    self.on_trees();
                }
                Ok(())
            }
            (State::Data(files, layouts, incoming), Frame::Data { file, group, bytes }) => {
                let write = place(files, layouts, incoming, (file, group, bytes.len()))?;
                self.events.push_back(write);
                Ok(())
            }
            (State::Data(..) | State::Whole(_), Frame::Checkpoint(seq)) => {
                self.out.push_back(Frame::Ack(seq));
                Ok(())
            }
            (State::Data(_, _, incoming), Frame::BatchEnd) => {
                incoming.finish()?;
                self.on_batch_end();
                Ok(())
            }
            (State::AwaitBatch, Frame::Stream { first, count }) if self.fresh.is_some() => {
                let manifest = self.manifest.as_ref().ok_or(NO_MANIFEST)?;
                let fresh = self.fresh.as_ref().ok_or(NO_MANIFEST)?;
                let whole = Whole::start(manifest, self.next, (first, count), fresh)?;
                let layouts = whole.layouts().to_vec();
                self.events.push_back(RecvEvent::Stream { first, layouts });
                self.state = State::Whole(whole);
                Ok(())
            }
            (State::Whole(whole), Frame::Data { file, group, bytes }) => {
                let span = whole.on_data(file, group, bytes.len())?;
                self.events.push_back(RecvEvent::Write {
                    file,
                    group,
                    offset: span.offset,
                    len: span.len,
                    last_of_file: span.last_of_file,
                });
                Ok(())
            }
            (State::Whole(whole), Frame::Root { file, root }) => {
                whole.on_root(file)?;
                self.events.push_back(RecvEvent::Root { file, root });
                Ok(())
            }
            (State::Whole(whole), Frame::BatchEnd) => {
                whole.finish()?;
                self.on_batch_end();
                Ok(())
            }
            (_, frame) => Err(unexpected(&frame, self.phase())),
        }
    }

    fn phase(&self) -> &'static str {
        match self.state {
            State::Manifest(_) => "reading the manifest",
            State::Deciding => "deciding on the offer",
            State::AwaitBatch => "waiting for BATCH",
            State::Trees(_) => "reading TREE frames",
            State::Planning(..) => "planning a batch",
            State::Data(..) | State::Whole(_) => "receiving data",
            State::Finishing | State::Done | State::Failed => "finishing",
        }
    }

    fn on_manifest_end(
        &mut self,
        totals: super::super::manifest::Totals,
    ) -> Result<(), NativeError> {
        let State::Manifest(builder) = std::mem::replace(&mut self.state, State::Deciding) else {
            return Err(NativeError::Usage("manifest end out of turn"));
        };
        self.manifest = Some(builder.finish(totals).map_err(manifest_error)?);
        self.events.push_back(RecvEvent::Offer);
        Ok(())
    }

    fn on_trees(&mut self) {
        let State::Trees(batch) = std::mem::replace(&mut self.state, State::Failed) else {
            return;
        };
        let files = batch.files();
        let trees = batch.finish();
        let layouts = trees.iter().map(|t| *t.layout()).collect();
        self.events.push_back(RecvEvent::Plan {
            first: files.start,
            trees,
        });
        self.state = State::Planning(files, layouts);
    }

    fn on_batch_end(&mut self) {
        let files = match std::mem::replace(&mut self.state, State::Failed) {
            State::Data(files, ..) => files,
            State::Whole(whole) => whole.files(),
            _ => return,
        };
        self.next = files.end;
        self.events.push_back(RecvEvent::BatchEnd(files));
        self.after_batches();
    }

    /// The next batch, or the end once every file was covered.
    fn after_batches(&mut self) {
        let all = self.manifest.as_ref().map_or(0, Manifest::file_count);
        self.state = match self.next >= all {
            true => {
                self.events.push_back(RecvEvent::Finish);
                State::Finishing
            }
            false => State::AwaitBatch,
        };
    }

    /// The driver accepts the offer: `ACCEPT` goes out.
    pub fn accept(&mut self) -> Result<(), NativeError> {
        self.expect_deciding()?;
        self.out.push_back(Frame::Accept);
        self.after_batches();
        Ok(())
    }

    /// The driver accepts the offer and names the files it holds nothing of
    /// (`late-roots`): `ACCEPT` and `FRESH` go out, and batches of those files
    /// may then come as `STREAM`.
    pub fn accept_fresh(&mut self, fresh: GroupSet) -> Result<(), NativeError> {
        let files = self.manifest.as_ref().map_or(0, Manifest::file_count);
        if fresh.len() != files {
            return Err(NativeError::Usage(
                "the fresh set does not fit the manifest",
            ));
        }
        self.accept()?;
        self.out.push_back(Frame::Fresh(fresh.ranges()));
        self.fresh = Some(fresh);
        Ok(())
    }

    /// The driver refuses the offer (`reason` goes to the peer; use
    /// [`NativeReceiver::decline`] when the user said no).
    pub fn reject(&mut self, reason: String) -> Result<(), NativeError> {
        self.expect_deciding()?;
        self.out.push_back(Frame::Reject(reason));
        self.state = State::Failed;
        Ok(())
    }

    /// The user said no.
    pub fn decline(&mut self) -> Result<(), NativeError> {
        self.reject(TRANSFER_REJECTED.to_owned())
    }

    fn expect_deciding(&self) -> Result<(), NativeError> {
        match self.state {
            State::Deciding => Ok(()),
            _ => Err(NativeError::Usage("a decision while no offer waits")),
        }
    }

    /// The groups wanted of each file of the batch, in file order: `WANTS` goes out.
    pub fn planned(&mut self, wanted: Vec<GroupSet>) -> Result<(), NativeError> {
        let State::Planning(files, layouts) = &self.state else {
            return Err(NativeError::Usage("a plan while no batch waits"));
        };
        let fits = wanted.len() == layouts.len()
            && wanted
                .iter()
                .zip(layouts)
                .all(|(set, l)| u64::from(set.len()) == l.groups());
        if !fits {
            return Err(NativeError::Usage("the plan does not fit the batch"));
        }
        let list: Vec<(u32, GroupSet)> = files.clone().zip(wanted).collect();
        self.out.push_back(Frame::Wants(wants(&list)));
        let (files, layouts) = (files.clone(), layouts.clone());
        self.state = State::Data(files, layouts, Incoming::new(&list));
        Ok(())
    }

    /// The files are in place: `DONE` with the manifest's totals goes out.
    pub fn finished(&mut self) -> Result<(), NativeError> {
        let (State::Finishing, Some(manifest)) = (&self.state, &self.manifest) else {
            return Err(NativeError::Usage("finished before the last batch"));
        };
        self.out.push_back(Frame::Done(manifest.totals()));
        self.state = State::Done;
        Ok(())
    }

    /// A local failure (or a peer fault the driver found, such as a group that
    /// failed verification): queues `ERROR` for the peer and ends the transfer.
    pub fn fail(&mut self, code: ErrorCode, message: String) {
        self.out.clear();
        self.out.push_back(Frame::Error { code, message });
        self.state = State::Failed;
    }
}

const NO_MANIFEST: NativeError = NativeError::Usage("no manifest");

fn manifest_error(e: super::super::manifest::ManifestError) -> NativeError {
    ProtocolError::new(format!("manifest: {e}")).into()
}

/// Checks one `DATA` frame's place (the next wanted group) and size (one whole
/// group), and says where it goes.
fn place(
    files: &Range<u32>,
    layouts: &[Layout],
    incoming: &mut Incoming,
    (file, group, len): (u32, u32, usize),
) -> Result<RecvEvent, NativeError> {
    let placed = incoming.on_data(file, group)?;
    // `Incoming` only accepts wanted groups, so the file is in the batch.
    let layout = layouts
        .get(file.wrapping_sub(files.start) as usize)
        .ok_or(NativeError::Usage("DATA outside the batch"))?;
    let (offset, expected) = layout.group_span(group.into());
    if len as u64 != expected {
        let why = format!("DATA for file {file} group {group} has {len} bytes, not {expected}");
        return Err(ProtocolError::new(why).into());
    }
    Ok(RecvEvent::Write {
        file,
        group,
        offset,
        len: expected,
        last_of_file: placed.last_of_file,
    })
}
