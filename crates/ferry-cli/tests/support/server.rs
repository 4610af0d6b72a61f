//! ferry's own mailbox server and transit relay, in process on 127.0.0.1:0.

use ferry_server::{Config, Server, ServerHandle};

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

    /// `tcp:127.0.0.1:PORT`, for `--relay`.
    pub fn relay(&self) -> String {
        let addr = self.handle.relay_tcp_addr().expect("relay listener");
        format!("tcp:{addr}")
    }
}
