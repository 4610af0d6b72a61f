//! The emulator's I/O: for each direction, a reader thread takes packets off one
//! TUN device into a [`Pipe`] and a writer thread puts them into the other device
//! when they are due. A shared deadline cuts both directions at once.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::gso;
use super::pipe::{Counts, Fate, Pipe};
use super::tun::Tun;

/// Largest packet read: an offload super-packet and its header (the MTU stays
/// the default 1500).
const MAX_PACKET: usize = 65_536 + gso::HEADER_LEN;

/// What both directions share: the clock, the cut, and each pipe for reports.
#[derive(Clone)]
pub struct Control {
    started: Instant,
    /// Nanoseconds since `started` until which the link is cut.
    cut_until: Arc<AtomicU64>,
}

impl Default for Control {
    fn default() -> Control {
        Control {
            started: Instant::now(),
            cut_until: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Control {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Cuts the link (both directions) for `time` from now.
    pub fn cut_for(&self, time: Duration) {
        let until = self.now() + time;
        self.cut_until
            .store(until.as_nanos() as u64, Ordering::Relaxed);
    }

    fn cut_deadline(&self) -> Duration {
        Duration::from_nanos(self.cut_until.load(Ordering::Relaxed))
    }
}

type Shared = Arc<(Mutex<Pipe<Vec<u8>>>, Condvar)>;

/// A running direction: its pipe, for counts.
pub struct Direction {
    shared: Shared,
}

impl Direction {
    pub fn counts(&self) -> Counts {
        lock(&self.shared).counts()
    }
}

/// Starts forwarding packets from `from` to `to` through `pipe`.
pub fn start(
    from: Arc<Tun>,
    to: Arc<Tun>,
    pipe: Pipe<Vec<u8>>,
    control: &Control,
) -> io::Result<Direction> {
    let shared: Shared = Arc::new((Mutex::new(pipe), Condvar::new()));
    let (s, c) = (Arc::clone(&shared), control.clone());
    std::thread::Builder::new()
        .name(format!("read {}", from.name()))
        .spawn(move || read_loop(&from, &s, &c))?;
    let (s, c) = (Arc::clone(&shared), control.clone());
    std::thread::Builder::new()
        .name(format!("write {}", to.name()))
        .spawn(move || write_loop(&to, &s, &c))?;
    Ok(Direction { shared })
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Pipe<Vec<u8>>> {
    shared.0.lock().unwrap_or_else(|e| e.into_inner())
}

fn read_loop(from: &Tun, shared: &Shared, control: &Control) {
    let mut buf = vec![0u8; MAX_PACKET];
    loop {
        let n = match from.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("ferry-link: reading {}: {e}", from.name());
                return;
            }
        };
        let now = control.now();
        let packet = &buf[..n];
        let wire = if from.offload() {
            gso::wire_len(packet)
        } else {
            n
        };
        let mut pipe = lock(shared);
        pipe.cut_until(control.cut_deadline());
        let idle = pipe.next_due().is_none();
        if matches!(pipe.push(now, wire, packet.to_vec()), Fate::Due(_)) && idle {
            shared.1.notify_one();
        }
    }
}

fn write_loop(to: &Tun, shared: &Shared, control: &Control) {
    let mut due = Vec::new();
    loop {
        {
            let mut pipe = lock(shared);
            let now = control.now();
            while let Some(packet) = pipe.poll_due(now) {
                due.push(packet);
            }
            if due.is_empty() {
                let wait = pipe
                    .next_due()
                    .map_or(Duration::from_secs(1), |at| at - now);
                drop(shared.1.wait_timeout(pipe, wait));
                continue;
            }
        }
        for packet in due.drain(..) {
            // A full device queue drops the packet, as a router would.
            let _ = to.send(&packet);
        }
    }
}
