//! Native frames over a transit connection: one frame per record, sealed with the
//! negotiated AEAD (`ferry_proto::native::record`), and a machine's verdict (the
//! peer's `ERROR` among them) turned into our error.

use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::native::machine::NativeError;
use ferry_proto::native::record::{Aead, Opener, Sealer, PREFIX_LEN};
use ferry_proto::native::wire::{self, ErrorCode, Frame};
use ferry_proto::transfer::v1::TRANSFER_REJECTED;
use ferry_proto::transit::Role;

use crate::error::{Error, LocalError, PeerError, Result};
use crate::rendezvous::TRANSFER_CANCELLED;
use crate::timing::Timing;
use crate::transit::TransitStream;

pub(crate) use crate::transit::{ReadHalf, WriteHalf};

/// A connection speaking native frames.
pub(crate) struct Link {
    reader: BufReader<ReadHalf>,
    writer: WriteHalf,
    sealer: Sealer,
    opener: Opener,
    /// The plaintext of the last record read.
    buf: Vec<u8>,
    /// Reused for sealing small frames.
    out: Vec<u8>,
    /// Record buffers handed out by `take_payload` come back here for reuse.
    spare: (Sender<Vec<u8>>, Receiver<Vec<u8>>),
    /// How long a failing side waits to send its last word, and for the peer to pause.
    linger: Duration,
    /// The longest a failing side reads on: a sender stops after a few windows
    /// without acknowledgements, then reads the `ERROR`.
    drain: Duration,
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
        Link {
            reader: BufReader::new(reader),
            writer,
            sealer: Sealer::new(key, aead, role),
            opener: Opener::new(key, aead, role),
            buf: Vec::new(),
            out: Vec::new(),
            spare: std::sync::mpsc::channel(),
            linger: timing.linger,
            drain: timing.drain,
        }
    }

    pub(super) async fn send(&mut self, frame: &Frame<'_>) -> Result<()> {
        self.out.clear();
        self.sealer.seal_frame(&frame.encode(), &mut self.out);
        self.writer
            .write_all(&self.out)
            .await
            .map_err(write_failed)?;
        self.flush().await
    }

    /// Seals and sends a frame built in place: `frame` is laid out as
    /// `[PREFIX_LEN][frame bytes][TAG_LEN]` (a `DATA` frame read straight from
    /// the file), so the group is encrypted where it lies.
    pub(super) async fn send_in_place(&mut self, frame: &mut [u8]) -> Result<()> {
        self.sealer.seal_in_place(frame);
        self.writer.write_all(frame).await.map_err(write_failed)?;
        self.flush().await
    }

    /// Pushes out what a TLS stream may still hold after a write (a TCP
    /// stream holds nothing): the peer must get a frame before we wait on it.
    async fn flush(&mut self) -> Result<()> {
        self.writer.flush().await.map_err(write_failed)
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
    pub(super) async fn recv(&mut self) -> Result<Frame<'_>> {
        self.read_record().await.map_err(gone)?;
        wire::decode(&self.buf).map_err(|e| Error::protocol(format!("undecodable frame: {e}")))
    }

    /// Reads and opens one record into `buf`.
    async fn read_record(&mut self) -> Result<()> {
        let mut prefix = [0u8; PREFIX_LEN];
        self.reader
            .read_exact(&mut prefix)
            .await
            .map_err(Error::lost)?;
        let len = Opener::body_len(prefix).map_err(|e| Error::protocol(e.to_string()))?;
        if self.buf.capacity() == 0 {
            self.buf = self.spare.1.try_recv().unwrap_or_default();
        }
        // A reused buffer of the usual size needs no zeroing.
        self.buf.resize(len, 0);
        self.reader
            .read_exact(&mut self.buf)
            .await
            .map_err(Error::lost)?;
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
        match self.reader.fill_buf().await {
            Ok([]) => return Error::VANISHED,
            Err(e) => return gone(Error::lost(e)),
            Ok(_) => {}
        }
        match self.recv().await {
            Ok(Frame::Error { message, .. }) => Error::from_peer(message),
            Ok(_) => Error::protocol("a frame before our answer to the offer".into()),
            Err(e) => e,
        }
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

/// A broken connection in the middle of a transfer: the peer went away.
fn gone(e: Error) -> Error {
    match e {
        Error::Network(_) => Error::VANISHED,
        other => other,
    }
}

/// A write that failed: the peer is gone.
fn write_failed(e: std::io::Error) -> Error {
    gone(Error::lost(e))
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
        Error::Local(LocalError::Io { .. } | LocalError::NoSpace { .. }) => ErrorCode::Local,
        _ => ErrorCode::Refused,
    }
}
