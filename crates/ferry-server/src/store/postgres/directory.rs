//! The relay pool's directory of waiting tokens in PostgreSQL (`ferry_relay_tokens`),
//! and the pool's shared secret (`ferry_pool`), for instances on one database.
//!
//! Async (tokio-postgres): the relay calls it from its connection tasks. One client
//! per instance, shared by those tasks (tokio-postgres pipelines their queries); a
//! lost connection is replaced at the next call.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::RngCore;
use tokio_postgres::{Client, NoTls};

use crate::relay::pool::{DirFuture, DirectoryError, Owner, RelayDirectory};
use crate::store::StoreError;

/// Stores `token → me` unless a live instance other than `me` holds it; returns a
/// row only if `me` owns the token now. Entries older than the lifetime (a dead
/// instance's) are taken over.
const CLAIM: &str = "INSERT INTO ferry_relay_tokens (token, owner, since) VALUES ($1, $2, now())
  ON CONFLICT (token) DO UPDATE SET owner = excluded.owner, since = excluded.since
  WHERE ferry_relay_tokens.owner = excluded.owner
     OR ferry_relay_tokens.since < now() - make_interval(secs => $3)
  RETURNING owner";
const OWNER: &str = "SELECT owner FROM ferry_relay_tokens WHERE token = $1";
/// Compare-and-delete: `release` and `evict` both remove only `owner`'s entry.
const DELETE: &str = "DELETE FROM ferry_relay_tokens WHERE token = $1 AND owner = $2";

/// See the module docs.
pub(crate) struct PgDirectory {
    config: tokio_postgres::Config,
    client: Mutex<Option<Arc<Client>>>,
    lifetime: Duration,
}

fn dir_err(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::new(format!("PostgreSQL: {e}"))
}

async fn connect(config: &tokio_postgres::Config) -> Result<Client, tokio_postgres::Error> {
    let (client, conn) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "relay directory: PostgreSQL connection lost");
        }
    });
    Ok(client)
}

impl PgDirectory {
    /// A directory on `url`; entries older than `lifetime` are taken over.
    pub(crate) fn new(url: &str, lifetime: Duration) -> Result<Self, StoreError> {
        Ok(PgDirectory {
            config: super::conn::async_config(url)?,
            client: Mutex::new(None),
            lifetime,
        })
    }

    /// The live client, connecting if there is none or the last one was lost.
    async fn client(&self) -> Result<Arc<Client>, DirectoryError> {
        let live = {
            let guard = self.client.lock().unwrap_or_else(PoisonError::into_inner);
            guard.clone().filter(|c| !c.is_closed())
        };
        if let Some(c) = live {
            return Ok(c);
        }
        let c = Arc::new(connect(&self.config).await.map_err(dir_err)?);
        *self.client.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&c));
        Ok(c)
    }

    async fn claim_once(
        &self,
        token: &str,
        me: SocketAddr,
    ) -> Result<Option<Owner>, DirectoryError> {
        let c = self.client().await?;
        let me_text = me.to_string();
        let secs = self.lifetime.as_secs_f64();
        if !c
            .query(CLAIM, &[&token, &me_text, &secs])
            .await
            .map_err(dir_err)?
            .is_empty()
        {
            return Ok(Some(Owner::Here));
        }
        let rows = c.query(OWNER, &[&token]).await.map_err(dir_err)?;
        let Some(row) = rows.first() else {
            // Released between our two statements: claim again.
            return Ok(None);
        };
        let owner: String = row.get(0);
        let addr = owner
            .parse()
            .map_err(|_| dir_err(format!("bad owner address {owner:?} for a token")))?;
        Ok(Some(if addr == me {
            Owner::Here
        } else {
            Owner::At(addr)
        }))
    }

    async fn delete(&self, token: &str, owner: SocketAddr) -> Result<(), DirectoryError> {
        let c = self.client().await?;
        c.execute(DELETE, &[&token, &owner.to_string()])
            .await
            .map_err(dir_err)?;
        Ok(())
    }
}

impl RelayDirectory for PgDirectory {
    fn claim<'a>(&'a self, token: &'a str, me: SocketAddr) -> DirFuture<'a, Owner> {
        Box::pin(async move {
            for _ in 0..3 {
                if let Some(owner) = self.claim_once(token, me).await? {
                    return Ok(owner);
                }
            }
            Err(dir_err("the token's entry keeps changing"))
        })
    }

    fn release<'a>(&'a self, token: &'a str, me: SocketAddr) -> DirFuture<'a, ()> {
        Box::pin(self.delete(token, me))
    }

    fn evict<'a>(&'a self, token: &'a str, owner: SocketAddr) -> DirFuture<'a, ()> {
        Box::pin(self.delete(token, owner))
    }
}

/// The pool's secret: made by the first instance, read by the others.
pub(crate) async fn pool_secret(url: &str) -> Result<Vec<u8>, StoreError> {
    let e = |e: tokio_postgres::Error| StoreError::chained("relay pool secret", &e);
    let c = connect(&super::conn::async_config(url)?).await.map_err(e)?;
    let mut fresh = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    c.execute(
        "INSERT INTO ferry_pool (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        &[&fresh],
    )
    .await
    .map_err(e)?;
    let row = c
        .query_one("SELECT secret FROM ferry_pool WHERE id = 1", &[])
        .await
        .map_err(e)?;
    Ok(row.get(0))
}
