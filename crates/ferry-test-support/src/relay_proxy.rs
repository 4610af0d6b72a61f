//! A stand-in for the transit relay: it speaks the relay's line protocol (`please
//! relay TOKEN for side SIDE\n`, then `ok\n` to both halves of a pair) and copies
//! bytes between the pair, optionally slowly, and can cut the connection or flip a
//! bit on the way.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
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
    let mut pairs = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let (waiting, copied) = (waiting.clone(), copied.clone());
        pairs.spawn(async move {
            if let Some((a, b)) = pair(stream, &waiting).await {
                splice(a, b, plan, copied).await;
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
    plan: ProxyPlan,
    copied: Arc<AtomicU64>,
) {
    let (ar, aw) = split(a);
    let (br, bw) = split(b);
    let mut both = JoinSet::new();
    both.spawn(copy(ar, bw, plan, copied.clone()));
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
    plan: ProxyPlan,
    copied: Arc<AtomicU64>,
) {
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
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        done += n as u64;
        copied.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(rate) = plan.rate {
            let due = start + Duration::from_secs_f64(done as f64 / rate as f64);
            tokio::time::sleep_until(due).await;
        }
    }
}
