use std::time::Duration;

use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;

fn receiver_on_relay() -> (Candidate, Handshake) {
    let key = TransitKey::from_bytes([3; 32]);
    let timing = Timing::default();
    let line = relay_line(&key, "0123456789abcdef");
    let ours = Handshake::new(&key, Role::Receiver);
    let c = Candidate::new(Role::Receiver, ours, Some(line), Duration::ZERO, &timing);
    (c, Handshake::new(&key, Role::Sender))
}

type Done = tokio::task::JoinHandle<std::io::Result<()>>;

/// Starts the receiver's handshake and plays the relay (reads the relay line, answers
/// `ok`); the far end then plays the sender.
async fn start() -> (Handshake, DuplexStream, Done) {
    let (c, sender) = receiver_on_relay();
    let (near, mut far) = duplex(4096);
    let mut line = vec![0u8; c.relay_line.as_ref().unwrap().len()];
    let done = tokio::spawn(async move { c.handshake(near).await.map(|_| ()) });
    far.read_exact(&mut line).await.unwrap();
    far.write_all(RELAY_OK).await.unwrap();
    (sender, far, done)
}

async fn nothing_for(far: &mut DuplexStream, wait: Duration) -> bool {
    let mut byte = [0u8; 1];
    tokio::time::timeout(wait, far.read(&mut byte))
        .await
        .is_err()
}

/// On a relay the receiver answers the sender's handshake instead of racing it
/// (wormhole-william closes its own connection when ours is already waiting).
#[tokio::test(start_paused = true)]
async fn a_receiver_on_a_relay_answers_the_senders_handshake() {
    let (sender, mut far, done) = start().await;
    assert!(nothing_for(&mut far, Duration::from_millis(100)).await);
    // The sender's string in two pieces: the receiver keeps what came first.
    let (head, tail) = sender.ours().split_at(10);
    far.write_all(head).await.unwrap();
    far.write_all(tail).await.unwrap();
    let mut theirs = vec![0u8; sender.expected().len()];
    far.read_exact(&mut theirs).await.unwrap();
    assert_eq!(theirs, sender.expected());
    far.write_all(GO).await.unwrap();
    done.await.unwrap().expect("handshake passes");
}

/// A sender that waits for the receiver first still meets it, after the bounded wait.
#[tokio::test(start_paused = true)]
async fn a_sender_that_waits_gets_the_receivers_handshake_after_the_wait() {
    let (sender, mut far, done) = start().await;
    let start = tokio::time::Instant::now();
    let mut theirs = vec![0u8; sender.expected().len()];
    far.read_exact(&mut theirs).await.unwrap();
    assert_eq!(start.elapsed(), SENDER_FIRST_WAIT);
    assert_eq!(theirs, sender.expected());
    far.write_all(sender.ours()).await.unwrap();
    far.write_all(GO).await.unwrap();
    done.await.unwrap().expect("handshake passes");
}

/// Wrong bytes from the sender still end the candidate, whether early or late.
#[tokio::test(start_paused = true)]
async fn a_wrong_sender_handshake_is_refused() {
    let (sender, mut far, done) = start().await;
    let mut wrong = sender.ours().to_vec();
    wrong[12] ^= 1;
    far.write_all(&wrong).await.unwrap();
    let err = done.await.unwrap().expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

/// A stand-in winner for `first_winner`: its kind and a name.
#[derive(Debug)]
struct Fake(PathKind, &'static str);

impl Path for Fake {
    fn kind(&self) -> PathKind {
        self.0
    }
}

/// Reports each `(after, kind, name)` to the race at its time.
fn arrivals(
    list: Vec<(u64, PathKind, &'static str)>,
) -> mpsc::Receiver<std::result::Result<Fake, Failed>> {
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        for (after, kind, name) in list {
            tokio::time::sleep_until(tokio::time::Instant::now() + Duration::from_millis(after))
                .await;
            let _ = tx.send(Ok(Fake(kind, name))).await;
        }
        std::future::pending::<()>().await;
    });
    rx
}

async fn winner(list: Vec<(u64, PathKind, &'static str)>, tcp_too: bool) -> (&'static str, u64) {
    let start = tokio::time::Instant::now();
    let mut rx = arrivals(list);
    let won = first_winner(&mut rx, (3, true), tcp_too).await.unwrap();
    (won.1, start.elapsed().as_millis() as u64)
}

/// Where TCP and QUIC both reach the peer, the sender takes TCP even when QUIC
/// was first by a little; a QUIC path alone is taken after the grace, and a
/// relay never displaces it. A receiver (no `tcp_too`) takes what comes first.
#[tokio::test(start_paused = true)]
async fn a_sender_prefers_direct_tcp_that_comes_soon_after_quic() {
    use PathKind::*;
    let tcp_soon = vec![(30, Quic, "quic"), (20, DirectTcp, "tcp")];
    assert_eq!(winner(tcp_soon.clone(), true).await, ("tcp", 50));
    assert_eq!(winner(tcp_soon, false).await, ("quic", 30));
    // TCP later than as long again as QUIC took: QUIC, after the wait.
    let tcp_late = vec![(30, Quic, "quic"), (40, DirectTcp, "tcp")];
    assert_eq!(winner(tcp_late, true).await, ("quic", 60));
    // The wait is bounded, and a relay that comes meanwhile is not taken.
    let slow_punch = vec![(3000, Quic, "quic"), (10, Other, "relay")];
    assert_eq!(winner(slow_punch, true).await, ("quic", 3000 + 200));
    // TCP first: taken at once.
    let tcp_first = vec![(5, DirectTcp, "tcp"), (1, Quic, "quic")];
    assert_eq!(winner(tcp_first, true).await, ("tcp", 5));
}
