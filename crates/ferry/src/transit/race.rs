//! Racing transit candidates: direct connections both ways (TCP, and QUIC
//! streams when both sides offer it), and relays (TCP, TLS or WebSocket), each
//! running the handshake; the sender takes the first that completes and says `go`.

use std::time::Duration;

use rand::RngCore;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::handshake::{relay_line, Handshake, GO, RELAY_OK};
use ferry_proto::transit::hints::DirectHint;
use ferry_proto::transit::Role;

use super::addrs::canonical;
use super::quic::{Punch, QuicIo};
use super::Relay;
use crate::error::{Error, NetworkError, Result};
use crate::timing::Timing;
use crate::tls::{CertProblem, Trust};
use crate::ws::{Io, WsBytes};

/// A handshaken connection: TCP (direct or relayed, kept as such so the bulk
/// path splits it without a lock), or TLS / WebSocket to a relay.
pub(super) enum Conn {
    Tcp(TcpStream),
    /// A QUIC stream (split without a lock too).
    Quic(QuicIo),
    Other(Box<dyn Io>),
}

type Won = (Conn, String);

/// What a winner is, for the sender's preference (`first_winner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathKind {
    DirectTcp,
    Quic,
    Other,
}

trait Path {
    fn kind(&self) -> PathKind;
}

impl Path for Won {
    fn kind(&self) -> PathKind {
        match &self.0 {
            Conn::Quic(_) => PathKind::Quic,
            // Descriptions are made here: `direct …`, `direct from …`, `relay …`.
            Conn::Tcp(_) if self.1.starts_with("direct") => PathKind::DirectTcp,
            _ => PathKind::Other,
        }
    }
}
/// Where candidates report: a connection that passed the handshake, or why not.
type Sender = mpsc::Sender<std::result::Result<Won, Failed>>;

/// Why one candidate failed, and whether a relay had paired it with the peer first
/// (said `ok`): then the peer's candidate broke at the same moment.
struct Failed {
    why: String,
    paired: bool,
}

impl Failed {
    fn new(description: &str, e: &std::io::Error) -> Self {
        let paired = e.get_ref().is_some_and(|inner| inner.is::<PairBroke>());
        Failed {
            why: format!("{description}: {e}"),
            paired,
        }
    }
}

/// An error after the relay said `ok`: the pair was made, then broke.
#[derive(Debug)]
struct PairBroke(std::io::Error);

impl std::fmt::Display for PairBroke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for PairBroke {}

/// Where a candidate connects.
enum Target {
    Direct(DirectHint),
    Relay(Relay),
}

pub(super) struct Plan<'a> {
    pub(super) role: Role,
    pub(super) key: &'a TransitKey,
    pub(super) listener: Option<TcpListener>,
    pub(super) direct: Vec<DirectHint>,
    pub(super) relays: Vec<Relay>,
    /// QUIC: the peer's candidates dialled, and our endpoint accepting.
    pub(super) quic: Option<Punch>,
    /// `relay_delay`, `transit_connect`, `transit_handshake`, `transit_overall`.
    pub(super) timing: &'a Timing,
    /// For `tls:` and `wss://` relays.
    pub(super) trust: &'a Trust,
}

impl Plan<'_> {
    pub(super) async fn run(self) -> Result<Won> {
        let (tx, mut rx) = mpsc::channel::<std::result::Result<Won, Failed>>(16);
        let mut tasks = JoinSet::new();
        let hs = Handshake::new(self.key, self.role);
        let mut side = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut side);
        let line = relay_line(self.key, &hex::encode(side));
        let has_direct_tcp = self.listener.is_some() || !self.direct.is_empty();
        let has_direct = has_direct_tcp || self.quic.is_some();
        let mut dialed = 0;
        let timing = self.timing;
        for hint in self.direct {
            let c = Candidate::new(self.role, hs.clone(), None, Duration::ZERO, timing);
            tasks.spawn(c.dial(Target::Direct(hint), tx.clone(), self.trust.clone()));
            dialed += 1;
        }
        // Relays start later when direct candidates exist, so a working direct
        // path wins without loading the relay (as the Python client does).
        let delay = if has_direct {
            timing.relay_delay
        } else {
            Duration::ZERO
        };
        for relay in self.relays {
            let c = Candidate::new(self.role, hs.clone(), Some(line.clone()), delay, timing);
            tasks.spawn(c.dial(Target::Relay(relay), tx.clone(), self.trust.clone()));
            dialed += 1;
        }
        let listening = self.listener.is_some() || self.quic.is_some();
        if let Some(listener) = self.listener {
            let c = Candidate::new(self.role, hs.clone(), None, Duration::ZERO, timing);
            tasks.spawn(accept_loop(listener, c, tx.clone()));
        }
        if let Some(punch) = self.quic {
            let c = Candidate::new(self.role, hs.clone(), None, Duration::ZERO, timing);
            for &target in &punch.targets {
                let (c, punch) = (c.clone(), punch.clone());
                tasks.spawn(c.punch(punch, target, tx.clone()));
                dialed += 1;
            }
            tasks.spawn(quic_accept_loop(punch, c, tx.clone()));
        }
        drop(tx);
        let tcp_too = self.role == Role::Sender && has_direct_tcp;
        let race = first_winner(&mut rx, (dialed, listening), tcp_too);
        let outcome = tokio::time::timeout(timing.transit_overall, race).await;
        tasks.abort_all();
        let (mut stream, description) =
            outcome.map_err(|_| NetworkError::TimedOut("connecting to the other side"))??;
        if self.role == Role::Sender {
            let written = match &mut stream {
                Conn::Tcp(s) => s.write_all(GO).await,
                Conn::Quic(s) => s.write_all(GO).await,
                Conn::Other(s) => s.write_all(GO).await.and(s.flush().await),
            };
            written.map_err(Error::lost)?;
        }
        Ok((stream, description))
    }
}

/// The longest a sender holds a QUIC winner for a direct TCP connection.
const TCP_GRACE: Duration = Duration::from_millis(200);

/// The first connection that passed the handshake. With `tcp_too` (a sender
/// that also has direct TCP candidates) a QUIC winner is held for as long again
/// as it took (at most [`TCP_GRACE`]): where both reach the peer, as on a LAN,
/// kernel TCP moves bulk data with about half the CPU of QUIC in user space.
/// Where only QUIC gets through (hole punching), the wait is all it costs.
async fn first_winner<W: Path>(
    rx: &mut mpsc::Receiver<std::result::Result<W, Failed>>,
    (dialed, listening): (usize, bool),
    tcp_too: bool,
) -> Result<W> {
    let started = tokio::time::Instant::now();
    let mut failures = Vec::new();
    while let Some(result) = rx.recv().await {
        match result {
            Ok(won) if tcp_too && won.kind() == PathKind::Quic => {
                let grace = started
                    .elapsed()
                    .clamp(Duration::from_millis(10), TCP_GRACE);
                return Ok(direct_tcp_within(rx, grace).await.unwrap_or(won));
            }
            Ok(won) => return Ok(won),
            Err(why) => failures.push(why),
        }
        if !listening && failures.len() >= dialed {
            break;
        }
    }
    let paired = failures.iter().any(|f| f.paired);
    let tried = if failures.is_empty() {
        "no usable hints".into()
    } else {
        let whys: Vec<&str> = failures.iter().map(|f| f.why.as_str()).collect();
        whys.join("; ")
    };
    Err(match paired {
        true => NetworkError::PairBroken(tried),
        false => NetworkError::NoConnection(tried),
    }
    .into())
}

/// A direct TCP connection that passes the handshake within `grace`, if any.
async fn direct_tcp_within<W: Path>(
    rx: &mut mpsc::Receiver<std::result::Result<W, Failed>>,
    grace: Duration,
) -> Option<W> {
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Ok(won))) if won.kind() == PathKind::DirectTcp => return Some(won),
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return None,
        }
    }
}

#[derive(Clone)]
struct Candidate {
    role: Role,
    hs: Handshake,
    relay_line: Option<Vec<u8>>,
    delay: Duration,
    connect_timeout: Duration,
    handshake_timeout: Duration,
}

impl Candidate {
    fn new(
        role: Role,
        hs: Handshake,
        relay_line: Option<Vec<u8>>,
        delay: Duration,
        timing: &Timing,
    ) -> Self {
        Candidate {
            role,
            hs,
            relay_line,
            delay,
            connect_timeout: timing.transit_connect,
            handshake_timeout: timing.transit_handshake,
        }
    }

    async fn dial(self, target: Target, tx: Sender, trust: Trust) {
        tokio::time::sleep(self.delay).await;
        let description = match &target {
            Target::Direct(h) => format!("direct {}:{}", h.hostname, h.port),
            Target::Relay(relay) => format!("relay {relay}"),
        };
        let result = self.try_dial(&target, &trust).await;
        let result = result.map(|s| (s, description.clone()));
        let _ = tx
            .send(result.map_err(|e| Failed::new(&description, &e)))
            .await;
    }

    async fn try_dial(&self, target: &Target, trust: &Trust) -> std::io::Result<Conn> {
        let connecting = connect(target, trust);
        let stream = tokio::time::timeout(self.connect_timeout, connecting)
            .await
            .map_err(|_| timed_out("connect"))??;
        Ok(match stream {
            Conn::Tcp(s) => Conn::Tcp(self.handshake(s).await?),
            Conn::Quic(s) => Conn::Quic(self.handshake(s).await?),
            Conn::Other(s) => Conn::Other(self.handshake(s).await?),
        })
    }

    /// Dials one QUIC candidate (our packets also open our NAT towards it).
    async fn punch(self, punch: Punch, target: std::net::SocketAddr, tx: Sender) {
        let dialing = async {
            let (io, description) = tokio::time::timeout(self.connect_timeout, punch.dial(target))
                .await
                .map_err(|_| timed_out("connect"))??;
            let io = self.handshake(io).await?;
            Ok::<_, std::io::Error>((Conn::Quic(io), description))
        };
        let result = dialing.await;
        if let Err(e) = &result {
            tracing::debug!(%target, error = %e, "QUIC dial failed");
        }
        let _ = tx
            .send(result.map_err(|e| Failed::new(&format!("direct, QUIC {target}"), &e)))
            .await;
    }

    async fn handshake<S>(&self, mut stream: S) -> std::io::Result<S>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let steps = async {
            if let Some(line) = &self.relay_line {
                stream.write_all(line).await?;
                stream.flush().await?;
                expect(&mut stream, RELAY_OK).await?;
            }
            let paired = self.relay_line.is_some();
            self.peer_handshake(&mut stream)
                .await
                .map_err(|e| match paired {
                    true => std::io::Error::new(e.kind(), PairBroke(e)),
                    false => e,
                })
        };
        tokio::time::timeout(self.handshake_timeout, steps)
            .await
            .map_err(|_| timed_out("handshake"))??;
        Ok(stream)
    }
}

impl Candidate {
    /// Both transit handshakes, and the receiver reads `go`.
    async fn peer_handshake<S>(&self, stream: &mut S) -> std::io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if self.role == Role::Receiver && self.relay_line.is_some() {
            answer_sender(stream, &self.hs).await?;
        } else {
            stream.write_all(self.hs.ours()).await?;
            stream.flush().await?;
            expect(stream, self.hs.expected()).await?;
        }
        if self.role == Role::Receiver {
            expect(stream, GO).await?;
        }
        Ok(())
    }
}

async fn accept_loop(listener: TcpListener, candidate: Candidate, tx: Sender) {
    let mut handshakes = JoinSet::new();
    while let Ok((stream, peer)) = listener.accept().await {
        let (c, tx) = (candidate.clone(), tx.clone());
        handshakes.spawn(async move {
            // Failed inbound attempts are not counted: anyone may knock.
            super::tune::tune(&stream);
            if let Ok(s) = c.handshake(stream).await {
                let _ = tx
                    .send(Ok((
                        Conn::Tcp(s),
                        format!("direct from {}", canonical(peer)),
                    )))
                    .await;
            }
        });
    }
}

/// Takes QUIC connections from anyone (like `accept_loop`, failures are not
/// counted) and runs the handshake in their first stream.
async fn quic_accept_loop(punch: Punch, candidate: Candidate, tx: Sender) {
    let mut handshakes = JoinSet::new();
    while let Some(incoming) = punch.incoming().await {
        let (c, tx, punch) = (candidate.clone(), tx.clone(), punch.clone());
        handshakes.spawn(async move {
            let answering = tokio::time::timeout(c.handshake_timeout, punch.answer(incoming));
            let Ok(Ok((io, description))) = answering.await else {
                return;
            };
            if let Ok(io) = c.handshake(io).await {
                let _ = tx.send(Ok((Conn::Quic(io), description))).await;
            }
        });
    }
}

/// Opens the connection to `target`: TCP, then TLS or a WebSocket for such a relay.
async fn connect(target: &Target, trust: &Trust) -> std::io::Result<Conn> {
    let hint = match target {
        Target::Direct(h) | Target::Relay(Relay::Tcp(h) | Relay::Tls(h)) => h,
        Target::Relay(Relay::WebSocket(url)) => {
            let ws = crate::ws::dial(url, trust)
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            return Ok(Conn::Other(Box::new(WsBytes::new(ws))));
        }
    };
    let tcp = TcpStream::connect((hint.hostname.as_str(), hint.port)).await?;
    super::tune::tune(&tcp);
    if !matches!(target, Target::Relay(Relay::Tls(_))) {
        return Ok(Conn::Tcp(tcp));
    }
    let tls = trust
        .connect(&hint.hostname, tcp)
        .await
        .map_err(|e| match CertProblem::of(&e) {
            Some(problem) => std::io::Error::other(format!("refused: {problem}")),
            None => e,
        })?;
    Ok(Conn::Other(Box::new(tls)))
}

/// How long a receiver on a relay waits for the sender's handshake before sending its own.
const SENDER_FIRST_WAIT: Duration = Duration::from_millis(250);

/// The receiver's half of the handshake on a relay: the sender's string first (for up to
/// [`SENDER_FIRST_WAIT`]), then ours. wormhole-william 1.0.6, as a sender, can close its
/// own winning relay connection when our string is already waiting as it reads the relay's
/// `ok` (a goroutine of its that watches a cancel channel runs late; seen in CI under
/// load: "use of closed network connection"). Answering makes its read wait, which lets
/// that goroutine finish first. A sender that waits for us costs only the bounded wait.
async fn answer_sender<S>(stream: &mut S, hs: &Handshake) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let want = hs.expected();
    let mut got = vec![0u8; want.len()];
    let mut filled = 0;
    let early = tokio::time::timeout(SENDER_FIRST_WAIT, async {
        while filled < got.len() {
            // `read` is cancel-safe: `filled` counts what arrived before the wait ended.
            match stream.read(&mut got[filled..]).await? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => filled += n,
            }
        }
        Ok(())
    })
    .await;
    if let Ok(Err(e)) = early {
        return Err(e);
    }
    stream.write_all(hs.ours()).await?;
    stream.flush().await?;
    stream.read_exact(&mut got[filled..]).await?;
    if got != want {
        return Err(unexpected_bytes());
    }
    Ok(())
}

/// Reads exactly `want.len()` bytes and checks them.
async fn expect<S: AsyncRead + Unpin>(stream: &mut S, want: &[u8]) -> std::io::Result<()> {
    let mut got = vec![0u8; want.len()];
    stream.read_exact(&mut got).await?;
    if got != want {
        return Err(unexpected_bytes());
    }
    Ok(())
}

fn unexpected_bytes() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "unexpected handshake bytes",
    )
}

fn timed_out(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{what} timed out"))
}

#[cfg(test)]
#[path = "race_tests.rs"]
mod tests;
