//! Load generator for `bench/serve`: drives any wormhole mailbox server or transit
//! relay (ferry's or the Python reference) on loopback, bounded in count and time.
//!
//! ```text
//! loadgen idle URL N HOLD_SECS          N bound clients, each with an open mailbox;
//!                                        prints READY when all are up, then holds
//! loadgen rendezvous URL PAIRS CONC MAX_SECS
//!                                        pairs that claim, exchange pake+version, close;
//!                                        prints rate and latency p50/p99
//! loadgen relay HOST:PORT PAIRS BYTES   PAIRS concurrent relayed transfers of BYTES each
//! loadgen relay-ws HOST:PORT WS_URL PAIRS BYTES
//!                                        the same from a TCP sender to a WebSocket receiver
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite_030::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite_030::tungstenite::Message;
use tokio_tungstenite_030::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;
const APPID: &str = "lothar.com/wormhole/text-or-file-xfer";
/// Longest one rendezvous may take before it counts as failed.
const PAIR_TIMEOUT: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .ok_or("missing argument, see the file docs")
    };
    match arg(0)?.as_str() {
        "idle" => idle(&arg(1)?, arg(2)?.parse()?, arg(3)?.parse()?).await,
        "rendezvous" => {
            rendezvous(
                &arg(1)?,
                arg(2)?.parse()?,
                arg(3)?.parse()?,
                arg(4)?.parse()?,
            )
            .await
        }
        "relay" => {
            let addr = arg(1)?;
            let pair = |i, n| relay_pair(addr.clone(), i, n);
            relay(pair, arg(2)?.parse()?, arg(3)?.parse()?).await
        }
        "relay-ws" => {
            let (addr, url) = (arg(1)?, arg(2)?);
            let pair = |i, n| relay_ws_pair(addr.clone(), url.clone(), i, n);
            relay(pair, arg(3)?.parse()?, arg(4)?.parse()?).await
        }
        other => Err(format!("unknown mode {other}").into()),
    }
}

async fn connect(url: &str) -> Result<Ws, BoxError> {
    // Small client buffers so that the load generator itself stays light.
    let cfg = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite_030::connect_async_with_config(url, Some(cfg), true).await?;
    Ok(ws)
}

async fn send(ws: &mut Ws, v: Value) -> Result<(), BoxError> {
    ws.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

/// Reads frames until one satisfies `pred`.
async fn wait_for(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Result<Value, BoxError> {
    loop {
        match ws.next().await.ok_or("connection closed")?? {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t)?;
                if v["type"] == "error" {
                    return Err(format!("server error: {v}").into());
                }
                if pred(&v) {
                    return Ok(v);
                }
            }
            Message::Close(_) => return Err("closed by server".into()),
            _ => {}
        }
    }
}

fn is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["type"] == kind
}

async fn bound(url: &str, side: &str) -> Result<Ws, BoxError> {
    let mut ws = connect(url).await?;
    send(
        &mut ws,
        json!({"type": "bind", "appid": APPID, "side": side, "id": "0001"}),
    )
    .await?;
    Ok(ws)
}

// ---- idle clients ----

async fn idle(url: &str, n: usize, hold: u64) -> Result<(), BoxError> {
    let t0 = Instant::now();
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        let mut ws = bound(url, &format!("idle{i:06}")).await?;
        send(
            &mut ws,
            json!({"type": "open", "mailbox": format!("idlebox{i:07}"), "id": "0002"}),
        )
        .await?;
        clients.push(ws);
        if clients.len() % 500 == 0 {
            // make sure the server keeps up before opening more
            let last = clients.last_mut().ok_or("no client")?;
            send(last, json!({"type": "ping", "ping": 1, "id": "0003"})).await?;
            wait_for(last, is("pong")).await?;
        }
    }
    for ws in &mut clients {
        send(ws, json!({"type": "ping", "ping": 2, "id": "0004"})).await?;
    }
    for ws in &mut clients {
        wait_for(ws, is("pong")).await?;
    }
    println!("READY {n} clients in {:.1}s", t0.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_secs(hold)).await;
    Ok(())
}

// ---- rendezvous rate ----

async fn side(url: &str, me: &str, nameplate: &str) -> Result<(), BoxError> {
    let mut ws = bound(url, me).await?;
    send(
        &mut ws,
        json!({"type": "claim", "nameplate": nameplate, "id": "0002"}),
    )
    .await?;
    let mailbox = wait_for(&mut ws, is("claimed")).await?["mailbox"].clone();
    send(
        &mut ws,
        json!({"type": "open", "mailbox": mailbox, "id": "0003"}),
    )
    .await?;
    let body = "7b2270616b655f7631223a20".repeat(6);
    send(
        &mut ws,
        json!({"type": "add", "phase": "pake", "body": body, "id": "0004"}),
    )
    .await?;
    let theirs = |phase: &'static str| {
        move |v: &Value| v["type"] == "message" && v["side"] != me && v["phase"] == phase
    };
    wait_for(&mut ws, theirs("pake")).await?;
    send(&mut ws, json!({"type": "release", "id": "0005"})).await?;
    send(
        &mut ws,
        json!({"type": "add", "phase": "version", "body": "ab".repeat(120), "id": "0006"}),
    )
    .await?;
    wait_for(&mut ws, theirs("version")).await?;
    send(
        &mut ws,
        json!({"type": "close", "mood": "happy", "id": "0007"}),
    )
    .await?;
    wait_for(&mut ws, is("closed")).await?;
    let _ = ws.close(None).await;
    Ok(())
}

async fn one_pair(url: Arc<String>, i: u64) -> Result<Duration, BoxError> {
    let t0 = Instant::now();
    let nameplate = (1_000_000 + i).to_string();
    let (side_a, side_b) = (format!("a{i:09}"), format!("b{i:09}"));
    let (a, b) = tokio::join!(
        side(&url, &side_a, &nameplate),
        side(&url, &side_b, &nameplate)
    );
    a?;
    b?;
    Ok(t0.elapsed())
}

async fn rendezvous(url: &str, pairs: u64, conc: u64, max_secs: u64) -> Result<(), BoxError> {
    let url = Arc::new(url.to_owned());
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(max_secs);
    let t0 = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..conc {
        let (url, next) = (Arc::clone(&url), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= pairs || Instant::now() > deadline {
                    return (lat, errors);
                }
                // A pair that never completes (a lost message) is an error, not a hang.
                match tokio::time::timeout(PAIR_TIMEOUT, one_pair(Arc::clone(&url), i)).await {
                    Ok(Ok(d)) => lat.push(d),
                    Ok(Err(_)) | Err(_) => errors += 1,
                }
            }
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for w in workers {
        let (l, e) = w.await?;
        lat.extend(l);
        errors += e;
    }
    let secs = t0.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "RENDEZVOUS completed={} errors={errors} secs={secs:.2} rate={:.1} p50_ms={:.2} p99_ms={:.2}",
        lat.len(),
        lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}

// ---- relay throughput ----

async fn relay_end(addr: &str, token: &str, side: &str) -> Result<TcpStream, BoxError> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(format!("please relay {token} for side {side}\n").as_bytes())
        .await?;
    Ok(s)
}

async fn expect_ok(s: &mut TcpStream) -> Result<(), BoxError> {
    let mut ok = [0u8; 3];
    s.read_exact(&mut ok).await?;
    if &ok != b"ok\n" {
        return Err(format!("relay said {:?}", String::from_utf8_lossy(&ok)).into());
    }
    Ok(())
}

fn relay_token(i: usize) -> String {
    format!("{:064x}", i + 1)
}

/// Writes `bytes` bytes to `a`.
async fn send_bytes(a: &mut TcpStream, bytes: u64) -> Result<(), BoxError> {
    let chunk = vec![0x5au8; 256 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        a.write_all(&chunk[..n]).await?;
        left -= n as u64;
    }
    Ok(())
}

async fn relay_pair(addr: String, i: usize, bytes: u64) -> Result<(), BoxError> {
    let token = relay_token(i);
    let mut a = relay_end(&addr, &token, "aaaaaaaaaaaaaaaa").await?;
    let mut b = relay_end(&addr, &token, "bbbbbbbbbbbbbbbb").await?;
    expect_ok(&mut a).await?;
    expect_ok(&mut b).await?;
    let recv = async {
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0u64;
        while got < bytes {
            let n = b.read(&mut buf).await?;
            if n == 0 {
                return Err("relay closed early".into());
            }
            got += n as u64;
        }
        Ok(())
    };
    let (s, r) = tokio::join!(send_bytes(&mut a, bytes), recv);
    s.and(r)
}

/// A TCP sender relayed to a WebSocket receiver (one binary frame per relay write).
async fn relay_ws_pair(addr: String, url: String, i: usize, bytes: u64) -> Result<(), BoxError> {
    let token = relay_token(i);
    let (mut ws, _) = tokio_tungstenite_030::connect_async(&url).await?;
    let line = format!("please relay {token} for side bbbbbbbbbbbbbbbb");
    ws.send(Message::Binary(line.into_bytes().into())).await?;
    let mut a = relay_end(&addr, &token, "aaaaaaaaaaaaaaaa").await?;
    expect_ok(&mut a).await?;
    let recv = async {
        let mut got = 0u64;
        while got < bytes + 3 {
            match ws.next().await.ok_or("relay closed early")?? {
                Message::Binary(b) => got += b.len() as u64,
                Message::Close(_) => return Err("relay closed early".into()),
                _ => {}
            }
        }
        Ok(())
    };
    let (s, r) = tokio::join!(send_bytes(&mut a, bytes), recv);
    s.and(r)
}

async fn relay<F, Fut>(pair: F, pairs: usize, bytes: u64) -> Result<(), BoxError>
where
    F: Fn(usize, u64) -> Fut,
    Fut: std::future::Future<Output = Result<(), BoxError>> + Send + 'static,
{
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..pairs).map(|i| tokio::spawn(pair(i, bytes))).collect();
    for t in tasks {
        t.await??;
    }
    let secs = t0.elapsed().as_secs_f64();
    let total = bytes * pairs as u64;
    println!(
        "RELAY pairs={pairs} bytes={total} secs={secs:.2} mib_per_s={:.1}",
        total as f64 / secs / (1024.0 * 1024.0)
    );
    Ok(())
}
