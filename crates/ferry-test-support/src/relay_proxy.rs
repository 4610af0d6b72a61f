//! A stand-in for the transit relay: it speaks the relay's line protocol (`please
//! relay TOKEN for side SIDE\n`, then `ok\n` to both halves of a pair) and copies
//! bytes between the pair, optionally slowly, and can cut the connection or flip a
//! bit on the way.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// What the proxy does to the bytes.
#[derive(Clone, Copy, Default)]
pub struct ProxyPlan {
    /// Bytes per second in each direction (`None`: as fast as possible).
    pub rate: Option<u64>,
    /// Flip the low bit of the byte at this offset of either direction.
    pub flip_at: Option<u64>,
    /// The first pair is closed once this many bytes crossed it (both
    /// directions together); later pairs are untouched.
    pub cut_after: Option<u64>,
    /// The first pair goes silent (open, nothing copied) once this many bytes
    /// crossed it: a dead path that no reset announces.
    pub stall_after: Option<u64>,
    /// Only the first pair is relayed; later connections are closed at once.
    pub only_first: bool,
}

/// What happens to one pair's bytes: the plan, and (first pair only) a fault.
#[derive(Clone)]
struct PairPlan {
    plan: ProxyPlan,
    first: bool,
    crossed: Arc<AtomicU64>,
    /// Set before the chunk that reaches `cut_after` is written, so the other
    /// direction drops whatever that chunk provokes (a `go` answering the
    /// last handshake) instead of racing the close.
    cut: Arc<AtomicBool>,
}

type Waiting = Arc<Mutex<HashMap<String, (String, BufReader<TcpStream>)>>>;

/// A running proxy; dropping it or calling [`Proxy::cut`] closes every connection.
pub struct Proxy {
    pub addr: SocketAddr,
    tasks: JoinSet<()>,
    /// Bytes copied so far (both directions).
    pub copied: Arc<AtomicU64>,
}

impl Proxy {
    pub async fn start(plan: ProxyPlan) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let copied = Arc::new(AtomicU64::new(0));
        let mut tasks = JoinSet::new();
        tasks.spawn(accept(listener, plan, copied.clone()));
        Proxy {
            addr,
            tasks,
            copied,
        }
    }

    /// Stops at once: every relayed connection is dropped.
    pub fn cut(&mut self) {
        self.tasks.abort_all();
    }
}

async fn accept(listener: TcpListener, plan: ProxyPlan, copied: Arc<AtomicU64>) {
    let waiting: Waiting = Arc::default();
    let paired = Arc::new(AtomicU64::new(0));
    let mut pairs = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let (waiting, copied, paired) = (waiting.clone(), copied.clone(), paired.clone());
        pairs.spawn(async move {
            if let Some((a, b)) = pair(stream, &waiting).await {
                let n = paired.fetch_add(1, Ordering::Relaxed);
                if n > 0 && plan.only_first {
                    return;
                }
                let pair_plan = PairPlan {
                    plan,
                    first: n == 0,
                    crossed: Arc::default(),
                    cut: Arc::default(),
                };
                splice(a, b, pair_plan, copied).await;
            }
        });
    }
}

/// Reads the relay line; the second connection with a token pairs with the first.
async fn pair(
    stream: TcpStream,
    waiting: &Waiting,
) -> Option<(BufReader<TcpStream>, BufReader<TcpStream>)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let (token, side) = match words.as_slice() {
        ["please", "relay", token, "for", "side", side] => (token.to_string(), side.to_string()),
        _ => return None,
    };
    let partner = {
        let mut w = waiting.lock().expect("lock");
        match w.remove(&token) {
            Some((other_side, other)) if other_side != side => Some(other),
            Some(same) => {
                w.insert(token.clone(), same);
                None
            }
            None => {
                w.insert(token.clone(), (side, reader));
                return None; // the partner's task does the splicing
            }
        }
    };
    let mut a = partner?;
    a.get_mut().write_all(b"ok\n").await.ok()?;
    reader.get_mut().write_all(b"ok\n").await.ok()?;
    Some((a, reader))
}

async fn splice(
    a: BufReader<TcpStream>,
    b: BufReader<TcpStream>,
    plan: PairPlan,
    copied: Arc<AtomicU64>,
) {
    let (ar, aw) = split(a);
    let (br, bw) = split(b);
    let mut both = JoinSet::new();
    both.spawn(copy(ar, bw, plan.clone(), copied.clone()));
    both.spawn(copy(br, aw, plan, copied));
    // When one direction ends, the relay closes both.
    let _ = both.join_next().await;
    both.abort_all();
}

fn split(s: BufReader<TcpStream>) -> (OwnedReadHalf, OwnedWriteHalf) {
    // Clients wait for `ok\n` before writing, so nothing is buffered past the line.
    s.into_inner().into_split()
}

async fn copy(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    pair: PairPlan,
    copied: Arc<AtomicU64>,
) {
    let plan = pair.plan;
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    let start = tokio::time::Instant::now();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Some(at) = plan.flip_at {
            if (done..done + n as u64).contains(&at) {
                buf[(at - done) as usize] ^= 1;
            }
        }
        if pair.cut.load(Ordering::SeqCst) {
            return;
        }
        let crossed = pair.crossed.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        let cutting = pair.first && plan.cut_after.is_some_and(|at| crossed >= at);
        if cutting {
            pair.cut.store(true, Ordering::SeqCst);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        done += n as u64;
        copied.fetch_add(n as u64, Ordering::Relaxed);
        if cutting {
            return; // `splice` closes both directions
        }
        if pair.first && plan.stall_after.is_some_and(|at| crossed >= at) {
            std::future::pending::<()>().await;
        }
        if let Some(rate) = plan.rate {
            let due = start + Duration::from_secs_f64(done as f64 / rate as f64);
            tokio::time::sleep_until(due).await;
        }
    }
}
