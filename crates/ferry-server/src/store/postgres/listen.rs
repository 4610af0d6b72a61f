//! Notices of other instances' messages: a thread with its own session `LISTEN`s on
//! [`CHANNEL`] and hands each notification to the state thread. After every
//! (re)connect it asks for a catch-up of everything, since notifications sent while
//! it was away are gone.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::conn::{self, Session};
use super::CHANNEL;
use crate::store::StoreError;

/// Where an instance hears of the others' changes: the database, and its own mark,
/// so that it skips the notices of its own messages (it delivered those itself).
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    pub(crate) url: String,
    pub(crate) origin: String,
}

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
        .map_err(|e| StoreError::chained("PostgreSQL LISTEN", &e))
}

/// Where the listening thread hands its changes (the state thread's queue).
pub(crate) trait ChangeSink: Send + 'static {
    /// False once nobody wants changes any more (the server stopped).
    fn changed(&mut self, c: Changed) -> bool;
    fn wanted(&self) -> bool;
}

/// Starts the listening thread; it ends once the sink is no longer wanted.
pub(crate) fn listen_for_changes(
    feed: ChangeFeed,
    mut sink: impl ChangeSink,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let mut session = Session::connect(conn::config(&feed.url)?, listen)?;
    std::thread::Builder::new()
        .name("ferry-pg-listen".into())
        .spawn(move || {
            while sink.changed(Changed::All) && pump(&mut session, &feed.origin, &mut sink) {
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
fn pump(session: &mut Session, origin: &str, sink: &mut impl ChangeSink) -> bool {
    loop {
        let Ok(client) = session.client() else {
            return true;
        };
        // A fresh iterator for each wait: its timer starts when it is made and,
        // once run out, never waits again.
        let next = client.notifications().timeout_iter(POLL).next();
        match next {
            Ok(Some(n)) => {
                if let Some(c) = parse(n.payload(), origin) {
                    if !sink.changed(c) {
                        return false;
                    }
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

/// The change a notice tells of; `None` for this instance's own messages.
fn parse(payload: &str, origin: &str) -> Option<Changed> {
    match serde_json::from_str::<(String, String, String)>(payload) {
        Ok((_, _, from)) if from == origin => None,
        Ok((app, id, _)) => Some(Changed::Mailbox { app, id }),
        Err(_) => Some(Changed::All),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_a_mailbox_or_everything_and_our_own_are_skipped() {
        assert_eq!(
            parse(r#"["app","mb","them"]"#, "us"),
            Some(Changed::Mailbox {
                app: "app".into(),
                id: "mb".into()
            })
        );
        assert_eq!(parse(r#"["app","mb","us"]"#, "us"), None);
        assert_eq!(parse("*", "us"), Some(Changed::All));
        assert_eq!(parse("garbage", "us"), Some(Changed::All));
    }
}
