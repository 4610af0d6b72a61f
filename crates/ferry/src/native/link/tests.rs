//! Liveness on tokio's paused clock: a side busy for minutes (hashing, planning)
//! is kept alive by its keep-alives; a silent one is noticed after exactly
//! `transit_idle`.

use std::time::Duration;

use tokio::time::Instant;

use super::*;

fn timing() -> Timing {
    Timing::default()
}

/// Two links over an in-memory pipe; `alive` says which of them send keep-alives.
fn pair(alive: [bool; 2]) -> (Link, Link) {
    let (a, b) = tokio::io::duplex(1 << 16);
    let key = TransitKey::from_bytes([7; 32]);
    let link = |io: tokio::io::DuplexStream, role, alive: bool| {
        let (r, w) = tokio::io::split(io);
        let halves: (ReadHalf, WriteHalf) = (Box::new(r), Box::new(w));
        let mut link = Link::over(halves, &key, Aead::ChaCha20Poly1305, role, &timing());
        if alive {
            link.keep_alive(&timing());
        } else {
            link.idle = Some(timing().transit_idle);
        }
        link
    };
    (
        link(a, Role::Sender, alive[0]),
        link(b, Role::Receiver, alive[1]),
    )
}

#[tokio::test(start_paused = true)]
async fn a_busy_peer_is_kept_alive() {
    let (mut busy, mut waiting) = pair([true, true]);
    // The sender hashes for ten times the idle timeout, writing nothing itself.
    let peer = tokio::spawn(async move {
        tokio::time::sleep(timing().transit_idle * 10).await;
        busy.send(&Frame::BatchEnd).await.expect("send");
        busy
    });
    let start = Instant::now();
    let frame = waiting.recv().await.expect("kept alive");
    assert_eq!(frame, Frame::BatchEnd);
    assert_eq!(start.elapsed(), timing().transit_idle * 10);
    drop(peer.await);
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_is_noticed_after_the_idle_timeout() {
    let (_silent, mut waiting) = pair([false, true]);
    let start = Instant::now();
    let e = match waiting.recv().await {
        Ok(frame) => panic!("read {frame:?} from a silent peer"),
        Err(e) => e,
    };
    assert!(
        matches!(e, Error::Network(NetworkError::Silent(d)) if d == timing().transit_idle),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "no data from the peer for 30 s");
    assert_eq!(start.elapsed(), timing().transit_idle);
}

#[tokio::test(start_paused = true)]
async fn a_write_the_peer_never_reads_is_noticed_too() {
    let (mut writer, _asleep) = pair([true, false]);
    let start = Instant::now();
    let big = Frame::Data {
        file: 0,
        group: 0,
        bytes: &[0u8; 1 << 18],
    };
    let e = writer.send(&big).await.expect_err("the pipe is full");
    assert!(
        matches!(e, Error::Network(NetworkError::Silent(_))),
        "{e:?}"
    );
    assert_eq!(start.elapsed(), timing().transit_idle);
}

#[tokio::test(start_paused = true)]
async fn keep_alives_go_out_only_after_a_pause_in_writing() {
    let (mut talker, mut listener) = pair([true, false]);
    let every = timing().keepalive;
    // Frames more often than `every`: no keep-alive in between.
    for seq in 0..10 {
        talker.send(&Frame::Ack(seq)).await.expect("send");
        tokio::time::sleep(every / 2).await;
        assert_eq!(listener.recv().await.expect("frame"), Frame::Ack(seq));
    }
    // Then silence: one keep-alive per `every`, passed over by `recv`.
    tokio::time::sleep(every * 3 + Duration::from_millis(1)).await;
    talker.send(&Frame::Ack(99)).await.expect("send");
    assert_eq!(listener.recv().await.expect("frame"), Frame::Ack(99));
    assert_eq!(listener.keepalives, 3);
}
