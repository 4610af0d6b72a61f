//! Evil mailbox servers. [`Proxy`] stands between `ferry` and a real server and
//! corrupts what the server says (drops the connection after N frames,
//! duplicates, swaps, replays, injects); [`Scripted`] is a WebSocket server
//! that does whatever a test's script says. Both record what ferry sent.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Frames ferry sent, in order, as text.
pub type Log = Arc<Mutex<Vec<String>>>;

/// What the proxy does to the server's frames on their way to ferry.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward this many frames, then close both connections.
    DropAfter(usize),
    /// Send every frame twice.
    Duplicate,
    /// Swap each pair of consecutive frames (holding the first until the second).
    SwapPairs,
    /// After each `message` frame, replay every earlier `message` frame.
    ReplayMessages,
    /// Send this text instead of frame number `at` (0-based).
    ReplaceAt(usize, String),
    /// Forward everything until ferry says `close`, then hang up at once
    /// (the server vanishes while ferry says goodbye).
    DropWhenClientCloses,
    /// Forward everything as it is.
    None,
}

/// A man in the middle of ferry's mailbox connection.
pub struct Proxy {
    addr: SocketAddr,
    pub log: Log,
    task: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: String, fault: Fault) -> Proxy {
        let (addr, log, task) = serve(move |tcp, log| {
            let (up, fault) = (upstream.clone(), fault.clone());
            async move {
                let _ = relay(tcp, &up, fault, log).await;
            }
        })
        .await;
        Proxy { addr, log, task }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/v1", self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(tcp: TcpStream, upstream: &str, fault: Fault, log: Log) -> Result<(), String> {
    let mut client = tokio_tungstenite::accept_async(tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut server, _) = tokio_tungstenite::connect_async(upstream)
        .await
        .map_err(|e| e.to_string())?;
    let mut faulty = Faulty {
        fault,
        count: 0,
        held: None,
        seen: Vec::new(),
    };
    loop {
        tokio::select! {
            from_ferry = client.next() => {
                let Some(Ok(m)) = from_ferry else { return Ok(()) };
                if let Message::Text(t) = &m {
                    log.lock().expect("log").push(t.to_string());
                    let closing = t.contains(r#""type":"close""#);
                    if closing && matches!(faulty.fault, Fault::DropWhenClientCloses) {
                        return Ok(());
                    }
                }
                server.send(m).await.map_err(|e| e.to_string())?;
            }
            // A swapped frame waits for its partner only briefly: reordered, not withheld.
            _ = tokio::time::sleep(std::time::Duration::from_millis(300)), if faulty.held.is_some() => {
                if let Some(first) = faulty.held.take() {
                    client.send(Message::text(first)).await.map_err(|e| e.to_string())?;
                }
            }
            from_server = server.next() => {
                let Some(Ok(m)) = from_server else { return Ok(()) };
                let Message::Text(t) = m else {
                    client.send(m).await.map_err(|e| e.to_string())?; // pings and pongs
                    continue;
                };
                match faulty.apply(t.to_string()) {
                    Some(frames) => for f in frames {
                        client.send(Message::text(f)).await.map_err(|e| e.to_string())?;
                    },
                    None => {
                        let _ = client.close(None).await;
                        return Ok(());
                    }
                }
            }
        }
    }
}

struct Faulty {
    fault: Fault,
    count: usize,
    held: Option<String>,
    seen: Vec<String>,
}

impl Faulty {
    /// The frames to send for one from the server; `None` means hang up.
    fn apply(&mut self, frame: String) -> Option<Vec<String>> {
        let n = self.count;
        self.count += 1;
        Some(match &self.fault {
            Fault::DropAfter(limit) if n >= *limit => return None,
            Fault::Duplicate => vec![frame.clone(), frame],
            Fault::SwapPairs => match self.held.take() {
                Some(first) => vec![frame, first],
                None => {
                    self.held = Some(frame);
                    vec![]
                }
            },
            Fault::ReplayMessages if frame.contains("\"message\"") => {
                let mut out = vec![frame.clone()];
                out.extend(self.seen.iter().cloned());
                self.seen.push(frame);
                out
            }
            Fault::ReplaceAt(at, text) if n == *at => vec![text.clone()],
            _ => vec![frame],
        })
    }
}

/// Listens on loopback and runs `handle` on its own task for each connection,
/// with the log they share; returns the address, the log and the accept task.
async fn serve<F, Fut>(handle: F) -> (SocketAddr, Log, JoinHandle<()>)
where
    F: Fn(TcpStream, Log) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log = Log::default();
    let task_log = Arc::clone(&log);
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(handle(tcp, Arc::clone(&task_log)));
        }
    });
    (addr, log, task)
}

/// A connection to a scripted server, after the WebSocket handshake.
pub type Ws = WebSocketStream<TcpStream>;
/// What a scripted server does with each connection.
pub type Script = Arc<dyn Fn(Ws, Log) -> BoxFuture<'static, ()> + Send + Sync>;

/// A WebSocket server on loopback that runs a script per connection.
pub struct Scripted {
    addr: SocketAddr,
    pub log: Log,
    task: JoinHandle<()>,
}

impl Scripted {
    pub async fn start(script: Script) -> Scripted {
        let (addr, log, task) = serve(move |tcp, log| {
            let script = Arc::clone(&script);
            async move {
                if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                    script(ws, log).await;
                }
            }
        })
        .await;
        Scripted { addr, log, task }
    }

    /// A server that accepts TCP connections and then never says a word.
    pub async fn silent_tcp() -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = listener.accept().await {
                held.push(tcp);
            }
        });
        Scripted {
            addr,
            log: Log::default(),
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/v1", self.addr)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads ferry's next text frame (recording it), or `None` when it is gone.
pub async fn next_text(ws: &mut Ws, log: &Log) -> Option<String> {
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            log.lock().expect("log").push(t.to_string());
            return Some(t.to_string());
        }
    }
    None
}

/// The reference server's first frame.
pub fn welcome(motd: &str) -> Message {
    let v = serde_json::json!({"type": "welcome", "welcome": {"motd": motd}, "server_tx": 1.0});
    Message::text(v.to_string())
}
