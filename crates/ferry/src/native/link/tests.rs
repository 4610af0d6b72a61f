//! Liveness on tokio's paused clock: a side busy for minutes (hashing, planning)
//! is kept alive by its keep-alives; a silent one is noticed after exactly
//! `transit_idle`.

use std::time::Duration;

use tokio::time::Instant;

use super::*;

fn timing() -> Timing {
    Timing::default()
}

/// A group's bytes: four times the pipe, so its write blocks until the peer reads.
static GROUP: [u8; 1 << 18] = [0; 1 << 18];

/// `DATA` carrying [`GROUP`] as group `n` of file 0.
fn group(n: u32) -> Frame<'static> {
    Frame::Data {
        file: 0,
        group: n,
        bytes: &GROUP,
    }
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
    let e = writer.send(&group(0)).await.expect_err("the pipe is full");
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

/// A receiver whose disk stalls reads nothing for minutes, but its keep-alives
/// still come: the sender's stuck write waits, and what the peer said meanwhile
/// is read afterwards, in order.
#[tokio::test(start_paused = true)]
async fn a_write_stuck_on_a_peer_that_keeps_talking_waits_for_it() {
    let (mut writer, mut stalled) = pair([true, true]);
    let stall = timing().transit_idle * 4;
    let reader = tokio::spawn(async move {
        stalled.send(&Frame::Ack(7)).await.expect("send");
        tokio::time::sleep(stall).await;
        let mut groups = 0;
        while let Ok(Frame::Data { .. }) = stalled.recv().await {
            groups += 1;
            if groups == 4 {
                break;
            }
        }
        stalled.send(&Frame::Ack(8)).await.expect("send");
        (stalled, groups)
    });
    let start = Instant::now();
    for n in 0..4 {
        let sent = writer.send(&group(n)).await;
        sent.expect("a peer that talks is alive");
    }
    assert!(start.elapsed() >= stall, "the pipe holds less than a group");
    assert_eq!(writer.recv().await.expect("frame"), Frame::Ack(7));
    assert_eq!(writer.recv().await.expect("frame"), Frame::Ack(8));
    let (_stalled, groups) = reader.await.expect("reader");
    assert_eq!(groups, 4);
    assert!(writer.keepalives >= 4, "{} keep-alives", writer.keepalives);
}

/// A peer that stops talking while our write is stuck is noticed one idle
/// timeout after its last byte, not after the write began.
#[tokio::test(start_paused = true)]
async fn a_stuck_write_gives_up_an_idle_timeout_after_the_peers_last_word() {
    let (mut writer, mut talker) = pair([true, false]);
    let talks = timing().transit_idle / 2;
    tokio::spawn(async move {
        for seq in 0..3 {
            tokio::time::sleep(talks).await;
            talker.send(&Frame::Ack(seq)).await.expect("send");
        }
        std::future::pending::<()>().await; // silent, and never closes
    });
    let start = Instant::now();
    let e = writer
        .send(&group(0))
        .await
        .expect_err("the pipe stays full");
    assert!(
        matches!(e, Error::Network(NetworkError::Silent(_))),
        "{e:?}"
    );
    assert_eq!(start.elapsed(), talks * 3 + timing().transit_idle);
}
