//! A pool of relay instances sharing one directory of waiting tokens
//! (`docs/relay-pool.md`): halves of a pair on different instances meet at
//! the token's owner, whatever their transport; the owner alone counts the
//! pair; hand-over lines are authenticated; a dead owner is evicted.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns, in a test crate

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferry_proto::wire::relay::RelayRequest;
use ferry_proto::wire::relay_pool::PoolPreamble;
use ferry_server::{
    Config, Database, DirFuture, DirectoryError, Error, MemoryDirectory, Owner, RelayDirectory,
    RelayPool, Server, ServerHandle,
};
use ferry_test_support::raw_relay::{read_n, read_to_end, relay_line, relay_tcp, token};
use ferry_test_support::server::{init_logs, spawn, wait_metrics};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite_030::tungstenite::Message;
use tokio_tungstenite_030::{MaybeTlsStream, WebSocketStream};

const SECRET: &[u8] = b"a pool secret for the tests only";
const SIDE_A: &str = "aaaaaaaaaaaaaaaa";
const SIDE_B: &str = "bbbbbbbbbbbbbbbb";
const WAIT: Duration = Duration::from_secs(10);

fn directory() -> Arc<MemoryDirectory> {
    Arc::new(MemoryDirectory::new(Duration::from_secs(7200)))
}

fn pooled(dir: &Arc<MemoryDirectory>) -> Config {
    let mut cfg = Config::ephemeral();
    cfg.relay_pool = Some(RelayPool::new(dir.clone(), SECRET));
    cfg
}

/// `n` instances sharing `dir`, each with `tweak` applied.
async fn pool_of(
    n: usize,
    dir: &Arc<MemoryDirectory>,
    tweak: impl Fn(&mut Config),
) -> Vec<ServerHandle> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut cfg = pooled(dir);
        tweak(&mut cfg);
        out.push(spawn(cfg).await);
    }
    out
}

fn tcp(h: &ServerHandle) -> SocketAddr {
    h.relay_tcp_addr().unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Tcp,
    Ws,
}

/// A relay client over TCP or WebSocket, read as bytes.
enum Half {
    Tcp(TcpStream),
    Ws(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>, Vec<u8>),
}

impl Half {
    async fn open(kind: Kind, h: &ServerHandle, t: &str, side: &str) -> Half {
        let line = relay_line(t, Some(side));
        match kind {
            Kind::Tcp => Half::Tcp(relay_tcp(tcp(h), &line).await),
            Kind::Ws => {
                let url = format!("ws://{}/", h.relay_ws_addr().unwrap());
                let (mut ws, _) = tokio_tungstenite_030::connect_async(url).await.unwrap();
                let frame = line.trim_end().as_bytes().to_vec();
                ws.send(Message::Binary(frame.into())).await.unwrap();
                Half::Ws(Box::new(ws), Vec::new())
            }
        }
    }

    async fn send(&mut self, data: &[u8]) {
        match self {
            Half::Tcp(s) => s.write_all(data).await.unwrap(),
            Half::Ws(ws, _) => {
                for chunk in data.chunks(50_000) {
                    ws.send(Message::Binary(chunk.to_vec().into()))
                        .await
                        .unwrap();
                }
            }
        }
    }

    /// Exactly `n` bytes.
    async fn recv(&mut self, n: usize) -> Vec<u8> {
        match self {
            Half::Tcp(s) => read_n(s, n).await,
            Half::Ws(ws, buf) => {
                while buf.len() < n {
                    match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
                        Some(Ok(Message::Binary(b))) => buf.extend_from_slice(&b),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        other => panic!("wanted {n} bytes, got {} then {other:?}", buf.len()),
                    }
                }
                buf.drain(..n).collect()
            }
        }
    }

    /// Everything until the relay closes.
    async fn rest(&mut self) -> Vec<u8> {
        match self {
            Half::Tcp(s) => read_to_end(s).await,
            Half::Ws(ws, buf) => {
                loop {
                    match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
                        Some(Ok(Message::Binary(b))) => buf.extend_from_slice(&b),
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => {}
                    }
                }
                std::mem::take(buf)
            }
        }
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Waits until the metrics hold every one of `lines`.
async fn metrics_show(h: &ServerHandle, lines: &[&str]) -> String {
    let all = |m: &str| lines.iter().all(|l| m.contains(l));
    let m = wait_metrics(h, all).await;
    assert!(all(&m), "wanted {lines:?} in\n{m}");
    m
}

/// `a` waits at `first`; then `b` arrives at `second`; both are told `ok`.
async fn split_pair(
    first: &ServerHandle,
    ka: Kind,
    second: &ServerHandle,
    kb: Kind,
    t: &str,
) -> (Half, Half) {
    let mut a = Half::open(ka, first, t, SIDE_A).await;
    metrics_show(first, &["ferry_relay_waiting 1"]).await;
    let mut b = Half::open(kb, second, t, SIDE_B).await;
    assert_eq!(b.recv(3).await, b"ok\n");
    assert_eq!(a.recv(3).await, b"ok\n");
    (a, b)
}

/// Sends `one` from a to b and `two` back, one way after the other.
async fn exchange(a: &mut Half, b: &mut Half, one: &[u8], two: &[u8]) {
    let (_, got) = tokio::join!(a.send(one), b.recv(one.len()));
    assert!(got == one, "a → b corrupted");
    let (_, got) = tokio::join!(b.send(two), a.recv(two.len()));
    assert!(got == two, "b → a corrupted");
}

/// One split pair of `ka` at the owner and `kb` at another instance.
async fn split_pair_relays(ka: Kind, kb: Kind) {
    let dir = directory();
    let hs = pool_of(2, &dir, |_| {}).await;
    let t = token(1);
    let (mut a, mut b) = split_pair(&hs[0], ka, &hs[1], kb, &t).await;
    assert_eq!(dir.owner(&t), None, "released once paired");
    let (one, two) = (pattern(300_000, 1), pattern(200_001, 2));
    exchange(&mut a, &mut b, &one, &two).await;
    drop(b);
    assert_eq!(a.rest().await, b"");
    let relayed = format!("ferry_relay_bytes_total {}", one.len() + two.len());
    metrics_show(
        &hs[0],
        &[&relayed, "ferry_relay_results_total{result=\"happy\"} 1"],
    )
    .await;
    let m = metrics_show(
        &hs[1],
        &["ferry_relay_forwarded_total 1", "ferry_relay_forwarding 0"],
    )
    .await;
    assert!(m.contains("ferry_relay_bytes_total 0"), "{m}");
    assert!(
        m.contains("ferry_relay_results_total{result=\"happy\"} 0"),
        "{m}"
    );
}

#[tokio::test]
async fn tcp_halves_on_two_instances_meet_at_the_owner() {
    split_pair_relays(Kind::Tcp, Kind::Tcp).await;
}

#[tokio::test]
async fn a_websocket_half_waiting_meets_a_tcp_half_handed_over() {
    split_pair_relays(Kind::Ws, Kind::Tcp).await;
}

#[tokio::test]
async fn a_websocket_half_is_handed_over_to_a_tcp_half() {
    split_pair_relays(Kind::Tcp, Kind::Ws).await;
}

#[tokio::test]
async fn websocket_halves_on_two_instances_meet() {
    split_pair_relays(Kind::Ws, Kind::Ws).await;
}

#[tokio::test]
async fn a_pair_on_one_instance_is_spliced_there() {
    let dir = directory();
    let hs = pool_of(2, &dir, |_| {}).await;
    let t = token(2);
    let (mut a, mut b) = split_pair(&hs[1], Kind::Tcp, &hs[1], Kind::Tcp, &t).await;
    exchange(&mut a, &mut b, b"ping", b"pong").await;
    for h in &hs {
        let m = h.metrics_text();
        assert!(m.contains("ferry_relay_forwarded_total 0"), "{m}");
    }
    assert!(dir.is_empty());
}

#[tokio::test]
async fn halves_arriving_at_two_instances_at_once_agree_on_one_owner() {
    let dir = directory();
    let hs = pool_of(2, &dir, |_| {}).await;
    let rounds = 20;
    for n in 0..rounds {
        let t = token(100 + n);
        let (mut a, mut b) = tokio::join!(
            Half::open(Kind::Tcp, &hs[0], &t, SIDE_A),
            Half::open(Kind::Tcp, &hs[1], &t, SIDE_B)
        );
        let (ok_a, ok_b) = tokio::join!(a.recv(3), b.recv(3));
        assert_eq!(
            (&ok_a[..], &ok_b[..]),
            (&b"ok\n"[..], &b"ok\n"[..]),
            "round {n}"
        );
        exchange(&mut a, &mut b, b"x", b"y").await;
    }
    let forwarded = |h: &ServerHandle| -> u64 {
        let m = h.metrics_text();
        let line = m
            .lines()
            .find(|l| l.starts_with("ferry_relay_forwarded_total "))
            .unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(
        forwarded(&hs[0]) + forwarded(&hs[1]),
        u64::from(rounds),
        "one hand-over per pair"
    );
    assert!(dir.is_empty());
}

#[tokio::test]
async fn a_dead_owner_is_evicted_and_the_next_instance_takes_over() {
    let dir = directory();
    let mut hs = pool_of(3, &dir, |_| {}).await;
    let t = token(3);
    let mut a = Half::open(Kind::Tcp, &hs[0], &t, SIDE_A).await;
    metrics_show(&hs[0], &["ferry_relay_waiting 1"]).await;
    let dead = tcp(&hs[0]);
    assert_eq!(dir.owner(&t), Some(dead));
    // The owner dies; its waiting connection is cut. Dropping the handle may
    // still let the waiting task release the token: put the entry back as a
    // crash (kill -9) leaves it.
    drop(hs.remove(0));
    assert_eq!(a.rest().await, b"");
    assert_eq!(dir.claim(&t, dead).await.unwrap(), Owner::Here);
    // b cannot reach the owner: evicts it, claims the token and waits itself
    let mut b = Half::open(Kind::Tcp, &hs[0], &t, SIDE_B).await;
    metrics_show(
        &hs[0],
        &[
            "ferry_relay_waiting 1",
            "ferry_relay_pool_evictions_total 1",
        ],
    )
    .await;
    assert_eq!(dir.owner(&t), Some(tcp(&hs[0])));
    // a's client tries again, through a third instance
    let mut a = Half::open(Kind::Tcp, &hs[1], &t, SIDE_A).await;
    assert_eq!(a.recv(3).await, b"ok\n");
    assert_eq!(b.recv(3).await, b"ok\n");
    exchange(&mut a, &mut b, b"again", b"fine").await;
    metrics_show(&hs[1], &["ferry_relay_forwarded_total 1"]).await;
}

/// A hand-over line for `t` from `client`, signed with `secret` at `at`.
fn preamble(secret: &[u8], t: &str, side: &str, client: &str, at: u64) -> Vec<u8> {
    let mut p = PoolPreamble {
        request: RelayRequest {
            token: t.to_owned(),
            side: Some(side.to_owned()),
        },
        client_ip: client.parse::<IpAddr>().unwrap(),
        issued_at: at,
        tag: [0; 32],
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, &p.signed_bytes());
    p.tag.copy_from_slice(tag.as_ref());
    p.encode()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn answer(addr: SocketAddr, line: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(line).await.unwrap();
    read_to_end(&mut s).await
}

#[tokio::test]
async fn forged_or_stale_hand_over_lines_are_refused() {
    let dir = directory();
    let hs = pool_of(1, &dir, |_| {}).await;
    let now = unix_now();
    let forged = preamble(
        b"not the pool's secret at all",
        &token(4),
        SIDE_A,
        "192.0.2.1",
        now,
    );
    assert_eq!(answer(tcp(&hs[0]), &forged).await, b"bad handshake\n");
    let stale = preamble(SECRET, &token(4), SIDE_A, "192.0.2.1", now - 3600);
    assert_eq!(answer(tcp(&hs[0]), &stale).await, b"bad handshake\n");
    let mut spoofed = preamble(SECRET, &token(4), SIDE_A, "192.0.2.1", now);
    let at = spoofed.windows(9).position(|w| w == b"192.0.2.1").unwrap();
    spoofed[at + 8] = b'2';
    assert_eq!(answer(tcp(&hs[0]), &spoofed).await, b"bad handshake\n");
    metrics_show(&hs[0], &["ferry_relay_pool_refused_total 3"]).await;
    assert!(dir.is_empty(), "nothing claimed");
    // a relay without a pool takes no hand-over at all
    let lone = spawn(Config::ephemeral()).await;
    let good = preamble(SECRET, &token(4), SIDE_A, "192.0.2.1", now);
    assert_eq!(answer(tcp(&lone), &good).await, b"bad handshake\n");
}

#[tokio::test]
async fn the_owner_limits_the_original_client_address() {
    let dir = directory();
    let hs = pool_of(1, &dir, |c| c.limits.max_connections_per_ip = 1).await;
    let now = unix_now();
    // all three come from 127.0.0.1 (an instance); the limit is per client
    let mut first = TcpStream::connect(tcp(&hs[0])).await.unwrap();
    first
        .write_all(&preamble(SECRET, &token(5), SIDE_A, "192.0.2.1", now))
        .await
        .unwrap();
    metrics_show(&hs[0], &["ferry_relay_waiting 1"]).await;
    let same_client = preamble(SECRET, &token(6), SIDE_A, "192.0.2.1", now);
    assert_eq!(
        answer(tcp(&hs[0]), &same_client).await,
        b"error: too many connections from your address\n"
    );
    let mut other = TcpStream::connect(tcp(&hs[0])).await.unwrap();
    other
        .write_all(&preamble(SECRET, &token(5), SIDE_B, "192.0.2.2", now))
        .await
        .unwrap();
    assert_eq!(read_n(&mut other, 3).await, b"ok\n");
    assert_eq!(read_n(&mut first, 3).await, b"ok\n");
}

fn on_file(dir: &Arc<MemoryDirectory>, db: &Path) -> Config {
    let mut cfg = pooled(dir);
    cfg.database = Database::Sqlite(db.to_owned());
    cfg
}

/// `(result, total_bytes)` of every relay usage row in `db`.
fn relay_usage(db: &Path) -> Vec<(String, i64)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut q = c
        .prepare("SELECT result, total_bytes FROM usage WHERE kind = 'relay'")
        .unwrap();
    let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

#[tokio::test]
async fn bytes_and_usage_are_counted_once_by_the_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let dbs = [tmp.path().join("a.sqlite"), tmp.path().join("b.sqlite")];
    let dir = directory();
    init_logs();
    let owner = Server::spawn(on_file(&dir, &dbs[0])).await.unwrap();
    let other = Server::spawn(on_file(&dir, &dbs[1])).await.unwrap();
    let (mut a, mut b) = split_pair(&owner, Kind::Tcp, &other, Kind::Tcp, &token(7)).await;
    let (one, two) = (pattern(1_000_000, 3), pattern(12_345, 4));
    exchange(&mut a, &mut b, &one, &two).await;
    drop(a);
    assert_eq!(b.rest().await, b"");
    let n = one.len() + two.len();
    metrics_show(&owner, &["ferry_relay_results_total{result=\"happy\"} 1"]).await;
    // the forwarder copied the same bytes, plus the owner's "ok\n"
    let copied = format!("ferry_relay_forwarded_bytes_total {}", n + 3);
    metrics_show(&other, &[&copied, "ferry_relay_forwarding 0"]).await;
    owner.shutdown().await;
    other.shutdown().await;
    assert_eq!(relay_usage(&dbs[0]), [("happy".to_owned(), n as i64)]);
    assert_eq!(relay_usage(&dbs[1]), []);
}

#[tokio::test]
async fn the_owner_budget_closes_a_split_pair() {
    let dir = directory();
    let mut cfg = pooled(&dir);
    cfg.limits.max_relay_bytes_per_pair = Some(1 << 20);
    let owner = spawn(cfg).await;
    let other = spawn(pooled(&dir)).await; // no budget of its own
    let (a, b) = split_pair(&owner, Kind::Tcp, &other, Kind::Tcp, &token(8)).await;
    let (Half::Tcp(mut a), Half::Tcp(b)) = (a, b) else {
        unreachable!()
    };
    let (mut br, mut bw) = b.into_split();
    let sender = tokio::spawn(async move {
        // at most 256 MiB, never reached: writes fail once the pair is closed
        let chunk = vec![9u8; 1 << 20];
        for _ in 0..256 {
            if bw.write_all(&chunk).await.is_err() {
                return true;
            }
        }
        false
    });
    let got = read_to_end(&mut a).await;
    assert!(
        got.len() <= 1 << 20,
        "{} bytes passed a 1 MiB budget",
        got.len()
    );
    read_to_end(&mut br).await;
    assert!(
        tokio::time::timeout(WAIT, sender).await.unwrap().unwrap(),
        "the sender was cut off"
    );
    metrics_show(
        &owner,
        &["ferry_relay_results_total{result=\"over_limit\"} 1"],
    )
    .await;
    metrics_show(&other, &["ferry_relay_forwarding 0"]).await;
}

#[tokio::test]
async fn the_owner_pair_cap_counts_split_pairs() {
    let dir = directory();
    let mut cfg = pooled(&dir);
    cfg.limits.max_relay_pairs = 1;
    let owner = spawn(cfg).await;
    let other = spawn(pooled(&dir)).await;
    let (_a, _b) = split_pair(&owner, Kind::Tcp, &other, Kind::Tcp, &token(9)).await;
    let t = token(10);
    let mut c = Half::open(Kind::Tcp, &owner, &t, SIDE_A).await;
    metrics_show(&owner, &["ferry_relay_waiting 1"]).await;
    let mut d = Half::open(Kind::Tcp, &other, &t, SIDE_B).await;
    let busy = b"error: the relay is busy, try later\n".to_vec();
    assert_eq!(c.rest().await, busy);
    assert_eq!(d.rest().await, busy);
}

/// Two halves of one side never pair; the one handed over waits at the owner
/// and both give up after the owner's wait timeout, releasing the token.
#[tokio::test(start_paused = true)]
async fn lonely_halves_give_up_at_the_owner_wait_timeout() {
    let dir = directory();
    let hs = pool_of(2, &dir, |c| {
        c.timing.relay_wait_timeout = Duration::from_secs(5)
    })
    .await;
    let t = token(11);
    let mut a = Half::open(Kind::Tcp, &hs[0], &t, SIDE_A).await;
    metrics_show(&hs[0], &["ferry_relay_waiting 1"]).await;
    let mut again = Half::open(Kind::Ws, &hs[1], &t, SIDE_A).await;
    metrics_show(&hs[0], &["ferry_relay_waiting 2"]).await;
    metrics_show(&hs[1], &["ferry_relay_forwarding 1"]).await;
    let started = tokio::time::Instant::now();
    assert_eq!(a.rest().await, b"");
    assert_eq!(again.rest().await, b"");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    metrics_show(
        &hs[0],
        &[
            "ferry_relay_results_total{result=\"lonely\"} 2",
            "ferry_relay_waiting 0",
        ],
    )
    .await;
    metrics_show(&hs[1], &["ferry_relay_forwarding 0"]).await;
    assert!(dir.is_empty(), "released");
}

#[tokio::test]
async fn a_pool_needs_a_reachable_address_and_a_long_secret() {
    let dir = directory();
    let mut wildcard = pooled(&dir);
    wildcard.relay_tcp_listen = Some("0.0.0.0:0".parse().unwrap());
    let e = Server::spawn(wildcard.clone()).await.unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("--relay-advertise")),
        "{e}"
    );
    wildcard.relay_advertise = Some("127.0.0.1:4001".parse().unwrap());
    Server::spawn(wildcard).await.unwrap();
    let mut short = Config::ephemeral();
    short.relay_pool = Some(RelayPool::new(dir.clone(), &b"short"[..]));
    let e = Server::spawn(short).await.unwrap_err();
    assert!(e.to_string().contains("at least 16 bytes"), "{e}");
}

#[tokio::test]
async fn an_impatient_client_handed_over_hears_it_from_the_owner() {
    let dir = directory();
    let hs = pool_of(2, &dir, |_| {}).await;
    let t = token(12);
    let _a = Half::open(Kind::Tcp, &hs[0], &t, SIDE_A).await;
    metrics_show(&hs[0], &["ferry_relay_waiting 1"]).await;
    // the same side: handed over, it waits at the owner, then talks too soon
    let mut b = Half::open(Kind::Tcp, &hs[1], &t, SIDE_A).await;
    metrics_show(&hs[0], &["ferry_relay_waiting 2"]).await;
    b.send(b"too soon").await;
    assert_eq!(b.rest().await, b"impatient\n");
    metrics_show(
        &hs[0],
        &["ferry_relay_results_total{result=\"impatient\"} 1"],
    )
    .await;
}

/// A directory implemented outside the crate (as the PostgreSQL one is) that
/// fails every call, or never answers.
struct Broken {
    hang: bool,
}

impl Broken {
    fn answer<T: Send + 'static>(&self) -> DirFuture<'_, T> {
        match self.hang {
            true => Box::pin(std::future::pending()),
            false => Box::pin(async { Err(DirectoryError::new("the store is down")) }),
        }
    }
}

impl RelayDirectory for Broken {
    fn claim<'a>(&'a self, _token: &'a str, _me: SocketAddr) -> DirFuture<'a, Owner> {
        self.answer()
    }
    fn release<'a>(&'a self, _token: &'a str, _me: SocketAddr) -> DirFuture<'a, ()> {
        self.answer()
    }
    fn evict<'a>(&'a self, _token: &'a str, _owner: SocketAddr) -> DirFuture<'a, ()> {
        self.answer()
    }
}

/// Without a working directory each instance is a lone relay: a pair on one
/// instance still meets.
async fn without_a_directory(hang: bool) {
    let broken: Arc<dyn RelayDirectory> = Arc::new(Broken { hang });
    let mut cfg = Config::ephemeral();
    cfg.relay_pool = Some(RelayPool::new(broken, SECRET));
    cfg.timing.relay_handshake_timeout = Duration::from_millis(500);
    let h = spawn(cfg).await;
    let (mut a, mut b) = split_pair(&h, Kind::Tcp, &h, Kind::Ws, &token(13)).await;
    exchange(&mut a, &mut b, b"still", b"works").await;
    // a's claim and the release after pairing; b paired without a call
    metrics_show(&h, &["ferry_relay_pool_errors_total 2"]).await;
}

#[tokio::test]
async fn a_failing_directory_leaves_a_lone_relay() {
    without_a_directory(false).await;
}

#[tokio::test(start_paused = true)]
async fn a_directory_that_never_answers_times_out_into_a_lone_relay() {
    without_a_directory(true).await;
}

#[tokio::test]
async fn a_graceful_shutdown_releases_the_tokens_waiting_there() {
    let dir = directory();
    let mut hs = pool_of(2, &dir, |_| {}).await;
    let t = token(14);
    let mut a = Half::open(Kind::Tcp, &hs[0], &t, SIDE_A).await;
    metrics_show(&hs[0], &["ferry_relay_waiting 1"]).await;
    assert_eq!(dir.owner(&t), Some(tcp(&hs[0])));
    hs.remove(0).shutdown().await;
    assert_eq!(a.rest().await, b"");
    assert!(dir.is_empty(), "released on the way down");
    // the next half claims the token at a live instance
    let _b = Half::open(Kind::Tcp, &hs[0], &t, SIDE_B).await;
    metrics_show(&hs[0], &["ferry_relay_waiting 1"]).await;
    assert_eq!(dir.owner(&t), Some(tcp(&hs[0])));
}
