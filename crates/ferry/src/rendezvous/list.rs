//! The nameplates in use on the server, for tab completion of a code being
//! typed (the mailbox protocol's `list`, as Python `wormhole receive` asks it).
//! A connection of its own that claims nothing, so it uses up no code.

use ferry_proto::session::Event;

use super::websocket::MailboxConnection;
use super::{flush, new_session, MailboxConfig};
use crate::error::Result;

/// The nameplates the server lists for our application id (empty on a server
/// that hides them), within the mailbox connect timeout.
pub async fn list_nameplates(config: &MailboxConfig) -> Result<Vec<String>> {
    let patience = config.timing.mailbox_connect;
    let asking = async {
        let mut conn =
            MailboxConnection::connect(&config.url, &config.timing, &config.trust).await?;
        let (mut session, _) = new_session(config);
        session.list_nameplates();
        let listed = loop {
            flush(&mut conn, &mut session).await?;
            let msg = conn.recv().await?;
            session.handle(msg)?;
            let found = std::iter::from_fn(|| session.poll_event()).find_map(|e| match e {
                Event::Nameplates(ids) => Some(ids),
                _ => None,
            });
            if let Some(ids) = found {
                break ids;
            }
        };
        conn.shutdown().await;
        Ok(listed)
    };
    tokio::time::timeout(patience, asking)
        .await
        .unwrap_or(Ok(Vec::new()))
}
