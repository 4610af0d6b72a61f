//! The native sender's driver: `NativeSender` (ferry-proto) owns the frame order —
//! manifest, then batch by batch `TREE`s, the receiver's `WANTS`, exactly the
//! wanted groups with checkpoints so that a receiver's error reaches us while we
//! are still writing, and `DONE`. This loop only does the I/O: the socket, the
//! hashing thread (`ahead`), the read-ahead thread (`stream`) and the user.

use std::ops::Range;
use std::sync::Arc;

use tokio::task::JoinHandle;

use ferry_proto::native::machine::{NativeSender, SendEvent, Transmit};
use ferry_proto::native::sender::batches;
use ferry_proto::native::tree::Tree;
use ferry_proto::native::wire::Frame;
use ferry_proto::transit::Role;

use crate::error::{join_error, Error, Result};
use crate::rendezvous::{Cancel, Wormhole};
use crate::transfer::Selection;
use crate::transit::TransitConfig;
use crate::ui::Ui;

use super::connect::{peer_hints, send_hints};
use super::current::{self, CurrentFile};
use super::link::{native_error, Link};
use super::reconnect::{Healed, Healing};
use super::{queue_depth, Agreed};

use ahead::Hashes;
use source::Source;
use stream::Stream;

mod ahead;
mod source;
mod stream;

/// Sends a walked file or directory to a ferry receiver; a broken connection
/// is made again (`reconnect`) and the conversation runs again on the new one.
pub(crate) async fn send(
    wormhole: &mut Wormhole,
    transit: &TransitConfig,
    selection: Selection,
    agreed: Agreed,
    ui: &mut dyn Ui,
) -> Result<()> {
    let prep = send_hints(wormhole, (transit, agreed)).await?;
    // The manifest, then hashing, go on while the connection is made; with
    // `late-roots` hashing waits for the receiver's word on its fresh files.
    let late_roots = agreed.features.late_roots;
    let scanning = scan(selection, false, !late_roots);
    let peer = peer_hints(wormhole).await?;
    let mut healing = Healing::new(wormhole, (Role::Sender, agreed), transit)?;
    let mut link = healing.first((prep, &peer), wormhole, transit, ui).await?;
    let stop = Cancel::new();
    let (source, hashes) = match scanned(scanning, &stop).await {
        Ok(scanned) => scanned,
        Err(e) => {
            link.fail(&e).await;
            return Err(e);
        }
    };
    let mut trees = Trees::new((source.clone(), hashes), agreed.features.reconnect);
    trees.late_roots = late_roots;
    healing.accept_done(source.manifest.totals());
    loop {
        match run(&mut link, &source, &mut trees, &stop, ui).await {
            Ok(()) => return Ok(()),
            Err(e) => match healing.recover(link, e, wormhole, transit, ui).await? {
                Healed::Link(new) => link = *new,
                Healed::PeerFinished => return Ok(()),
            },
        }
    }
}

/// Sends over a link made elsewhere (LocalSend between two ferry, `lan`);
/// `stop` (the user's Ctrl-C) ends the send, and the peer is told. `loose`:
/// see `Source::new`.
pub(crate) async fn send_over(
    link: Link,
    (selection, loose): (Selection, bool),
    stop: &Cancel,
    ui: &mut dyn Ui,
) -> Result<()> {
    drive(link, scan(selection, loose, true), stop, ui).await
}

type Scanning = JoinHandle<Result<(Arc<Source>, Option<Hashes>)>>;

/// The manifest, then (`hash`) the hashes of every batch, made on a blocking
/// thread.
fn scan(selection: Selection, loose: bool, hash: bool) -> Scanning {
    tokio::task::spawn_blocking(move || {
        let source = Arc::new(Source::new(selection, loose)?);
        let all = batches(&source.manifest);
        let hashes = match hash {
            true => Some(Hashes::start(Arc::clone(&source), all)?),
            false => None,
        };
        Ok::<_, Error>((source, hashes))
    })
}

async fn scanned(scanning: Scanning, stop: &Cancel) -> Result<(Arc<Source>, Option<Hashes>)> {
    tokio::select! {
        scanned = scanning => scanned.map_err(join_error).and_then(|r| r),
        () = stop.cancelled() => Err(Error::Cancelled),
    }
}

async fn drive(mut link: Link, scanning: Scanning, stop: &Cancel, ui: &mut dyn Ui) -> Result<()> {
    let result = match scanned(scanning, stop).await {
        Ok((source, hashes)) => {
            let mut trees = Trees::new((source.clone(), hashes), false);
            run(&mut link, &source, &mut trees, stop, ui).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        link.fail(e).await;
    }
    result
}

/// The driver loop (see `ferry_proto::native::machine`): answer what the machine
/// asks, send what it yields, read only when it wants a frame. `stop` is
/// obeyed between frames, never in the middle of one: the `ERROR` that says
/// so must reach the peer as a whole record.
async fn run(
    link: &mut Link,
    source: &Arc<Source>,
    hashes: &mut Trees,
    stop: &Cancel,
    ui: &mut dyn Ui,
) -> Result<()> {
    let machine = NativeSender::new(source.manifest.clone());
    let mut driver = Driver {
        machine: match hashes.late_roots {
            true => machine.with_late_roots(),
            false => machine,
        },
        source,
        stream: None,
        current: CurrentFile::default(),
    };
    loop {
        while let Some(event) = driver.machine.poll_event() {
            driver.on_event(event, hashes, ui).await?;
        }
        if stop.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if let Some(transmit) = driver.machine.poll_transmit() {
            if let Transmit::Data(data) = &transmit {
                driver.current.at(&source.manifest, data.file, ui);
            }
            driver.transmit(link, transmit, ui).await?;
            continue;
        }
        if driver.machine.is_done() {
            return Ok(());
        }
        if !driver.machine.wants_read() {
            return Err(Error::internal("the native sender stalled"));
        }
        // A read may stop halfway: after a cancel only the drain reads.
        let frame = tokio::select! {
            frame = link.recv() => frame?,
            () = stop.cancelled() => return Err(Error::Cancelled),
        };
        driver.machine.handle(frame).map_err(native_error)?;
    }
}

/// The batches' trees as the hashing thread makes them; kept, when the
/// connection may be made again, for the conversation to run again on it.
struct Trees {
    source: Arc<Source>,
    /// `None` until a conversation with `late-roots` says what to hash.
    hashes: Option<Hashes>,
    kept: Option<Vec<(Range<u32>, Vec<Tree>)>>,
    /// Both sides listed `late-roots`: fresh files stream unhashed.
    late_roots: bool,
}

impl Trees {
    fn new((source, hashes): (Arc<Source>, Option<Hashes>), keep: bool) -> Self {
        Trees {
            source,
            hashes,
            kept: keep.then(Vec::new),
            late_roots: false,
        }
    }

    /// This conversation sends trees first for `batches` (the others stream):
    /// hashing starts anew on those not kept from an earlier connection.
    fn plan(&mut self, batches: Vec<Range<u32>>) -> Result<()> {
        let kept = self.kept.iter().flatten();
        let kept: Vec<&Range<u32>> = kept.map(|(b, _)| b).collect();
        let todo = batches.into_iter().filter(|b| !kept.contains(&b)).collect();
        self.hashes = None; // stops the thread hashing an earlier plan
        self.hashes = Some(Hashes::start(Arc::clone(&self.source), todo)?);
        Ok(())
    }

    async fn next(&mut self, batch: Range<u32>) -> Result<Vec<Tree>> {
        let kept = self.kept.iter().flatten();
        if let Some((_, trees)) = kept.into_iter().find(|(b, _)| *b == batch) {
            return Ok(trees.clone());
        }
        let hashes = self.hashes.as_mut();
        let hashes = hashes.ok_or_else(|| Error::internal("trees asked for before the plan"))?;
        let trees = hashes.next(batch.clone()).await?;
        if let Some(kept) = &mut self.kept {
            kept.push((batch, trees.clone()));
        }
        Ok(trees)
    }
}

struct Driver<'a> {
    machine: NativeSender,
    source: &'a Arc<Source>,
    /// The current batch's groups, read ahead.
    stream: Option<Stream>,
    current: CurrentFile,
}

impl Driver<'_> {
    async fn on_event(
        &mut self,
        event: SendEvent,
        hashes: &mut Trees,
        ui: &mut dyn Ui,
    ) -> Result<()> {
        match event {
            SendEvent::HashBatch(batch) => {
                let first = batch.start;
                let trees = hashes.next(batch).await?;
                current::hashed(&self.source.manifest, first, &trees, ui);
                self.machine.batch_hashed(trees).map_err(native_error)
            }
            SendEvent::Stream(groups) => {
                let depth = queue_depth(&self.source.manifest);
                self.stream = Some(Stream::start(self.source, groups, depth));
                Ok(())
            }
            SendEvent::StreamWhole { files, groups } => {
                let depth = queue_depth(&self.source.manifest);
                let whole = (files, groups);
                self.stream = Some(Stream::start_whole(self.source, whole, depth));
                Ok(())
            }
            SendEvent::TreeBatches(batches) => hashes.plan(batches),
            SendEvent::Progress { done, total } => {
                ui.progress(done, total);
                Ok(())
            }
            SendEvent::Present { done, total } => {
                ui.present(done, total);
                Ok(())
            }
            _ => Ok(()), // `Done`: the loop sees `is_done`
        }
    }

    async fn transmit(
        &mut self,
        link: &mut Link,
        transmit: Transmit,
        ui: &mut dyn Ui,
    ) -> Result<()> {
        match transmit {
            Transmit::Data(data) => match &mut self.stream {
                Some(stream) => stream.send_next(link, data).await,
                None => Err(Error::internal("DATA before the batch's groups")),
            },
            Transmit::Root(file) => match &mut self.stream {
                Some(stream) => {
                    let root = stream.root(file).await?;
                    current::rooted(&self.source.manifest, file, root, ui);
                    link.send(&Frame::Root { file, root }).await
                }
                None => Err(Error::internal("ROOT outside a stream")),
            },
            Transmit::Frame(frame) => {
                if matches!(frame, Frame::BatchEnd) {
                    // A read error must stop us before the batch looks complete.
                    if let Some(stream) = self.stream.take() {
                        stream.finish().await?;
                    }
                }
                link.send(&frame).await
            }
        }
    }
}
