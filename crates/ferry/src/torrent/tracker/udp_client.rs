//! A UDP announce (BEP 15): connect, then announce, each retransmitted on BEP 15's
//! doubling schedule until [`TrackerTiming::udp_tries`] tries are spent.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{timeout_at, Instant};

use ferry_proto::torrent::tracker::udp::{self, ConnectionId, UdpResponse};
use ferry_proto::torrent::tracker::{Announce, AnnounceResponse, TrackerError};

use super::{resolve, Cause, TrackerTiming};

/// Largest packet read: 20 bytes of header and ~200 IPv6 peers; longer ones are cut,
/// and the cut leaves a peers length that is refused.
const MAX_PACKET: usize = 4096;

pub(super) async fn announce(
    timing: &TrackerTiming,
    host: &str,
    port: u16,
    a: &Announce,
) -> Result<AnnounceResponse, Cause> {
    let target = resolve(host, port).await?[0];
    let bind: SocketAddr = match target {
        SocketAddr::V4(_) => "0.0.0.0:0".parse().map_err(|_| Cause::BadUrl("bind"))?,
        SocketAddr::V6(_) => "[::]:0".parse().map_err(|_| Cause::BadUrl("bind"))?,
    };
    let socket = UdpSocket::bind(bind).await.map_err(Cause::Io)?;
    socket.connect(target).await.map_err(Cause::Connect)?;
    let mut session = Session {
        socket,
        timing,
        ipv6: target.is_ipv6(),
        connection: None,
    };
    session.run(a).await
}

struct Session<'a> {
    socket: UdpSocket,
    timing: &'a TrackerTiming,
    ipv6: bool,
    connection: Option<ConnectionId>,
}

impl Session<'_> {
    async fn run(&mut self, a: &Announce) -> Result<AnnounceResponse, Cause> {
        let mut tries = 0;
        let mut waited = Duration::ZERO;
        loop {
            let wait = udp::retransmit_timeout(self.timing.udp_base, tries)
                .filter(|_| tries < self.timing.udp_tries)
                .ok_or(Cause::NoUdpAnswer { tries, waited })?;
            let transaction = rand::random();
            let connection = self
                .connection
                .filter(|c| c.valid_at(Instant::now().into_std()));
            let packet = match connection {
                Some(c) => udp::announce_request(c.id, transaction, a).to_vec(),
                None => udp::connect_request(transaction).to_vec(),
            };
            self.socket.send(&packet).await.map_err(Cause::Io)?;
            let deadline = Instant::now() + wait;
            match self.answer(transaction, deadline).await? {
                None => {
                    tries += 1;
                    waited += wait;
                }
                Some(UdpResponse::Connect { connection, .. }) => {
                    // The announce gets its own tries after the first connect; later
                    // connects (an expired id) spend from them, so a tracker that
                    // answers connects but never announces cannot keep us forever.
                    if self.connection.is_none() {
                        tries = 0;
                    }
                    let received = Instant::now().into_std();
                    self.connection = Some(ConnectionId {
                        id: connection,
                        received,
                    });
                }
                Some(UdpResponse::Announce { response, .. }) => return Ok(response),
                Some(UdpResponse::EmptyAnnounce { .. }) => {
                    return Err(TrackerError::UdpEmptyAnnounce.into())
                }
                Some(UdpResponse::Error { message, .. }) => {
                    return Err(TrackerError::Failure(message).into())
                }
            }
        }
    }

    /// The answer to `transaction`, or `None` at the deadline. Packets for other
    /// transactions (late answers to earlier tries) are skipped.
    async fn answer(
        &self,
        transaction: u32,
        deadline: Instant,
    ) -> Result<Option<UdpResponse>, Cause> {
        let mut buf = vec![0; MAX_PACKET];
        loop {
            let Ok(received) = timeout_at(deadline, self.socket.recv(&mut buf)).await else {
                return Ok(None);
            };
            let n = match received {
                Ok(n) => n,
                // An ICMP port unreachable from an earlier send: the next try or the
                // deadline decides.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(Cause::Io(e)),
            };
            let response = udp::decode_response(&buf[..n], self.ipv6)?;
            if response.transaction() == transaction {
                return Ok(Some(response));
            }
        }
    }
}
