//! `ferry serve`: run a rendezvous (mailbox) server and a transit relay, a drop-in
//! for the Python `magic-wormhole-mailbox-server` and `magic-wormhole-transit-relay`.
//!
//! Settings resolve as: flags and `FERRY_SERVE_*` environment variables, then the
//! `--config` TOML file, then the defaults. The server itself is the
//! `ferry-server` library; this file only reads settings and waits for a signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use ferry::Cancel;
use ferry_server::{
    parse_count, parse_seconds, Config, ConfigFile, Database, Server, ServerHandle, TlsFiles,
};

use crate::checks::Invalid;

const AFTER_HELP: &str = "\
Listeners:
  mailbox  (--mailbox-listen, default [::]:4000)  WebSocket at ws://HOST:4000/v1 where the two
           sides meet, plus GET /health, /metrics (Prometheus) and the browser page:
           http://HOST:4000/ sends and receives in a browser (--no-web turns it off;
           /ferry-web.json tells the page this server's addresses).
  relay    (--relay-listen, default [::]:4001)  TCP transit relay for file data when the
           two sides cannot connect directly.
  relay-ws (--relay-ws-listen, default [::]:4002)  the same relay over WebSocket (binary
           frames), for the browser page; pairs with TCP clients. --no-relay-ws turns it
           off; --no-relay turns off both relays unless --relay-ws-listen is given.

TLS (--tls-cert FILE --tls-key FILE): the mailbox port serves wss://HOST:4000/v1, the page at
https://HOST:4000/, /health, /metrics, and the WebSocket relay at wss://HOST:4000/relay, all
with that certificate; the TCP relay (:4001) stays plain TCP (its data is end-to-end
encrypted by the clients anyway). `kill -HUP PID` reloads the certificate and key.

Pointing clients at this server (HOST is this machine):
  ferry            ferry --server ws://HOST:4000/v1 --relay tcp:HOST:4001 send FILE
  wormhole         wormhole --relay-url ws://HOST:4000/v1 --transit-helper tcp:HOST:4001 send FILE
  wormhole-rs      wormhole-rs --rendezvous-server ws://HOST:4000/v1 --relay-server tcp://HOST:4001 send FILE
  wormhole-william wormhole-william --relay-url ws://HOST:4000/v1 send FILE
                   (william has no relay flag: it always uses transit.magic-wormhole.io:4001)

State lives in an SQLite file (--database, ':memory:' for none) and is committed before
any client is answered, so a restart loses no rendezvous. Message bodies are end-to-end
encrypted by the clients; the server stores them only until the mailbox closes or
expires, and never logs them. Use -v for logs (FERRY_LOG=debug for more).

Several instances (one name, no single machine to lose): give each the same
--database postgres://USER[:PASSWORD]@HOST:PORT/DB and put them behind a TCP load
balancer (haproxy or nginx in TCP mode) for the mailbox and relay ports. Clients of
one code may land on different instances and still meet. Watch each instance's
/metrics: ferry_mailbox_errors_total{kind=\"internal\"} (PostgreSQL trouble),
ferry_store_conflicts_total, ferry_mailbox_connections, ferry_relay_active_pairs.
The README's `ferry serve` section shows a whole deployment.

Examples:
  ferry serve                                   # mailbox :4000, relay :4001, relay-ws :4002
  ferry serve --motd 'maintenance at 18:00'
  ferry serve --web-url http://HOST:4000/       # senders print a link to the page
  ferry serve --no-relay-ws --no-web            # only what the CLI clients need
  ferry serve --no-mailbox --no-relay-ws        # a TCP relay alone
  ferry serve --tls-cert cert.pem --tls-key key.pem   # clients: --server wss://HOST:4000/v1
  ferry serve --config /etc/ferry/serve.toml    # keys as the long flags, e.g. motd = \"hi\"
  ferry serve --database postgres://ferry@db/ferry --mailbox-listen 10.0.0.11:4000 \\
              --relay-listen 10.0.0.11:4001     # one of several instances";

/// Run a rendezvous (mailbox) server and a transit relay.
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP, after_help = "See --help for how clients point at this server.")]
pub struct ServeArgs {
    /// TOML config file; flags and FERRY_SERVE_* variables override it.
    #[arg(long, env = "FERRY_SERVE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Mailbox WebSocket listener (clients use ws://HOST:PORT/v1).
    #[arg(long, env = "FERRY_SERVE_MAILBOX_LISTEN", value_name = "ADDR")]
    pub mailbox_listen: Option<SocketAddr>,
    /// TCP transit relay listener (clients use tcp:HOST:PORT).
    #[arg(long, env = "FERRY_SERVE_RELAY_LISTEN", value_name = "ADDR")]
    pub relay_listen: Option<SocketAddr>,
    /// WebSocket transit relay listener, for the browser page [default: [::]:4002].
    #[arg(long, env = "FERRY_SERVE_RELAY_WS_LISTEN", value_name = "ADDR")]
    pub relay_ws_listen: Option<SocketAddr>,
    /// Separate listener for /metrics and /health only.
    #[arg(long, env = "FERRY_SERVE_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// In a relay pool (instances on one --database postgres://…): the relay TCP
    /// address the other instances reach this one at, when --relay-listen is a
    /// wildcard address. Without it such a relay pairs only its own connections.
    #[arg(long, env = "FERRY_SERVE_RELAY_ADVERTISE", value_name = "ADDR")]
    pub relay_advertise: Option<SocketAddr>,
    /// Run no mailbox server (relay only).
    #[arg(long, env = "FERRY_SERVE_NO_MAILBOX")]
    pub no_mailbox: bool,
    /// Run no TCP relay, and no WebSocket relay unless --relay-ws-listen (mailbox only).
    #[arg(long, env = "FERRY_SERVE_NO_RELAY")]
    pub no_relay: bool,
    /// Run no WebSocket relay (the browser page then cannot move files).
    #[arg(
        long,
        env = "FERRY_SERVE_NO_RELAY_WS",
        conflicts_with = "relay_ws_listen"
    )]
    pub no_relay_ws: bool,
    /// SQLite database file, ':memory:', or postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    /// [default: ferry/serve.sqlite in the user's data dir]
    ///
    /// With PostgreSQL, several `ferry serve` instances share nameplates, mailboxes,
    /// messages and expiry (put them behind one TCP load balancer); tables are created
    /// or migrated at start. Other URL schemes are refused, never taken as a file path.
    /// A SQLite file serves one instance: a second one on it is refused at start.
    #[arg(long, env = "FERRY_SERVE_DATABASE", value_name = "PATH|URL", value_parser = Database::parse)]
    pub database: Option<Database>,
    /// Message of the day, shown by every client.
    #[arg(long, env = "FERRY_SERVE_MOTD", value_name = "TEXT")]
    pub motd: Option<String>,
    /// Turn every client away with this error (maintenance).
    #[arg(long, env = "FERRY_SERVE_SIGNAL_ERROR", value_name = "TEXT")]
    pub signal_error: Option<String>,
    /// Answer `list` with an empty list (hides the nameplates in use).
    #[arg(long, env = "FERRY_SERVE_DISALLOW_LIST")]
    pub disallow_list: bool,
    /// Round usage-record times down to this many seconds, and log no client addresses.
    #[arg(long, env = "FERRY_SERVE_BLUR_USAGE", value_name = "SECS", value_parser = parse_count::<u64>)]
    pub blur_usage: Option<u64>,
    /// Behind a reverse proxy: take the client address from X-Real-IP for the limits.
    #[arg(long, env = "FERRY_SERVE_TRUST_X_REAL_IP")]
    pub trust_x_real_ip: bool,
    /// Serve no browser page at / of the mailbox port.
    #[arg(long, env = "FERRY_SERVE_NO_WEB", conflicts_with = "web_url")]
    pub no_web: bool,
    /// The browser page's public address (e.g. http://HOST:4000/), told to clients
    /// in the welcome so `ferry send` prints a link to it.
    #[arg(long, env = "FERRY_SERVE_WEB_URL", value_name = "URL", value_parser = web_url)]
    pub web_url: Option<String>,
    /// Serve the mailbox port over TLS with this PEM certificate (chain); needs --tls-key.
    ///
    /// wss://HOST:PORT/v1 for clients, https:// for the page, and the WebSocket relay at
    /// wss://HOST:PORT/relay, all on the mailbox port. SIGHUP reloads both files (new
    /// connections get the new certificate; a bad new pair is logged, the old one kept).
    #[arg(long, env = "FERRY_SERVE_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "FERRY_SERVE_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Abuse limits and timers.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Largest message body in bytes [default: 1048576].
    #[arg(long, env = "FERRY_SERVE_MAX_BODY_BYTES", value_name = "N", value_parser = parse_count::<usize>)]
    pub max_body_bytes: Option<usize>,
    /// Messages one mailbox may hold [default: 1024].
    #[arg(long, env = "FERRY_SERVE_MAX_MESSAGES_PER_MAILBOX", value_name = "N", value_parser = parse_count::<usize>)]
    pub max_messages_per_mailbox: Option<usize>,
    /// Connections from one IP address to each service [default: 256].
    #[arg(long, env = "FERRY_SERVE_MAX_CONNECTIONS_PER_IP", value_name = "N", value_parser = parse_count::<usize>)]
    pub max_connections_per_ip: Option<usize>,
    /// Nameplates one IP address may hold at once [default: 64].
    #[arg(long, env = "FERRY_SERVE_MAX_NAMEPLATES_PER_IP", value_name = "N", value_parser = parse_count::<usize>)]
    pub max_nameplates_per_ip: Option<usize>,
    /// Relayed pairs at once [default: 10000].
    #[arg(long, env = "FERRY_SERVE_MAX_RELAY_PAIRS", value_name = "N", value_parser = parse_count::<usize>)]
    pub max_relay_pairs: Option<usize>,
    /// Bytes one relayed pair may carry [default: unlimited].
    #[arg(long, env = "FERRY_SERVE_MAX_RELAY_BYTES_PER_PAIR", value_name = "N", value_parser = parse_count::<u64>)]
    pub max_relay_bytes_per_pair: Option<u64>,
    /// Frames queued for a slow WebSocket client before it is dropped [default: 64].
    #[arg(long, env = "FERRY_SERVE_SEND_QUEUE_FRAMES", value_name = "N", value_parser = parse_count::<usize>)]
    pub send_queue_frames: Option<usize>,
    /// Delete mailboxes idle for this long [default: 660].
    #[arg(long, env = "FERRY_SERVE_MAILBOX_EXPIRY", value_name = "SECS", value_parser = parse_seconds)]
    pub mailbox_expiry: Option<Duration>,
    /// How often expiry runs [default: 300].
    #[arg(long, env = "FERRY_SERVE_EXPIRY_CHECK", value_name = "SECS", value_parser = parse_seconds)]
    pub expiry_check: Option<Duration>,
    /// WebSocket ping period [default: 60].
    #[arg(long, env = "FERRY_SERVE_PING_INTERVAL", value_name = "SECS", value_parser = parse_seconds)]
    pub ping_interval: Option<Duration>,
    /// Drop WebSocket clients silent (no pong either) for this long [default: 300].
    #[arg(long, env = "FERRY_SERVE_WS_IDLE_TIMEOUT", value_name = "SECS", value_parser = parse_seconds)]
    pub ws_idle_timeout: Option<Duration>,
    /// Time for a relay client to send its handshake line [default: 30].
    #[arg(long, env = "FERRY_SERVE_RELAY_HANDSHAKE_TIMEOUT", value_name = "SECS", value_parser = parse_seconds)]
    pub relay_handshake_timeout: Option<Duration>,
    /// Time a relay client may wait for its partner [default: 3600].
    #[arg(long, env = "FERRY_SERVE_RELAY_WAIT_TIMEOUT", value_name = "SECS", value_parser = parse_seconds)]
    pub relay_wait_timeout: Option<Duration>,
}

/// Runs the server until Ctrl-C or SIGTERM, then shuts down gracefully.
///
/// `cancel` is the process's Ctrl-C watch, set from the start: a Ctrl-C that
/// comes while the server starts (before our own handlers exist) stops it too.
pub async fn run(args: ServeArgs, cancel: &Cancel) -> Result<()> {
    let config = settings(args)?;
    let web = config.web;
    let handle = tokio::select! {
        started = Server::spawn(config) => started.context("cannot start the server")?,
        () = cancel.cancelled() => return Ok(()),
    };
    announce(&handle, web);
    wait_for_signal(&handle, cancel).await;
    eprintln!("ferry serve: shutting down");
    handle.shutdown().await;
    Ok(())
}

/// Defaults, then the config file, then flags and environment.
fn settings(args: ServeArgs) -> Result<Config> {
    let mut c = Config::default();
    c.database = Database::Sqlite(default_database());
    let mut ws_given = args.relay_ws_listen.is_some();
    let (mut cert, mut key) = (args.tls_cert.clone(), args.tls_key.clone());
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file = ConfigFile::parse(&text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        ws_given |= file.relay_ws_listen.is_some();
        cert = cert.or(file.tls_cert.clone());
        key = key.or(file.tls_key.clone());
        file.apply_to(&mut c);
    }
    c.tls = tls_files(cert, key)?;
    apply_flags(&mut c, args, ws_given);
    if let Database::Sqlite(path) = &c.database {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
    }
    Ok(c)
}

/// The certificate and key, each from its flag, variable or config key: both
/// or neither.
fn tls_files(cert: Option<PathBuf>, key: Option<PathBuf>) -> Result<Option<TlsFiles>> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(Invalid(
            "--tls-cert needs --tls-key (the certificate's private key) [env: FERRY_SERVE_TLS_KEY, config: tls_key]".into(),
        )
        .into()),
        (None, Some(_)) => Err(Invalid(
            "--tls-key needs --tls-cert (the certificate) [env: FERRY_SERVE_TLS_CERT, config: tls_cert]".into(),
        )
        .into()),
    }
}

/// `ws_given`: a WebSocket relay address was named (flag, env or file), which
/// keeps it running under `--no-relay`.
fn apply_flags(c: &mut Config, a: ServeArgs, ws_given: bool) {
    apply_listeners(c, &a, ws_given);
    set(&mut c.database, a.database);
    set(&mut c.motd, a.motd.map(Some));
    set(&mut c.signal_error, a.signal_error.map(Some));
    if a.disallow_list {
        c.allow_list = false;
    }
    set(
        &mut c.blur_usage,
        a.blur_usage.map(|s| Some(Duration::from_secs(s))),
    );
    c.trust_x_real_ip |= a.trust_x_real_ip;
    if a.no_web {
        c.web = false;
    }
    set(&mut c.web_url, a.web_url.map(Some));
    apply_limits(c, a.limits);
}

/// `--no-relay` means "mailbox only" as it did before the WebSocket relay was on
/// by default, unless a WebSocket relay address is named.
fn apply_listeners(c: &mut Config, a: &ServeArgs, ws_given: bool) {
    set(&mut c.mailbox_listen, a.mailbox_listen.map(Some));
    set(&mut c.relay_tcp_listen, a.relay_listen.map(Some));
    set(&mut c.relay_ws_listen, a.relay_ws_listen.map(Some));
    set(&mut c.metrics_listen, a.metrics_listen.map(Some));
    set(&mut c.relay_advertise, a.relay_advertise.map(Some));
    if a.no_mailbox {
        c.mailbox_listen = None;
    }
    if a.no_relay {
        c.relay_tcp_listen = None;
    }
    if a.no_relay_ws || (a.no_relay && !ws_given) {
        c.relay_ws_listen = None;
    }
}

fn apply_limits(c: &mut Config, a: LimitArgs) {
    let l = &mut c.limits;
    set(&mut l.max_body_bytes, a.max_body_bytes);
    set(&mut l.max_messages_per_mailbox, a.max_messages_per_mailbox);
    set(&mut l.max_connections_per_ip, a.max_connections_per_ip);
    set(&mut l.max_nameplates_per_ip, a.max_nameplates_per_ip);
    set(&mut l.max_relay_pairs, a.max_relay_pairs);
    set(
        &mut l.max_relay_bytes_per_pair,
        a.max_relay_bytes_per_pair.map(Some),
    );
    set(&mut l.send_queue_frames, a.send_queue_frames);
    let t = &mut c.timing;
    set(&mut t.mailbox_expiry, a.mailbox_expiry);
    set(&mut t.expiry_check, a.expiry_check);
    set(&mut t.ping_interval, a.ping_interval);
    set(&mut t.ws_idle_timeout, a.ws_idle_timeout);
    set(&mut t.relay_handshake_timeout, a.relay_handshake_timeout);
    set(&mut t.relay_wait_timeout, a.relay_wait_timeout);
}

/// `--web-url` is checked as `ferry send --web-url` is: clients print it.
fn web_url(url: &str) -> Result<String, String> {
    crate::checks::check_web_url(url).map(|()| url.to_owned())
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// `$XDG_DATA_HOME/ferry/serve.sqlite`, `~/.local/share/ferry/serve.sqlite`, or
/// `./ferry-serve.sqlite` when neither is known.
fn default_database() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match data {
        Some(d) => d.join("ferry").join("serve.sqlite"),
        None => PathBuf::from("ferry-serve.sqlite"),
    }
}

fn announce(h: &ServerHandle, web: bool) {
    let (ws, http) = match h.is_tls() {
        true => ("wss", "https"),
        false => ("ws", "http"),
    };
    if let Some(a) = h.mailbox_addr() {
        eprintln!(
            "ferry serve: mailbox   {ws}://{a}/v1   (clients: --server {ws}://HOST:{}/v1)",
            a.port()
        );
    }
    if let Some(a) = h.relay_tcp_addr() {
        eprintln!(
            "ferry serve: relay     tcp:{a}   (clients: --relay tcp:HOST:{})",
            a.port()
        );
    }
    if let Some(a) = h.relay_ws_addr() {
        eprintln!("ferry serve: relay-ws  ws://{a}/");
        if let Some(m) = h.mailbox_addr() {
            eprintln!("ferry serve: relay-ws  {ws}://{m}/relay");
        }
    }
    if let Some(a) = h.mailbox_addr().filter(|_| web) {
        eprintln!("ferry serve: web page  {http}://{a}/");
    }
    if let Some(a) = h.metrics_addr() {
        eprintln!("ferry serve: metrics   http://{a}/metrics");
    }
}

/// Waits for Ctrl-C or SIGTERM. With TLS, each SIGHUP meanwhile reloads the
/// certificate (a failure is logged and the old certificate kept); without,
/// SIGHUP keeps its default action and stops the server, as it always did.
async fn wait_for_signal(handle: &ServerHandle, cancel: &Cancel) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        cancel.cancelled().await;
        return;
    };
    let mut hup = match handle.is_tls() {
        true => signal(SignalKind::hangup()).ok(),
        false => None,
    };
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = term.recv() => return,
            _ = hangup(&mut hup) => reload(handle),
        }
    }
}

/// The next SIGHUP, or never when it is not watched.
async fn hangup(hup: &mut Option<tokio::signal::unix::Signal>) {
    if let Some(h) = hup {
        if h.recv().await.is_some() {
            return;
        }
    }
    std::future::pending().await
}

fn reload(handle: &ServerHandle) {
    match handle.reload_tls() {
        Ok(true) => {
            tracing::info!("TLS certificate reloaded");
            eprintln!("ferry serve: TLS certificate reloaded");
        }
        Ok(false) => {}
        Err(e) => {
            tracing::error!(error = %e, "TLS reload failed; keeping the old certificate");
            eprintln!("ferry serve: TLS reload failed, keeping the old certificate: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("serve.toml");
        std::fs::write(
            &file,
            "motd = \"from file\"\ndatabase = \":memory:\"\n[limits]\nmax_relay_pairs = 5\n",
        )
        .unwrap();
        let t = T::parse_from([
            "x",
            "--config",
            file.to_str().unwrap(),
            "--motd",
            "from flag",
            "--max-connections-per-ip",
            "9",
            "--no-relay",
            "--no-web",
        ]);
        let c = settings(t.serve).unwrap();
        assert_eq!(c.motd.as_deref(), Some("from flag"));
        assert_eq!(c.database, Database::SqliteMemory);
        assert_eq!(c.limits.max_relay_pairs, 5);
        assert_eq!(c.limits.max_connections_per_ip, 9);
        assert_eq!(c.relay_tcp_listen, None);
        assert!(c.mailbox_listen.is_some());
        assert!(!c.web);
    }

    #[test]
    fn a_postgres_url_is_taken_and_other_urls_refused_not_taken_as_paths() {
        let t = T::try_parse_from(["x", "--database", "postgres://u@h:5432/db"]).unwrap();
        assert_eq!(
            t.serve.database,
            Some(Database::Postgres("postgres://u@h:5432/db".into()))
        );
        let e = T::try_parse_from(["x", "--database", "mysql://h/db"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(e.to_string().contains("unknown database URL scheme"), "{e}");
    }

    #[test]
    fn parses_within_the_whole_cli() {
        let cli = crate::args::Cli::try_parse_from([
            "ferry",
            "serve",
            "--mailbox-listen",
            "127.0.0.1:0",
            "--relay-ws-listen",
            "[::1]:4002",
            "--database",
            ":memory:",
            "--web-url",
            "http://h:4000/",
            "--relay-advertise",
            "10.0.0.5:4001",
        ])
        .unwrap();
        let crate::args::Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let c = settings(*args).unwrap();
        assert_eq!(c.mailbox_listen, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(c.relay_ws_listen, Some("[::1]:4002".parse().unwrap()));
        assert!(c.web);
        assert_eq!(c.web_url.as_deref(), Some("http://h:4000/"));
        assert_eq!(c.relay_advertise, Some("10.0.0.5:4001".parse().unwrap()));
    }

    fn resolve(args: &[&str]) -> Config {
        let t = T::parse_from(["x", "--database", ":memory:"].iter().chain(args));
        settings(t.serve).unwrap()
    }

    fn any(port: u16) -> Option<SocketAddr> {
        Some(SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)))
    }

    #[test]
    fn the_websocket_relay_runs_by_default_on_4002() {
        let c = resolve(&[]);
        assert_eq!(c.mailbox_listen, any(4000));
        assert_eq!(c.relay_tcp_listen, any(4001));
        assert_eq!(c.relay_ws_listen, any(4002));
        assert!(c.web);
    }

    #[test]
    fn no_relay_ws_turns_off_only_the_websocket_relay() {
        let c = resolve(&["--no-relay-ws"]);
        assert_eq!(c.relay_ws_listen, None);
        assert_eq!(c.relay_tcp_listen, any(4001));
        assert_eq!(c.mailbox_listen, any(4000));
        let both = T::try_parse_from(["x", "--no-relay-ws", "--relay-ws-listen", "[::1]:1"]);
        assert!(
            both.is_err(),
            "--no-relay-ws with --relay-ws-listen is a usage error"
        );
    }

    #[test]
    fn no_relay_means_mailbox_only_unless_a_websocket_relay_is_named() {
        let c = resolve(&["--no-relay"]);
        assert_eq!((c.relay_tcp_listen, c.relay_ws_listen), (None, None));
        assert_eq!(c.mailbox_listen, any(4000));
        let c = resolve(&["--no-relay", "--relay-ws-listen", "127.0.0.1:0"]);
        assert_eq!(c.relay_tcp_listen, None);
        assert_eq!(c.relay_ws_listen, Some("127.0.0.1:0".parse().unwrap()));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("serve.toml");
        std::fs::write(&file, "relay_ws_listen = \"127.0.0.1:7\"\n").unwrap();
        let c = resolve(&["--no-relay", "--config", file.to_str().unwrap()]);
        assert_eq!(c.relay_ws_listen, Some("127.0.0.1:7".parse().unwrap()));
        std::fs::write(&file, "no_relay_ws = true\n").unwrap();
        let c = resolve(&["--config", file.to_str().unwrap()]);
        assert_eq!(c.relay_ws_listen, None);
    }
}
