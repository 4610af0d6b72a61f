//! Copying bytes both ways between two paired relay streams.
//!
//! Each direction takes one bounded chunk and writes it all out before taking
//! more, so a slow reader slows its writer down (back-pressure) and memory per
//! pair is fixed. There is no half-close: when either side ends, both are
//! closed, like the reference relay.
//!
//! Two TCP streams on Linux are forwarded inside the kernel (`zero_copy`);
//! a pair with a WebSocket is copied here through a buffer.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::meter::{Meter, SpliceEnd, BUF};
use super::stream::RelayStream;
use crate::metrics::Counter;

/// How long closing one side may take (a WebSocket close frame).
const GRACE: Duration = Duration::from_secs(1);

/// Copies both ways until one side ends; returns how and the bytes copied.
/// `counted` is the metric the bytes add to (relayed or handed over).
pub(crate) async fn splice(
    a: RelayStream,
    b: RelayStream,
    budget: Option<u64>,
    counted: &Counter,
) -> (SpliceEnd, u64) {
    let meter = Meter::new(budget, counted);
    let (end, a, b) = both_ways(a, b, &meter).await;
    close(a).await;
    close(b).await;
    (end, meter.total())
}

async fn both_ways(
    a: RelayStream,
    b: RelayStream,
    meter: &Meter<'_>,
) -> (SpliceEnd, RelayStream, RelayStream) {
    match (a, b) {
        #[cfg(target_os = "linux")]
        (RelayStream::Tcp(a), RelayStream::Tcp(b)) => {
            let end = super::zero_copy::both_ways(&a, &b, meter).await;
            (end, RelayStream::Tcp(a), RelayStream::Tcp(b))
        }
        (a, b) => copy_both_ways(a, b, meter).await,
    }
}

/// Closing ends the stream both ways; a WebSocket gets a close frame first.
async fn close(mut s: RelayStream) {
    let _ = tokio::time::timeout(GRACE, s.shutdown()).await;
}

async fn copy_both_ways(
    a: RelayStream,
    b: RelayStream,
    meter: &Meter<'_>,
) -> (SpliceEnd, RelayStream, RelayStream) {
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let end = tokio::select! {
        e = copy(&mut ar, &mut bw, meter) => e,
        e = copy(&mut br, &mut aw, meter) => e,
    };
    (end, ar.unsplit(aw), br.unsplit(bw))
}

async fn copy<R, W>(r: &mut R, w: &mut W, meter: &Meter<'_>) -> SpliceEnd
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
        if !meter.admit(n) {
            return SpliceEnd::OverLimit;
        }
        if w.write_all(&buf[..n]).await.is_err() || w.flush().await.is_err() {
            return SpliceEnd::Closed;
        }
    }
}
