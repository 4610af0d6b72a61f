//! The v1 receiver's driver: `V1Receiver` (ferry-proto) owns the message order
//! (hints at most once, the answer, the ack record); this driver does the I/O and
//! the checks. Safety rules, in order: the offered name must be a plain
//! name; nothing may already exist under it; the disk must have room; the user
//! must agree. Data goes to a hidden partial name and is renamed into place,
//! never over anything, only after every byte arrived authenticated and in order.

use std::path::{Path, PathBuf};

use ferry_proto::transfer::path::safe_file_name;
use ferry_proto::transfer::v1::{DirectoryOffer, Offer, V1Event, V1Receiver};
use ferry_proto::transit::hints::TransitMessage;
use ferry_proto::transit::Role;

use crate::error::{join_error, Error, Result};
use crate::rendezvous::Wormhole;
use crate::transfer::landing::{create_output_dir, ensure_space, space_dir, Partial};
use crate::transfer::{shown_path, OfferSummary, Received};
use crate::transit::{TransitConfig, TransitPrep, TransitStream};
use crate::ui::{Digest, Ui};

use super::archive::{extract_zip, ExtractError, ExtractLimits};
use super::messages::{next_message, v1_error};

/// Receives whatever a v1 sender offers into `output_dir`.
pub(crate) async fn receive(
    wormhole: &mut Wormhole,
    (transit, output_dir): (&TransitConfig, &Path),
    ui: &mut dyn Ui,
) -> Result<Received> {
    let mut session = Receiving {
        transit,
        output_dir,
        machine: V1Receiver::new(),
        prep: None,
        offer: None,
    };
    session.run(wormhole, ui).await
}

struct Receiving<'a> {
    transit: &'a TransitConfig,
    output_dir: &'a Path,
    machine: V1Receiver,
    prep: Option<TransitPrep>,
    /// The accepted offer and where it lands.
    offer: Option<(Offer, PathBuf)>,
}

impl Receiving<'_> {
    /// Answers the machine's requests. A refusal is not the machine's to send:
    /// the caller tells the sender about every error (`refuse`).
    async fn run(&mut self, wormhole: &mut Wormhole, ui: &mut dyn Ui) -> Result<Received> {
        loop {
            match self.next_event(wormhole).await? {
                V1Event::PrepareTransit => {
                    let prep = TransitPrep::new(self.transit).await?;
                    let ours = prep.message().clone();
                    self.prep = Some(prep);
                    self.machine.transit_ready(ours).map_err(v1_error)?;
                }
                V1Event::Text(text) => return Ok(Received::Text(text)),
                V1Event::Offer(offer) => {
                    let target = self.check_offer(&offer)?;
                    crate::ui::ask(ui, &summary(&offer), wormhole.peer_left()).await?;
                    create_output_dir(self.output_dir)?;
                    self.offer = Some((offer, target));
                    self.machine.accept().map_err(v1_error)?;
                }
                V1Event::Connect { peer, .. } => return self.on_connect(wormhole, &peer, ui).await,
                _ => return Err(Error::internal("the v1 receiver ended early")),
            }
        }
    }

    /// The driver loop (see `ferry_proto::transfer::v1`) up to the machine's next
    /// request: sends its messages, reads the mailbox only when it wants one.
    async fn next_event(&mut self, wormhole: &mut Wormhole) -> Result<V1Event> {
        loop {
            while let Some(message) = self.machine.poll_message() {
                wormhole.send(message.encode()).await?;
            }
            if let Some(event) = self.machine.poll_event() {
                return Ok(event);
            }
            if !self.machine.wants_message() {
                return Err(Error::internal("the v1 receiver stalled"));
            }
            let message = next_message(wormhole).await?;
            self.machine.handle_message(message).map_err(v1_error)?;
        }
    }

    /// `file_ack` is out: connect, receive the bytes, ack them, land them.
    async fn on_connect(
        &mut self,
        wormhole: &mut Wormhole,
        peer: &TransitMessage,
        ui: &mut dyn Ui,
    ) -> Result<Received> {
        let (offer, target) = self
            .offer
            .take()
            .ok_or_else(|| Error::internal("a connection without an accepted offer"))?;
        let mut stream = self.connect(wormhole, peer).await?;
        ui.transit(stream.description());
        let mut link = (&mut stream, &mut self.machine);
        match offer {
            Offer::File { filesize, .. } => receive_file(&mut link, &target, filesize, ui).await,
            Offer::Directory(d) => receive_directory(&mut link, &target, &d, ui).await,
            Offer::Message(_) => Err(Error::internal("a text offer reached the file path")),
        }
    }

    /// The final path of an offer, after the name, existence and space checks.
    fn check_offer(&self, offer: &Offer) -> Result<PathBuf> {
        let (name, need) = match offer {
            Offer::File { filename, filesize } => (filename, *filesize),
            Offer::Directory(d) => (&d.dirname, d.zipsize.saturating_add(d.numbytes)),
            Offer::Message(_) => return Err(Error::internal("a text offer reached the file path")),
        };
        let name = safe_file_name(name).map_err(Error::unsafe_name)?;
        let dir = self.output_dir;
        let target = dir.join(&name);
        if target.symlink_metadata().is_ok() {
            return Err(Error::exists(target));
        }
        ensure_space(&space_dir(dir), need)?;
        Ok(target)
    }

    async fn connect(
        &mut self,
        wormhole: &mut Wormhole,
        peer: &TransitMessage,
    ) -> Result<TransitStream> {
        let prep = self
            .prep
            .take()
            .ok_or_else(|| Error::internal("no transit prepared"))?;
        let key = wormhole
            .key()
            .ok_or(Error::SERVER_LOST)?
            .transit_key(wormhole.appid());
        // A sender that gives up now says so in the mailbox, and would
        // otherwise leave us waiting for a connection that never comes.
        tokio::select! {
            stream = prep.connect(Role::Receiver, &key, peer) => stream,
            gave_up = super::messages::peer_gave_up(wormhole) => Err(gave_up),
        }
    }
}

/// The offer as the person receiving decides on it.
fn summary(offer: &Offer) -> OfferSummary {
    match offer {
        Offer::Directory(d) => {
            OfferSummary::directory(&d.dirname, d.numfiles, d.numbytes, d.zipsize)
        }
        Offer::File { filename, filesize } => OfferSummary::file(filename, *filesize),
        Offer::Message(text) => OfferSummary::file("", text.len() as u64),
    }
}

/// The transit connection and the machine that says what goes back on it.
type Link<'a> = (&'a mut TransitStream, &'a mut V1Receiver);

async fn receive_file(
    (stream, machine): &mut Link<'_>,
    target: &Path,
    size: u64,
    ui: &mut dyn Ui,
) -> Result<Received> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = file_name(target);
    let (partial, file) =
        Partial::file(dir, &name).map_err(|e| Error::io("creating the partial file", e))?;
    let digest = receive_bytes(stream, file, size, ui).await?;
    send_ack(stream, machine, digest).await?;
    ui.hashed(&name, &Digest::Sha256(digest));
    partial
        .persist(target)
        .map_err(|e| persist_error(e, target))?;
    Ok(Received::File {
        path: target.to_owned(),
        bytes: size,
    })
}

async fn receive_directory(
    (stream, machine): &mut Link<'_>,
    target: &Path,
    offer: &DirectoryOffer,
    ui: &mut dyn Ui,
) -> Result<Received> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = file_name(target);
    let (zip, file) = Partial::file(dir, &format!("{name}.zip"))
        .map_err(|e| Error::io("creating the partial zip", e))?;
    let digest = receive_bytes(stream, file, offer.zipsize, ui).await?;
    send_ack(stream, machine, digest).await?;
    let out =
        Partial::dir(dir, &name).map_err(|e| Error::io("creating the partial directory", e))?;
    let limits = ExtractLimits::new(offer.numfiles, offer.numbytes);
    let (zip_path, out_path) = (zip.path().to_owned(), out.path().to_owned());
    let partial = (out_path.clone(), target);
    let report = tokio::task::spawn_blocking(move || extract_zip(&zip_path, &out_path, &limits))
        .await
        .map_err(join_error)?
        .map_err(|e| extract_error(e, partial))?;
    drop(zip);
    out.persist(target).map_err(|e| persist_error(e, target))?;
    Ok(Received::Directory {
        path: target.to_owned(),
        files: report.files,
        bytes: report.bytes,
    })
}

async fn receive_bytes(
    stream: &mut TransitStream,
    file: std::fs::File,
    size: u64,
    ui: &mut dyn Ui,
) -> Result<[u8; 32]> {
    let sink = Box::new(SyncOnFlush(file));
    let mut progress = |done| ui.progress(done, size);
    stream.receive_into(sink, size, &mut progress).await
}

/// Tells the machine what arrived and sends the ack record it makes of that.
async fn send_ack(
    stream: &mut TransitStream,
    machine: &mut V1Receiver,
    digest: [u8; 32],
) -> Result<()> {
    machine.data_received(digest).map_err(v1_error)?;
    while let Some(record) = machine.poll_record() {
        stream.write_record(&record).await?;
    }
    Ok(())
}

fn file_name(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A bad archive is the sender's fault; a failing disk is ours, said with the
/// user's path (`target/…`), not the hidden partial directory's.
fn extract_error(e: ExtractError, (partial, target): (PathBuf, &Path)) -> Error {
    match e {
        ExtractError::Io { path, source } => {
            let user = match path.strip_prefix(&partial) {
                Ok(rel) => target.join(rel),
                Err(_) => target.to_owned(), // the received zip itself
            };
            Error::io(format!("unpacking {}", shown_path(&user)), source)
        }
        e if e.is_peer_fault() => Error::protocol(format!("bad directory archive: {e}")),
        e => Error::io("unpacking the received directory", std::io::Error::other(e)),
    }
}

fn persist_error(e: std::io::Error, target: &Path) -> Error {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        Error::exists(target.to_owned())
    } else {
        Error::io(
            format!("moving the received data to {}", target.display()),
            e,
        )
    }
}

/// Flushing syncs to disk, so data is durable before the rename. There is no
/// buffer: the pipeline hands over whole batches of records, written with one
/// `writev` each.
struct SyncOnFlush(std::fs::File);

impl std::io::Write for SyncOnFlush {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_error_while_unpacking_names_the_users_path() {
        let partial = PathBuf::from("/in/.photos.ferry-partial-0123abcd");
        let e = ExtractError::Io {
            path: partial.join("2024/a.jpg"),
            source: std::io::Error::from_raw_os_error(28),
        };
        let said = extract_error(e, (partial, Path::new("/in/photos"))).to_string();
        assert!(said.contains("/in/photos/2024/a.jpg"), "{said}");
        assert!(!said.contains("ferry-partial"), "{said}");
        assert_eq!(said.matches("No space left").count(), 1, "{said}");
    }
}
