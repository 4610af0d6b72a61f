//! What our side of transit gathers before it knows the peer's hints: the TCP
//! listener, the router's port mapping, and a QUIC socket with the address the
//! relay's STUN responder saw. Asking a router that never answers costs up to
//! `portmap::BUDGET`, so a transfer starts gathering early ([`TransitConfig::warm_up`]),
//! while the code is typed and the rendezvous runs, and takes the result when
//! it builds its hints.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::{join_error, Error, Result};

use super::addrs::{listen_tcp, quic_bind};
use super::{portmap, quic, Listen, Quic, TransitConfig};

/// The sockets and addresses one attempt offers.
pub(super) struct Gathered {
    pub(super) listener: Option<TcpListener>,
    pub(super) local: Option<SocketAddr>,
    /// The router's port forwarded to `listener`, kept until the transfer ends.
    pub(super) mapping: Option<portmap::Mapping>,
    pub(super) quic: Option<quic::Prepared>,
}

/// How an attempt listens: `tcp` for the TCP listener, `quic` whether QUIC
/// candidates are wanted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Shape {
    pub(super) tcp: Listen,
    pub(super) quic: bool,
}

/// Binds, maps and asks STUN as `shape` says; the router and the STUN
/// responder are asked side by side.
pub(super) async fn gather(config: &TransitConfig, shape: Shape) -> Result<Gathered> {
    let listener = listen_tcp(shape.tcp).await?;
    let local = match &listener {
        Some(l) => Some(l.local_addr().map_err(|e| Error::io("listen", e))?),
        None => None,
    };
    // Only with the default listener: `--listen IP` names what to advertise.
    let mapping = async {
        match (shape.tcp, local) {
            (Listen::Auto, Some(a)) if config.port_mapping => portmap::map(a.port()).await,
            _ => None,
        }
    };
    let relays: Vec<_> = config.relay.iter().cloned().collect();
    let quic = async {
        let (bind, stun) = quic_bind(config.listen);
        match shape.quic {
            true => quic::Prepared::gather(bind, &relays, stun, &config.timing).await,
            false => None,
        }
    };
    let (mapping, quic) = tokio::join!(mapping, quic);
    Ok(Gathered {
        listener,
        local,
        mapping,
        quic,
    })
}

/// A gathering started ahead of time, taken once by the first attempt whose
/// shape it matches (a later attempt, or another shape, gathers anew).
#[derive(Clone, Default)]
pub struct Early(Arc<Mutex<Option<Started>>>);

struct Started {
    shape: Shape,
    /// `None` once taken.
    task: Option<JoinHandle<Result<Gathered>>>,
}

impl Drop for Started {
    /// Never taken: stop it (a mapping already made goes with its result).
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Early {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let started = self.0.lock().map(|s| s.is_some()).unwrap_or(false);
        f.debug_struct("Early").field("started", &started).finish()
    }
}

impl Early {
    /// The gathering started for `shape`, if one was and nobody took it.
    pub(super) async fn take(&self, shape: Shape) -> Option<Result<Gathered>> {
        let task = {
            let mut slot = self.0.lock().ok()?;
            match slot.as_mut() {
                Some(s) if s.shape.tcp == shape.tcp && s.shape.quic >= shape.quic => s.task.take(),
                _ => None,
            }
        }?;
        let mut gathered = match task.await {
            Ok(gathered) => gathered,
            Err(e) => Err(join_error(e)),
        };
        if let Ok(g) = &mut gathered {
            if !shape.quic {
                g.quic = None; // gathered in case the peer took QUIC; it does not
            }
        }
        Some(gathered)
    }
}

impl TransitConfig {
    /// This config with its first attempt's gathering already under way (inside
    /// a tokio runtime): listener, mapping and the QUIC socket, the latter in
    /// case the peer turns out to take QUIC. Nothing starts when this side only
    /// uses the relay, or with QUIC only (its TCP listener depends on the peer):
    /// both shape a QUIC-taking attempt without a TCP listener.
    pub fn warm_up(&self) -> TransitConfig {
        let mut warm = self.clone();
        let shape = shape_of(self, true);
        if shape.tcp == Listen::Off {
            return warm;
        }
        let config = self.clone();
        let task = tokio::spawn(async move { gather(&config, shape).await });
        let started = Started {
            shape,
            task: Some(task),
        };
        warm.early = Early(Arc::new(Mutex::new(Some(started))));
        warm
    }
}

/// How an attempt listens, given whether the peer takes QUIC candidates.
pub(super) fn shape_of(config: &TransitConfig, peer_takes_quic: bool) -> Shape {
    let listen = if config.force_relay {
        Listen::Off
    } else {
        config.listen
    };
    let quic = peer_takes_quic && listen != Listen::Off && config.quic != Quic::Off;
    let no_tcp_direct = quic && config.quic == Quic::Only;
    Shape {
        tcp: if no_tcp_direct { Listen::Off } else { listen },
        quic,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ferry_proto::transit::hints::Hint;

    use super::*;
    use crate::timing::Timing;
    use crate::tls::Trust;
    use crate::transit::TransitPrep;

    fn config() -> TransitConfig {
        TransitConfig {
            relay: None,
            trust: Trust::default(),
            listen: Listen::Only("127.0.0.1".parse().unwrap()),
            force_relay: false,
            port_mapping: false,
            quic: Quic::On,
            timing: Timing::default(),
            early: Early::default(),
        }
    }

    fn taken(early: &Early) -> bool {
        early
            .0
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|s| s.task.is_none())
    }

    fn tcp_port(prep: &TransitPrep) -> u16 {
        let hints = prep.message().usable_hints();
        match hints.first() {
            Some(Hint::Direct(d)) => d.port,
            other => panic!("no direct hint first: {other:?}"),
        }
    }

    /// The gathering runs before anyone asks; the first attempt takes it (QUIC
    /// left out for a peer without it), and the next attempt gathers anew.
    #[tokio::test]
    async fn the_first_attempt_takes_what_was_gathered_early() {
        let warm = config().warm_up();
        tokio::time::sleep(Duration::from_millis(100)).await;
        {
            let slot = warm.early.0.lock().unwrap();
            let task = slot
                .as_ref()
                .and_then(|s| s.task.as_ref())
                .expect("started");
            assert!(task.is_finished(), "gathered without being asked");
        }
        let first = TransitPrep::with_quic(&warm, false).await.unwrap();
        assert!(taken(&warm.early));
        assert_eq!(first.message().quic(), None, "the peer takes no QUIC");
        let second = TransitPrep::with_quic(&warm, true).await.unwrap();
        assert!(second.message().quic().is_some());
        assert_ne!(tcp_port(&first), tcp_port(&second), "a listener of its own");
    }

    /// Relay only, no listener, or QUIC only: nothing is gathered ahead.
    #[tokio::test]
    async fn nothing_starts_early_where_the_peer_decides_or_nothing_listens() {
        for change in [
            |c: &mut TransitConfig| c.force_relay = true,
            |c: &mut TransitConfig| c.listen = Listen::Off,
            |c: &mut TransitConfig| c.quic = Quic::Only,
        ] {
            let mut c = config();
            change(&mut c);
            assert!(c.warm_up().early.0.lock().unwrap().is_none());
        }
    }
}
