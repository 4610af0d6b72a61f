//! The native receiver: manifest, the landing checks every protocol shares (plus
//! resume and skipping identical files), then batch by batch: trees, `WANTS`,
//! verified data.

use std::path::{Path, PathBuf};

use ferry_proto::native::manifest::{Entry, EntryKind, Manifest, ManifestBuilder};
use ferry_proto::native::ranges::GroupSet;
use ferry_proto::native::receiver::{wants, BatchReceiver, Incoming};
use ferry_proto::native::record::Aead;
use ferry_proto::native::tree::Tree;
use ferry_proto::native::wire::Frame;
use ferry_proto::transit::Role;

use crate::error::{join_error, Error, Result};
use crate::rendezvous::Wormhole;
use crate::transfer::landing::{self, CreatedDirs, Targets};
use crate::transfer::{OfferSummary, Report};
use crate::transit::TransitConfig;
use crate::ui::Ui;

use super::connect::{connect, decode, send_hints};
use super::link::{peer_text, unexpected, Link};
use super::queue_depth;

use plan::{plan_file, wanted, FilePlan};
use writer::{FileJob, Job, Writer};

mod plan;
mod saver;
mod writer;

/// Receives from a ferry sender into `output_dir`; `first` is the sender's
/// first mailbox message, its transit hints.
pub(crate) async fn receive(
    wormhole: &mut Wormhole,
    first: &[u8],
    (transit, output_dir): (&TransitConfig, &Path),
    aead: Aead,
    ui: &mut dyn Ui,
) -> Result<Report> {
    let peer = decode(first)?;
    let prep = send_hints(wormhole, transit).await?;
    let mut link = connect(wormhole, prep, (Role::Receiver, aead), &peer, ui).await?;
    let result = run(&mut link, output_dir, ui).await;
    if let Err(e) = &result {
        link.fail(e).await;
    }
    result
}

async fn run(link: &mut Link, output_dir: &Path, ui: &mut dyn Ui) -> Result<Report> {
    let manifest = read_manifest(link).await?;
    let (targets, dirs) = match prepare(&manifest, output_dir, ui).await {
        Ok(ready) => ready,
        Err(e) => {
            let _ = link.send(&Frame::Reject(peer_text(&e))).await;
            return Err(e);
        }
    };
    link.send(&Frame::Accept).await?;
    let mut writer = Writer::spawn(queue_depth(&manifest), link.recycler());
    let mut batch = BatchState {
        manifest: &manifest,
        targets: &targets,
        report: report(&manifest, &targets),
    };
    let received = batch.receive_all(link, &mut writer, ui).await;
    // Even after an error, let the writer save what is verified.
    let written = writer.finish().await;
    received?;
    written?;
    tokio::task::spawn_blocking(move || dirs.finish())
        .await
        .map_err(join_error)??;
    link.send(&Frame::Done(manifest.totals())).await?;
    let r = &batch.report;
    tracing::info!(
        transferred = r.transferred,
        resumed = r.resumed,
        already_present = r.already_present,
        "native receive complete"
    );
    Ok(batch.report)
}

async fn read_manifest(link: &mut Link) -> Result<Manifest> {
    let mut builder = ManifestBuilder::new();
    loop {
        match link.recv().await? {
            Frame::Entries(entries) => {
                for entry in entries {
                    builder
                        .push(entry)
                        .map_err(|e| Error::protocol(format!("manifest: {e}")))?;
                }
            }
            Frame::ManifestEnd(totals) => {
                return builder
                    .finish(totals)
                    .map_err(|e| Error::protocol(format!("manifest: {e}")));
            }
            other => return Err(unexpected(&other, "reading the manifest")),
        }
    }
}

/// Checks the targets and free space, asks the user, creates the directories.
async fn prepare(
    manifest: &Manifest,
    output_dir: &Path,
    ui: &mut dyn Ui,
) -> Result<(Targets, CreatedDirs)> {
    let (m, out) = (manifest.clone(), output_dir.to_owned());
    let targets = tokio::task::spawn_blocking(move || landing::check(&m, &out))
        .await
        .map_err(join_error)??;
    if targets.resumable > 0 {
        ui.resuming(targets.resumable, manifest.bytes());
    }
    if !ui.accept(&summary(manifest)) {
        return Err(Error::Declined);
    }
    let m = manifest.clone();
    tokio::task::spawn_blocking(move || {
        let dirs = landing::create_dirs(&m, &targets)?;
        Ok::<_, Error>((targets, dirs))
    })
    .await
    .map_err(join_error)?
}

/// The manifest as the person receiving decides on it.
fn summary(manifest: &Manifest) -> OfferSummary {
    let roots: Vec<&Entry> = manifest.roots().collect();
    let (files, bytes) = (u64::from(manifest.file_count()), manifest.bytes());
    match roots.as_slice() {
        [one] if one.kind != EntryKind::Dir => OfferSummary::file(one.path.as_str(), bytes),
        [one] => OfferSummary::directory(one.path.as_str(), files, bytes, bytes),
        many => OfferSummary::several(many.iter().map(|e| e.path.as_str()), files, bytes),
    }
}

/// What the receive will report, before anything moved.
fn report(manifest: &Manifest, targets: &Targets) -> Report {
    let roots: Vec<PathBuf> = manifest
        .entries()
        .iter()
        .zip(&targets.paths)
        .filter(|(e, _)| e.path.components().count() == 1)
        .map(|(_, p)| p.clone())
        .collect();
    let dirs = manifest
        .entries()
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .count() as u64;
    let files = u64::from(manifest.file_count());
    Report::new(roots, files, dirs, manifest.bytes())
}

struct BatchState<'a> {
    manifest: &'a Manifest,
    targets: &'a Targets,
    report: Report,
}

/// One file of the batch being received.
struct Planned {
    n: u32,
    job: Option<FileJob>,
    wanted: GroupSet,
    begun: bool,
}

impl BatchState<'_> {
    async fn receive_all(
        &mut self,
        link: &mut Link,
        writer: &mut Writer,
        ui: &mut dyn Ui,
    ) -> Result<()> {
        let mut next = 0;
        while next < self.manifest.file_count() {
            next = self.receive_batch(link, next, writer, ui).await?;
        }
        Ok(())
    }

    async fn receive_batch(
        &mut self,
        link: &mut Link,
        next: u32,
        writer: &mut Writer,
        ui: &mut dyn Ui,
    ) -> Result<u32> {
        let trees = self.read_trees(link, next).await?;
        let mut files = self.plan(next, trees).await?;
        let list: Vec<(u32, GroupSet)> = files.iter().map(|f| (f.n, f.wanted.clone())).collect();
        link.send(&Frame::Wants(wants(&list))).await?;
        ui.progress(self.report.present(), self.report.bytes);
        let mut incoming = Incoming::new(&list);
        loop {
            match Event::next(link).await? {
                Event::Data {
                    file,
                    group,
                    buf,
                    start,
                } => {
                    let placed = incoming
                        .on_data(file, group)
                        .map_err(|e| Error::protocol(e.to_string()))?;
                    begin_up_to(&mut files, file, writer).await?;
                    self.report.transferred += (buf.len() - start) as u64;
                    writer.send(Job::Group { group, buf, start }).await?;
                    if placed.last_of_file {
                        writer.send(Job::End).await?;
                    }
                    ui.progress(self.report.present(), self.report.bytes);
                }
                Event::Checkpoint(seq) => link.send(&Frame::Ack(seq)).await?,
                Event::BatchEnd => break,
            }
        }
        incoming
            .finish()
            .map_err(|e| Error::protocol(e.to_string()))?;
        begin_up_to(&mut files, u32::MAX, writer).await?;
        writer.send(Job::Flush).await?;
        Ok(next + files.len() as u32)
    }

    async fn read_trees(&self, link: &mut Link, next: u32) -> Result<Vec<Tree>> {
        let proto = |e: ferry_proto::native::ProtocolError| Error::protocol(e.to_string());
        let mut batch = match link.recv().await? {
            Frame::Batch { first, count } => {
                BatchReceiver::start(self.manifest, next, first, count).map_err(proto)?
            }
            other => return Err(unexpected(&other, "waiting for BATCH")),
        };
        while !batch.is_complete() {
            match link.recv().await? {
                Frame::Tree {
                    file,
                    root,
                    total,
                    start,
                    cvs,
                } => batch
                    .on_tree(file, root, total, start, cvs)
                    .map_err(proto)?,
                other => return Err(unexpected(&other, "reading TREE frames")),
            }
        }
        Ok(batch.finish())
    }

    /// Decides per file what to ask for (hashing existing files and partials).
    async fn plan(&mut self, next: u32, trees: Vec<Tree>) -> Result<Vec<Planned>> {
        let work: Vec<(u32, PathBuf, landing::Existing, Tree)> = trees
            .into_iter()
            .enumerate()
            .map(|(i, tree)| {
                let n = next + i as u32;
                let (target, existing) = self.targets.file(n);
                (n, target.to_owned(), existing, tree)
            })
            .collect();
        let plans = tokio::task::spawn_blocking(move || {
            work.into_iter()
                .map(|(n, target, existing, tree)| {
                    Ok((n, plan_file(&target, existing, &tree)?, target, tree))
                })
                .collect::<Result<Vec<_>>>()
        })
        .await
        .map_err(join_error)??;
        Ok(plans
            .into_iter()
            .map(|(n, plan, target, tree)| self.planned(n, plan, target, tree))
            .collect())
    }

    fn planned(&mut self, n: u32, plan: FilePlan, target: PathBuf, tree: Tree) -> Planned {
        let wanted = wanted(&plan, &tree);
        let job = match plan {
            FilePlan::AlreadyThere => {
                self.report.already_present += tree.layout().size();
                None
            }
            FilePlan::Receive { state, resumed } => {
                self.report.resumed += resumed;
                let entry = self.manifest.file(n);
                let (mode, mtime) = entry.map(|e| (e.mode, e.mtime)).unwrap_or_default();
                let name = entry
                    .map(|e| e.path.as_str().to_owned())
                    .unwrap_or_default();
                Some(FileJob {
                    target,
                    name,
                    tree,
                    state,
                    mode,
                    mtime,
                })
            }
        };
        Planned {
            n,
            job,
            wanted,
            begun: false,
        }
    }
}

/// Starts every file up to `file` that has not started; files before it get no
/// more data, so they end at once (empty files, files completed by a resume).
async fn begin_up_to(files: &mut [Planned], file: u32, writer: &mut Writer) -> Result<()> {
    for planned in files.iter_mut().filter(|p| !p.begun && p.n <= file) {
        planned.begun = true;
        let Some(job) = planned.job.take() else {
            continue;
        };
        writer.send(Job::Begin(Box::new(job))).await?;
        if planned.n < file || planned.wanted.is_empty() {
            writer.send(Job::End).await?;
        }
    }
    Ok(())
}

/// A frame of the data phase, owned, so the link is free to answer.
enum Event {
    Data {
        file: u32,
        group: u32,
        buf: Vec<u8>,
        start: usize,
    },
    Checkpoint(u64),
    BatchEnd,
}

impl Event {
    async fn next(link: &mut Link) -> Result<Event> {
        let (file, group, len) = match link.recv().await? {
            Frame::Data { file, group, bytes } => (file, group, bytes.len()),
            Frame::Checkpoint(seq) => return Ok(Event::Checkpoint(seq)),
            Frame::BatchEnd => return Ok(Event::BatchEnd),
            other => return Err(unexpected(&other, "receiving data")),
        };
        let (buf, start) = link.take_payload(len);
        Ok(Event::Data {
            file,
            group,
            buf,
            start,
        })
    }
}
