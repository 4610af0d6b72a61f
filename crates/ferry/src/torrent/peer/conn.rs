//! The connection task: one select loop over the socket (read and write), the driver's
//! commands, the event queue and two timers. Bookkeeping is [`Session`]'s; this file
//! turns messages into events and commands into messages.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use ferry_proto::torrent::wire::extension::{ExtHandshake, MetadataServer, UtMetadata};
use ferry_proto::torrent::wire::pex::{Pex, UT_PEX};
use ferry_proto::torrent::wire::{
    piece_header, Bitfield, Deframer, Handshake, HashRequest, Message,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};
use tracing::Instrument;

pub use super::handshake::ConnectError;
use super::handshake::{self, our_ext_handshake, OUR_UT_METADATA, OUR_UT_PEX};
use super::messages::{CloseReason, PeerCommand, PeerEvent};
use super::state::Session;
use super::{
    ConnId, EventSender, PeerConfig, PeerHandle, PeerTiming, Torrent, EVENT_QUEUE, SEND_HIGH_WATER,
};

/// Commands queued per connection.
const COMMAND_QUEUE: usize = 64;
/// Bytes waiting to be sent above which the peer is closed: only the peer's own
/// requests (metadata, hashes) can push the buffer past [`SEND_HIGH_WATER`].
const SEND_LIMIT: usize = 4 * SEND_HIGH_WATER;
/// Blocks served per turn of the loop, so that commands and reads interleave.
const SERVE_BATCH: usize = 4;

/// Dials `addr` for `torrent` and does both handshakes; the connection then runs as a
/// task that sends its events to `events`.
pub async fn connect(
    addr: SocketAddr,
    torrent: Arc<Torrent>,
    config: &PeerConfig,
    events: EventSender,
) -> Result<PeerHandle, ConnectError> {
    let limit = config.timing.handshake;
    let dial = handshake::dial(addr, &torrent.hashes, config.peer_id);
    let (stream, buf, theirs) = timeout(limit, dial)
        .await
        .map_err(|_| ConnectError::Timeout(limit))??;
    Ok(spawn(stream, addr, buf, theirs, torrent, config, events))
}

/// Starts the task for a connection whose handshakes are done; `leftover` is what
/// was read past the peer's handshake.
pub(super) fn spawn(
    stream: TcpStream,
    addr: SocketAddr,
    leftover: BytesMut,
    theirs: Handshake,
    torrent: Arc<Torrent>,
    config: &PeerConfig,
    events: EventSender,
) -> PeerHandle {
    let (commands, cmds) = mpsc::channel(COMMAND_QUEUE);
    let id = ConnId::next();
    let mut deframer = Deframer::default();
    deframer.buffer().extend_from_slice(&leftover);
    let now = Instant::now();
    let conn = Conn {
        id,
        session: Session::new(torrent.layout, torrent.source.have()),
        metadata: torrent.info.clone().map(MetadataServer::new),
        torrent,
        deframer,
        out: BytesMut::new(),
        pending: VecDeque::new(),
        frames_waiting: false,
        events,
        cmds,
        timing: config.timing.clone(),
        peer_ut_metadata: None,
        peer_ut_pex: None,
        last_recv: now,
        last_sent: now,
    };
    let greeting = our_ext_handshake(
        config.listen_port,
        conn.metadata.as_ref().map(MetadataServer::size),
        Some(addr.ip()),
        conn.torrent.pex,
    );
    let span = tracing::debug_span!("bt_peer", conn = id.0, %addr);
    tokio::spawn(conn.run(stream, greeting).instrument(span));
    PeerHandle {
        id,
        addr,
        peer_id: theirs.peer_id,
        info_hash: theirs.info_hash,
        reserved: theirs.reserved,
        commands,
    }
}

/// What woke the loop.
enum Turn {
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<usize>),
    /// An event went to the driver.
    Sent,
    /// A command, or `None` when the driver dropped its handle or its events.
    Command(Option<PeerCommand>),
    Idle,
    KeepAlive,
}

struct Conn {
    id: ConnId,
    torrent: Arc<Torrent>,
    session: Session,
    metadata: Option<MetadataServer>,
    deframer: Deframer,
    out: BytesMut,
    pending: VecDeque<PeerEvent>,
    /// Frames were left in the deframer because the event queue is full.
    frames_waiting: bool,
    events: EventSender,
    cmds: mpsc::Receiver<PeerCommand>,
    timing: PeerTiming,
    /// The id the peer wants `ut_metadata` messages under.
    peer_ut_metadata: Option<u8>,
    /// The id the peer wants `ut_pex` messages under (none for a private torrent).
    peer_ut_pex: Option<u8>,
    last_recv: Instant,
    last_sent: Instant,
}

impl Conn {
    async fn run(mut self, mut stream: TcpStream, greeting: ExtHandshake) {
        self.greet(greeting);
        let reason = self.drive(&mut stream).await;
        tracing::debug!(%reason, "peer connection closed");
        // The driver's sends fail from now on instead of waiting on us.
        self.cmds.close();
        self.pending.push_back(PeerEvent::Closed(reason));
        for event in self.pending.drain(..) {
            if self.events.send((self.id, event)).await.is_err() {
                break;
            }
        }
    }

    /// Our bitfield (BEP 3: first after the handshake), then our extension handshake.
    fn greet(&mut self, greeting: ExtHandshake) {
        let ours = self.session.ours();
        if ours.count() > 0 {
            Message::Bitfield(ours.as_bytes().to_vec().into()).encode(&mut self.out);
        }
        self.send(Message::Extended {
            id: 0,
            payload: greeting.encode().into(),
        });
    }

    async fn drive(&mut self, stream: &mut TcpStream) -> CloseReason {
        let (mut rd, mut wr) = stream.split();
        loop {
            if let Err(reason) = self.process_frames() {
                return reason;
            }
            if let Err(reason) = self.serve().await {
                return reason;
            }
            if self.out.len() > SEND_LIMIT {
                return CloseReason::PeerNotReading(self.out.len());
            }
            let can_read = self.pending.len() < EVENT_QUEUE && !self.frames_waiting;
            let can_take = self.out.len() < SEND_HIGH_WATER;
            let idle_at = self.last_recv + self.timing.idle;
            let keepalive_at = self.last_sent + self.timing.keepalive;
            let turn = tokio::select! {
                read = rd.read_buf(self.deframer.buffer()), if can_read => Turn::Read(read),
                written = wr.write_buf(&mut self.out), if !self.out.is_empty() => {
                    Turn::Wrote(written)
                }
                permit = self.events.reserve(), if !self.pending.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.pending.pop_front() {
                            permit.send((self.id, event));
                        }
                        Turn::Sent
                    }
                    Err(_) => Turn::Command(None),
                },
                cmd = self.cmds.recv(), if can_take => Turn::Command(cmd),
                () = sleep_until(idle_at) => Turn::Idle,
                () = sleep_until(keepalive_at) => Turn::KeepAlive,
            };
            if let Err(reason) = self.turn(turn) {
                return reason;
            }
        }
    }

    fn turn(&mut self, turn: Turn) -> Result<(), CloseReason> {
        match turn {
            Turn::Read(Ok(0)) => return Err(CloseReason::PeerClosed),
            Turn::Read(Ok(_)) => self.last_recv = Instant::now(),
            Turn::Wrote(Ok(_)) => self.last_sent = Instant::now(),
            Turn::Read(Err(e)) | Turn::Wrote(Err(e)) => return Err(e.into()),
            Turn::Sent => {}
            Turn::Command(None | Some(PeerCommand::Close)) => return Err(CloseReason::ByUs),
            Turn::Command(Some(cmd)) => self.command(cmd),
            Turn::Idle => return Err(CloseReason::Idle(self.timing.idle)),
            Turn::KeepAlive => {
                self.send(Message::KeepAlive);
                self.last_sent = Instant::now();
            }
        }
        Ok(())
    }

    /// Whole frames from the deframer, while the event queue has room.
    fn process_frames(&mut self) -> Result<(), CloseReason> {
        while self.pending.len() < EVENT_QUEUE {
            match self.deframer.next()? {
                Some(message) => self.message(message)?,
                None => {
                    self.frames_waiting = false;
                    return Ok(());
                }
            }
        }
        self.frames_waiting = true;
        Ok(())
    }

    fn message(&mut self, message: Message) -> Result<(), CloseReason> {
        match message {
            Message::KeepAlive => Ok(()),
            Message::Extended { id, payload } => self.extended(id, payload),
            // Accepted at any time, replacing the last (libtorrent's rule; aria2 1.36
            // sends one in the middle of a transfer).
            Message::Bitfield(bits) => {
                let field = Bitfield::from_wire(&bits, self.session.pieces())?;
                self.emit(PeerEvent::Bitfield(field));
                Ok(())
            }
            other => self.core_message(other),
        }
    }

    fn core_message(&mut self, message: Message) -> Result<(), CloseReason> {
        let event = match message {
            Message::Choke => {
                self.session.peer_choked(true);
                PeerEvent::Choke
            }
            Message::Unchoke => {
                self.session.peer_choked(false);
                PeerEvent::Unchoke
            }
            Message::Interested => PeerEvent::Interested,
            Message::NotInterested => PeerEvent::NotInterested,
            Message::Have(piece) if piece < self.session.pieces() => PeerEvent::Have(piece),
            Message::Have(_) => return Err(CloseReason::PeerProtocol("have past the last piece")),
            Message::Request(b) => {
                self.session
                    .peer_request(b)
                    .map_err(CloseReason::PeerProtocol)?;
                return Ok(());
            }
            Message::Cancel(b) => {
                self.session.peer_cancel(&b);
                return Ok(());
            }
            Message::Piece { index, begin, data } => {
                match self.session.block_arrived(index, begin, data.len()) {
                    Some(block) => PeerEvent::Block { block, data },
                    None => {
                        tracing::debug!(index, begin, "unrequested block dropped");
                        return Ok(());
                    }
                }
            }
            Message::HashRequest(r) => {
                self.answer_hashes(r);
                return Ok(());
            }
            Message::Port(_) | Message::Hashes { .. } | Message::HashReject(_) => return Ok(()),
            _ => {
                return Err(CloseReason::PeerProtocol(
                    "a fast-extension message, which we did not announce",
                ))
            }
        };
        self.emit(event);
        Ok(())
    }

    fn extended(&mut self, id: u8, payload: bytes::Bytes) -> Result<(), CloseReason> {
        match id {
            0 => {
                let theirs = ExtHandshake::decode(&payload)?;
                if let Some(id) = theirs.id_of(ferry_proto::torrent::wire::extension::UT_METADATA) {
                    self.peer_ut_metadata = Some(id);
                }
                self.peer_ut_pex = theirs.id_of(UT_PEX).filter(|_| self.torrent.pex);
                if let Some(reqq) = theirs.reqq {
                    self.session.set_peer_reqq(reqq);
                }
                self.emit(PeerEvent::ExtHandshake(theirs));
            }
            OUR_UT_METADATA => match UtMetadata::decode(payload)? {
                UtMetadata::Request(piece) => self.answer_metadata(piece),
                other => self.emit(PeerEvent::Metadata(other)),
            },
            OUR_UT_PEX if self.torrent.pex => {
                self.emit(PeerEvent::Pex(Pex::decode(&payload)?.added))
            }
            _ => tracing::debug!(id, "extended message we did not announce, ignored"),
        }
        Ok(())
    }

    fn answer_metadata(&mut self, piece: u32) {
        let Some(id) = self.peer_ut_metadata else {
            return;
        };
        let answer = match &self.metadata {
            Some(server) => server.respond(piece),
            None => UtMetadata::Reject(piece),
        };
        self.send(Message::Extended {
            id,
            payload: answer.encode().into(),
        });
    }

    /// BEP 52: piece layers (or rows above them) with their proof, or a reject.
    fn answer_hashes(&mut self, request: HashRequest) {
        let answer = self
            .torrent
            .layers
            .as_ref()
            .and_then(|l| l.answer(&request));
        let message = match answer {
            Some(nodes) => Message::Hashes {
                request,
                hashes: nodes.concat().into(),
            },
            None => Message::HashReject(request),
        };
        self.send(message);
    }

    fn command(&mut self, cmd: PeerCommand) {
        match cmd {
            PeerCommand::Interested(yes) => {
                if self.session.set_interested(yes) {
                    self.send(if yes {
                        Message::Interested
                    } else {
                        Message::NotInterested
                    });
                }
            }
            PeerCommand::Request(blocks) => {
                for b in self.session.our_requests(blocks) {
                    self.send(Message::Request(b));
                }
            }
            PeerCommand::Cancel(b) => {
                if self.session.our_cancel(&b) {
                    self.send(Message::Cancel(b));
                }
            }
            PeerCommand::Have(piece) => {
                if self.session.have(piece) {
                    self.send(Message::Have(piece));
                }
            }
            PeerCommand::Choke(choke) => {
                if self.session.choke_peer(choke) {
                    self.send(if choke {
                        Message::Choke
                    } else {
                        Message::Unchoke
                    });
                }
            }
            PeerCommand::MetadataRequest(piece) => {
                if let Some(id) = self.peer_ut_metadata {
                    let payload = UtMetadata::Request(piece).encode().into();
                    self.send(Message::Extended { id, payload });
                }
            }
            PeerCommand::Pex(pex) => {
                if let Some(id) = self.peer_ut_pex {
                    let payload = pex.encode().into();
                    self.send(Message::Extended { id, payload });
                }
            }
            PeerCommand::Close => {}
        }
    }

    /// Answers queued requests from the block source while there is room to send.
    async fn serve(&mut self) -> Result<(), CloseReason> {
        for _ in 0..SERVE_BATCH {
            if self.out.len() >= SEND_HIGH_WATER || self.pending.len() >= EVENT_QUEUE {
                return Ok(());
            }
            let Some(block) = self.session.next_to_serve() else {
                return Ok(());
            };
            let source = self.torrent.source.clone();
            let data = tokio::task::spawn_blocking(move || source.read_block(block))
                .await
                .map_err(|e| CloseReason::Source(std::io::Error::other(e)))?
                .map_err(CloseReason::Source)?;
            if data.len() != block.length as usize {
                let short = std::io::Error::other(format!(
                    "block source returned {} bytes for {block:?}",
                    data.len()
                ));
                return Err(CloseReason::Source(short));
            }
            self.out
                .extend_from_slice(&piece_header(block.index, block.begin, block.length));
            self.out.extend_from_slice(&data);
            self.emit(PeerEvent::Served(block));
        }
        Ok(())
    }

    fn send(&mut self, message: Message) {
        message.encode(&mut self.out);
    }

    fn emit(&mut self, event: PeerEvent) {
        self.pending.push_back(event);
    }
}
