//! The v1 sender's driver: `V1Sender` (ferry-proto) owns the message order —
//! hints and offer through the mailbox, the receiver's answer, its ack. This
//! driver does the I/O: the mailbox, the transit connection, the file (or the
//! directory's zip, made on the fly) and the user.

use std::fs::File;
use std::io::Read;

use ferry_proto::native::negotiate;
use ferry_proto::transfer::v1::{DirectoryOffer, Offer, V1Event, V1Sender};
use ferry_proto::transit::hints::TransitMessage;
use ferry_proto::transit::Role;

use crate::error::{Error, NetworkError, Result};
use crate::rendezvous::Wormhole;
use crate::transfer::{Item, Selection};
use crate::transit::{TransitConfig, TransitPrep, PEER_RECORD_SIZE, RECORD_SIZE};
use crate::ui::{Digest, Ui};

use super::archive::DirPlan;
use super::messages::{next_message, v1_error};

/// What goes over transit.
enum Bulk {
    File(Item, u64),
    Zip(DirPlan),
}

/// Sends a text message and waits for its ack.
pub(crate) async fn send_text(wormhole: &mut Wormhole, text: &str) -> Result<()> {
    // Text needs no transit: the machine sends no hints for it.
    let mut machine = V1Sender::new(Offer::Message(text.to_owned()), no_hints());
    match next_event(wormhole, &mut machine).await? {
        V1Event::Done => Ok(()),
        _ => Err(Error::internal("the v1 sender asked for transit for text")),
    }
}

/// Sends a file or a directory.
pub(crate) async fn send(
    wormhole: &mut Wormhole,
    transit: &TransitConfig,
    selection: &Selection,
    ui: &mut dyn Ui,
) -> Result<()> {
    let bulk = match selection {
        Selection::File(item) => Bulk::File(item.clone(), file_size(item)),
        Selection::Directory(dir) => Bulk::Zip(DirPlan::new(dir)),
        Selection::Text(_) => return Err(Error::internal("text offered as a file")),
    };
    let prep = TransitPrep::new(transit).await?;
    let mut machine = V1Sender::new(bulk.offer(), prep.message().clone());
    let V1Event::Connect { peer, .. } = next_event(wormhole, &mut machine).await? else {
        return Err(Error::internal("the v1 sender skipped the transit"));
    };
    let key = wormhole
        .key()
        .ok_or(Error::SERVER_LOST)?
        .transit_key(wormhole.appid());
    let mut stream = prep.connect(Role::Sender, &key, &peer).await?;
    ui.transit(stream.description());
    let (source, size) = bulk.open()?;
    // Written is not received: the bar stops short of the end until the ack.
    let mut progress = |done: u64| ui.progress(done.min(size.saturating_sub(1)), size);
    let record = match negotiate::is_ferry(wormhole.peer_app_versions()) {
        true => RECORD_SIZE,
        false => PEER_RECORD_SIZE,
    };
    let digest = stream
        .send_from(source, (size, record), &mut progress)
        .await?;
    machine.data_sent(digest).map_err(v1_error)?;
    if let Selection::File(item) = selection {
        ui.hashed(&item.rel, &Digest::Sha256(digest));
    }
    ui.confirming();
    let mut buf = Vec::new();
    let patience = ack_patience(&transit.timing, size);
    let ack = tokio::time::timeout(patience, stream.read_record(&mut buf));
    let start = ack
        .await
        .map_err(|_| NetworkError::Silent(patience))?
        .map_err(|_| Error::VANISHED)?;
    machine.handle_record(&buf[start..]).map_err(v1_error)?;
    ui.progress(size, size);
    Ok(())
}

/// How long the final ack may take. Python's receiver unzips a folder before it
/// acks (Go and Rust ack once the bytes are in and hashed): `transit_idle` plus
/// a second per 10 MB allows even a slow disk to unpack, while a receiver that
/// is gone (v1 has no keep-alive) is still noticed in bounded time.
fn ack_patience(timing: &crate::timing::Timing, size: u64) -> std::time::Duration {
    timing.transit_idle + std::time::Duration::from_secs(size / 10_000_000)
}

/// The driver loop (see `ferry_proto::transfer::v1`) up to the machine's next
/// request: sends its messages, reads the mailbox only when it wants a message.
async fn next_event(wormhole: &mut Wormhole, machine: &mut V1Sender) -> Result<V1Event> {
    loop {
        while let Some(message) = machine.poll_message() {
            wormhole.send(message.encode()).await?;
        }
        if let Some(event) = machine.poll_event() {
            return Ok(event);
        }
        if !machine.wants_message() {
            return Err(Error::internal("the v1 sender stalled"));
        }
        let message = next_message(wormhole).await?;
        machine.handle_message(message).map_err(v1_error)?;
    }
}

/// No transit hints: text needs none.
fn no_hints() -> TransitMessage {
    TransitMessage {
        abilities: Vec::new(),
        hints: Vec::new(),
    }
}

fn file_size(item: &Item) -> u64 {
    match item.kind {
        crate::transfer::ItemKind::File { size } => size,
        crate::transfer::ItemKind::Dir => 0,
    }
}

impl Bulk {
    fn offer(&self) -> Offer {
        match self {
            Bulk::File(item, size) => Offer::File {
                filename: item.rel.clone(),
                filesize: *size,
            },
            Bulk::Zip(plan) => Offer::Directory(DirectoryOffer {
                mode: "zipfile/deflated".into(),
                dirname: plan.dirname().to_owned(),
                zipsize: plan.zip_size(),
                numbytes: plan.num_bytes(),
                numfiles: plan.num_files(),
            }),
        }
    }

    fn open(self) -> Result<(Box<dyn Read + Send>, u64)> {
        match self {
            Bulk::File(item, size) => {
                let path = &item.source;
                let file = File::open(path)
                    .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
                Ok((Box::new(file), size))
            }
            Bulk::Zip(plan) => {
                let size = plan.zip_size();
                Ok((zip_stream(plan)?, size))
            }
        }
    }
}

/// The directory's zip, produced on the fly by a thread writing into a pipe.
fn zip_stream(plan: DirPlan) -> Result<Box<dyn Read + Send>> {
    let (reader, mut writer) = std::io::pipe().map_err(|e| Error::io("creating a pipe", e))?;
    std::thread::spawn(move || {
        // A write error here means the reader went away; the sender reports that.
        let _ = plan.write_zip(&mut writer, &mut |_| {});
    });
    Ok(Box::new(reader))
}
