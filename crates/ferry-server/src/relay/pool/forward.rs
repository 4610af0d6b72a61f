//! Handing a client over to the instance that owns its token: connect to the
//! owner's relay TCP port, send the signed preamble in place of the client's
//! line, then splice both ways until either side ends. The owner answers the
//! client (`ok`, `impatient`, its refusals) through this splice.

use std::net::{IpAddr, SocketAddr};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use ferry_proto::wire::relay::RelayRequest;

use super::preamble::unix_now;
use super::Pool;
use crate::relay::splice::splice;
use crate::relay::stream::RelayStream;

/// Counts a hand-over in progress.
struct Forwarding<'a>(&'a crate::metrics::Metrics);

impl Drop for Forwarding<'_> {
    fn drop(&mut self) {
        self.0.relay_forwarding.dec();
    }
}

/// Hands `client` over to `owner`. `Err` gives the stream back when the owner
/// did not take the connection: its entry is then evicted, and the caller
/// claims again.
pub(crate) async fn forward(
    pool: &Pool,
    client: RelayStream,
    req: &RelayRequest,
    owner: SocketAddr,
    client_ip: IpAddr,
) -> Result<(), RelayStream> {
    let line = pool.key.sign(req, client_ip, unix_now()).encode();
    let Some(upstream) = open(pool, owner, &line).await else {
        tracing::warn!(%owner, "the relay instance owning a token did not answer; evicting it");
        pool.evict(&req.token, owner).await;
        return Err(client);
    };
    let m = &pool.metrics;
    m.relay_forwarded_total.inc();
    m.relay_forwarding.inc();
    let _counted = Forwarding(m);
    tracing::debug!(%owner, "handing over to the token's owner");
    let upstream = RelayStream::Tcp(upstream);
    let (_, bytes) = splice(client, upstream, None, &m.relay_forwarded_bytes_total).await;
    tracing::debug!(bytes, "hand-over ended");
    Ok(())
}

/// Connects to `owner` and sends `line`, within the pool's timeout.
async fn open(pool: &Pool, owner: SocketAddr, line: &[u8]) -> Option<TcpStream> {
    let connect = async {
        let mut s = TcpStream::connect(owner).await?;
        s.set_nodelay(true)?;
        s.write_all(line).await?;
        Ok::<_, std::io::Error>(s)
    };
    match tokio::time::timeout(pool.timeout, connect).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::debug!(%owner, error = %e, "cannot reach a relay instance");
            None
        }
        Err(_) => None,
    }
}
