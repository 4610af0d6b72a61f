//! Resolved server settings, and the optional TOML file that can set them.
//!
//! Precedence (applied by the CLI): flags and `FERRY_SERVE_*` env > config file >
//! [`Config::default`].

use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::relay::pool::RelayPool;

pub(crate) mod values;

/// Where mailbox state lives. `Debug` and `Display` hide a URL's password.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Database {
    /// An SQLite file (created if missing); survives restarts.
    Sqlite(PathBuf),
    /// SQLite in memory: the same code path as a file, nothing survives a restart.
    SqliteMemory,
    /// A plain in-memory store (tests, throw-away servers).
    Memory,
    /// PostgreSQL (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`): several instances
    /// share it.
    Postgres(String),
}

impl Database {
    /// `--database` (and the config file's `database`): an SQLite file path,
    /// `:memory:`, or a `postgres://` (`postgresql://`) URL. Any other URL is
    /// refused, never taken as a path (`mysql://h/db` would create `./mysql:/h`).
    pub fn parse(arg: &str) -> Result<Self, String> {
        if arg == ":memory:" {
            return Ok(Database::SqliteMemory);
        }
        if let Some(scheme) = url_scheme(arg) {
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "postgres" || scheme == "postgresql" {
                return Ok(Database::Postgres(arg.to_owned()));
            }
            return Err(format!(
                "{}: unknown database URL scheme {scheme:?}; give an SQLite file path, ':memory:' or a postgres:// URL",
                redact(arg)
            ));
        }
        if arg.is_empty() {
            return Err(
                "the database path is empty; give an SQLite file path or ':memory:'".into(),
            );
        }
        Ok(Database::Sqlite(PathBuf::from(arg)))
    }
}

/// A URL with its password (if any) replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({self})")
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "{}", p.display()),
            Database::SqliteMemory => f.write_str(":memory: (SQLite)"),
            Database::Memory => f.write_str("memory"),
            Database::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// `scheme` of `scheme://…` when it is a valid URL scheme (RFC 3986: a letter,
/// then letters, digits, `+`, `-`, `.`).
fn url_scheme(arg: &str) -> Option<&str> {
    let (scheme, _) = arg.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

fn database_arg<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Database>, D::Error> {
    let arg = Option::<String>::deserialize(d)?;
    arg.map(|a| Database::parse(&a).map_err(serde::de::Error::custom))
        .transpose()
}

/// Abuse limits. Each refusal is logged and counted in `/metrics`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Largest `add` body in bytes (the hex text carries twice as many chars).
    pub max_body_bytes: usize,
    /// Messages one mailbox may hold.
    pub max_messages_per_mailbox: usize,
    /// Concurrent connections from one IP address, per service (mailbox, relay).
    pub max_connections_per_ip: usize,
    /// Nameplates that connections from one IP address may hold at once.
    pub max_nameplates_per_ip: usize,
    /// Relayed pairs at once.
    pub max_relay_pairs: usize,
    /// Bytes (both directions) one relayed pair may carry; `None` is unlimited.
    pub max_relay_bytes_per_pair: Option<u64>,
    /// Frames queued for one WebSocket client before it is dropped as too slow.
    pub send_queue_frames: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_messages_per_mailbox: 1024,
            max_connections_per_ip: 256,
            max_nameplates_per_ip: 64,
            max_relay_pairs: 10_000,
            max_relay_bytes_per_pair: None,
            send_queue_frames: 64,
        }
    }
}

/// Timers. The protocol defaults follow the reference server; tests shrink them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Timing {
    /// A mailbox idle this long (no open/add, no connected subscriber) is deleted.
    pub mailbox_expiry: Duration,
    /// How often expiry runs.
    pub expiry_check: Duration,
    /// WebSocket ping period (mailbox and relay).
    pub ping_interval: Duration,
    /// A WebSocket client silent this long (not even a pong) is dropped.
    pub ws_idle_timeout: Duration,
    /// Time allowed for the HTTP request head (and the WebSocket upgrade).
    pub http_timeout: Duration,
    /// A write that cannot complete in this time drops the client.
    pub write_timeout: Duration,
    /// Time allowed for the relay's `please relay` line.
    pub relay_handshake_timeout: Duration,
    /// Time a relay connection may wait for its partner.
    pub relay_wait_timeout: Duration,
    /// On shutdown, time given to connections to close cleanly.
    pub shutdown_grace: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            mailbox_expiry: Duration::from_secs(11 * 60),
            expiry_check: Duration::from_secs(5 * 60),
            ping_interval: Duration::from_secs(60),
            ws_idle_timeout: Duration::from_secs(300),
            http_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            relay_handshake_timeout: Duration::from_secs(30),
            relay_wait_timeout: Duration::from_secs(3600),
            shutdown_grace: Duration::from_secs(3),
        }
    }
}

/// Everything [`crate::Server::spawn`] needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Mailbox WebSocket (`/v1`) plus `/`, `/health`, `/metrics`; `None` disables it.
    pub mailbox_listen: Option<SocketAddr>,
    /// Transit relay over plain TCP; `None` disables it.
    pub relay_tcp_listen: Option<SocketAddr>,
    /// Transit relay over WebSocket (binary frames), for the browser page;
    /// `None` disables it.
    pub relay_ws_listen: Option<SocketAddr>,
    /// A separate listener for `/metrics` and `/health` only.
    pub metrics_listen: Option<SocketAddr>,
    pub database: Database,
    /// Message of the day shown by clients.
    pub motd: Option<String>,
    /// When set, every client is told this error and gives up (maintenance).
    pub signal_error: Option<String>,
    /// Answer `list` with the nameplates in use (reference default); false hides them.
    pub allow_list: bool,
    /// Round usage timestamps down to this many seconds and stop logging addresses.
    pub blur_usage: Option<Duration>,
    /// Take the client address from `X-Real-IP` for the per-IP limits (behind a proxy).
    pub trust_x_real_ip: bool,
    /// Serve the browser page at `/` of the mailbox port (and `/ferry-web.json`).
    pub web: bool,
    /// The page's public address, advertised in `welcome` as `ferry-web` so
    /// `ferry send` can print a link (only while `web` is on).
    pub web_url: Option<String>,
    /// Serve the mailbox port (with the page and the WebSocket relay at
    /// `/relay`) over TLS with this certificate and key.
    pub tls: Option<crate::TlsFiles>,
    /// Share the relay's pairing with other instances behind one name
    /// (`docs/relay-pool.md`); `None`: a lone relay.
    pub relay_pool: Option<RelayPool>,
    /// The relay TCP address the other instances of the pool reach this one
    /// at; needed when `relay_tcp_listen` is a wildcard address.
    pub relay_advertise: Option<SocketAddr>,
    pub limits: Limits,
    pub timing: Timing,
}

impl Default for Config {
    fn default() -> Self {
        let any = |port| Some(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)));
        Config {
            mailbox_listen: any(4000),
            relay_tcp_listen: any(4001),
            relay_ws_listen: any(4002),
            metrics_listen: None,
            database: Database::Sqlite(PathBuf::from("ferry-serve.sqlite")),
            motd: None,
            signal_error: None,
            allow_list: true,
            blur_usage: None,
            trust_x_real_ip: false,
            web: true,
            web_url: None,
            tls: None,
            relay_pool: None,
            relay_advertise: None,
            limits: Limits::default(),
            timing: Timing::default(),
        }
    }
}

impl Config {
    /// Loopback listeners on port 0 and an in-memory store: for tests.
    pub fn ephemeral() -> Self {
        let lo = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        Config {
            mailbox_listen: lo,
            relay_tcp_listen: lo,
            relay_ws_listen: lo,
            database: Database::Memory,
            ..Config::default()
        }
    }
}

/// The TOML configuration file: every key optional, durations in seconds.
///
/// ```toml
/// mailbox_listen = "[::]:4000"
/// relay_tcp_listen = "[::]:4001"
/// relay_ws_listen = "[::]:4002"      # or no_relay_ws = true
/// database = "/var/lib/ferry/serve.sqlite"
/// motd = "welcome"
/// web_url = "https://ferry.example/"
/// tls_cert = "/etc/ferry/cert.pem"   # with tls_key: TLS on the mailbox port
/// tls_key = "/etc/ferry/key.pem"
/// [limits]
/// max_connections_per_ip = 64
/// [timing]
/// mailbox_expiry_secs = 660
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub mailbox_listen: Option<SocketAddr>,
    pub relay_tcp_listen: Option<SocketAddr>,
    pub relay_ws_listen: Option<SocketAddr>,
    pub metrics_listen: Option<SocketAddr>,
    /// Run no WebSocket relay (wins over `relay_ws_listen`).
    pub no_relay_ws: Option<bool>,
    #[serde(default, deserialize_with = "database_arg")]
    pub database: Option<Database>,
    pub motd: Option<String>,
    pub signal_error: Option<String>,
    pub disallow_list: Option<bool>,
    #[serde(default, deserialize_with = "values::opt_count")]
    pub blur_usage_secs: Option<u64>,
    pub trust_x_real_ip: Option<bool>,
    pub no_web: Option<bool>,
    pub web_url: Option<String>,
    /// PEM certificate (chain) for TLS on the mailbox port; needs `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    pub relay_advertise: Option<SocketAddr>,
    #[serde(default)]
    pub limits: LimitsFile,
    #[serde(default)]
    pub timing: TimingFile,
}

/// `[limits]` of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    #[serde(default, deserialize_with = "values::opt_count")]
    pub max_body_bytes: Option<usize>,
    #[serde(default, deserialize_with = "values::opt_count")]
    pub max_messages_per_mailbox: Option<usize>,
    #[serde(default, deserialize_with = "values::opt_count")]
    pub max_connections_per_ip: Option<usize>,
    #[serde(default, deserialize_with = "values::opt_count")]
    pub max_nameplates_per_ip: Option<usize>,
    #[serde(default, deserialize_with = "values::opt_count")]
    pub max_relay_pairs: Option<usize>,
    #[serde(default, deserialize_with = "values::opt_count")]
    pub max_relay_bytes_per_pair: Option<u64>,
    #[serde(default, deserialize_with = "values::opt_count")]
    pub send_queue_frames: Option<usize>,
}

/// `[timing]` of the config file, in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingFile {
    #[serde(default, deserialize_with = "values::opt_seconds")]
    pub mailbox_expiry_secs: Option<Duration>,
    #[serde(default, deserialize_with = "values::opt_seconds")]
    pub expiry_check_secs: Option<Duration>,
    #[serde(default, deserialize_with = "values::opt_seconds")]
    pub ping_interval_secs: Option<Duration>,
    #[serde(default, deserialize_with = "values::opt_seconds")]
    pub ws_idle_timeout_secs: Option<Duration>,
    #[serde(default, deserialize_with = "values::opt_seconds")]
    pub relay_handshake_timeout_secs: Option<Duration>,
    #[serde(default, deserialize_with = "values::opt_seconds")]
    pub relay_wait_timeout_secs: Option<Duration>,
}

impl ConfigFile {
    /// Parses the TOML text of a config file.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Overwrites the settings this file sets.
    pub fn apply_to(self, c: &mut Config) {
        set(&mut c.mailbox_listen, self.mailbox_listen.map(Some));
        set(&mut c.relay_tcp_listen, self.relay_tcp_listen.map(Some));
        set(&mut c.relay_ws_listen, self.relay_ws_listen.map(Some));
        set(&mut c.metrics_listen, self.metrics_listen.map(Some));
        if self.no_relay_ws == Some(true) {
            c.relay_ws_listen = None;
        }
        set(&mut c.database, self.database);
        set(&mut c.motd, self.motd.map(Some));
        set(&mut c.signal_error, self.signal_error.map(Some));
        set(&mut c.allow_list, self.disallow_list.map(|d| !d));
        set(
            &mut c.blur_usage,
            self.blur_usage_secs.map(|s| Some(Duration::from_secs(s))),
        );
        set(&mut c.trust_x_real_ip, self.trust_x_real_ip);
        set(&mut c.web, self.no_web.map(|n| !n));
        set(&mut c.web_url, self.web_url.map(Some));
        // Only a whole pair; the CLI refuses half of one (with the flags in mind).
        if let (Some(cert), Some(key)) = (self.tls_cert, self.tls_key) {
            c.tls = Some(crate::TlsFiles { cert, key });
        }
        set(&mut c.relay_advertise, self.relay_advertise.map(Some));
        self.limits.apply_to(&mut c.limits);
        self.timing.apply_to(&mut c.timing);
    }
}

impl LimitsFile {
    fn apply_to(self, l: &mut Limits) {
        set(&mut l.max_body_bytes, self.max_body_bytes);
        set(
            &mut l.max_messages_per_mailbox,
            self.max_messages_per_mailbox,
        );
        set(&mut l.max_connections_per_ip, self.max_connections_per_ip);
        set(&mut l.max_nameplates_per_ip, self.max_nameplates_per_ip);
        set(&mut l.max_relay_pairs, self.max_relay_pairs);
        set(
            &mut l.max_relay_bytes_per_pair,
            self.max_relay_bytes_per_pair.map(Some),
        );
        set(&mut l.send_queue_frames, self.send_queue_frames);
    }
}

impl TimingFile {
    fn apply_to(self, t: &mut Timing) {
        set(&mut t.mailbox_expiry, self.mailbox_expiry_secs);
        set(&mut t.expiry_check, self.expiry_check_secs);
        set(&mut t.ping_interval, self.ping_interval_secs);
        set(&mut t.ws_idle_timeout, self.ws_idle_timeout_secs);
        set(
            &mut t.relay_handshake_timeout,
            self.relay_handshake_timeout_secs,
        );
        set(&mut t.relay_wait_timeout, self.relay_wait_timeout_secs);
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_takes_a_path_memory_or_postgres_and_refuses_other_urls() {
        assert_eq!(Database::parse(":memory:"), Ok(Database::SqliteMemory));
        assert_eq!(
            Database::parse("/var/lib/ferry/s.sqlite"),
            Ok(Database::Sqlite("/var/lib/ferry/s.sqlite".into()))
        );
        assert_eq!(
            Database::parse("dir:with/colons"),
            Ok(Database::Sqlite("dir:with/colons".into()))
        );
        for url in ["postgres://u@h:5432/db", "POSTGRESQL://h/db"] {
            assert_eq!(Database::parse(url), Ok(Database::Postgres(url.into())));
        }
        let e = Database::parse("mysql://h/db").unwrap_err();
        assert!(e.contains("unknown database URL scheme \"mysql\""), "{e}");
        assert!(Database::parse("").is_err());
        let e = ConfigFile::parse("database = \"redis://h\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown database URL scheme"), "{e}");
        let e = Database::parse("mysql://u:secret@h/db").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn a_database_password_is_never_shown() {
        let db = Database::parse("postgres://ferry:s3cret@db:5432/ferry").unwrap();
        assert_eq!(db.to_string(), "postgres://ferry:***@db:5432/ferry");
        assert!(!format!("{db:?}").contains("s3cret"));
        assert_eq!(
            redact("postgres://ferry@db/ferry"),
            "postgres://ferry@db/ferry"
        );
        assert_eq!(redact("postgresql://u:p:q@h/d"), "postgresql://u:***@h/d");
    }

    #[test]
    fn file_overrides_defaults() {
        let f = ConfigFile::parse(
            "database = \":memory:\"\nmotd = \"hi\"\ndisallow_list = true\nno_web = true\nweb_url = \"http://h:4000/\"\n[limits]\nmax_connections_per_ip = 3\n[timing]\nmailbox_expiry_secs = 1.5\n",
        )
        .unwrap();
        let mut c = Config::default();
        f.apply_to(&mut c);
        assert_eq!(c.database, Database::SqliteMemory);
        assert_eq!(c.motd.as_deref(), Some("hi"));
        assert!(!c.allow_list);
        assert!(!c.web);
        assert_eq!(c.web_url.as_deref(), Some("http://h:4000/"));
        assert_eq!(c.limits.max_connections_per_ip, 3);
        assert_eq!(c.timing.mailbox_expiry, Duration::from_millis(1500));
        assert_eq!(c.relay_tcp_listen, Config::default().relay_tcp_listen);
    }

    #[test]
    fn the_websocket_relay_is_on_by_default_and_the_file_can_turn_it_off() {
        let any4002 = Some(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 4002)));
        assert_eq!(Config::default().relay_ws_listen, any4002);
        let mut c = Config::default();
        ConfigFile::parse("relay_ws_listen = \"127.0.0.1:9\"\nno_relay_ws = true\n")
            .unwrap()
            .apply_to(&mut c);
        assert_eq!(c.relay_ws_listen, None);
        let mut c = Config::default();
        ConfigFile::parse("no_relay_ws = false\n")
            .unwrap()
            .apply_to(&mut c);
        assert_eq!(c.relay_ws_listen, any4002);
    }

    #[test]
    fn zero_periods_and_limits_are_refused_naming_the_key() {
        for (text, key) in [
            ("[timing]\nexpiry_check_secs = 0\n", "expiry_check_secs"),
            (
                "[timing]\nping_interval_secs = -1.0\n",
                "ping_interval_secs",
            ),
            (
                "[limits]\nmax_connections_per_ip = 0\n",
                "max_connections_per_ip",
            ),
            ("blur_usage_secs = 0\n", "blur_usage_secs"),
        ] {
            let e = ConfigFile::parse(text).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
        let f = ConfigFile::parse("[timing]\nping_interval_secs = 0.5\n").unwrap();
        let mut c = Config::ephemeral();
        f.apply_to(&mut c);
        assert_eq!(c.timing.ping_interval, Duration::from_millis(500));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(ConfigFile::parse("no_such_key = 1\n").is_err());
    }
}
