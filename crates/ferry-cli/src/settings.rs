//! From what the user typed to resolved settings. Precedence, highest first: a flag
//! after the subcommand, the same flag before it, the environment (`FERRY_SERVER`,
//! `FERRY_RELAY`, `FERRY_APPID`), the config file (config.rs), the defaults.
//! `ferry send --web-url` resolves the same way (`FERRY_WEB_URL`, `web_url`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use ferry::tls::Trust;
use ferry::transit::{parse_relay, Listen, Quic, TransitConfig, DEFAULT_RELAY};
use ferry::{MailboxConfig, DEFAULT_MAILBOX_URL};
use ferry_proto::transfer::DEFAULT_APPID;

use crate::args::Common;
use crate::checks::{
    check_app_id, check_each, check_relay, check_server, check_web_url, env, Check, Invalid,
};
use crate::config::{self, ConfigFile};

/// The shared options with every layer applied, and the config file's
/// `output_dir` and `web_url` (which only `receive` and `send` use: their flags
/// live in ReceiveArgs and SendArgs).
pub struct Resolved {
    pub common: Common,
    pub output_dir: Option<PathBuf>,
    pub web_url: Option<String>,
}

/// Merges the options typed before and after the subcommand, then fills what
/// neither gave from the environment and the config file, and checks the values.
pub fn resolve(before: Common, after: Common) -> Result<Resolved> {
    let mut c = merge(before, after)?;
    check_flags(&c)?;
    let file = config::load(c.config.as_deref())?;
    let ConfigFile {
        server,
        relay,
        ca_file,
        app_id,
        output_dir,
        web_url,
    } = file;
    c.server = layer(c.server, "FERRY_SERVER", check_server, server)?;
    c.relay = layer(c.relay, "FERRY_RELAY", check_relay, relay)?;
    c.app_id = layer(c.app_id, "FERRY_APPID", check_app_id, app_id)?;
    c.ca_file = c
        .ca_file
        .or_else(|| env("FERRY_CA_FILE").map(PathBuf::from))
        .or(ca_file);
    Ok(Resolved {
        common: c,
        output_dir,
        web_url,
    })
}

/// `ferry send --web-url`, else `FERRY_WEB_URL`, else the config file's `web_url`.
pub fn web_url(flag: Option<String>, file: Option<String>) -> Result<Option<String>> {
    check_each([("bad --web-url", &flag, check_web_url)]).map_err(Invalid)?;
    layer(flag, "FERRY_WEB_URL", check_web_url, file)
}

/// A flag after the subcommand beats the same flag before it; switches add up.
fn merge(before: Common, after: Common) -> Result<Common> {
    let c = Common {
        server: after.server.or(before.server),
        relay: after.relay.or(before.relay),
        ca_file: after.ca_file.or(before.ca_file),
        app_id: after.app_id.or(before.app_id),
        config: after.config.or(before.config),
        quiet: after.quiet || before.quiet,
        force_relay: after.force_relay || before.force_relay,
        listen: after.listen.or(before.listen),
        no_listen: after.no_listen || before.no_listen,
        hide_progress: after.hide_progress || before.hide_progress,
        json: after.json || before.json,
        reconnect_for: after.reconnect_for.or(before.reconnect_for),
        v1: after.v1 || before.v1,
    };
    // clap sees this conflict only when both flags sit on the same side.
    if c.no_listen && c.listen.is_some() {
        return Err(Invalid("--listen and --no-listen cannot be used together".into()).into());
    }
    Ok(c)
}

/// Refuses transfer options typed before a subcommand other than send and
/// receive (clap accepts them before any subcommand).
pub fn none_given(before: &Common) -> Result<()> {
    if any_given(before) {
        return Err(Invalid(
            "the transfer options (--server, --relay, …) go with send and receive only".into(),
        )
        .into());
    }
    Ok(())
}

fn any_given(c: &Common) -> bool {
    let Common {
        server,
        relay,
        ca_file,
        app_id,
        config,
        quiet,
        force_relay,
        listen,
        no_listen,
        hide_progress,
        json,
        reconnect_for,
        v1,
    } = c;
    server.is_some()
        || relay.is_some()
        || ca_file.is_some()
        || app_id.is_some()
        || config.is_some()
        || listen.is_some()
        || *quiet
        || *force_relay
        || *no_listen
        || *hide_progress
        || *json
        || reconnect_for.is_some()
        || *v1
}

/// The flag's value, else the environment variable's (checked, so a mistake
/// names the variable), else the config file's (checked as the file was read).
fn layer(
    flag: Option<String>,
    var: &str,
    check: Check,
    file: Option<String>,
) -> Result<Option<String>> {
    if flag.is_some() {
        return Ok(flag);
    }
    match env(var) {
        Some(v) => match check(&v) {
            Ok(()) => Ok(Some(v)),
            Err(e) => Err(Invalid(format!("bad {var}: {e}")).into()),
        },
        None => Ok(file),
    }
}

/// Checks the values typed on the command line.
fn check_flags(c: &Common) -> Result<()> {
    check_each([
        ("bad --server", &c.server, check_server),
        ("bad --relay", &c.relay, check_relay),
        ("bad --app-id", &c.app_id, check_app_id),
    ])
    .map_err(|e| Invalid(e).into())
}

/// The CAs to trust: the system's, plus `--ca-file`'s (read and checked here,
/// so a bad file fails before anyone is involved).
pub fn trust(common: &Common) -> Result<Trust> {
    Ok(match &common.ca_file {
        Some(path) => Trust::with_ca_file(path).map_err(|e| Invalid(e.to_string()))?,
        None => Trust::system(),
    })
}

/// The mailbox settings.
pub fn mailbox(common: &Common, trust: &Trust) -> MailboxConfig {
    MailboxConfig {
        url: common
            .server
            .clone()
            .unwrap_or_else(|| DEFAULT_MAILBOX_URL.to_owned()),
        appid: common
            .app_id
            .clone()
            .unwrap_or_else(|| DEFAULT_APPID.to_owned()),
        app_versions: ferry::native::app_versions(),
        timing: ferry::Timing::default(),
        trust: trust.clone(),
    }
}

/// The transit settings.
pub fn transit(common: &Common, trust: &Trust) -> Result<TransitConfig> {
    let relay_text = common.relay.as_deref().unwrap_or(DEFAULT_RELAY);
    let relay = parse_relay(relay_text).map_err(|e| Invalid(format!("bad --relay: {e}")))?;
    let listen = match (common.no_listen, common.listen) {
        (true, _) => Listen::Off,
        (false, Some(ip)) => Listen::Only(ip),
        (false, None) => Listen::Auto,
    };
    Ok(TransitConfig {
        relay: Some(relay),
        trust: trust.clone(),
        listen,
        force_relay: common.force_relay,
        // FERRY_NO_PORT_MAPPING=1: no packets to the router (tests, or by choice).
        port_mapping: env("FERRY_NO_PORT_MAPPING").is_none(),
        quic: quic_setting()?,
        timing: transit_timing(common)?,
        early: Default::default(),
    })
}

/// FERRY_QUIC: `off` (no UDP socket, no STUN query), `only` (QUIC instead of
/// direct TCP with a ferry that takes it: benchmarks of the path), or `on`, the
/// default.
fn quic_setting() -> Result<Quic> {
    match env("FERRY_QUIC").as_deref() {
        None | Some("on") => Ok(Quic::On),
        Some("off") => Ok(Quic::Off),
        Some("only") => Ok(Quic::Only),
        Some(other) => {
            let why = format!("FERRY_QUIC must be on, off or only, not {other:?}");
            Err(Invalid(why).into())
        }
    }
}

/// The transit timers: `--reconnect-for` (or FERRY_RECONNECT_FOR), and
/// FERRY_IDLE_TIMEOUT (seconds of silence that end a transfer; keep-alives go
/// out six times as often), which tests shrink.
fn transit_timing(common: &Common) -> Result<ferry::Timing> {
    let secs = |var: &str| -> Result<Option<u64>> {
        match env(var) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Invalid(format!("bad {var}: not a number of seconds")).into()),
        }
    };
    let mut timing = ferry::Timing::default();
    if let Some(s) = common.reconnect_for.or(secs("FERRY_RECONNECT_FOR")?) {
        timing.reconnect_for = Duration::from_secs(s);
    }
    if let Some(s) = secs("FERRY_IDLE_TIMEOUT")?.filter(|&s| s > 0) {
        timing.transit_idle = Duration::from_secs(s);
        timing.keepalive = Duration::from_secs(s) / 6;
    }
    Ok(timing)
}

/// Whether colour may be used: never when NO_COLOR is set to anything non-empty
/// (no-color.org); the caller still checks that the output is a terminal.
pub fn colour_allowed() -> bool {
    env("NO_COLOR").is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_the_subcommand_beats_before() {
        let before = Common {
            server: Some("ws://before/v1".into()),
            relay: Some("tcp:before:1".into()),
            quiet: true,
            ..Common::default()
        };
        let after = Common {
            server: Some("ws://after/v1".into()),
            ..Common::default()
        };
        let c = merge(before, after).unwrap();
        assert_eq!(c.server.as_deref(), Some("ws://after/v1"));
        assert_eq!(c.relay.as_deref(), Some("tcp:before:1"));
        assert!(c.quiet);
    }

    #[test]
    fn listen_before_and_no_listen_after_conflict() {
        let before = Common {
            listen: Some("127.0.0.1".parse().unwrap()),
            ..Common::default()
        };
        let after = Common {
            no_listen: true,
            ..Common::default()
        };
        assert!(merge(before, after).unwrap_err().is::<Invalid>());
    }

    #[test]
    fn server_urls_must_be_websockets() {
        assert!(check_server("ws://h:4000/v1").is_ok());
        assert!(check_server("wss://h/v1").is_ok());
        assert!(check_server("http://h:4000/v1").is_err());
        assert!(check_server("ws://").is_err());
    }
}
