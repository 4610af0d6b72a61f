//! The WebSocket edge to the rendezvous server: JSON text frames in and out.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use ferry_proto::wire::mailbox::{ClientEnvelope, ClientMessage, ServerMessage};

use crate::error::{Error, Result, ServerError};
use crate::timing::Timing;
use crate::tls::Trust;
use crate::ws::{ClientWs, DialError};

const SILENT_SERVER: &str =
    "waiting for the mailbox server: it stopped answering (no reply to pings)";

/// One connection to a mailbox server.
pub(crate) struct MailboxConnection {
    ws: ClientWs,
    /// Silence from the server after which we ping it; twice this without a
    /// word means it is gone.
    keepalive: Duration,
}

impl MailboxConnection {
    pub(crate) async fn connect(url: &str, timing: &Timing, trust: &Trust) -> Result<Self> {
        let unreachable = |reason: String| ServerError::Unreachable {
            url: url.to_owned(),
            reason,
        };
        let connecting = crate::ws::dial(url, trust);
        let ws = tokio::time::timeout(timing.mailbox_connect, connecting)
            .await
            .map_err(|_| unreachable("timed out".into()))?
            .map_err(|e| match e {
                DialError::Certificate(problem) => ServerError::Certificate {
                    url: url.to_owned(),
                    problem,
                },
                DialError::Http(status) => unreachable(not_a_mailbox(url, status)),
                DialError::Other(why) => unreachable(why),
            })?;
        Ok(MailboxConnection {
            ws,
            keepalive: timing.mailbox_keepalive,
        })
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
            .map_err(|_| Error::SERVER_LOST)
    }

    /// The next server message; `None` when the server closed the connection.
    ///
    /// Waiting for the peer may take hours, but a server that has gone away
    /// without closing the TCP connection must not keep us forever: after
    /// `keepalive` of silence we ping it, and a second silent period (no
    /// pong, no frame at all) means the connection is dead, as the Python
    /// client decides.
    pub(crate) async fn recv(&mut self) -> Result<ServerMessage> {
        let mut pinged = false;
        loop {
            let frame = match tokio::time::timeout(self.keepalive, self.ws.next()).await {
                Ok(frame) => frame.ok_or(Error::SERVER_LOST)?,
                Err(_) if pinged => return Err(ServerError::TimedOut(SILENT_SERVER).into()),
                Err(_) => {
                    self.ping().await?;
                    pinged = true;
                    continue;
                }
            };
            pinged = false;
            match frame.map_err(|_| Error::SERVER_LOST)? {
                Message::Text(text) => {
                    tracing::trace!(frame = %text.as_str(), "mailbox recv");
                    return ServerMessage::decode(text.as_str()).map_err(|e| {
                        ServerError::Said(format!("invalid message from the server: {e}")).into()
                    });
                }
                Message::Close(_) => return Err(Error::SERVER_LOST),
                _ => continue, // pings are answered by tungstenite; binary is not ours
            }
        }
    }

    async fn ping(&mut self) -> Result<()> {
        self.ws
            .send(Message::Ping(Bytes::from_static(b"ferry")))
            .await
            .map_err(|_| Error::SERVER_LOST)
    }

    pub(crate) async fn shutdown(&mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Why the WebSocket did not open, in the user's terms. A plain HTTP answer
/// (`ws://HOST:PORT` without `/v1` gets `200 OK` from `ferry serve`) means a web
/// server, not a mailbox, is at that URL; the likely fix is the `/v1` path.
fn not_a_mailbox(url: &str, status: u16) -> String {
    let said = format!("URL is not a wormhole mailbox server (HTTP {status})");
    match with_v1(url) {
        Some(fixed) => format!("{said}; did you mean {fixed}?"),
        None => said,
    }
}

/// `url` with its path replaced by `/v1`, unless that is its path already.
fn with_v1(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let fixed = format!("{scheme}://{authority}/v1");
    (fixed != url.trim_end_matches('/')).then_some(fixed)
}

#[cfg(test)]
mod tests {
    use super::with_v1;

    #[test]
    fn suggests_the_v1_path() {
        let fixed = Some("ws://h:4000/v1".to_owned());
        assert_eq!(with_v1("ws://h:4000"), fixed);
        assert_eq!(with_v1("ws://h:4000/"), fixed);
        assert_eq!(with_v1("ws://h:4000/metrics"), fixed);
        assert_eq!(with_v1("ws://h:4000/v1"), None);
        assert_eq!(with_v1("ws://h:4000/v1/"), None);
    }
}
