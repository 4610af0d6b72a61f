//! One mailbox WebSocket client: one task, one [`Rules`], and, while it listens
//! to a mailbox, one bounded queue that the state thread fills with live messages.
//!
//! The task writes `welcome` first, then for every command its `ack` before
//! anything else the command causes (the Rust and Go clients depend on that order).
//! Live messages already queued go out before the next command is read, as the
//! reference server writes a broadcast at once. It pings the client and drops it
//! when it stays silent too long, when a write cannot complete in time, or when its
//! queue overflows.
//!
//! Frames are queued in the WebSocket's write buffer and flushed once per command
//! (its `ack`, its answer and the live messages queued by then), or once per
//! burst of live messages: one `sendto` where there were three or four, as the
//! reference server's reactor writes them together too. That halved the system
//! calls that cost the server about a tenth of its CPU per rendezvous (`perf`).
//!
//! A client may write its last commands (`add`, `close`) and vanish at once; its
//! TCP connection is then often reset, and every write to it fails. Like the
//! reference server, we still apply every command we can read: a failed write
//! stops the writing only, and the task reads on until the client's data ends
//! (see [`WriteFuse`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::wire::mailbox::{ClientFrame, FrameError, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite_030::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite_030::tungstenite::protocol::CloseFrame;
use tokio_tungstenite_030::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite_030::WebSocketStream;

use super::frames;
use super::fuse::WriteFuse;
use super::hub::Hub;
use super::live::{self, LiveRx};
use super::refusal::Refusal;
use super::rules::{Rules, Step};
use super::state::{Answer, CallCtx, CallKind};
use crate::io::MaybeTls;
use crate::metrics::Metrics;
use crate::time;

/// What every mailbox connection shares.
pub(crate) struct MailboxCtx {
    pub(crate) hub: Hub,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) motd: Option<String>,
    pub(crate) signal_error: Option<String>,
    /// The browser page's public address, advertised as `ferry-web` in `welcome`.
    pub(crate) web_url: Option<String>,
    pub(crate) max_body: usize,
    pub(crate) queue_frames: usize,
    pub(crate) ping_interval: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) write_timeout: Duration,
}

/// After a failed write, how long we keep reading what the client sent before it
/// went away. A reset connection gives up its data at once; this only bounds a
/// half-open one.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

type Ws = WebSocketStream<WriteFuse<MaybeTls>>;

/// Why a connection ended, for the log.
#[derive(Debug)]
enum End {
    ClientClosed,
    Shutdown,
    Idle,
    Slow,
    WriteTimeout,
    /// Writes failed and the client's data did not end in time.
    DrainTimeout,
    Oversize,
    Ws(WsError),
}

struct Conn {
    ws: Ws,
    ctx: Arc<MailboxCtx>,
    rules: Rules,
    id: u64,
    ip: IpAddr,
    /// Live messages of the mailbox we listen to.
    queue: Option<LiveRx>,
    last_heard: Instant,
    /// Set by the first failed write: nothing is written after it, but commands
    /// already sent are still read and applied until this deadline.
    draining: Option<Instant>,
}

/// Serves one upgraded WebSocket until it ends.
///
/// An idle client costs the server what its task holds, so the future is kept
/// small: the connection is built before it (an `async fn` would hold its
/// arguments beside the `Conn` they move into), and the work of one event
/// (a command, a live message, a ping) runs in a future boxed for that event,
/// not inline in the long-lived one (see [`Conn::run`]).
pub(crate) fn serve(
    ws: Ws,
    ctx: Arc<MailboxCtx>,
    id: u64,
    ip: IpAddr,
    you: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send {
    let metrics = Arc::clone(&ctx.metrics);
    metrics.ws_connections.inc();
    metrics.ws_connections_total.inc();
    let mut conn = Conn {
        ws,
        ctx,
        rules: Rules::default(),
        id,
        ip,
        queue: None,
        last_heard: Instant::now(),
        draining: None,
    };
    async move {
        let end = conn.run(you, shutdown).await;
        Box::pin(conn.finish(end)).await;
        metrics.ws_connections.dec();
    }
}

/// What woke a connection up.
enum Event {
    Live(Option<Utf8Bytes>),
    Incoming(Option<Result<Message, WsError>>),
    Ping,
}

/// Sleeps until `t`; pending forever without one.
async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Waits for the next live message; pending forever when not listening.
async fn next_live(queue: &mut Option<LiveRx>) -> Option<Utf8Bytes> {
    match queue {
        Some(q) => q.recv().await,
        None => std::future::pending().await,
    }
}

impl Conn {
    async fn run(&mut self, you: SocketAddr, mut shutdown: watch::Receiver<bool>) -> End {
        let welcome = frames::welcome(
            self.ctx.motd.as_deref(),
            self.ctx.signal_error.as_deref(),
            self.ctx.web_url.as_deref(),
            you,
        );
        if let Err(e) = Box::pin(self.send(welcome)).await {
            return e;
        }
        let period = self.ctx.ping_interval;
        let mut ping = tokio::time::interval_at(Instant::now() + period, period);
        loop {
            let drain_until = self.draining;
            let event = tokio::select! {
                biased;
                _ = shutdown.changed() => return End::Shutdown,
                live = next_live(&mut self.queue) => Event::Live(live),
                incoming = self.ws.next() => Event::Incoming(incoming),
                _ = ping.tick(), if drain_until.is_none() => Event::Ping,
                _ = sleep_until(drain_until), if drain_until.is_some() => return End::DrainTimeout,
            };
            if let Err(end) = Box::pin(self.on_event(event)).await {
                return end;
            }
        }
    }

    async fn on_event(&mut self, event: Event) -> Result<(), End> {
        match event {
            Event::Live(Some(frame)) => self.send_live(frame).await,
            Event::Live(None) => Err(End::Slow),
            Event::Incoming(incoming) => self.on_incoming(incoming).await,
            Event::Ping => self.ping().await,
        }
    }

    async fn ping(&mut self) -> Result<(), End> {
        if self.last_heard.elapsed() > self.ctx.idle_timeout {
            return Err(End::Idle);
        }
        self.write(Message::Ping(Default::default())).await
    }

    async fn on_incoming(&mut self, incoming: Option<Result<Message, WsError>>) -> Result<(), End> {
        let msg = match incoming {
            None | Some(Err(WsError::ConnectionClosed)) => return Err(End::ClientClosed),
            Some(Err(WsError::Capacity(_))) => return Err(End::Oversize),
            Some(Err(e)) => return Err(End::Ws(e)),
            Some(Ok(m)) => m,
        };
        self.last_heard = Instant::now();
        if let Message::Text(t) = &msg {
            tracing::trace!(frame = %frames::redacted(t), "recv");
        }
        match msg {
            Message::Text(t) => self.on_command(t.as_bytes()).await,
            Message::Binary(b) => self.on_command(&b).await,
            Message::Close(_) => Err(End::ClientClosed),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
        }
    }

    /// One client command: `ack`, then whatever it causes.
    async fn on_command(&mut self, bytes: &[u8]) -> Result<(), End> {
        let now = time::now();
        let frame = match ClientFrame::decode(bytes) {
            Ok(frame) => frame,
            Err(FrameError::NotJsonObject) => {
                let orig = Value::String(
                    String::from_utf8_lossy(&bytes[..bytes.len().min(256)]).into_owned(),
                );
                self.refuse(Refusal::NotJsonObject, orig).await?;
                return self.flush().await;
            }
            Err(FrameError::MissingType { orig }) => {
                self.refuse(Refusal::MissingType, Value::Object(orig))
                    .await?;
                return self.flush().await;
            }
        };
        let ack = ServerFrame::Ack {
            id: frame.id.as_ref(),
        };
        self.feed_text(frames::encode(ack)).await?;
        match self.rules.handle(&frame, self.ctx.max_body) {
            Step::Reply(reply) => self.feed_text(reply).await?,
            Step::Refuse(r) => self.refuse(r, orig_of(frame.orig, r)).await?,
            Step::Bound => tracing::debug!("bound"),
            Step::Call(call) => self.on_call(call, frame.orig, now).await?,
        }
        self.feed_queued().await?;
        self.flush().await
    }

    async fn on_call(
        &mut self,
        call: super::state::Call,
        msg: Map<String, Value>,
        now: f64,
    ) -> Result<(), End> {
        let kind = call.kind();
        let (queue_tx, queue_rx) = match kind {
            CallKind::Open => {
                let (tx, rx) = live::channel(self.ctx.queue_frames);
                (Some(tx), Some(rx))
            }
            _ => (None, None),
        };
        let ctx = CallCtx {
            conn: self.id,
            ip: self.ip,
            now,
            queue: queue_tx,
        };
        let result = self.ctx.hub.call(call, ctx).await;
        self.rules.complete(kind, &result);
        match result {
            Ok(answer) => {
                if kind == CallKind::Open {
                    self.queue = queue_rx;
                } else if kind == CallKind::Close {
                    // The state thread queues a batch's messages before it answers,
                    // so these were all broadcast before our close was applied: the
                    // reference server would have written them already.
                    if let Some(mut queue) = self.queue.take() {
                        while let Some(frame) = queue.try_recv() {
                            self.feed(Message::Text(frame)).await?;
                        }
                    }
                }
                self.answer(answer).await
            }
            Err(r) => self.refuse(r, orig_of(msg, r)).await,
        }
    }

    async fn answer(&mut self, answer: Answer) -> Result<(), End> {
        let frame = match answer {
            Answer::Nameplates(names) => {
                frames::encode(ServerFrame::Nameplates { nameplates: &names })
            }
            Answer::Allocated(n) => frames::encode(ServerFrame::Allocated { nameplate: &n }),
            Answer::Claimed(m) => frames::encode(ServerFrame::Claimed { mailbox: &m }),
            Answer::Released => frames::encode(ServerFrame::Released),
            Answer::Closed => frames::encode(ServerFrame::Closed),
            Answer::Added => return Ok(()),
            Answer::Opened(messages) => {
                for m in &messages {
                    self.feed_text(frames::message(m)).await?;
                }
                return Ok(());
            }
        };
        self.feed_text(frame).await
    }

    /// Queues the `error` frame for a refused command.
    async fn refuse(&mut self, r: Refusal, orig: Value) -> Result<(), End> {
        self.ctx.metrics.refused(r);
        match r {
            Refusal::TooLarge
            | Refusal::MailboxFull
            | Refusal::TooManyNameplates
            | Refusal::Internal => {
                tracing::warn!(error = r.as_str(), "refused")
            }
            _ => tracing::debug!(error = r.as_str(), "refused"),
        }
        self.feed_text(frames::error(r, &orig)).await
    }

    async fn send(&mut self, text: String) -> Result<(), End> {
        self.write(Message::Text(text.into())).await
    }

    async fn feed_text(&mut self, text: String) -> Result<(), End> {
        self.feed(Message::Text(text.into())).await
    }

    /// A live message, with any others queued behind it, in one write.
    async fn send_live(&mut self, frame: Utf8Bytes) -> Result<(), End> {
        self.feed(Message::Text(frame)).await?;
        self.feed_queued().await?;
        self.flush().await
    }

    /// Queues the live messages waiting in this connection's queue.
    async fn feed_queued(&mut self) -> Result<(), End> {
        while let Some(frame) = self.queue.as_mut().and_then(|q| q.try_recv()) {
            self.feed(Message::Text(frame)).await?;
        }
        Ok(())
    }

    async fn write(&mut self, m: Message) -> Result<(), End> {
        self.feed(m).await?;
        self.flush().await
    }

    /// Queues a frame. A write that fails does not end the connection: see
    /// [`Conn::write_failed`]. Only a client that does not read in time is dropped.
    async fn feed(&mut self, m: Message) -> Result<(), End> {
        if self.draining.is_some() {
            return Ok(());
        }
        if let Message::Text(t) = &m {
            tracing::trace!(frame = %frames::redacted(t), "send");
        }
        match tokio::time::timeout(self.ctx.write_timeout, self.ws.feed(m)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.write_failed(e);
                Ok(())
            }
            Err(_) => Err(End::WriteTimeout),
        }
    }

    async fn flush(&mut self) -> Result<(), End> {
        if self.draining.is_some() {
            return Ok(());
        }
        match tokio::time::timeout(self.ctx.write_timeout, self.ws.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.write_failed(e);
                Ok(())
            }
            Err(_) => Err(End::WriteTimeout),
        }
    }

    /// The client is gone (typically reset after writing its last commands).
    /// Stop writing and stop listening, but keep reading: what it wrote before it
    /// left is applied like everything else.
    fn write_failed(&mut self, e: WsError) {
        tracing::debug!(error = %e, "write failed; applying what the client sent before it left");
        self.draining = Some(Instant::now() + DRAIN_LIMIT);
        if self.queue.take().is_some() {
            self.ctx.hub.detach(self.id);
        }
    }

    /// Logs why we ended, tells the client when that helps, and stops listening.
    async fn finish(&mut self, end: End) {
        tracing::debug!(?end, "connection ended");
        // Closed first, and whether the state had closed it already, in one step:
        // from here the state sees the client gone, never slow (counted once),
        // and our own detach (which drops the state's sender) cannot pass for
        // the state having dropped us.
        let dropped_by_hub = self.queue.as_mut().is_some_and(LiveRx::close);
        if self.rules.is_open() || self.queue.is_some() {
            self.ctx.hub.detach(self.id);
        }
        let (code, reason) = match &end {
            End::ClientClosed => {
                // Sends tungstenite's reply to the client's close frame, if any.
                let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.flush()).await;
                return;
            }
            End::DrainTimeout => {
                tracing::info!("dropping a client that stopped reading and writing");
                return;
            }
            End::Ws(e) => {
                tracing::debug!(error = %e, "connection failed");
                return;
            }
            End::WriteTimeout => {
                // The state may have dropped this client for the same reason
                // already (its queue overflowed).
                if !dropped_by_hub {
                    self.ctx.metrics.slow_clients_dropped.inc();
                }
                tracing::info!("dropping a client that does not read");
                return;
            }
            End::Shutdown => (CloseCode::Away, "server shutting down"),
            End::Idle => {
                self.ctx.metrics.idle_clients_dropped.inc();
                tracing::info!("dropping an idle client");
                (CloseCode::Away, "idle")
            }
            End::Slow => (CloseCode::Policy, "too slow"),
            End::Oversize => {
                self.ctx.metrics.oversize_frames.inc();
                self.ctx.metrics.refused(Refusal::TooLarge);
                tracing::warn!("dropping a client that sent an oversize frame");
                let frame = frames::error(Refusal::TooLarge, &Value::Object(Map::new()));
                let _ = self.send(frame).await;
                (CloseCode::Size, "message too large")
            }
        };
        let close = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(Some(close))).await;
    }
}

/// The command for `orig`, without a body that was refused for its size.
fn orig_of(mut msg: Map<String, Value>, r: Refusal) -> Value {
    if r == Refusal::TooLarge {
        msg.remove("body");
    }
    Value::Object(msg)
}
