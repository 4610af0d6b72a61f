//! One relay connection: read the handshake line, wait for the partner with the
//! same token, then splice. The connection that waited runs the splice; the one
//! that arrived second hands its stream over and ends.
//!
//! Answers, byte for byte as the reference relay: `bad handshake\n` for a line
//! that does not parse, `impatient\n` for data sent before pairing, `ok\n` to
//! both on pairing. ferry's own refusals are lines starting with `error: `. The
//! line and the reference's answers are encoded and decoded by
//! `ferry_proto::wire::relay`; this file keeps the relay's policy (line length,
//! timeouts, limits). In a relay pool the TCP line may instead be another
//! instance handing a client over (`ferry_proto::wire::relay_pool`, checked
//! by `pool`), and a connection may be handed over rather than wait here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use ferry_proto::wire::relay::{scan, LineScan, RelayRequest, BAD_HANDSHAKE, IMPATIENT, OK};
use ferry_proto::wire::relay_pool::PoolPreamble;

use super::meter::SpliceEnd;
use super::pairing::Arrival;
use super::pairs::{Pairs, Partner, Waiter, BUSY};
use super::pool::{Origin, Placed, Pool};
use super::splice::splice;
use super::stream::RelayStream;
use super::RelayPort;
use crate::limits::IpSlot;
use crate::mailbox::hub::Hub;
use crate::metrics::Metrics;
use crate::store::{UsageKind, UsageRecord};

/// Everything relay connections share.
pub(crate) struct RelayCtx {
    pub(crate) pairs: Pairs,
    pub(crate) active_pairs: AtomicUsize,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) hub: Hub,
    pub(crate) max_pairs: usize,
    pub(crate) max_bytes: Option<u64>,
    pub(crate) handshake_timeout: Duration,
    pub(crate) wait_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) blur: Option<f64>,
    /// The pool this instance belongs to; `None` for a lone relay.
    pub(crate) pool: Option<Pool>,
}

/// The longest line the relay reads before giving up.
const MAX_LINE: usize = 1024;

/// What reading the TCP handshake line gave.
pub(crate) enum Handshake {
    Ok(RelayRequest),
    /// Another instance of the pool hands a client over (not checked yet).
    HandedOver(PoolPreamble),
    Bad,
    Impatient,
}

fn decode(line: &[u8]) -> Option<Handshake> {
    if PoolPreamble::is_preamble(line) {
        return PoolPreamble::decode_line(line).map(Handshake::HandedOver);
    }
    RelayRequest::decode_line(line).map(Handshake::Ok)
}

/// Reads the handshake line of a TCP connection.
pub(crate) async fn read_line(stream: &mut TcpStream) -> std::io::Result<Option<Handshake>> {
    let mut buf = [0u8; MAX_LINE + 1];
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(None);
        }
        filled += n;
        match scan(&buf[..filled], MAX_LINE) {
            LineScan::Incomplete => continue,
            LineScan::TooLong => return Ok(Some(Handshake::Bad)),
            LineScan::Line { len, extra } => {
                return Ok(Some(match decode(&buf[..len]) {
                    None => Handshake::Bad,
                    Some(_) if extra => Handshake::Impatient,
                    Some(h) => h,
                }));
            }
        }
    }
}

/// Outcome of waiting for a partner.
enum Wait {
    Partner(Partner),
    Redundant,
    Impatient,
    Gone,
    Timeout,
    Shutdown,
}

impl RelayCtx {
    /// Writes one line with the write timeout (errors are the client's problem).
    pub(crate) async fn say(&self, stream: &mut RelayStream, line: &[u8]) {
        let write = async {
            stream.write_all(line).await?;
            stream.flush().await
        };
        let _ = tokio::time::timeout(self.write_timeout, write).await;
    }

    /// Records how a connection ended, with no token, side or address.
    pub(crate) fn record(
        &self,
        result: &'static str,
        started: Instant,
        waiting: Option<Duration>,
        bytes: u64,
    ) {
        self.metrics.relay_result(result);
        let wall = crate::time::now();
        let age = started.elapsed().as_secs_f64();
        let bytes = if self.blur.is_some() {
            crate::time::blur_bytes(bytes)
        } else {
            bytes
        };
        self.hub.usage(UsageRecord {
            kind: UsageKind::Relay,
            app_id: String::new(),
            for_nameplate: false,
            started: crate::time::blur(wall - age, self.blur),
            waiting_time: waiting.map(|d| d.as_secs_f64()),
            total_time: age,
            total_bytes: bytes,
            result,
        });
    }
}

/// Pairs `stream` by its request, then splices (if it waited) or hands over
/// to the partner; in a pool, it may hand the stream over to the instance
/// that owns the token instead.
pub(crate) async fn rendezvous(
    ctx: Arc<RelayCtx>,
    mut stream: RelayStream,
    req: RelayRequest,
    id: u64,
    started: Instant,
    origin: Origin,
    shutdown: watch::Receiver<bool>,
) {
    // A partner that vanished between being found and being handed our stream
    // gives the stream back, and so does a pool owner that did not answer; try
    // again a bounded number of times.
    for _ in 0..3 {
        let (tx, rx) = oneshot::channel();
        let arrival = match &ctx.pool {
            None => ctx.pairs.arrive(id, &req, Waiter(tx)),
            Some(pool) => match pool.place(&ctx.pairs, id, &req, Waiter(tx), origin).await {
                Placed::Here(a) => a,
                Placed::At(owner) => {
                    match super::pool::forward(pool, stream, &req, owner, origin.ip()).await {
                        Ok(()) => return,
                        Err(back) => stream = back,
                    }
                    continue;
                }
            },
        };
        match arrival {
            Arrival::Paired { partner, redundant } => {
                if !redundant.is_empty() {
                    tracing::debug!(count = redundant.len(), "dropping redundant connections");
                }
                drop(redundant);
                let sent = partner.0.send(Partner {
                    stream,
                    arrived: Instant::now(),
                });
                if let Some(pool) = &ctx.pool {
                    // after the hand-over, so a slow directory delays no pair
                    pool.left(&ctx.pairs, &req.token).await;
                }
                match sent {
                    Ok(()) => return,
                    Err(back) => stream = back.stream,
                }
            }
            Arrival::Waiting => {
                return wait(ctx, stream, &req.token, id, started, rx, shutdown).await
            }
        }
    }
    ctx.record("lonely", started, None, 0);
}

async fn wait(
    ctx: Arc<RelayCtx>,
    mut stream: RelayStream,
    token: &str,
    id: u64,
    started: Instant,
    rx: oneshot::Receiver<Partner>,
    shutdown: watch::Receiver<bool>,
) {
    let outcome = wait_for_partner(&mut stream, rx, ctx.wait_timeout, shutdown).await;
    if !matches!(outcome, Wait::Partner(_) | Wait::Redundant) {
        ctx.pairs.leave(id, token);
        if let Some(pool) = &ctx.pool {
            pool.left(&ctx.pairs, token).await;
        }
    }
    match outcome {
        Wait::Partner(partner) => run_pair(&ctx, stream, partner, started).await,
        Wait::Redundant => ctx.record("redundant", started, None, 0),
        Wait::Impatient => {
            tracing::info!("relay client sent data before pairing");
            ctx.say(&mut stream, IMPATIENT).await;
            ctx.record("impatient", started, None, 0);
        }
        Wait::Timeout => {
            tracing::info!("relay client waited too long for its partner");
            ctx.record("lonely", started, None, 0);
        }
        Wait::Gone | Wait::Shutdown => ctx.record("lonely", started, None, 0),
    }
}

async fn wait_for_partner(
    stream: &mut RelayStream,
    mut rx: oneshot::Receiver<Partner>,
    limit: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> Wait {
    let mut probe = [0u8; 1];
    tokio::select! {
        biased;
        partner = &mut rx => match partner {
            Ok(p) => Wait::Partner(p),
            Err(_) => Wait::Redundant,
        },
        _ = shutdown.changed() => Wait::Shutdown,
        _ = tokio::time::sleep(limit) => Wait::Timeout,
        read = stream.read(&mut probe) => match read {
            Ok(0) | Err(_) => Wait::Gone,
            Ok(_) => Wait::Impatient,
        },
    }
}

/// Says `ok` to both and splices them, within the pair cap.
async fn run_pair(ctx: &RelayCtx, mut first: RelayStream, partner: Partner, started: Instant) {
    let mut second = partner.stream;
    let waiting = partner.arrived.saturating_duration_since(started);
    if ctx.active_pairs.fetch_add(1, Ordering::AcqRel) >= ctx.max_pairs {
        ctx.active_pairs.fetch_sub(1, Ordering::AcqRel);
        tracing::warn!(
            max = ctx.max_pairs,
            "refusing a pair: too many relayed pairs"
        );
        ctx.say(&mut first, BUSY).await;
        ctx.say(&mut second, BUSY).await;
        return ctx.record("busy", started, Some(waiting), 0);
    }
    ctx.metrics.relay_active_pairs.inc();
    ctx.say(&mut first, OK).await;
    ctx.say(&mut second, OK).await;
    tracing::debug!("relaying");
    let (end, bytes) = splice(first, second, ctx.max_bytes, &ctx.metrics.relay_bytes_total).await;
    ctx.metrics.relay_active_pairs.dec();
    ctx.active_pairs.fetch_sub(1, Ordering::AcqRel);
    let result = match end {
        SpliceEnd::Closed => "happy",
        SpliceEnd::OverLimit => {
            tracing::warn!(bytes, "closing a relayed pair over its byte limit");
            "over_limit"
        }
    };
    tracing::debug!(bytes, result, "relay pair ended");
    ctx.record(result, started, Some(waiting), bytes);
}

/// Serves one TCP relay connection from handshake to the end. `slot` is its
/// place under the per-address cap, moved to the client's address when
/// another instance of the pool hands a client over.
pub(crate) async fn serve_tcp(
    port: Arc<RelayPort>,
    mut stream: TcpStream,
    mut slot: IpSlot,
    peer: std::net::IpAddr,
    id: u64,
    shutdown: watch::Receiver<bool>,
) {
    let ctx = Arc::clone(&port.relay);
    let _ = stream.set_nodelay(true);
    // The relay sends each side's data onward: BBR where the kernel allows it,
    // as the clients ask for (ferry's transit/tune.rs: random loss starves cubic).
    let _ = rustix::net::sockopt::set_tcp_congestion(&stream, "bbr");
    let started = Instant::now();
    let line = tokio::time::timeout(ctx.handshake_timeout, read_line(&mut stream)).await;
    let mut stream = RelayStream::Tcp(stream);
    match admit(&ctx, line, peer, &mut slot) {
        Ok((req, origin)) => rendezvous(ctx, stream, req, id, started, origin, shutdown).await,
        Err(Refusal(answer, result)) => {
            if let Some(answer) = answer {
                ctx.say(&mut stream, answer).await;
            }
            ctx.record(result, started, None, 0);
        }
    }
    drop(slot);
}

/// A TCP connection that ends before pairing: what it is told, if anything,
/// and the result recorded.
struct Refusal(Option<&'static [u8]>, &'static str);

type LineRead = Result<std::io::Result<Option<Handshake>>, tokio::time::error::Elapsed>;

/// The request of a TCP connection and where it came from, from its line.
fn admit(
    ctx: &RelayCtx,
    line: LineRead,
    peer: std::net::IpAddr,
    slot: &mut IpSlot,
) -> Result<(RelayRequest, Origin), Refusal> {
    let handshake = match line {
        Err(_) => {
            tracing::info!("relay client sent no handshake in time");
            return Err(Refusal(None, "errory"));
        }
        Ok(Err(_)) | Ok(Ok(None)) => return Err(Refusal(None, "errory")),
        Ok(Ok(Some(h))) => h,
    };
    match handshake {
        Handshake::Ok(req) => Ok((req, Origin::Client(peer))),
        Handshake::HandedOver(p) => match &ctx.pool {
            Some(pool) => pool
                .accept(p, slot)
                .map_err(|answer| Refusal(Some(answer), "errory")),
            None => {
                tracing::info!("a hand-over line, but this relay is in no pool");
                Err(Refusal(Some(BAD_HANDSHAKE), "errory"))
            }
        },
        Handshake::Bad => {
            tracing::info!("relay handshake failure");
            Err(Refusal(Some(BAD_HANDSHAKE), "errory"))
        }
        Handshake::Impatient => {
            tracing::info!("relay client sent data before pairing");
            Err(Refusal(Some(IMPATIENT), "impatient"))
        }
    }
}
