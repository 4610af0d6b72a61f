//! The clients against trackers scripted in the test: silence, refusals, stray packets.
//! (`interop/tests/torrent_tracker.rs` runs them against opentracker.)

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use ferry_proto::torrent::tracker::{encode_compact, Announce, Event, TrackerError};

use super::*;

fn announce() -> Announce {
    Announce {
        info_hash: [1; 20],
        peer_id: *b"-FY0100-abcdefghijkl",
        port: 6881,
        uploaded: 0,
        downloaded: 0,
        left: 10,
        event: Event::Started,
        key: 7,
        numwant: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_udp_tracker_fails_after_the_bep15_schedule() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let url = format!("udp://{}", silent.local_addr().unwrap());
    let start = tokio::time::Instant::now();
    let err = TrackerClient::default()
        .announce(&url, &announce())
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(15 + 30 + 60));
    assert!(
        matches!(err.cause, Cause::NoUdpAnswer { tries: 3, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("tracker {url}: no answer to 3 UDP tries over 105s")
    );
}

/// Answers a connect, ignores the first announce, then answers the retry after a stray
/// packet with another transaction id.
async fn scripted_udp_tracker(socket: UdpSocket) {
    let mut buf = [0; 200];
    let (_, from) = socket.recv_from(&mut buf).await.unwrap();
    let mut reply = [0u8; 16];
    reply[4..8].copy_from_slice(&buf[12..16]);
    reply[8..].copy_from_slice(&0xabcdu64.to_be_bytes());
    socket.send_to(&reply, from).await.unwrap();
    let (n, _) = socket.recv_from(&mut buf).await.unwrap();
    assert_eq!((n, &buf[..8]), (98, &0xabcdu64.to_be_bytes()[..]));
    let (_, from) = socket.recv_from(&mut buf).await.unwrap();
    let mut stray = vec![0, 0, 0, 3, !buf[12], 0, 0, 0];
    stray.extend(b"stray");
    socket.send_to(&stray, from).await.unwrap();
    let mut answer = vec![0, 0, 0, 1];
    answer.extend(&buf[12..16]);
    answer.extend([0, 0, 0, 60, 0, 0, 0, 1, 0, 0, 0, 2]);
    answer.extend(encode_compact(&["192.0.2.1:6881".parse().unwrap()]));
    socket.send_to(&answer, from).await.unwrap();
}

#[tokio::test]
async fn udp_retries_and_skips_strays() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let url = format!("udp://{}/announce", socket.local_addr().unwrap());
    let tracker = tokio::spawn(scripted_udp_tracker(socket));
    let client = TrackerClient::new(
        TrackerTiming::fast(Duration::from_millis(200), 3),
        Trust::system(),
    );
    let response = client.announce(&url, &announce()).await.unwrap();
    assert_eq!(
        (response.interval, response.leechers, response.seeders),
        (60, Some(1), Some(2))
    );
    assert_eq!(response.peers, vec!["192.0.2.1:6881".parse().unwrap()]);
    tracker.await.unwrap();
}

/// Serves one canned HTTP answer and returns the request line it got.
async fn http_tracker(answer: &'static [u8]) -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/announce", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut request = vec![0; 4096];
        let n = tcp.read(&mut request).await.unwrap();
        tcp.write_all(answer).await.unwrap();
        String::from_utf8_lossy(&request[..n])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    (url, task)
}

#[tokio::test]
async fn http_announce_and_refusals() {
    let client = TrackerClient::new(
        TrackerTiming::fast(Duration::from_secs(5), 1),
        Trust::system(),
    );
    let ok = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
               1f\r\nd8:intervali60e5:peers6:\xc0\x00\x02\x01\x1a\xe1e\r\n0\r\n\r\n";
    let (url, tracker) = http_tracker(ok).await;
    let response = client.announce(&url, &announce()).await.unwrap();
    assert_eq!(response.peers, vec!["192.0.2.1:6881".parse().unwrap()]);
    let line = tracker.await.unwrap();
    assert!(
        line.starts_with("GET /announce?info_hash=%01%01") && line.ends_with(" HTTP/1.1"),
        "{line}"
    );

    let (url, _) = http_tracker(b"HTTP/1.1 200 OK\r\n\r\nd14:failure reason6:banned").await;
    let err = client.announce(&url, &announce()).await.unwrap_err();
    assert!(
        matches!(err.cause, Cause::Tracker(TrackerError::Bencode(_))),
        "{err}"
    );
    let (url, _) = http_tracker(b"HTTP/1.1 200 OK\r\n\r\nd14:failure reason6:bannede").await;
    let err = client.announce(&url, &announce()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("tracker {url}: tracker refused: banned")
    );
    let (url, _) = http_tracker(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await;
    let err = client.announce(&url, &announce()).await.unwrap_err();
    assert!(
        matches!(err.cause, Cause::Tracker(TrackerError::HttpStatus(404))),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_http_tracker_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/announce", listener.local_addr().unwrap());
    let err = TrackerClient::default()
        .announce(&url, &announce())
        .await
        .unwrap_err();
    assert!(
        matches!(err.cause, Cause::Timeout(d) if d == Duration::from_secs(30)),
        "{err}"
    );
    drop(listener);
}

#[tokio::test]
async fn bad_urls_say_so() {
    let err = TrackerClient::default()
        .announce("ftp://x/", &announce())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tracker ftp://x/: not a tracker URL (scheme is not http, https or udp)"
    );
}

/// Answers every connect at once and never an announce: the announce's tries still run
/// out, though expired connection ids bring more connects.
#[tokio::test(start_paused = true)]
async fn a_tracker_that_only_connects_is_still_bounded() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let url = format!("udp://{}", socket.local_addr().unwrap());
    tokio::spawn(async move {
        let mut buf = [0; 200];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if n == 16 {
                let mut reply = [0u8; 16];
                reply[4..8].copy_from_slice(&buf[12..16]);
                socket.send_to(&reply, from).await.unwrap();
            }
        }
    });
    let client = TrackerClient::new(
        TrackerTiming::fast(Duration::from_secs(15), 5),
        Trust::system(),
    );
    let start = tokio::time::Instant::now();
    let err = client.announce(&url, &announce()).await.unwrap_err();
    assert!(
        matches!(err.cause, Cause::NoUdpAnswer { tries: 5, .. }),
        "{err}"
    );
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(15 + 30 + 60 + 120 + 240)
    );
}
