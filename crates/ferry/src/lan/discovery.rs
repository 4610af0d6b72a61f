//! LocalSend discovery over UDP multicast: announce ourselves, hear other
//! devices, answer them, and scan for a while.
//!
//! A device sends its announcement (`announce: true`) to the group
//! (224.0.0.167:53317 by default) in a short burst. Whoever hears it answers:
//! the app by `POST register` over HTTPS to the announcer (the HTTPS layer's
//! job: [`Discovered::wants_answer`] is its hook), localsendd falling back to
//! a multicast `announce: false` datagram ([`reply`]). Answers are never
//! answered, or two devices would talk forever.
//!
//! Everything here shares one [`DiscoverySocket`]; the decoding and the
//! own-message filter are pure (`filter.rs`) and the limits are ferry-proto's.
//! See docs/localsend/peers.md for what the real peers do.

mod filter;
mod socket;

#[cfg(test)]
mod netns_tests;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use ferry_proto::localsend::{Announcement, Register, DEFAULT_PORT, MULTICAST_GROUP};
use tokio::time::{sleep_until, Instant};

use filter::Verdict;
pub use filter::{dedupe, Device, Discovered, MAX_DATAGRAM_BYTES};
pub use socket::{DiscoverySocket, Interfaces, MULTICAST_TTL};

/// When the app sends the datagrams of one announcement, from the start of
/// the burst: +100 ms, +500 ms, +2 s (docs/localsend/peers.md §1, from the
/// app's source). Repeats cover a lost datagram; the spacing lets a device
/// that is just joining catch a later one.
pub const ANNOUNCE_BURST: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_millis(2000),
];

/// Where discovery listens and sends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    pub group: Ipv4Addr,
    pub port: u16,
    pub interfaces: Interfaces,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            group: MULTICAST_GROUP,
            port: DEFAULT_PORT,
            interfaces: Interfaces::AllUp,
        }
    }
}

impl Config {
    /// The group and port of the defaults on other interfaces or another port.
    pub fn new(port: u16, interfaces: Interfaces) -> Config {
        Config {
            port,
            interfaces,
            ..Config::default()
        }
    }
}

/// Sends our announcement in the app's burst ([`ANNOUNCE_BURST`]); returns
/// after the last datagram.
pub async fn announce(socket: &DiscoverySocket, us: &Register) -> io::Result<()> {
    let datagram = encode(us, true)?;
    let start = Instant::now();
    for offset in ANNOUNCE_BURST {
        sleep_until(start + offset).await;
        socket.send_to_group(&datagram).await?;
    }
    Ok(())
}

/// Answers `to`'s announcement with ours (`announce: false`): the protocol's
/// UDP fallback to `register`. It goes to the group, not to `to` (named for
/// the log), as the protocol says and localsendd does. Call it only for
/// [`Discovered::wants_answer`], never for an answer.
pub async fn reply(socket: &DiscoverySocket, to: SocketAddr, us: &Register) -> io::Result<()> {
    tracing::debug!(%to, "answering an announcement over multicast");
    socket.send_to_group(&encode(us, false)?).await
}

fn encode(us: &Register, announce: bool) -> io::Result<Vec<u8>> {
    let a = Announcement {
        device: us.clone(),
        announce,
    };
    serde_json::to_vec(&a).map_err(io::Error::other)
}

/// Datagrams a [`Listener`] dropped, by reason (for a debug log; peers'
/// garbage is not an error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ignored {
    pub own: u64,
    pub undecodable: u64,
    pub oversized: u64,
}

/// Yields each valid announcement from another device heard on a socket.
#[derive(Debug)]
pub struct Listener<'s> {
    socket: &'s DiscoverySocket,
    own_fingerprint: String,
    /// One byte over the limit, so an oversized datagram shows as one.
    buf: Vec<u8>,
    ignored: Ignored,
}

impl<'s> Listener<'s> {
    /// Listens on `socket`, skipping datagrams that carry `own_fingerprint`.
    pub fn new(socket: &'s DiscoverySocket, own_fingerprint: &str) -> Listener<'s> {
        Listener {
            socket,
            own_fingerprint: own_fingerprint.to_owned(),
            buf: vec![0; MAX_DATAGRAM_BYTES + 1],
            ignored: Ignored::default(),
        }
    }

    /// The next announcement from another device. Errors are the socket's
    /// only. Cancel-safe: a datagram is either returned or not yet read.
    pub async fn next(&mut self) -> io::Result<Discovered> {
        loop {
            let (len, from) = self.socket.recv_from(&mut self.buf).await?;
            match filter::classify(&self.buf[..len], &self.own_fingerprint) {
                Verdict::Peer(a) => return Ok(Discovered::new(a, from)),
                other => self.count(other, from),
            }
        }
    }

    pub fn ignored(&self) -> Ignored {
        self.ignored
    }

    fn count(&mut self, verdict: Verdict, from: SocketAddr) {
        match verdict {
            Verdict::Own => self.ignored.own += 1,
            Verdict::Undecodable(e) => {
                tracing::debug!(%from, error = %e, "ignoring an undecodable datagram");
                self.ignored.undecodable += 1;
            }
            Verdict::Oversized(len) => {
                tracing::debug!(%from, len, "ignoring an oversized datagram");
                self.ignored.oversized += 1;
            }
            Verdict::Peer(_) => {}
        }
    }
}

/// Announces, collects every device heard for `duration` (answers and other
/// announcements alike), and returns each once, sorted by alias.
pub async fn scan(config: &Config, us: &Register, duration: Duration) -> io::Result<Vec<Device>> {
    let socket = DiscoverySocket::bind(config)?;
    let mut listener = Listener::new(&socket, &us.fingerprint);
    let deadline = Instant::now() + duration;
    let announcing = announce(&socket, us);
    tokio::pin!(announcing);
    let (mut found, mut announced) = (Vec::new(), false);
    loop {
        tokio::select! {
            () = sleep_until(deadline) => break,
            sent = &mut announcing, if !announced => {
                sent?;
                announced = true;
            }
            heard = listener.next() => found.push(heard?),
        }
    }
    tracing::debug!(ignored = ?listener.ignored(), heard = found.len(), "scan done");
    Ok(dedupe(found))
}

/// A device as its announcement describes it, for the tests.
#[cfg(test)]
pub(crate) fn test_device(alias: &str, fingerprint: &str) -> Register {
    Register {
        alias: alias.into(),
        version: "2.1".into(),
        device_model: None,
        device_type: None,
        fingerprint: fingerprint.into(),
        port: 53317,
        protocol: ferry_proto::localsend::Scheme::Https,
        download: false,
    }
}
