//! One PostgreSQL session that comes back by itself: a lost connection is dropped,
//! and the next use reconnects, no sooner than a growing backoff allows (so a
//! database that is down costs each request one quick error, not a connect
//! timeout). Prepared statements are cached per session.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use crate::store::StoreError;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The session and what it takes to make it again.
pub(crate) struct Session {
    config: postgres::Config,
    client: Option<Client>,
    statements: HashMap<&'static str, Statement>,
    /// Set after a failed connect: no new attempt before then.
    retry_at: Option<Instant>,
    backoff: Duration,
    /// Runs after each (re)connect, before the session is used.
    on_connect: fn(&mut Client) -> Result<(), StoreError>,
    /// Set while a transaction is open: a lost connection is then an error,
    /// never silently replaced (a statement on the new one would run outside
    /// the transaction, and a COMMIT there would "succeed" with nothing in it).
    pinned: bool,
}

/// `postgres://…` parsed into a client configuration with our timeouts.
pub(crate) fn async_config(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::chained("bad PostgreSQL URL", &e))?;
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .application_name("ferry serve");
    Ok(config)
}

/// The same for the blocking client.
pub(crate) fn config(url: &str) -> Result<postgres::Config, StoreError> {
    async_config(url).map(postgres::Config::from)
}

impl Session {
    /// Connects now: at start an unreachable database is an error, not a retry.
    pub(crate) fn connect(
        config: postgres::Config,
        on_connect: fn(&mut Client) -> Result<(), StoreError>,
    ) -> Result<Self, StoreError> {
        let mut s = Session {
            config,
            client: None,
            statements: HashMap::new(),
            retry_at: None,
            backoff: FIRST_BACKOFF,
            on_connect,
            pinned: false,
        };
        s.client()?;
        Ok(s)
    }

    /// Keeps the current connection until [`unpin`](Self::unpin): from now on a
    /// lost one fails every use instead of being replaced.
    pub(crate) fn pin(&mut self) {
        self.pinned = true;
    }

    /// Lets the next use reconnect again (the transaction is over).
    pub(crate) fn unpin(&mut self) {
        self.pinned = false;
    }

    /// The live client, reconnecting if the last one was lost (unless pinned).
    pub(crate) fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.lost();
        }
        if self.client.is_none() && self.pinned {
            return Err(StoreError::new(
                "lost the PostgreSQL connection in a transaction (rolled back)",
            ));
        }
        if self.client.is_none() {
            let c = self.reconnect()?;
            self.client = Some(c);
        }
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::new("no PostgreSQL session"))
    }

    fn reconnect(&mut self) -> Result<Client, StoreError> {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return Err(StoreError::new("PostgreSQL is unreachable (retrying)"));
        }
        let made = self
            .config
            .connect(NoTls)
            .map_err(|e| StoreError::chained("cannot connect to PostgreSQL", &e))
            .and_then(|mut c| (self.on_connect)(&mut c).map(|()| c));
        match made {
            Ok(c) => {
                if self.retry_at.take().is_some() {
                    tracing::info!("reconnected to PostgreSQL");
                }
                self.backoff = FIRST_BACKOFF;
                Ok(c)
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?self.backoff, "PostgreSQL connection failed");
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                Err(e)
            }
        }
    }

    /// False after the connection was lost (until the next use reconnects).
    pub(crate) fn connected(&self) -> bool {
        self.client.is_some()
    }

    /// Forgets a lost connection and the statements prepared on it.
    fn lost(&mut self) {
        self.client = None;
        self.statements.clear();
        self.retry_at.get_or_insert_with(Instant::now);
    }

    /// Runs a statement (prepared once per session) and returns its rows.
    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let st = match self.statements.get(sql) {
            Some(st) => st.clone(),
            None => {
                let prepared = self.client()?.prepare(sql);
                let st = prepared.map_err(|e| self.error(e))?;
                self.statements.insert(sql, st.clone());
                st
            }
        };
        let rows = self.client()?.query(&st, params);
        rows.map_err(|e| self.error(e))
    }

    /// Runs statements that take no parameters and return nothing.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let done = self.client()?.batch_execute(sql);
        done.map_err(|e| self.error(e))
    }

    /// Classifies a failure: a conflict with another instance can be retried; a
    /// lost connection is dropped so that the next use reconnects.
    pub(crate) fn error(&mut self, e: postgres::Error) -> StoreError {
        if e.is_closed() || self.client.as_ref().is_some_and(Client::is_closed) {
            self.lost();
            return StoreError::chained("lost the PostgreSQL connection", &e);
        }
        let conflict = matches!(
            e.code(),
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::UNIQUE_VIOLATION
        );
        // The server's own message says what went wrong; `e` alone says "db error".
        let text = match e.as_db_error() {
            Some(db) => format!("PostgreSQL: {db}"),
            None => format!("PostgreSQL: {e}"),
        };
        if conflict {
            StoreError::conflict(text)
        } else {
            StoreError::new(text)
        }
    }
}
