//! Native frames over a transit connection: one frame per record, sealed with the
//! negotiated AEAD (`ferry_proto::native::record`), and a machine's verdict (the
//! peer's `ERROR` among them) turned into our error.
//!
//! Liveness (when both sides list the `keepalive` feature): a task writes a
//! `KEEPALIVE` frame whenever nothing was written for `Timing::keepalive`, whatever
//! the driver is busy with (hashing, planning against disk, the user's answer), and
//! every read that brings nothing for `Timing::transit_idle`, or write that moves
//! nothing while nothing comes back either (`link/inbound.rs`: a peer whose disk
//! stalls still sends keep-alives), ends the transfer with
//! [`NetworkError::Silent`] instead of waiting forever.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::native::machine::NativeError;
use ferry_proto::native::record::{Aead, Opener, Sealer, PREFIX_LEN};
use ferry_proto::native::wire::{self, ErrorCode, Frame};
use ferry_proto::transfer::v1::TRANSFER_REJECTED;
use ferry_proto::transit::Role;

use crate::error::{Error, LocalError, NetworkError, PeerError, Result};
use crate::rendezvous::TRANSFER_CANCELLED;
use crate::timing::Timing;
use crate::transit::TransitStream;

use inbound::Inbound;

pub(crate) use crate::transit::{ReadHalf, WriteHalf};

/// A connection speaking native frames.
pub(crate) struct Link {
    inbound: Inbound,
    /// Shared with the keep-alive task: records never interleave.
    out: Arc<Mutex<Out>>,
    opener: Opener,
    /// The plaintext of the last record read.
    buf: Vec<u8>,
    /// Record buffers handed out by `take_payload` come back here for reuse.
    spare: (Sender<Vec<u8>>, Receiver<Vec<u8>>),
    /// How long a failing side waits to send its last word, and for the peer to pause.
    linger: Duration,
    /// The longest a failing side reads on: a sender stops after a few windows
    /// without acknowledgements, then reads the `ERROR`.
    drain: Duration,
    /// Silence (no byte read, or none written) after which the peer counts as gone.
    idle: Option<Duration>,
    keepalive: Option<JoinHandle<()>>,
    /// `KEEPALIVE` frames read (for the log).
    keepalives: u64,
}

/// The writing half: the socket, its sealer, and when it last carried a record.
struct Out {
    writer: WriteHalf,
    sealer: Sealer,
    /// Reused for sealing small frames.
    frame: Vec<u8>,
    last: Instant,
    idle: Option<Duration>,
}

impl Out {
    async fn send(&mut self, frame: &Frame<'_>, inbound: Option<&mut Inbound>) -> Result<()> {
        self.frame.clear();
        self.sealer.seal_frame(&frame.encode(), &mut self.frame);
        let bytes = std::mem::take(&mut self.frame);
        let written = self.write(&bytes, inbound).await;
        self.frame = bytes;
        written
    }

    /// Writes a whole record; see `inbound::write_all` for when it gives up.
    async fn write(&mut self, bytes: &[u8], inbound: Option<&mut Inbound>) -> Result<()> {
        inbound::write_all(&mut self.writer, bytes, self.idle, inbound)
            .await
            .map_err(gone)?;
        self.last = Instant::now();
        Ok(())
    }
}

/// When to check for keep-alives, given that nothing is owed before `every`.
async fn keep_alive(out: Arc<Mutex<Out>>, every: Duration) {
    let mut due = Instant::now() + every;
    loop {
        tokio::time::sleep_until(due).await;
        // A record being written counts; its writer holds the lock.
        let Ok(mut out) = out.try_lock() else {
            due = Instant::now() + every;
            continue;
        };
        let stale = out.last + every <= Instant::now();
        if stale && out.send(&Frame::KeepAlive, None).await.is_err() {
            return; // the reads will notice
        }
        due = out.last + every;
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(task) = self.keepalive.take() {
            task.abort();
        }
    }
}

impl Link {
    /// Takes over a handshaken connection; records from here on use `aead`.
    pub(super) fn new(
        stream: TransitStream,
        key: &TransitKey,
        aead: Aead,
        role: Role,
        timing: &Timing,
    ) -> Self {
        let (reader, writer) = stream.into_parts();
        Link::over(
            (Box::new(reader), Box::new(writer)),
            key,
            aead,
            role,
            timing,
        )
    }

    /// Native records over any byte stream both sides keyed alike.
    pub(crate) fn over(
        (reader, writer): (ReadHalf, WriteHalf),
        key: &TransitKey,
        aead: Aead,
        role: Role,
        timing: &Timing,
    ) -> Self {
        let out = Out {
            writer,
            sealer: Sealer::new(key, aead, role),
            frame: Vec::new(),
            last: Instant::now(),
            idle: None,
        };
        Link {
            inbound: Inbound::new(reader),
            out: Arc::new(Mutex::new(out)),
            opener: Opener::new(key, aead, role),
            buf: Vec::new(),
            spare: std::sync::mpsc::channel(),
            linger: timing.linger,
            drain: timing.drain,
            idle: None,
            keepalive: None,
            keepalives: 0,
        }
    }

    /// Turns liveness on (both sides listed `keepalive`): a `KEEPALIVE` after
    /// every `timing.keepalive` without a write, and `timing.transit_idle` of
    /// silence either way is an error. Must run inside a tokio runtime.
    pub(super) fn keep_alive(&mut self, timing: &Timing) {
        self.idle = Some(timing.transit_idle);
        if let Ok(mut out) = self.out.try_lock() {
            out.idle = Some(timing.transit_idle);
        }
        let task = keep_alive(Arc::clone(&self.out), timing.keepalive);
        self.keepalive = Some(tokio::spawn(task));
    }

    pub(super) async fn send(&mut self, frame: &Frame<'_>) -> Result<()> {
        let mut out = self.out.lock().await;
        out.send(frame, Some(&mut self.inbound)).await
    }

    /// Seals and sends a frame built in place: `frame` is laid out as
    /// `[PREFIX_LEN][frame bytes][TAG_LEN]` (a `DATA` frame read straight from
    /// the file), so the group is encrypted where it lies.
    pub(super) async fn send_in_place(&mut self, frame: &mut [u8]) -> Result<()> {
        let mut out = self.out.lock().await;
        out.sealer.seal_in_place(frame);
        out.write(frame, Some(&mut self.inbound)).await
    }

    /// Hands over the last record's buffer, whose final `len` bytes are the
    /// payload of the `DATA` frame just received: the group travels on uncopied.
    pub(super) fn take_payload(&mut self, len: usize) -> (Vec<u8>, usize) {
        let buf = std::mem::take(&mut self.buf);
        let start = buf.len().saturating_sub(len);
        (buf, start)
    }

    /// Where to send buffers from `take_payload` once done with them.
    pub(super) fn recycler(&self) -> Sender<Vec<u8>> {
        self.spare.0.clone()
    }

    /// The next frame as it came, `ERROR` included: the machine judges every
    /// frame itself.
    /// A `KEEPALIVE` is read and passed over here.
    pub(super) async fn recv(&mut self) -> Result<Frame<'_>> {
        loop {
            self.read_record().await.map_err(gone)?;
            if self.buf.first() != Some(&KEEPALIVE) {
                break;
            }
            if self.idle.is_none() {
                return Err(Error::protocol("KEEPALIVE without the feature".into()));
            }
            self.keepalives += 1;
        }
        wire::decode(&self.buf).map_err(|e| Error::protocol(format!("undecodable frame: {e}")))
    }

    /// Reads and opens one record into `buf`.
    async fn read_record(&mut self) -> Result<()> {
        let mut prefix = [0u8; PREFIX_LEN];
        self.inbound.read_exact(&mut prefix, self.idle).await?;
        let len = Opener::body_len(prefix).map_err(|e| Error::protocol(e.to_string()))?;
        if self.buf.capacity() == 0 {
            self.buf = self.spare.1.try_recv().unwrap_or_default();
        }
        // A reused buffer of the usual size needs no zeroing.
        self.buf.resize(len, 0);
        self.inbound.read_exact(&mut self.buf, self.idle).await?;
        let n = self
            .opener
            .open_in_place(prefix, &mut self.buf)
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        self.buf.truncate(n);
        Ok(())
    }

    /// Resolves only if the peer sends or closes while it should be waiting
    /// for our answer: its `ERROR` (a cancel) or its leaving, as our error.
    /// Until the first byte it is safe to drop (nothing is consumed).
    pub(super) async fn peer_left(&mut self) -> Error {
        match self.inbound.has_more(self.idle).await {
            Ok(false) => return Error::VANISHED,
            Err(e) => return gone(e),
            Ok(true) => {}
        }
        match self.recv().await {
            Ok(Frame::Error { message, .. }) => Error::from_peer(message),
            Ok(_) => Error::protocol("a frame before our answer to the offer".into()),
            Err(e) => e,
        }
    }

    /// Ends our side in order after our last frame: the transport gets it to
    /// the peer before we go (a QUIC stream waits for the acknowledgement, TCP
    /// hands it to the kernel); best effort, bounded by `linger`.
    pub(super) async fn close(self) {
        let mut out = self.out.lock().await;
        let _ = tokio::time::timeout(self.linger, out.writer.shutdown()).await;
    }

    /// Tells the peer why we stop; best effort, as the connection may be gone.
    /// Then reads (and drops) what the peer still sends for a moment: closing on a
    /// peer busy writing would reset the connection and lose our `ERROR` frame.
    pub(super) async fn fail(&mut self, e: &Error) {
        if matches!(
            e,
            Error::Peer(PeerError::Vanished | PeerError::Reported(_)) | Error::Network(_)
        ) {
            return; // nobody to tell, or the peer told us
        }
        let frame = Frame::Error {
            code: code_for(e),
            message: peer_text(e),
        };
        let (linger, max_drain) = (self.linger, self.drain);
        let _ = tokio::time::timeout(linger, self.send(&frame)).await;
        let drain = async {
            loop {
                let next = tokio::time::timeout(linger, self.read_record());
                match next.await {
                    Err(_) => break, // the peer stopped sending: it has our word
                    Ok(Err(Error::Network(_) | Error::Peer(PeerError::Protocol(_)))) => break,
                    Ok(_) => continue, // a record that fails to open was still read whole
                }
            }
        };
        let _ = tokio::time::timeout(max_drain, drain).await;
    }
}

/// The type byte of `KEEPALIVE`, the only frame the link handles itself.
const KEEPALIVE: u8 = 0x40;

/// A broken connection in the middle of a transfer: the peer went away. Its
/// silence stays what it is, so the user learns how long we waited.
fn gone(e: Error) -> Error {
    match e {
        Error::Network(NetworkError::Lost(_)) => Error::VANISHED,
        other => other,
    }
}

/// A machine's verdict as our error, by whose fault it is.
pub(super) fn native_error(e: NativeError) -> Error {
    match e {
        NativeError::Protocol(why) => Error::protocol(why.to_string()),
        NativeError::Peer { code, message } => from_peer(code, message),
        NativeError::Declined => Error::Declined,
        // Only the user's "no" counts as declined; any other refusal is reported.
        NativeError::Rejected(why) if why == TRANSFER_CANCELLED => PeerError::Cancelled.into(),
        NativeError::Rejected(why) => PeerError::Reported(why).into(),
        NativeError::Usage(why) => Error::internal(why),
        other => Error::internal(other.to_string()),
    }
}

/// The peer's `ERROR`: its code is for the record; its text says what happened.
fn from_peer(_code: ErrorCode, message: String) -> Error {
    Error::from_peer(message)
}

/// What we tell the peer about our failure: the reason, never our local paths.
pub(super) fn peer_text(e: &Error) -> String {
    match e {
        Error::Declined => TRANSFER_REJECTED.to_owned(),
        // Built from the peer's own data and our checks, without local paths.
        Error::Peer(PeerError::Integrity(why)) => {
            format!("received data failed verification: {why}")
        }
        Error::Peer(PeerError::Protocol(why)) => format!("invalid data from the other side: {why}"),
        other => other.reason_for_peer().into(),
    }
}

fn code_for(e: &Error) -> ErrorCode {
    match e {
        Error::Peer(PeerError::Integrity(_)) => ErrorCode::Integrity,
        Error::Peer(PeerError::Protocol(_)) => ErrorCode::Protocol,
        Error::Local(
            LocalError::Io { .. } | LocalError::NoSpace { .. } | LocalError::Changed(_),
        ) => ErrorCode::Local,
        _ => ErrorCode::Refused,
    }
}

mod inbound;
#[cfg(test)]
mod tests;
