//! How a receiving ferry stays visible: it announces itself, then answers
//! every announcement that asks for one with `POST register` over HTTPS
//! (what the app does, and how the app finds ferry), falling back to the
//! protocol's multicast answer when the device's server cannot be reached.

use std::net::SocketAddr;

use ferry_proto::localsend::{DeviceInfo, Register};
use tokio::task::JoinHandle;

use super::client::{Client, Remote};
use super::discovery::{self, Discovered, DiscoverySocket, Listener};
use super::identity::Identity;
use super::server::{self, Events, Server, ServerConfig};
use super::us::Us;
use crate::error::{Error, Result};

/// A started server and, unless there is no `discovery`, the task that
/// announces it and answers announcements.
pub(super) struct Visible {
    pub(super) server: Server,
    pub(super) events: Events,
    pub(super) announcer: Option<JoinHandle<()>>,
}

impl Visible {
    /// Starts ferry's server (HTTPS, or plain HTTP when `config.http`, which
    /// also lets it register with devices that announced plain HTTP), then
    /// announces `us` on its port.
    pub(super) async fn start(
        config: ServerConfig,
        us: Us,
        discovery: Option<discovery::Config>,
        identity: &Identity,
    ) -> Result<Visible> {
        let (addr, http) = (config.addr, config.http);
        let scheme = if http { "HTTP" } else { "HTTPS" };
        let started = server::spawn(config, identity).await;
        let (server, events) =
            started.map_err(|e| Error::io(format!("serving {scheme} on {addr}"), e))?;
        let us = us.register(server.local_addr().port());
        let announce = |c| tokio::spawn(announce_and_answer(c, us, http, identity.clone()));
        let announcer = discovery.map(announce);
        Ok(Visible {
            server,
            events,
            announcer,
        })
    }
}

/// Announces `us`, then answers what it hears until the task is aborted.
async fn announce_and_answer(
    config: discovery::Config,
    us: Register,
    http: bool,
    identity: Identity,
) {
    let socket = match DiscoverySocket::bind(&config) {
        Ok(socket) => socket,
        Err(e) => return tracing::warn!("cannot announce on the LAN: {e}"),
    };
    let mut listener = Listener::new(&socket, &us.fingerprint);
    let announcing = discovery::announce(&socket, &us);
    tokio::pin!(announcing);
    let mut announced = false;
    loop {
        tokio::select! {
            sent = &mut announcing, if !announced => {
                announced = true;
                if let Err(e) = sent {
                    tracing::warn!("announcing on the LAN failed: {e}");
                }
            }
            heard = listener.next() => match heard {
                Ok(d) if d.wants_answer => answer(&socket, &d, &us, &identity, http).await,
                Ok(_) => {}
                Err(e) => return tracing::warn!("listening on the LAN failed: {e}"),
            },
        }
    }
}

/// Registers with the device that announced; multicast if that fails.
// Awaited in line: one answer at a time bounds the work a flood of
// announcements can cause (each register is bounded by the client's timeouts).
async fn answer(
    socket: &DiscoverySocket,
    heard: &Discovered,
    us: &Register,
    identity: &Identity,
    http: bool,
) {
    match register(heard, us, identity, http).await {
        Ok(info) => tracing::debug!(alias = %info.alias, "registered with a device"),
        Err(e) => {
            tracing::debug!(from = %heard.from, "register failed ({e}); answering by multicast");
            if let Err(e) = discovery::reply(socket, heard.from, us).await {
                tracing::debug!("multicast answer failed: {e}");
            }
        }
    }
}

/// `POST register` to the device's HTTPS server, pinned to what it announced
/// (or its plain HTTP server, if it announced one and `http` allows it).
pub(super) async fn register(
    heard: &Discovered,
    us: &Register,
    identity: &Identity,
    http: bool,
) -> Result<DeviceInfo> {
    let remote = Remote {
        addr: SocketAddr::new(heard.from.ip(), heard.info.port),
        fingerprint: heard.info.fingerprint.clone(),
        alias: heard.info.alias.clone(),
    };
    let client = Client::for_scheme(identity, remote, heard.info.protocol, http)?;
    client.register(us).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::lan::discovery::test_device;
    use crate::lan::{ReceiveOptions, Receiving};

    /// A ferry receiver on loopback hears `register` and answers with its info.
    #[tokio::test]
    async fn register_reaches_the_announcer_pinned() {
        let tmp = tempfile::tempdir().unwrap();
        let them = Identity::load_or_create(&tmp.path().join("them")).unwrap();
        let us_id = Identity::load_or_create(&tmp.path().join("us")).unwrap();
        let mut options = ReceiveOptions::new(tmp.path().join("out"), "announcer".into());
        options.addr = "127.0.0.1:0".parse().unwrap();
        options.discovery = None;
        let receiving = Receiving::start(options, &them).await.unwrap();
        let mut info = test_device("announcer", them.fingerprint().as_str());
        info.port = receiving.local_addr().port();
        let heard = Discovered {
            info,
            from: "127.0.0.1:53317".parse().unwrap(),
            wants_answer: true,
        };
        let us = test_device("ferry", us_id.fingerprint().as_str());
        let limit = Duration::from_secs(10);
        let answer = tokio::time::timeout(limit, register(&heard, &us, &us_id, false));
        let info = answer.await.unwrap().unwrap();
        assert_eq!(info.alias, "announcer");
        assert_eq!(info.fingerprint, them.fingerprint().as_str());
    }
}
