//! One QUIC stream over an emulated long, lossy link (a UDP relay on loopback
//! that delays, rate-limits, queues and drops as `ferry-link` does): the
//! transport settings must keep such a link busy. With quinn's default
//! congestion control (cubic) 32 MiB at 100 Mbit/s, 80 ms, 0.5 % loss did not
//! arrive within a minute; with BBR it takes 5–7 s here. (The stream window's
//! "too many gaps" close, seen over `ferry-link` with a 16 MiB window, does not
//! show on this relay: `bench/transfer --link` is its evidence.)

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferry_test_support::link::pipe::{Pipe, Shape};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

use super::*;

/// An endpoint on 127.0.0.1 offering only that address.
async fn on_loopback(timing: &Timing) -> Prepared {
    let lo = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    Prepared::gather((lo, vec![lo]), &[], false, timing)
        .await
        .expect("a QUIC endpoint")
}

/// Relays datagrams between the first sender it hears (`a`) and `b`, each
/// direction through its own pipe. Runs until aborted.
async fn lossy_relay(socket: Arc<UdpSocket>, b: SocketAddr, shape: Shape) {
    let start = tokio::time::Instant::now();
    let mut pipes = [Pipe::new(shape, 1), Pipe::new(shape, 2)];
    let mut a: Option<SocketAddr> = None;
    let mut buf = vec![0u8; 65536];
    loop {
        let due = pipes.iter().filter_map(|p| p.next_due()).min();
        let wake = due.map_or(start + Duration::from_secs(3600), |d| start + d);
        tokio::select! {
            got = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { return };
                let towards_b = from != b;
                if towards_b {
                    a = Some(from);
                }
                let pipe = &mut pipes[usize::from(!towards_b)];
                pipe.push(start.elapsed(), n, buf[..n].to_vec());
            }
            () = tokio::time::sleep_until(wake) => {
                let now = start.elapsed();
                for (i, pipe) in pipes.iter_mut().enumerate() {
                    let to = if i == 0 { Some(b) } else { a };
                    while let Some(packet) = pipe.poll_due(now) {
                        if let Some(to) = to {
                            let _ = socket.send_to(&packet, to).await;
                        }
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_long_link_carries_a_bulk_stream_to_its_end() {
    const SIZE: usize = 32 << 20;
    let timing = Timing::default();
    let (ours, theirs) = (on_loopback(&timing).await, on_loopback(&timing).await);
    let relay = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let shape = Shape::for_rtt(100_000_000, Duration::from_millis(80), 0.005);
    let target = theirs.offer().candidates[0];
    let relaying = tokio::spawn(lossy_relay(Arc::clone(&relay), target, shape));
    // Our peer's offer, with the relay in place of its address.
    let through_relay = QuicOffer {
        cert_sha256: theirs.offer().cert_sha256,
        candidates: vec![relay.local_addr().unwrap()],
    };
    let dialer = ours.punch(Some(&through_relay));
    let acceptor = theirs.punch(None);
    let sending = tokio::spawn(async move {
        let (mut io, _) = dialer.dial(dialer.targets[0]).await?;
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..SIZE / chunk.len() {
            io.write_all(&chunk).await?;
        }
        io.shutdown().await?;
        Ok::<_, std::io::Error>(())
    });
    let incoming = acceptor.incoming().await.expect("a connection");
    let (mut io, _) = acceptor.answer(incoming).await.expect("its stream");
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    let received = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match io.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(n) => got += n,
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("within 30 s (at least 9 Mbit/s)");
    relaying.abort();
    assert!(received.is_ok(), "after {got} bytes: {received:?}");
    assert_eq!(got, SIZE);
    sending.await.unwrap().expect("sent");
}
