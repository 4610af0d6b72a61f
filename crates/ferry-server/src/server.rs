//! Starting and stopping the whole server.
//!
//! [`Server::spawn`] binds every configured listener first (so the caller learns
//! the real ports, and a bind error is reported before anything runs), starts the
//! state thread, then one accept task per listener and an expiry timer. The
//! [`ServerHandle`] stops everything on [`ServerHandle::shutdown`] or when dropped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{Config, Database};
use crate::limits::PerIp;
use crate::mailbox::hub::{Hub, Opener};
use crate::mailbox::state::StateConfig;
use crate::mailbox::{MailboxCtx, PortCtx};
use crate::metrics::Metrics;
use crate::relay::pool::RelayPool;
use crate::relay::{Pairs, Pool, RelayCtx, RelayPort};
use crate::store::{pool_secret, MemoryStore, PgDirectory, PgStore, SqliteStore, StoreError};
use crate::tls::TlsPort;
use crate::web::WebPorts;
use crate::Error;

/// The server; see [`Server::spawn`].
#[derive(Debug)]
pub struct Server;

/// A running server. Dropping it stops the listeners and connections at once;
/// [`ServerHandle::shutdown`] does it gracefully.
pub struct ServerHandle {
    mailbox_addr: Option<SocketAddr>,
    relay_tcp_addr: Option<SocketAddr>,
    relay_ws_addr: Option<SocketAddr>,
    metrics_addr: Option<SocketAddr>,
    metrics: Arc<Metrics>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    state_thread: Option<std::thread::JoinHandle<()>>,
    hub: Option<Hub>,
    /// The mailbox port's certificate, when it serves TLS.
    tls: Option<Arc<TlsPort>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("mailbox_addr", &self.mailbox_addr)
            .field("relay_tcp_addr", &self.relay_tcp_addr)
            .field("relay_ws_addr", &self.relay_ws_addr)
            .finish_non_exhaustive()
    }
}

/// Connections the kernel queues before we accept them. A burst (a load
/// balancer's clients reconnecting at once, 200 pairs starting together)
/// overflows the usual 128, and each dropped SYN costs its client a 1 s
/// retransmit; the kernel caps this at `net.core.somaxconn`.
const BACKLOG: u32 = 4096;

fn bind(addr: Option<SocketAddr>) -> Result<Option<TcpListener>, Error> {
    let Some(addr) = addr else { return Ok(None) };
    let listen = || {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }?;
        // As std does on Unix: a restarted server rebinds despite TIME_WAIT.
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(BACKLOG)
    };
    listen()
        .map(Some)
        .map_err(|source| Error::Bind { addr, source })
}

fn local(l: &Option<TcpListener>) -> Option<SocketAddr> {
    l.as_ref().and_then(|l| l.local_addr().ok())
}

async fn start_hub(
    config: &Config,
    metrics: &Arc<Metrics>,
) -> Result<(Hub, std::thread::JoinHandle<()>), Error> {
    let cfg = StateConfig {
        allow_list: config.allow_list,
        max_messages: config.limits.max_messages_per_mailbox,
        max_nameplates_per_ip: config.limits.max_nameplates_per_ip,
        blur: config.blur_usage.map(|d| d.as_secs_f64()),
    };
    let m = Arc::clone(metrics);
    match config.database.clone() {
        Database::Sqlite(path) => {
            Hub::start(opener(move || SqliteStore::open(&path)), cfg, m).await
        }
        Database::SqliteMemory => Hub::start(opener(SqliteStore::open_in_memory), cfg, m).await,
        Database::Memory => Hub::start(opener(|| Ok(MemoryStore::new())), cfg, m).await,
        Database::Postgres(url) => Hub::start(opener(move || PgStore::connect(&url)), cfg, m).await,
    }
}

fn opener<S>(open: impl FnOnce() -> Result<S, StoreError> + Send + 'static) -> Opener<S> {
    Box::new(open)
}

impl Server {
    /// Binds the listeners, opens the store and starts serving.
    pub async fn spawn(config: Config) -> Result<ServerHandle, Error> {
        let listeners = [
            config.mailbox_listen,
            config.relay_tcp_listen,
            config.relay_ws_listen,
        ];
        if listeners.iter().all(Option::is_none) {
            return Err(Error::Config(
                "nothing to serve: the mailbox and both relays are off".into(),
            ));
        }
        let tls = config
            .tls
            .clone()
            .map(TlsPort::new)
            .transpose()?
            .map(Arc::new);
        let mailbox = bind(config.mailbox_listen)?;
        let relay_tcp = bind(config.relay_tcp_listen)?;
        let relay_ws = bind(config.relay_ws_listen)?;
        let metrics_l = bind(config.metrics_listen)?;
        let metrics = Arc::new(Metrics::default());
        let (hub, thread) = start_hub(&config, &metrics).await?;
        let shared = shared_pool(&config, local(&relay_tcp)).await?;
        let named = shared.as_ref().or(config.relay_pool.as_ref());
        let pool = join_pool(&config, named, local(&relay_tcp), &metrics)?;
        let (shutdown, _) = watch::channel(false);
        let mut handle = ServerHandle {
            mailbox_addr: local(&mailbox),
            relay_tcp_addr: local(&relay_tcp),
            relay_ws_addr: local(&relay_ws),
            metrics_addr: local(&metrics_l),
            metrics: Arc::clone(&metrics),
            shutdown,
            tasks: Vec::new(),
            state_thread: Some(thread),
            hub: Some(hub.clone()),
            tls: tls.clone(),
        };
        let grace = config.timing.shutdown_grace;
        let log_addresses = config.blur_usage.is_none();
        let relay = (relay_tcp.is_some() || relay_ws.is_some())
            .then(|| Arc::new(relay_port(&config, &hub, &metrics, log_addresses, pool)));
        if let Some(l) = mailbox {
            let web = config.web.then(|| {
                WebPorts::new(
                    handle.mailbox_addr,
                    handle.relay_tcp_addr,
                    handle.relay_ws_addr,
                )
                .with_tls(tls.is_some())
            });
            // The WebSocket relay answers at /relay of this port too.
            let relay_here = relay.clone().filter(|_| relay_ws.is_some());
            let mut port = mailbox_port(&config, &hub, &metrics, log_addresses, web);
            port.relay = relay_here;
            let port = Arc::new(port);
            let limit = config.timing.http_timeout;
            handle.listen(l, grace, move |s, peer, sd| {
                let (port, tls) = (Arc::clone(&port), tls.clone());
                async move {
                    // Boxed: the TLS handshake's future need not stay in the task.
                    if let Some(s) = Box::pin(crate::io::accept(s, tls.as_deref(), limit)).await {
                        crate::mailbox::serve_http(s, peer, port, sd).await;
                    }
                }
            });
        }
        if let Some(socket) = handle.relay_tcp_addr.and_then(crate::stun::bind) {
            let shutdown = handle.shutdown.subscribe();
            handle
                .tasks
                .push(tokio::spawn(crate::stun::serve(socket, shutdown)));
        }
        if let Some(port) = relay {
            if let Some(l) = relay_tcp {
                let p = Arc::clone(&port);
                handle.listen(l, grace, move |s, peer, sd| {
                    crate::relay::serve_tcp(s, peer, Arc::clone(&p), sd)
                });
            }
            if let Some(l) = relay_ws {
                handle.listen(l, grace, move |s, peer, sd| {
                    crate::relay::serve_ws(s, peer, Arc::clone(&port), sd)
                });
            }
        }
        if let Some(l) = metrics_l {
            let m = Arc::clone(&metrics);
            let t = config.timing.http_timeout;
            handle.listen(l, grace, move |s, _, _| serve_metrics(s, Arc::clone(&m), t));
        }
        handle.start_expiry(hub, &config);
        log_start(&handle, &config);
        Ok(handle)
    }
}

fn mailbox_port(
    config: &Config,
    hub: &Hub,
    metrics: &Arc<Metrics>,
    log_addresses: bool,
    web: Option<WebPorts>,
) -> PortCtx {
    let t = &config.timing;
    let mailbox = Arc::new(MailboxCtx {
        hub: hub.clone(),
        metrics: Arc::clone(metrics),
        motd: config.motd.clone(),
        signal_error: config.signal_error.clone(),
        web_url: config.web_url.clone().filter(|_| config.web),
        max_body: config.limits.max_body_bytes,
        queue_frames: config.limits.send_queue_frames.max(1),
        ping_interval: t.ping_interval,
        idle_timeout: t.ws_idle_timeout,
        write_timeout: t.write_timeout,
    });
    PortCtx {
        mailbox,
        per_ip: PerIp::new(config.limits.max_connections_per_ip),
        trust_x_real_ip: config.trust_x_real_ip,
        http_timeout: t.http_timeout,
        log_addresses,
        web,
        relay: None,
    }
}

/// The relay's membership in `config.relay_pool`, reached at the advertised
/// address or else the bound relay TCP address (which must not be a wildcard);
/// checked before anything starts.
fn join_pool(
    config: &Config,
    pool: Option<&RelayPool>,
    relay_tcp: Option<SocketAddr>,
    metrics: &Arc<Metrics>,
) -> Result<Option<Pool>, Error> {
    let Some(pool) = pool else {
        return Ok(None);
    };
    let bound = relay_tcp.ok_or_else(|| {
        Error::Config("a relay pool hands connections over on the relay TCP port: enable it".into())
    })?;
    let me = match config.relay_advertise {
        Some(a) => a,
        None if bound.ip().is_unspecified() => {
            return Err(Error::Config(format!(
                "the relay listens on {bound}: give the address the other instances reach it at (--relay-advertise)"
            )))
        }
        None => bound,
    };
    Pool::new(
        pool,
        me,
        config.timing.relay_handshake_timeout,
        Arc::clone(metrics),
    )
    .map(Some)
}

/// Instances on one PostgreSQL database form a relay pool by themselves (the
/// directory and the secret live there), unless the config names a pool or the
/// relay's address cannot be given to the others (a wildcard bind without
/// `--relay-advertise`: then a warning, and the relay pairs only its own
/// connections).
async fn shared_pool(
    config: &Config,
    relay_tcp: Option<SocketAddr>,
) -> Result<Option<RelayPool>, Error> {
    let Database::Postgres(url) = &config.database else {
        return Ok(None);
    };
    let Some(bound) = relay_tcp.filter(|_| config.relay_pool.is_none()) else {
        return Ok(None);
    };
    if bound.ip().is_unspecified() && config.relay_advertise.is_none() {
        tracing::warn!(
            %bound,
            "the relay pool is off: give --relay-advertise HOST:PORT (the address the other \
             instances reach this relay at), or a concrete --relay-listen address"
        );
        return Ok(None);
    }
    let directory = PgDirectory::new(url, config.timing.relay_wait_timeout)?;
    let secret = pool_secret(url).await?;
    Ok(Some(RelayPool::new(Arc::new(directory), secret)))
}

fn relay_port(
    config: &Config,
    hub: &Hub,
    metrics: &Arc<Metrics>,
    log_addresses: bool,
    pool: Option<Pool>,
) -> RelayPort {
    let t = &config.timing;
    let relay = Arc::new(RelayCtx {
        pairs: Pairs::new(Arc::clone(metrics)),
        active_pairs: AtomicUsize::new(0),
        metrics: Arc::clone(metrics),
        hub: hub.clone(),
        max_pairs: config.limits.max_relay_pairs,
        max_bytes: config.limits.max_relay_bytes_per_pair,
        handshake_timeout: t.relay_handshake_timeout,
        wait_timeout: t.relay_wait_timeout,
        write_timeout: t.write_timeout,
        blur: config.blur_usage.map(|d| d.as_secs_f64()),
        pool,
    });
    RelayPort {
        relay,
        per_ip: PerIp::new(config.limits.max_connections_per_ip),
        http_timeout: t.http_timeout,
        log_addresses,
    }
}

async fn serve_metrics(mut stream: TcpStream, metrics: Arc<Metrics>, limit: Duration) {
    let Ok((head, _)) = crate::http::read_head(&mut stream, limit).await else {
        return;
    };
    let (status, ctype, body) = match head.path.as_str() {
        "/metrics" | "/health" => crate::http::page(&head.path, || metrics.render()),
        _ => crate::http::page("/404", String::new),
    };
    let _ = crate::http::respond(&mut stream, status, ctype, &body).await;
}

fn log_start(h: &ServerHandle, config: &Config) {
    tracing::info!(
        mailbox = ?h.mailbox_addr,
        relay_tcp = ?h.relay_tcp_addr,
        relay_ws = ?h.relay_ws_addr,
        metrics = ?h.metrics_addr,
        database = %config.database,
        "ferry serve running"
    );
}

impl ServerHandle {
    /// Runs an accept loop for `listener`; each connection gets `serve` in its own task.
    fn listen<F, Fut>(&mut self, listener: TcpListener, grace: Duration, serve: F)
    where
        F: Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let shutdown = self.shutdown.subscribe();
        self.tasks
            .push(tokio::spawn(accept_loop(listener, serve, shutdown, grace)));
    }

    fn start_expiry(&mut self, hub: Hub, config: &Config) {
        let period = config.timing.expiry_check;
        let expiry = config.timing.mailbox_expiry.as_secs_f64();
        let mut shutdown = self.shutdown.subscribe();
        self.tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tick.tick() => {
                        let now = crate::time::now();
                        hub.prune(now, now - expiry).await;
                    }
                }
            }
        }));
    }

    /// The mailbox WebSocket listener (`ws://ADDR/v1`, or `wss://` with TLS).
    pub fn mailbox_addr(&self) -> Option<SocketAddr> {
        self.mailbox_addr
    }

    /// The TCP transit relay listener.
    pub fn relay_tcp_addr(&self) -> Option<SocketAddr> {
        self.relay_tcp_addr
    }

    /// The WebSocket transit relay listener.
    pub fn relay_ws_addr(&self) -> Option<SocketAddr> {
        self.relay_ws_addr
    }

    /// Reads the TLS certificate and key files again (on SIGHUP): new
    /// connections get the new pair, established ones keep theirs. A pair that
    /// does not load leaves the old one serving. `Ok(false)`: no TLS configured.
    pub fn reload_tls(&self) -> Result<bool, Error> {
        match &self.tls {
            Some(tls) => tls.reload().map(|()| true),
            None => Ok(false),
        }
    }

    /// Whether the mailbox port serves TLS (`wss://`, `https://`).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The separate metrics listener, if configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The current `/metrics` text.
    pub fn metrics_text(&self) -> String {
        self.metrics.render()
    }

    /// Stops accepting, asks every connection to close (WebSocket clients get a
    /// close frame), waits up to the grace period, then stops the state thread
    /// after its last commit.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.hub = None;
        if let Some(thread) = self.state_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        tracing::info!("ferry serve stopped");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept_loop<F, Fut>(
    listener: TcpListener,
    serve: F,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) where
    F: Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut conns = JoinSet::new();
    let mut backoff = Duration::from_millis(5);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(5);
                    conns.spawn(serve(stream, peer, shutdown.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drain).await.is_err() {
        conns.abort_all();
    }
}
