//! `ferry lan devices`: who answers on the LAN, for people or (`--json`) scripts.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use super::{discovery_config, host_name, Lan};
use crate::args::DevicesArgs;
use ferry::lan::discovery::Device;
use ferry::lan::identity::Identity;
use ferry_proto::transfer::path::escape_for_terminal;

pub async fn run(args: DevicesArgs) -> Result<()> {
    let dir = Identity::default_dir().context("where to keep ferry's LAN identity")?;
    let lan = Lan {
        identity: Identity::load_or_create(&dir).context("ferry's LAN identity")?,
        alias: host_name(),
        ip: args.listen.map_or(IpAddr::from([0, 0, 0, 0]), IpAddr::V4),
        port: args.lan_port,
        discovery: discovery_config(args.lan_port, args.listen),
    };
    let found = scan(&lan, Duration::from_secs(args.timeout)).await?;
    let mut out = std::io::stdout().lock();
    for device in &found {
        let line = match args.json {
            true => crate::json::line(&as_json(device)),
            false => describe(device),
        };
        writeln!(out, "{line}").context("writing the list")?;
    }
    if found.is_empty() && !args.json {
        eprintln!("No device answered within {} s.", args.timeout);
    }
    Ok(())
}

/// The devices heard within `time`.
pub(super) async fn scan(lan: &Lan, time: Duration) -> Result<Vec<Device>> {
    let found = ferry::lan::devices(&lan.discovery, &lan.alias, &lan.identity, time).await;
    found.context("scanning the LAN")
}

/// One line for people: alias, address, kind, fingerprint start.
pub(super) fn describe(device: &Device) -> String {
    let info = &device.info;
    let kind = info.device_type.map_or("device", |t| t.as_str());
    format!(
        "{}  {}:{}  {kind}  {}  fingerprint {}",
        escape_for_terminal(&info.alias),
        device.from.ip(),
        info.port,
        escape_for_terminal(info.device_model.as_deref().unwrap_or("-")),
        escape_for_terminal(info.fingerprint.get(..16).unwrap_or(&info.fingerprint)),
    )
}

fn as_json(device: &Device) -> serde_json::Value {
    let info = &device.info;
    json!({
        "alias": info.alias,
        "ip": device.from.ip().to_string(),
        "port": info.port,
        "fingerprint": info.fingerprint,
        "protocol": info.protocol,
        "deviceType": info.device_type,
        "deviceModel": info.device_model,
        "download": info.download,
    })
}
