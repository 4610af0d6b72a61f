//! Copying bytes both ways between two paired relay streams.
//!
//! Each direction reads into one buffer reused for the whole pair and writes it
//! all out before reading again, so a slow reader slows its writer down
//! (back-pressure) and memory per pair is fixed. There is no half-close: when
//! either side ends, both are closed, like the reference relay.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::stream::RelayStream;
use crate::metrics::Metrics;

/// Buffer per direction.
const BUF: usize = 32 * 1024;

/// How a splice ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SpliceEnd {
    /// One side closed (or failed).
    Closed,
    /// The pair's byte budget ran out.
    OverLimit,
}

/// Copies both ways until one side ends; returns how and the bytes copied.
pub(crate) async fn splice(
    a: RelayStream,
    b: RelayStream,
    budget: Option<u64>,
    metrics: &Metrics,
) -> (SpliceEnd, u64) {
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let total = AtomicU64::new(0);
    let end = tokio::select! {
        e = pump(&mut ar, &mut bw, &total, budget, metrics) => e,
        e = pump(&mut br, &mut aw, &total, budget, metrics) => e,
    };
    // Dropping the halves closes both sockets; a WebSocket gets a close frame first.
    let grace = std::time::Duration::from_secs(1);
    let _ = tokio::time::timeout(grace, aw.shutdown()).await;
    let _ = tokio::time::timeout(grace, bw.shutdown()).await;
    (end, total.load(Relaxed))
}

async fn pump<R, W>(
    r: &mut R,
    w: &mut W,
    total: &AtomicU64,
    budget: Option<u64>,
    metrics: &Metrics,
) -> SpliceEnd
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; BUF];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return SpliceEnd::Closed,
            Ok(n) => n,
        };
        let so_far = total.fetch_add(n as u64, Relaxed) + n as u64;
        if budget.is_some_and(|b| so_far > b) {
            return SpliceEnd::OverLimit;
        }
        metrics.relay_bytes_total.add(n as u64);
        if w.write_all(&buf[..n]).await.is_err() || w.flush().await.is_err() {
            return SpliceEnd::Closed;
        }
    }
}
