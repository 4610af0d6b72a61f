//! The rate of `send --lan` between two ferry on loopback: one file sent with
//! the native protocol over the LocalSend connection, then the same file over
//! plain LocalSend (`native: false`), each into a fresh output directory.
//! Hashing, encryption and file I/O on both sides are included.
//!
//! `cargo run --profile ci -p ferry --example lan_rate -- [MIB]` (default 1024).
//! Loopback only (127.0.0.1, no multicast).

use std::path::Path;
use std::time::{Duration, Instant};

use ferry::lan::identity::Identity;
use ferry::lan::{self, ReceiveOptions, Receiving, SendOptions, Target};
use ferry::{OfferSummary, Payload, RendezvousObserver, Ui};

/// Says yes to every offer.
struct Yes;

impl RendezvousObserver for Yes {}

impl Ui for Yes {
    fn accept(&mut self, _offer: &OfferSummary) -> bool {
        true
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("payload.bin");
    write_payload(&file, mib << 20)?;
    let sender = Identity::load_or_create(&tmp.path().join("sender"))?;
    let receiver = Identity::load_or_create(&tmp.path().join("receiver"))?;
    for native in [true, false] {
        let out = tmp.path().join(if native {
            "out-native"
        } else {
            "out-localsend"
        });
        let took = one(&sender, &receiver, &file, &out, native).await?;
        let rate = (mib as f64) / took.as_secs_f64();
        let name = if native {
            "native over LocalSend"
        } else {
            "plain LocalSend"
        };
        println!(
            "{name}: {mib} MiB in {:.2} s = {rate:.0} MiB/s",
            took.as_secs_f64()
        );
        std::fs::remove_dir_all(&out)?;
    }
    Ok(())
}

/// Not all one byte: a compressing or deduplicating layer would flatter it.
fn write_payload(path: &Path, len: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..len >> 20 {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        out.write_all(&block)?;
    }
    out.flush()
}

async fn one(
    sender: &Identity,
    receiver: &Identity,
    file: &Path,
    out: &Path,
    native: bool,
) -> Result<Duration, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let mut options = ReceiveOptions::new(out.to_owned(), "bench-receiver".into());
    options.addr = "127.0.0.1:0".parse()?;
    options.discovery = None;
    let receiving = Receiving::start(options, receiver).await?;
    let addr = receiving.local_addr();
    let received = tokio::spawn(async move { receiving.run(&mut Yes).await });
    let mut options = SendOptions::new(Target::Addr(addr), "bench-sender".into());
    options.native = native;
    let started = Instant::now();
    lan::send(options, Payload::Path(file.to_owned()), sender, &mut Yes).await?;
    received.await??;
    Ok(started.elapsed())
}
