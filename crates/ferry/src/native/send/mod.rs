//! The native sender: manifest, then batch by batch: hash, `TREE`s, the receiver's
//! `WANTS`, and exactly the wanted groups, with checkpoints so that a receiver's
//! error reaches us while we are still writing.

use std::fs::File;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use ferry_proto::native::manifest::Manifest;
use ferry_proto::native::ranges::GroupSet;
use ferry_proto::native::record::{Aead, PREFIX_LEN, TAG_LEN};
use ferry_proto::native::sender::{check_wants, tree_frames, Window};
use ferry_proto::native::tree::Tree;
use ferry_proto::native::wire::{data_header, Frame, DATA_HEADER_LEN, MAX_ENTRIES_PER_FRAME};
use ferry_proto::transfer::v1::TRANSFER_REJECTED;
use ferry_proto::transit::Role;

use crate::error::{join_error, Error, PeerError, Result};
use crate::rendezvous::Wormhole;
use crate::transfer::Selection;
use crate::transit::TransitConfig;
use crate::ui::Ui;

use super::connect::{connect, peer_hints, send_hints};
use super::hash::read_at;
use super::link::{unexpected, Link};
use super::queue_depth;

use ahead::Hashes;
use source::Source;

mod ahead;
mod source;

/// Bytes around a group in its record buffer: length prefix and `DATA` header in
/// front, the tag behind.
const FRAMING: usize = PREFIX_LEN + DATA_HEADER_LEN + TAG_LEN;

/// Sends a walked file or directory to a ferry receiver.
pub(crate) async fn send(
    wormhole: &mut Wormhole,
    transit: &TransitConfig,
    selection: Selection,
    aead: Aead,
    ui: &mut dyn Ui,
) -> Result<()> {
    let prep = send_hints(wormhole, transit).await?;
    // The manifest, then hashing, go on while the connection is made.
    let scanning = tokio::task::spawn_blocking(move || {
        let source = Arc::new(Source::new(selection)?);
        let hashes = Hashes::start(Arc::clone(&source))?;
        Ok::<_, Error>((source, hashes))
    });
    let peer = peer_hints(wormhole).await?;
    let mut link = connect(wormhole, prep, (Role::Sender, aead), &peer, ui).await?;
    let result = match scanning.await.map_err(join_error) {
        Ok(Ok((source, mut hashes))) => run(&mut link, &source, &mut hashes, ui).await,
        Ok(Err(e)) | Err(e) => Err(e),
    };
    if let Err(e) = &result {
        link.fail(e).await;
    }
    result
}

async fn run(link: &mut Link, source: &Source, hashes: &mut Hashes, ui: &mut dyn Ui) -> Result<()> {
    send_manifest(link, &source.manifest).await?;
    match link.recv().await? {
        Frame::Accept => {}
        Frame::Reject(why) if why == TRANSFER_REJECTED => return Err(Error::Declined),
        Frame::Reject(why) => return Err(PeerError::Reported(why).into()),
        other => return Err(unexpected(&other, "waiting for ACCEPT")),
    }
    let mut progress = Progress {
        done: 0,
        total: source.manifest.bytes(),
    };
    while let Some((batch, trees)) = hashes.next().await? {
        send_batch(link, source, (batch, trees), &mut progress, ui).await?;
    }
    match link.recv().await? {
        Frame::Done(totals) if totals == source.manifest.totals() => Ok(()),
        Frame::Done(_) => Err(Error::protocol("DONE with other totals".into())),
        other => Err(unexpected(&other, "waiting for DONE")),
    }
}

async fn send_manifest(link: &mut Link, manifest: &Manifest) -> Result<()> {
    for entries in manifest.entries().chunks(MAX_ENTRIES_PER_FRAME) {
        link.send(&Frame::Entries(entries.to_vec())).await?;
    }
    link.send(&Frame::ManifestEnd(manifest.totals())).await
}

struct Progress {
    done: u64,
    total: u64,
}

async fn send_batch(
    link: &mut Link,
    source: &Source,
    (batch, trees): (Range<u32>, Vec<Tree>),
    progress: &mut Progress,
    ui: &mut dyn Ui,
) -> Result<()> {
    let count = batch.len() as u32;
    link.send(&Frame::Batch {
        first: batch.start,
        count,
    })
    .await?;
    for (n, tree) in batch.clone().zip(&trees) {
        for frame in tree_frames(n, tree) {
            link.send(&frame).await?;
        }
    }
    let wants = match link.recv().await? {
        Frame::Wants(wants) => wants,
        other => return Err(unexpected(&other, "waiting for WANTS")),
    };
    let wanted = check_wants(batch, &trees, wants).map_err(|e| Error::protocol(e.to_string()))?;
    let wanted_bytes: u64 = wanted
        .iter()
        .zip(&trees)
        .map(|((_, set), t)| set_bytes(t, set))
        .sum();
    let batch_bytes: u64 = trees.iter().map(|t| t.layout().size()).sum();
    progress.done += batch_bytes - wanted_bytes;
    ui.progress(progress.done, progress.total);
    stream_groups(link, source, trees, wanted, progress, ui).await
}

fn set_bytes(tree: &Tree, set: &GroupSet) -> u64 {
    set.iter()
        .map(|g| tree.layout().group_span(g.into()).1)
        .sum()
}

/// Streams the wanted groups: a blocking thread reads them into record buffers,
/// which come back for reuse once sent.
async fn stream_groups(
    link: &mut Link,
    source: &Source,
    trees: Vec<Tree>,
    wanted: Vec<(u32, GroupSet)>,
    progress: &mut Progress,
    ui: &mut dyn Ui,
) -> Result<()> {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(queue_depth(&source.manifest));
    let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
    let paths: Vec<PathBuf> = wanted
        .iter()
        .map(|(n, _)| source.paths[*n as usize].clone())
        .collect();
    let reader =
        tokio::task::spawn_blocking(move || read_groups(&paths, &trees, &wanted, &tx, &spare));
    let mut window = Window::new();
    while let Some(mut frame) = rx.recv().await {
        let len = (frame.len() - FRAMING) as u64;
        link.send_in_place(&mut frame).await?;
        let _ = back.send(frame);
        progress.done += len;
        ui.progress(progress.done, progress.total);
        if let Some(seq) = window.on_data(len) {
            link.send(&Frame::Checkpoint(seq)).await?;
        }
        while window.must_wait() {
            await_ack(link, &mut window).await?;
        }
    }
    reader.await.map_err(join_error)??;
    link.send(&Frame::BatchEnd).await?;
    while !window.all_acked() {
        await_ack(link, &mut window).await?;
    }
    Ok(())
}

async fn await_ack(link: &mut Link, window: &mut Window) -> Result<()> {
    match link.recv().await? {
        Frame::Ack(seq) => window
            .on_ack(seq)
            .map_err(|e| Error::protocol(e.to_string())),
        other => Err(unexpected(&other, "waiting for ACK")),
    }
}

/// The blocking half: reads each wanted group, in order, into a buffer laid out
/// for sealing in place (see [`FRAMING`]).
fn read_groups(
    paths: &[PathBuf],
    trees: &[Tree],
    wanted: &[(u32, GroupSet)],
    tx: &mpsc::Sender<Vec<u8>>,
    spare: &std::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<()> {
    for ((path, tree), (n, set)) in paths.iter().zip(trees).zip(wanted) {
        if set.is_empty() {
            continue;
        }
        let file =
            File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        for g in set.iter() {
            let (start, len) = tree.layout().group_span(g.into());
            let mut frame = spare.try_recv().unwrap_or_default();
            // Same-sized buffers are reused as they are: no zeroing per record.
            frame.resize(FRAMING + len as usize, 0);
            let data_at = PREFIX_LEN + DATA_HEADER_LEN;
            frame[PREFIX_LEN..data_at].copy_from_slice(&data_header(*n, g));
            let data_end = frame.len() - TAG_LEN;
            read_at(&file, start, &mut frame[data_at..data_end])
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            if tx.blocking_send(frame).is_err() {
                return Ok(()); // the socket side stopped and reports why
            }
        }
    }
    Ok(())
}
