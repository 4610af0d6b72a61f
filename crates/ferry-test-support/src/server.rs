//! ferry's own mailbox server and transit relay, in process on 127.0.0.1:0.

use std::time::Duration;

use ferry_server::{Config, Server, ServerHandle};

/// Sends the server's `tracing` output to the test's captured output
/// (`RUST_LOG` filters it); once per process, later calls do nothing.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A server with `config`, its logs in the test's output.
pub async fn spawn(config: Config) -> ServerHandle {
    init_logs();
    Server::spawn(config).await.expect("server starts")
}

/// A mailbox server and relay on 127.0.0.1, port 0, in-memory store.
pub async fn spawn_default() -> ServerHandle {
    spawn(Config::ephemeral()).await
}

/// Polls the metrics text until `pred` holds (2 s); returns the last text either way.
pub async fn wait_metrics(h: &ServerHandle, pred: impl Fn(&str) -> bool) -> String {
    for _ in 0..200 {
        let m = h.metrics_text();
        if pred(&m) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.metrics_text()
}

/// A real mailbox server (and relay) for the evil peer and `ferry` to meet on.
pub struct TestServer {
    handle: ServerHandle,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server whose loopback config `tweak` adjusts (motd, limits).
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::ephemeral();
        tweak(&mut config);
        let handle = Server::spawn(config)
            .await
            .expect("in-process server starts");
        TestServer { handle }
    }

    /// `ws://127.0.0.1:PORT/v1`.
    pub fn url(&self) -> String {
        let addr = self.handle.mailbox_addr().expect("mailbox listener");
        format!("ws://{addr}/v1")
    }

    /// The server itself (its addresses, metrics, shutdown).
    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }

    /// `tcp:127.0.0.1:PORT`, for `--relay`.
    pub fn relay(&self) -> String {
        let addr = self.handle.relay_tcp_addr().expect("relay listener");
        format!("tcp:{addr}")
    }
}
