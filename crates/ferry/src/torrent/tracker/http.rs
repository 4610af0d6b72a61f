//! An HTTP(S) announce: one GET over a fresh connection, `Connection: close`.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use ferry_proto::torrent::tracker::http::{self as proto, MAX_HEADERS_LEN};
use ferry_proto::torrent::tracker::{Announce, AnnounceResponse, MAX_RESPONSE};

use super::{resolve, Cause, TrackerTiming};
use crate::tls::Trust;

pub(super) async fn announce(
    timing: &TrackerTiming,
    tls: Option<&Trust>,
    host: &str,
    port: u16,
    target: &str,
    a: &Announce,
) -> Result<AnnounceResponse, Cause> {
    let tcp = timeout(timing.connect, connect(host, port))
        .await
        .map_err(|_| Cause::Timeout(timing.connect))??;
    let request = request(host, port, &proto::announce_url(target, a));
    let exchange = async {
        match tls {
            Some(trust) => {
                let stream = trust.connect(host, tcp).await.map_err(Cause::Connect)?;
                exchange(stream, &request).await
            }
            None => exchange(tcp, &request).await,
        }
    };
    let body = timeout(timing.http, exchange)
        .await
        .map_err(|_| Cause::Timeout(timing.http))??;
    Ok(proto::decode_response(&body)?)
}

async fn connect(host: &str, port: u16) -> Result<TcpStream, Cause> {
    let mut last = None;
    for addr in resolve(host, port).await? {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(Cause::Connect(
        last.unwrap_or_else(|| std::io::ErrorKind::NotFound.into()),
    ))
}

fn request(host: &str, port: u16, target: &str) -> String {
    let host = match host.contains(':') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    };
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: ferry/{}\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Result<Vec<u8>, Cause> {
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(Cause::Io)?;
    let mut raw = Vec::new();
    let mut chunk = vec![0; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(Cause::Io)?;
        raw.extend_from_slice(&chunk[..n]);
        let bounded = raw.len().min(MAX_RESPONSE + MAX_HEADERS_LEN + 1);
        if let Some(body) = proto::response_body(&raw[..bounded], n == 0)? {
            return Ok(body);
        }
    }
}
