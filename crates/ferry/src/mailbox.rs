//! The WebSocket edge to the rendezvous server: JSON text frames in and out.

use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use ferry_proto::mailbox::{ClientEnvelope, ClientMessage, ServerMessage};

use crate::error::{Error, Result};

/// One connection to a mailbox server.
pub(crate) struct MailboxConnection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl MailboxConnection {
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let unreachable = |reason: String| Error::ServerUnreachable {
            url: url.to_owned(),
            reason,
        };
        let connecting = tokio_tungstenite::connect_async(url);
        let (ws, _) = tokio::time::timeout(std::time::Duration::from_secs(30), connecting)
            .await
            .map_err(|_| unreachable("timed out".into()))?
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(MailboxConnection { ws })
    }

    /// Sends one command with a fresh random `id` (the Go client matches acks by id).
    pub(crate) async fn send(&mut self, message: ClientMessage) -> Result<()> {
        let id = format!("{:04x}", rand::thread_rng().next_u32() & 0xffff);
        let frame = ClientEnvelope {
            message,
            id: Some(id),
        }
        .encode();
        tracing::trace!(%frame, "mailbox send");
        self.ws
            .send(Message::text(frame))
            .await
            .map_err(|_| Error::ServerLost)
    }

    /// The next server message; `None` when the server closed the connection.
    pub(crate) async fn recv(&mut self) -> Result<ServerMessage> {
        loop {
            let frame = self.ws.next().await.ok_or(Error::ServerLost)?;
            match frame.map_err(|_| Error::ServerLost)? {
                Message::Text(text) => {
                    tracing::trace!(frame = %text.as_str(), "mailbox recv");
                    return ServerMessage::decode(text.as_str()).map_err(|e| {
                        Error::Server(format!("invalid message from the server: {e}"))
                    });
                }
                Message::Close(_) => return Err(Error::ServerLost),
                _ => continue, // pings are answered by tungstenite; binary is not ours
            }
        }
    }

    pub(crate) async fn shutdown(&mut self) {
        let _ = self.ws.close(None).await;
    }
}
