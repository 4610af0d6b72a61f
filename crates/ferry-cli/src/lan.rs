//! `--lan`: LocalSend on the local network, no server. The shared set-up
//! (identity, alias, where to listen) lives here; each command in lan/.

mod choose;
mod devices;
mod fetch;
mod receive;
mod send;
mod share;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{Context, Result};

use crate::args::{Common, LanArgs};
use crate::checks::Invalid;
use crate::outcome::Interrupted;
use ferry::lan::discovery::{self, Interfaces};
use ferry::lan::identity::Identity;
use ferry::lan::Target;
use ferry::Cancel;

pub use devices::run as devices;
pub use receive::run as receive;
pub use send::run as send;

/// What every LAN command needs.
struct Lan {
    identity: Identity,
    alias: String,
    /// Where the HTTPS server binds (receive).
    ip: IpAddr,
    port: u16,
    discovery: discovery::Config,
}

impl Lan {
    fn new(args: &LanArgs, listen: Option<IpAddr>) -> Result<Lan> {
        let interface = match listen {
            None => None,
            Some(IpAddr::V4(ip)) => Some(ip),
            Some(IpAddr::V6(_)) => {
                return Err(Invalid("--listen with --lan takes an IPv4 address".into()).into())
            }
        };
        let dir = Identity::default_dir().context("where to keep ferry's LAN identity")?;
        let identity = Identity::load_or_create(&dir).context("ferry's LAN identity")?;
        Ok(Lan {
            identity,
            alias: args.alias.clone().unwrap_or_else(host_name),
            ip: listen.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port: args.lan_port,
            discovery: discovery_config(args.lan_port, interface),
        })
    }
}

/// `--to` / `--from`: an address needs no discovery; anything else is a
/// device's alias or the start of its fingerprint.
fn target(to: &str, port: u16) -> Target {
    if let Ok(ip) = to.parse::<IpAddr>() {
        return Target::Addr(SocketAddr::new(ip, port));
    }
    match to.parse::<SocketAddr>() {
        Ok(addr) => Target::Addr(addr),
        Err(_) => Target::Device(to.to_owned()),
    }
}

/// Multicast on every LAN interface, or only on the one that holds `ip`.
fn discovery_config(port: u16, ip: Option<Ipv4Addr>) -> discovery::Config {
    let interfaces = match ip {
        Some(ip) => Interfaces::Only(vec![ip]),
        None => Interfaces::AllUp,
    };
    discovery::Config::new(port, interfaces)
}

/// The host name, as other devices will list us by default.
fn host_name() -> String {
    let read = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"));
    let name = read.map(|n| n.trim().to_owned()).unwrap_or_default();
    match name.is_empty() {
        true => "ferry".to_owned(),
        false => name,
    }
}

/// Refuses the wormhole-only options with `--lan` (typed before or after the
/// subcommand): they would be silently ignored otherwise.
fn refuse_wormhole_options(before: &Common, after: &Common, more: &[(&str, bool)]) -> Result<()> {
    let given = |f: fn(&Common) -> bool| f(before) || f(after);
    let flags = [
        ("--server", given(|c| c.server.is_some())),
        ("--relay", given(|c| c.relay.is_some())),
        ("--ca-file", given(|c| c.ca_file.is_some())),
        ("--app-id", given(|c| c.app_id.is_some())),
        ("--force-relay", given(|c| c.force_relay)),
        ("--no-listen", given(|c| c.no_listen)),
        ("--reconnect-for", given(|c| c.reconnect_for.is_some())),
    ];
    let wrong: Vec<&str> = flags
        .iter()
        .chain(more)
        .filter(|(_, given)| *given)
        .map(|(name, _)| *name)
        .collect();
    match wrong.as_slice() {
        [] => Ok(()),
        names => Err(Invalid(format!(
            "{} cannot be used with --lan (there is no server and no code on the LAN)",
            names.join(", ")
        ))
        .into()),
    }
}

/// Runs `work` until it ends or the user stops it (dropping it, which closes
/// the server and removes partial files).
async fn until_cancelled<T, E: Into<anyhow::Error>>(
    cancel: &Cancel,
    work: impl Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Interrupted.into()),
        result = work => result.map_err(Into::into),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_an_ip_an_address_or_a_name() {
        let addr = |s: &str| Target::Addr(s.parse().unwrap());
        assert_eq!(target("10.0.0.2", 53317), addr("10.0.0.2:53317"));
        assert_eq!(target("10.0.0.2:9000", 53317), addr("10.0.0.2:9000"));
        assert_eq!(target("::1", 7), addr("[::1]:7"));
        assert_eq!(target("[::1]:8", 7), addr("[::1]:8"));
        assert_eq!(target("Kitchen TV", 1), Target::Device("Kitchen TV".into()));
        assert_eq!(target("3FA2", 1), Target::Device("3FA2".into()));
    }
}
