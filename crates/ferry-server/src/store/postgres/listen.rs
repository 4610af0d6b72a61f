//! Notices of other instances' messages: a thread with its own session `LISTEN`s on
//! [`CHANNEL`] and hands each notification to the state thread. After every
//! (re)connect it asks for a catch-up of everything, since notifications sent while
//! it was away are gone.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::conn::{self, Session};
use super::CHANNEL;
use crate::store::StoreError;

/// What changed in the shared store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Changed {
    /// New messages in this mailbox.
    Mailbox { app: String, id: String },
    /// Anything may have changed: catch up every mailbox someone listens to.
    All,
}

/// How often the thread looks up from an idle connection to see if it should stop.
const POLL: Duration = Duration::from_millis(500);
/// Pause between attempts while the database is down.
const RETRY: Duration = Duration::from_millis(200);

fn listen(client: &mut postgres::Client) -> Result<(), StoreError> {
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .map_err(|e| StoreError::new(format!("PostgreSQL LISTEN: {e}")))
}

/// Where the listening thread hands its changes (the state thread's queue).
pub(crate) trait ChangeSink: Send + 'static {
    /// False once nobody wants changes any more (the server stopped).
    fn changed(&mut self, c: Changed) -> bool;
    fn wanted(&self) -> bool;
}

/// Starts the listening thread; it ends once the sink is no longer wanted.
pub(crate) fn listen_for_changes(
    url: &str,
    mut sink: impl ChangeSink,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let mut session = Session::connect(conn::config(url)?, listen)?;
    std::thread::Builder::new()
        .name("ferry-pg-listen".into())
        .spawn(move || {
            while sink.changed(Changed::All) && pump(&mut session, &mut sink) {
                // The connection was lost: wait for the database to come back.
                while session.client().is_err() {
                    if !sink.wanted() {
                        return;
                    }
                    std::thread::sleep(RETRY);
                }
            }
        })
        .map_err(|e| StoreError::new(e.to_string()))
}

/// Passes notifications on until the connection is lost (true) or nobody wants
/// them any more (false).
fn pump(session: &mut Session, sink: &mut impl ChangeSink) -> bool {
    loop {
        let Ok(client) = session.client() else {
            return true;
        };
        // A fresh iterator for each wait: its timer starts when it is made and,
        // once run out, never waits again.
        let next = client.notifications().timeout_iter(POLL).next();
        match next {
            Ok(Some(n)) => {
                if !sink.changed(parse(n.payload())) {
                    return false;
                }
            }
            // Quiet for a while: is anyone still there?
            Ok(None) if !sink.wanted() => return false,
            Ok(None) => {}
            Err(e) => {
                let e = session.error(e);
                tracing::warn!(error = %e, "PostgreSQL notifications interrupted");
                return true;
            }
        }
    }
}

fn parse(payload: &str) -> Changed {
    match serde_json::from_str::<(String, String)>(payload) {
        Ok((app, id)) => Changed::Mailbox { app, id },
        Err(_) => Changed::All,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_a_mailbox_or_everything() {
        assert_eq!(
            parse(r#"["app","mb"]"#),
            Changed::Mailbox {
                app: "app".into(),
                id: "mb".into()
            }
        );
        assert_eq!(parse("*"), Changed::All);
        assert_eq!(parse("garbage"), Changed::All);
    }
}
