//! The native receiver's driver: `NativeReceiver` (ferry-proto) owns the frame
//! order — manifest, `ACCEPT`/`REJECT`, batch by batch trees, `WANTS`, data with
//! an `ACK` per checkpoint, `DONE`. This driver does the I/O: the landing checks
//! every protocol shares (plus resume and skipping identical files), the user,
//! and the threads that verify and write.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ferry_proto::native::machine::{NativeReceiver, RecvEvent};
use ferry_proto::native::manifest::{Entry, EntryKind, Manifest};
use ferry_proto::native::ranges::GroupSet;
use ferry_proto::transit::Role;

use crate::error::{join_error, Error, Result};
use crate::rendezvous::Wormhole;
use crate::transfer::landing::{self, resume_paths, CreatedDirs, Targets};
use crate::transfer::{OfferSummary, Report};
use crate::transit::TransitConfig;
use crate::ui::Ui;

use super::connect::{decode, send_hints};
use super::current::CurrentFile;
use super::link::{native_error, peer_text, Link};
use super::reconnect::{Healed, Healing};
use super::{queue_depth, Agreed};

use batch::BatchState;
use writer::Writer;

pub(crate) use keep::Keeping;

mod batch;
mod keep;
mod plan;
mod saver;
mod writer;

/// Receives from a ferry sender into `output_dir`; `first` is the sender's
/// first mailbox message, its transit hints. A broken connection is made again
/// (`reconnect`); the sender then offers the same manifest, accepted without
/// asking again, and only what the resume states do not hold moves. Once the
/// user accepts, `keeping` stores the session for a new process to continue.
pub(crate) async fn receive(
    wormhole: &mut Wormhole,
    first: &[u8],
    (transit, output_dir): (&TransitConfig, &Path),
    (agreed, keeping): (Agreed, &mut Keeping),
    ui: &mut dyn Ui,
) -> Result<Report> {
    let peer = decode(first)?;
    let prep = send_hints(wormhole, (transit, agreed)).await?;
    keeping.prepare(wormhole, (agreed, transit), output_dir);
    let mut healing = Healing::new(wormhole, (Role::Receiver, agreed), transit)?;
    let link = healing.first((prep, &peer), wormhole, transit, ui).await?;
    let to = (transit, output_dir);
    let late_roots = agreed.features.late_roots;
    heal_until_done((link, healing, late_roots), wormhole, to, keeping, ui).await
}

/// Continues a receive an earlier process stored (`keeping` holds it), which
/// had reached connection `attempt`: the next one is made through the
/// rejoined mailbox, the sender offers its manifest again, and the transfer
/// goes on from what the resume states hold.
pub(crate) async fn receive_resumed(
    wormhole: &mut Wormhole,
    (transit, output_dir): (&TransitConfig, &Path),
    (agreed, attempt): (Agreed, u32),
    keeping: &mut Keeping,
    ui: &mut dyn Ui,
) -> Result<Report> {
    let mut healing = Healing::resumed(wormhole, (Role::Receiver, agreed), transit, attempt)?;
    let link = healing.rejoin(wormhole, transit, ui).await?;
    keeping.relinked(wormhole, healing.attempt(), ui);
    let to = (transit, output_dir);
    let late_roots = agreed.features.late_roots;
    heal_until_done((link, healing, late_roots), wormhole, to, keeping, ui).await
}

/// The conversation, run again on a new link after each break that heals.
async fn heal_until_done(
    (mut link, mut healing, late_roots): (Link, Healing, bool),
    wormhole: &mut Wormhole,
    (transit, output_dir): (&TransitConfig, &Path),
    keeping: &mut Keeping,
    ui: &mut dyn Ui,
) -> Result<Report> {
    let mut across = Across {
        keeping: Some(keeping),
        late_roots,
        ..Across::default()
    };
    loop {
        let result = run(&mut link, Some(&mut *wormhole), output_dir, &mut across, ui).await;
        match result {
            Ok(report) => {
                link.close().await;
                if let Some(manifest) = &across.manifest {
                    healing.tell_done(wormhole, manifest.totals()).await;
                }
                return Ok(report);
            }
            Err(e) => match healing.recover(link, e, wormhole, transit, ui).await? {
                Healed::Link(new) => link = *new,
                // Only a sender accepts a `native-done`.
                Healed::PeerFinished => return Err(Error::internal("a receiver told it was done")),
            },
        }
        if let Some(k) = across.keeping.as_deref_mut() {
            k.relinked(wormhole, healing.attempt(), ui);
        }
    }
}

/// Receives over a link made elsewhere (LocalSend between two ferry, `lan`).
pub(crate) async fn receive_over(
    mut link: Link,
    output_dir: &Path,
    ui: &mut dyn Ui,
) -> Result<Report> {
    let result = run(&mut link, None, output_dir, &mut Across::default(), ui).await;
    if let Err(e) = &result {
        link.fail(e).await;
    }
    result
}

/// What one connection's conversation leaves to the next after a reconnect.
#[derive(Default)]
struct Across<'k> {
    /// The manifest the user accepted: a later offer must be the same.
    manifest: Option<Manifest>,
    /// The directories created for it, finished once at the end.
    dirs: Option<CreatedDirs>,
    /// File bytes the earlier connections moved.
    moved: u64,
    /// The stored session, when another process may continue this receive.
    keeping: Option<&'k mut Keeping>,
    /// The files planned on earlier connections (`Seen::Known`).
    planned: HashSet<u32>,
    /// Both sides listed `late-roots`: name the fresh files, which then stream.
    late_roots: bool,
}

/// While the user decides, a sender that cancels says so in the `wormhole`
/// if there is one, else on the link (which carries nothing until the answer).
async fn run(
    link: &mut Link,
    wormhole: Option<&mut Wormhole>,
    output_dir: &Path,
    across: &mut Across<'_>,
    ui: &mut dyn Ui,
) -> Result<Report> {
    let mut machine = NativeReceiver::new();
    let RecvEvent::Offer = next_event(link, &mut machine).await? else {
        return Err(Error::internal("the native receiver skipped the offer"));
    };
    let manifest = machine
        .manifest()
        .cloned()
        .ok_or_else(|| Error::internal("an offer without a manifest"))?;
    let before = across
        .keeping
        .as_deref()
        .and_then(|k| k.accepted_before(&manifest));
    let prepared = match (&across.manifest, before) {
        (Some(accepted), _) if *accepted == manifest => recheck(&manifest, output_dir).await,
        (Some(_), _) => Err(Error::protocol("another offer after reconnecting".into())),
        (None, Some(true)) => recheck(&manifest, output_dir).await,
        (None, Some(false)) => Err(Error::protocol(
            "an offer other than the interrupted transfer's".into(),
        )),
        (None, None) => {
            let peer_left = async {
                match wormhole {
                    Some(wormhole) => wormhole.peer_left().await,
                    None => link.peer_left().await,
                }
            };
            prepare(&manifest, output_dir, ui, peer_left).await
        }
    };
    let (targets, dirs) = match prepared {
        Ok(ready) => ready,
        Err(e) => {
            machine.reject(peer_text(&e)).map_err(native_error)?;
            let _ = flush(link, &mut machine).await;
            return Err(e);
        }
    };
    if across.manifest.replace(manifest.clone()).is_none() {
        if let Some(k) = across.keeping.as_deref_mut() {
            k.accepted(&manifest, output_dir, ui);
        }
    }
    match &mut across.dirs {
        Some(created) => created.extend(dirs),
        None => across.dirs = Some(dirs),
    }
    match across.late_roots {
        true => machine.accept_fresh(fresh_files(&manifest, &targets).await?),
        false => machine.accept(),
    }
    .map_err(native_error)?;
    flush(link, &mut machine).await?;
    let mut writer = Writer::spawn(queue_depth(&manifest), link.recycler());
    let mut batch = BatchState {
        report: report(&manifest, &targets),
        manifest: &manifest,
        targets: &targets,
        files: Vec::new(),
        current: CurrentFile::default(),
        keeping: across.keeping.as_deref_mut(),
        known: &mut across.planned,
        streaming: false,
    };
    let received = batch
        .receive_all((link, &mut machine), &mut writer, ui)
        .await;
    // Even after an error, let the writer save what is verified.
    let written = writer.finish().await;
    if received.is_err() || written.is_err() {
        across.moved += batch.report.transferred;
    }
    received?;
    written?;
    let dirs = across.dirs.take();
    tokio::task::spawn_blocking(move || dirs.map_or(Ok(()), CreatedDirs::finish))
        .await
        .map_err(join_error)??;
    machine.finished().map_err(native_error)?;
    flush(link, &mut machine).await?;
    carry(&mut batch.report, across.moved);
    let r = &batch.report;
    tracing::info!(
        transferred = r.transferred,
        resumed = r.resumed,
        already_present = r.already_present,
        "native receive complete"
    );
    Ok(batch.report)
}

/// The driver loop (see `ferry_proto::native::machine`) up to the machine's next
/// request: sends what it yields, reads only when it wants a frame.
async fn next_event(link: &mut Link, machine: &mut NativeReceiver) -> Result<RecvEvent> {
    loop {
        flush(link, machine).await?;
        if let Some(event) = machine.poll_event() {
            return Ok(event);
        }
        if !machine.wants_read() {
            return Err(Error::internal("the native receiver stalled"));
        }
        let frame = link.recv().await?;
        machine.handle(frame).map_err(native_error)?;
    }
}

/// Sends every frame the machine has queued.
async fn flush(link: &mut Link, machine: &mut NativeReceiver) -> Result<()> {
    while let Some(frame) = machine.poll_transmit() {
        link.send(&frame).await?;
    }
    Ok(())
}

/// Checks the targets and free space, asks the user, creates the directories.
async fn prepare(
    manifest: &Manifest,
    output_dir: &Path,
    ui: &mut dyn Ui,
    peer_left: impl std::future::Future<Output = Error>,
) -> Result<(Targets, CreatedDirs)> {
    let (m, out) = (manifest.clone(), output_dir.to_owned());
    let targets = tokio::task::spawn_blocking(move || landing::check(&m, &out))
        .await
        .map_err(join_error)??;
    // Resume is announced only once the file's tree proved the saved data is
    // of this very file (`BatchState::plan`): here only its size is known.
    crate::ui::ask(ui, &summary(manifest), peer_left).await?;
    let (m, out) = (manifest.clone(), output_dir.to_owned());
    tokio::task::spawn_blocking(move || {
        let dirs = landing::create_dirs(&m, &targets, &out)?;
        Ok::<_, Error>((targets, dirs))
    })
    .await
    .map_err(join_error)?
}

/// The files this side holds nothing of: no target, no resume state beside
/// it. They may stream before their roots (`late-roots`); any other file's
/// tree comes first, to check what is there.
async fn fresh_files(manifest: &Manifest, targets: &Targets) -> Result<GroupSet> {
    let count = manifest.file_count();
    let candidates: Vec<(u32, PathBuf)> = (0..count)
        .filter_map(|n| match targets.file(n) {
            (path, landing::Existing::Nothing) => Some((n, resume_paths(path).state)),
            _ => None,
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut fresh = GroupSet::empty(count);
        for (n, state) in candidates {
            if std::fs::symlink_metadata(&state).is_err() {
                fresh.insert(n);
            }
        }
        fresh
    })
    .await
    .map_err(join_error)
}

/// The same manifest again, after a reconnect: the targets checked anew (files
/// completed meanwhile are now there), nothing asked.
async fn recheck(manifest: &Manifest, output_dir: &Path) -> Result<(Targets, CreatedDirs)> {
    let (m, out) = (manifest.clone(), output_dir.to_owned());
    tokio::task::spawn_blocking(move || {
        let targets = landing::check(&m, &out)?;
        let dirs = landing::create_dirs(&m, &targets, &out)?;
        Ok::<_, Error>((targets, dirs))
    })
    .await
    .map_err(join_error)?
}

/// The last connection's report with what the earlier ones moved: that data
/// counted as resumed or present on the last one, and crossed the network.
fn carry(report: &mut Report, moved: u64) {
    report.transferred += moved;
    let from_resumed = moved.min(report.resumed);
    report.resumed -= from_resumed;
    let rest = (moved - from_resumed).min(report.already_present);
    report.already_present -= rest;
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
