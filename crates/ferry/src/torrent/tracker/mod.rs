//! Announcing to trackers: HTTP(S) and UDP (BEP 15), each try bounded in time.
//!
//! [`TrackerClient::announce`] takes the tracker's URL from the metainfo or magnet link
//! and returns its peers; every error names the tracker and says why it failed.

use std::io;
use std::time::Duration;

use ferry_proto::torrent::tracker::{udp, Announce, AnnounceResponse, TrackerError};

use crate::tls::Trust;

mod http;
mod udp_client;
mod url;

pub use url::TrackerUrl;

/// The tracker client's timers. Tests shrink them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerTiming {
    /// TCP (and TLS) connect to an HTTP tracker.
    pub connect: Duration,
    /// The whole HTTP request and answer after the connect.
    pub http: Duration,
    /// BEP 15's base retransmission timeout (15 s); try n waits `udp_base * 2^n`.
    pub udp_base: Duration,
    /// Tries per UDP request before giving up. BEP 15 allows 9 (about two hours);
    /// 3 gives up after 105 s, close to libtorrent's 30 s completion timeout times a
    /// few retries, so a dead tracker costs minutes, not hours.
    pub udp_tries: u32,
}

impl Default for TrackerTiming {
    fn default() -> Self {
        TrackerTiming {
            connect: Duration::from_secs(10),
            http: Duration::from_secs(30),
            udp_base: udp::BASE_TIMEOUT,
            udp_tries: 3,
        }
    }
}

impl TrackerTiming {
    /// Short timers for tests: `base` for every wait, `tries` UDP tries.
    pub fn fast(base: Duration, tries: u32) -> Self {
        TrackerTiming {
            connect: base,
            http: base,
            udp_base: base,
            udp_tries: tries,
        }
    }
}

/// An announce that failed, and which tracker it was.
#[derive(Debug, thiserror::Error)]
#[error("tracker {tracker}: {cause}")]
pub struct AnnounceError {
    pub tracker: String,
    pub cause: Cause,
}

/// Why an announce failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Cause {
    #[error("not a tracker URL ({0})")]
    BadUrl(&'static str),
    #[error("cannot resolve its host: {0}")]
    Resolve(io::Error),
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("no answer to {tries} UDP tries over {waited:?}")]
    NoUdpAnswer { tries: u32, waited: Duration },
    #[error("{0}")]
    Io(io::Error),
    #[error(transparent)]
    Tracker(#[from] TrackerError),
}

/// Announces to trackers.
#[derive(Debug, Clone, Default)]
pub struct TrackerClient {
    timing: TrackerTiming,
    trust: Trust,
}

impl TrackerClient {
    pub fn new(timing: TrackerTiming, trust: Trust) -> Self {
        TrackerClient { timing, trust }
    }

    /// Announces `a` to the tracker at `url` (`http://`, `https://` or `udp://`).
    pub async fn announce(
        &self,
        url: &str,
        a: &Announce,
    ) -> Result<AnnounceResponse, AnnounceError> {
        let result = match TrackerUrl::parse(url) {
            Ok(TrackerUrl::Http {
                tls,
                host,
                port,
                target,
            }) => {
                http::announce(
                    &self.timing,
                    tls.then_some(&self.trust),
                    &host,
                    port,
                    &target,
                    a,
                )
                .await
            }
            Ok(TrackerUrl::Udp { host, port }) => {
                udp_client::announce(&self.timing, &host, port, a).await
            }
            Err(why) => Err(Cause::BadUrl(why)),
        };
        result.map_err(|cause| AnnounceError {
            tracker: url.escape_debug().to_string(),
            cause,
        })
    }
}

async fn resolve(host: &str, port: u16) -> Result<Vec<std::net::SocketAddr>, Cause> {
    let addrs: Vec<_> = tokio::net::lookup_host((host, port))
        .await
        .map_err(Cause::Resolve)?
        .collect();
    if addrs.is_empty() {
        return Err(Cause::Resolve(io::Error::new(
            io::ErrorKind::NotFound,
            "no address",
        )));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests;
