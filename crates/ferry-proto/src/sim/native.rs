//! Drivers for the native machines, as thin as the async ones should become:
//! the sender reads groups from in-memory files into record buffers laid out
//! for sealing in place; the receiver plans against an in-memory disk with
//! resume states, verifies each group before writing it, and moves a file to
//! its final name only once every group of it is verified. With `late-roots`
//! the receiver names its fresh files, which stream with their roots after
//! their data: hashed as they come, put in place only if the roots agree.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;

use crate::native::machine::{
    DataRef, NativeError, NativeReceiver, NativeSender, RecvEvent, SendEvent, Transmit,
};
use crate::native::manifest::Manifest;
use crate::native::ranges::GroupSet;
use crate::native::record::{Aead, PREFIX_LEN, TAG_LEN};
use crate::native::resume::ResumeState;
use crate::native::tree::{Layout, Tree, TreeBuilder};
use crate::native::wire::{self, data_header, ErrorCode, Frame, DATA_HEADER_LEN};
use crate::transit::Role;

use super::link::{Link, ReadError};
use super::pipe::{Faults, Injected, Pipe};
use super::side::{drive, Failure, Io, Outcome, Side};

/// What the sender offers: a manifest and each file's bytes, by file number.
pub(super) struct Source {
    pub(super) manifest: Manifest,
    pub(super) files: Vec<Vec<u8>>,
    /// The sender's disk returns one bad group: this many groups into the run.
    pub(super) lie_at: Option<u64>,
}

/// The receiver's output directory and resume states.
#[derive(Debug, Default)]
pub(super) struct Disk {
    pub(super) finals: BTreeMap<String, Vec<u8>>,
    pub(super) partials: BTreeMap<String, (Vec<u8>, ResumeState)>,
    pub(super) dirs: BTreeSet<String>,
}

/// What we tell the peer about `f`, if anything (it told us, or it is gone).
fn error_frame(f: &Failure) -> Option<(ErrorCode, String)> {
    match f {
        Failure::Machine(NativeError::Protocol(e)) => Some((ErrorCode::Protocol, e.to_string())),
        Failure::Wire(e) => Some((ErrorCode::Protocol, e.clone())),
        Failure::Record(e) => Some((ErrorCode::Integrity, e.to_string())),
        Failure::Integrity(e) => Some((ErrorCode::Integrity, e.clone())),
        Failure::Machine(_) | Failure::V1(_) | Failure::Lost => None,
    }
}

/// Reads the next frame for a machine; `Ok(None)` until one has arrived.
fn read_frame(link: &mut Link, io: &mut Io<'_>) -> Result<Option<Vec<u8>>, Failure> {
    link.recv(io.inp, io.now).map_err(|e| match e {
        ReadError::Record(e) => Failure::Record(e),
        ReadError::Lost => Failure::Lost,
    })
}

fn decode(plain: &[u8]) -> Result<Frame<'_>, Failure> {
    wire::decode(plain).map_err(|e| Failure::Wire(format!("undecodable frame: {e}")))
}

pub(super) struct SimSender<'a> {
    machine: NativeSender,
    source: &'a Source,
    link: Link,
    pub(super) outcome: Outcome,
    /// Bytes of group data sent.
    pub(super) data_bytes: u64,
    groups_read: u64,
}

impl<'a> SimSender<'a> {
    pub(super) fn new(
        source: &'a Source,
        (aead, late_roots): (Aead, bool),
        limits: (u32, u64, u64),
    ) -> Self {
        let (files, bytes, window) = limits;
        let machine = NativeSender::with_limits(source.manifest.clone(), files, bytes, window);
        let machine = match late_roots {
            true => machine.with_late_roots(),
            false => machine,
        };
        SimSender {
            machine,
            source,
            link: Link::native(aead, Role::Sender),
            outcome: None,
            data_bytes: 0,
            groups_read: 0,
        }
    }

    fn read_one(&mut self, io: &mut Io<'_>) -> Result<bool, Failure> {
        let Some(plain) = read_frame(&mut self.link, io)? else {
            return Ok(false);
        };
        self.machine
            .handle(decode(&plain)?)
            .map_err(Failure::Machine)?;
        Ok(true)
    }

    fn on_event(&mut self, event: SendEvent) -> Result<(), Failure> {
        match event {
            SendEvent::HashBatch(batch) => {
                let trees = batch
                    .map(|n| tree_of(&self.source.files[n as usize]))
                    .collect();
                self.machine.batch_hashed(trees).map_err(Failure::Machine)
            }
            SendEvent::Done => {
                self.outcome = Some(Ok(()));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn transmit(&mut self, t: Transmit, io: &mut Io<'_>) {
        match t {
            Transmit::Frame(frame) => self.link.send(&frame.encode(), io),
            Transmit::Data(data) => {
                let record = self.read_group(data);
                self.data_bytes += data.len;
                self.link.send_in_place(record, io);
            }
            Transmit::Root(file) => {
                // The file's true hash: a lying disk corrupts only what it sends.
                let root = *tree_of(&self.source.files[file as usize]).root();
                self.link.send(&Frame::Root { file, root }.encode(), io);
            }
        }
    }

    /// The group read straight into a record buffer: `[prefix][header][group][tag]`.
    fn read_group(&mut self, d: DataRef) -> Vec<u8> {
        let file = &self.source.files[d.file as usize];
        let at = PREFIX_LEN + DATA_HEADER_LEN;
        let mut record = vec![0u8; at + d.len as usize + TAG_LEN];
        record[PREFIX_LEN..at].copy_from_slice(&data_header(d.file, d.group));
        let group = &file[d.offset as usize..(d.offset + d.len) as usize];
        record[at..at + group.len()].copy_from_slice(group);
        if self.source.lie_at == Some(self.groups_read) {
            record[at] ^= 0x80; // the disk returned something else
        }
        self.groups_read += 1;
        record
    }
}

impl Side for SimSender<'_> {
    fn outcome(&mut self) -> &mut Outcome {
        &mut self.outcome
    }

    fn turn(&mut self, io: &mut Io<'_>) -> Result<bool, Failure> {
        let mut moved = false;
        loop {
            let mut busy = false;
            while let Some(t) = self.machine.poll_transmit() {
                self.transmit(t, io);
                busy = true;
            }
            while let Some(e) = self.machine.poll_event() {
                self.on_event(e)?;
                busy = true;
            }
            moved |= busy;
            if !busy {
                break;
            }
        }
        if self.outcome.is_some() || !self.machine.wants_read() {
            return Ok(moved);
        }
        Ok(self.read_one(io)? || moved)
    }

    fn tell(&mut self, f: &Failure, io: &mut Io<'_>) {
        if let Some((code, message)) = error_frame(f) {
            self.machine.fail(code, message);
            while let Some(t) = self.machine.poll_transmit() {
                self.transmit(t, io);
            }
        }
    }
}

/// The tree of a whole file, as the sender's hashing thread builds it.
pub(crate) fn tree_of(data: &[u8]) -> Tree {
    let mut b = TreeBuilder::new(Layout::for_size(data.len() as u64));
    while let Some((start, len)) = b.next_span() {
        let group = &data[start as usize..(start + len) as usize];
        b.add_group(group).expect("group of the announced size");
    }
    b.finish().expect("every group added")
}

pub(super) struct SimReceiver<'d> {
    machine: NativeReceiver,
    disk: &'d mut Disk,
    link: Link,
    /// The trees of the batch being received.
    trees: BTreeMap<u32, Tree>,
    /// The files of a streamed batch, hashed as their groups come.
    streaming: BTreeMap<u32, TreeBuilder>,
    /// Whether to name fresh files (`late-roots`).
    late_roots: bool,
    pub(super) outcome: Outcome,
    /// Bytes of group data written.
    pub(super) data_bytes: u64,
    /// Files that came in `STREAM` batches.
    pub(super) streamed: u64,
}

impl<'d> SimReceiver<'d> {
    pub(super) fn new(disk: &'d mut Disk, (aead, late_roots): (Aead, bool)) -> Self {
        SimReceiver {
            machine: NativeReceiver::new(),
            disk,
            link: Link::native(aead, Role::Receiver),
            trees: BTreeMap::new(),
            streaming: BTreeMap::new(),
            late_roots,
            outcome: None,
            data_bytes: 0,
            streamed: 0,
        }
    }

    /// Sends what the machine queued; once `DONE` is out, the run succeeded.
    fn flush(&mut self, io: &mut Io<'_>) -> bool {
        let mut sent = false;
        while let Some(frame) = self.machine.poll_transmit() {
            self.link.send(&frame.encode(), io);
            sent = true;
        }
        if self.machine.is_done() && self.outcome.is_none() {
            self.outcome = Some(Ok(()));
            io.out.close(io.now, io.rng);
        }
        sent
    }

    fn read_one(&mut self, io: &mut Io<'_>) -> Result<bool, Failure> {
        let Some(plain) = read_frame(&mut self.link, io)? else {
            return Ok(false);
        };
        self.machine
            .handle(decode(&plain)?)
            .map_err(Failure::Machine)?;
        self.serve(Some(&plain))?;
        Ok(true)
    }

    /// Does what the machine asks; `record` is the plaintext of the frame just
    /// handled, whose tail is a `DATA` frame's group.
    fn serve(&mut self, record: Option<&[u8]>) -> Result<bool, Failure> {
        let mut moved = false;
        while let Some(event) = self.machine.poll_event() {
            moved = true;
            match event {
                RecvEvent::Offer => self.accept()?,
                RecvEvent::Plan { first, trees } => self.plan(first, trees)?,
                RecvEvent::Stream { first, layouts } => self.stream(first, layouts),
                RecvEvent::Root { file, root } => self.root(file, root)?,
                RecvEvent::Write {
                    file, group, len, ..
                } => {
                    let record = record.expect("a DATA frame came with its record");
                    let payload = &record[record.len() - len as usize..];
                    self.write(file, group, payload)?;
                }
                RecvEvent::BatchEnd(files) => files.for_each(|n| self.complete(n)),
                RecvEvent::Finish => self.finish()?,
            }
        }
        Ok(moved)
    }

    fn path(&self, n: u32) -> String {
        let manifest = self
            .machine
            .manifest()
            .expect("a plan comes after the manifest");
        manifest
            .file(n)
            .expect("file of the manifest")
            .path
            .as_str()
            .to_owned()
    }

    /// Accepts, naming with `late-roots` the files the disk holds nothing of.
    fn accept(&mut self) -> Result<(), Failure> {
        if !self.late_roots {
            return self.machine.accept().map_err(Failure::Machine);
        }
        let count = self.machine.manifest().map_or(0, |m| m.file_count());
        let mut fresh = GroupSet::empty(count);
        for n in 0..count {
            let path = self.path(n);
            if !self.disk.finals.contains_key(&path) && !self.disk.partials.contains_key(&path) {
                fresh.insert(n);
            }
        }
        self.machine.accept_fresh(fresh).map_err(Failure::Machine)
    }

    /// A streamed batch: each file starts empty, its root unknown.
    fn stream(&mut self, first: u32, layouts: Vec<Layout>) {
        self.trees.clear();
        for (n, layout) in (first..).zip(layouts) {
            let empty = vec![0u8; layout.size() as usize];
            let partial = (empty, ResumeState::unrooted(layout));
            self.disk.partials.insert(self.path(n), partial);
            self.streaming.insert(n, TreeBuilder::new(layout));
            self.streamed += 1;
        }
    }

    /// A streamed file's root: the groups that came must hash to it.
    fn root(&mut self, n: u32, root: [u8; 32]) -> Result<(), Failure> {
        let builder = self.streaming.remove(&n).expect("a streamed file");
        let ours = builder.finish().expect("every group came");
        match *ours.root() == root {
            true => Ok(()),
            false => Err(Failure::Integrity(format!(
                "file {n}: not the sender's root"
            ))),
        }
    }

    /// Per file: nothing if the final file is there with this content; else
    /// what its resume state lacks (re-verified), or everything.
    fn plan(&mut self, first: u32, trees: Vec<Tree>) -> Result<(), Failure> {
        self.trees.clear();
        let mut wanted = Vec::with_capacity(trees.len());
        for (n, tree) in (first..).zip(trees) {
            wanted.push(self.plan_file(&self.path(n), &tree));
            self.trees.insert(n, tree);
        }
        self.machine.planned(wanted).map_err(Failure::Machine)
    }

    fn plan_file(&mut self, path: &str, tree: &Tree) -> GroupSet {
        let groups = tree.layout().groups() as u32;
        if let Some(data) = self.disk.finals.get(path) {
            assert_eq!(
                blake3::hash(data).as_bytes(),
                tree.root(),
                "a conflict in the sim"
            );
            return GroupSet::empty(groups);
        }
        let fresh = || {
            (
                vec![0u8; tree.layout().size() as usize],
                ResumeState::new(tree),
            )
        };
        let (data, state) = self
            .disk
            .partials
            .entry(path.to_owned())
            .or_insert_with(fresh);
        if !state.matches(tree) {
            (*data, *state) = fresh();
        }
        // Every claim verified again, against this tree (an unrooted state's
        // claims were never checked against one).
        let claimed = std::mem::replace(state, ResumeState::new(tree));
        for g in claimed.verified().iter() {
            let (start, len) = tree.layout().group_span(g.into());
            let bytes = &data[start as usize..(start + len) as usize];
            state.set(g, tree.verify_group(g.into(), bytes).is_ok());
        }
        state.verified().complement()
    }

    /// Verifies a group against its tree before a byte of it is written; a
    /// streamed group is hashed, and written to the partial file only.
    fn write(&mut self, n: u32, g: u32, payload: &[u8]) -> Result<(), Failure> {
        let start = match (self.trees.get(&n), self.streaming.get_mut(&n)) {
            (Some(tree), _) => {
                tree.verify_group(g.into(), payload)
                    .map_err(|e| Failure::Integrity(format!("file {n} group {g}: {e}")))?;
                tree.layout().group_span(g.into()).0
            }
            (None, Some(builder)) => {
                let (start, _) = builder.next_span().expect("a group of the file");
                builder
                    .add_group(payload)
                    .expect("the machine checked its size");
                start
            }
            (None, None) => panic!("data of a file outside the batch"),
        };
        let path = self.path(n);
        let (data, state) = self.disk.partials.get_mut(&path).expect("planned file");
        data[start as usize..start as usize + payload.len()].copy_from_slice(payload);
        state.set(g, true);
        self.data_bytes += payload.len() as u64;
        Ok(())
    }

    /// At the end of its batch a file whose every group is verified gets its
    /// final name (never over an existing one).
    fn complete(&mut self, n: u32) {
        let path = self.path(n);
        let Some((_, state)) = self.disk.partials.get(&path) else {
            return;
        };
        if state.verified().count() == state.verified().len() {
            let (data, _) = self.disk.partials.remove(&path).expect("just seen");
            assert!(
                self.disk.finals.insert(path, data).is_none(),
                "overwrote a file"
            );
        }
    }

    fn finish(&mut self) -> Result<(), Failure> {
        let manifest = self
            .machine
            .manifest()
            .expect("finish comes after the manifest");
        let dirs = manifest.entries().iter().filter(|e| e.size().is_none());
        let dirs: Vec<String> = dirs.map(|e| e.path.as_str().to_owned()).collect();
        self.disk.dirs.extend(dirs);
        self.machine.finished().map_err(Failure::Machine)
    }
}

impl Side for SimReceiver<'_> {
    fn outcome(&mut self) -> &mut Outcome {
        &mut self.outcome
    }

    fn turn(&mut self, io: &mut Io<'_>) -> Result<bool, Failure> {
        let moved = self.serve(None)? | self.flush(io);
        if self.machine.is_done() || !self.machine.wants_read() {
            return Ok(moved);
        }
        Ok(self.read_one(io)? || moved)
    }

    fn tell(&mut self, f: &Failure, io: &mut Io<'_>) {
        if let Some((code, message)) = error_frame(f) {
            self.machine.fail(code, message);
            self.flush(io);
        }
    }
}

/// How a simulated transfer went.
#[derive(Debug)]
pub(super) struct Run {
    pub(super) sender: Result<(), Failure>,
    pub(super) receiver: Result<(), Failure>,
    /// Group bytes the sender sent.
    pub(super) sent: u64,
    /// Files that streamed before their roots.
    pub(super) streamed: u64,
    pub(super) injected: Injected,
}

/// Runs one transfer of `source` into `disk` until both sides have ended.
pub(super) fn run(
    source: &Source,
    disk: &mut Disk,
    faults: Faults,
    limits: (u32, u64, u64),
    rng: &mut StdRng,
) -> Run {
    let aead = match rand::Rng::gen_bool(rng, 0.5) {
        true => Aead::Aes256Gcm,
        false => Aead::ChaCha20Poly1305,
    };
    // Faults hit the sender's records; the receiver's direction only drops
    // together with it.
    let (mut s2r, mut r2s) = (Pipe::new(faults), Pipe::new(Faults::default()));
    let late_roots = rand::Rng::gen_bool(rng, 0.5);
    let mut sender = SimSender::new(source, (aead, late_roots), limits);
    let mut receiver = SimReceiver::new(disk, (aead, late_roots));
    let (sent, received) = drive(&mut sender, &mut receiver, (&mut s2r, &mut r2s), rng);
    Run {
        sender: sent,
        receiver: received,
        sent: sender.data_bytes,
        streamed: receiver.streamed,
        injected: s2r.injected,
    }
}
