//! Raw transit relay clients for the server's conformance tests: the relay's
//! line protocol by hand, reads bounded by [`crate::raw_mailbox::WAIT`].

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::raw_mailbox::WAIT;

/// A relay token made of byte `n`.
pub fn token(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

pub fn relay_line(token: &str, side: Option<&str>) -> String {
    match side {
        Some(s) => format!("please relay {token} for side {s}\n"),
        None => format!("please relay {token}\n"),
    }
}

/// A TCP relay client that has sent its line.
pub async fn relay_tcp(addr: SocketAddr, line: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("relay connects");
    s.write_all(line.as_bytes()).await.expect("write line");
    s
}

/// Reads exactly `n` bytes (5 s).
pub async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(WAIT, s.read_exact(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    buf
}

/// Reads until EOF (5 s) and returns everything.
pub async fn read_to_end(s: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut buf))
        .await
        .expect("closed in time");
    buf
}
