//! The machine's limit for a native transfer: one loopback TCP stream carrying
//! native records (256 KiB groups, sealed in place on one thread, read and opened
//! in place on another), with no file I/O and no hashing. `bench/transfer`
//! measures the native protocol against it.
//!
//! `cargo run --release -p ferry --example transit_limit -- [GIB] [AEAD]`
//! (AEAD: aes-256-gcm, the default, or chacha20-poly1305). Loopback only.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::native::record::{Aead, Opener, Sealer, PREFIX_LEN, TAG_LEN};
use ferry_proto::transit::Role;

/// Plaintext per record: a group and its `DATA` header.
const RECORD: usize = 256 * 1024 + 9;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let gib: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let aead = args
        .get(2)
        .map(|s| Aead::from_name(s).ok_or_else(|| io::Error::other(format!("unknown AEAD {s}"))))
        .transpose()?
        .unwrap_or(Aead::Aes256Gcm);
    let records = gib * 4096;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let started = Instant::now();
    let receiver = std::thread::spawn(move || receive(listener, aead, records));
    let mut stream = TcpStream::connect(addr)?;
    let mut sealer = Sealer::new(&key(), aead, Role::Sender);
    let mut frame = vec![0x5a; PREFIX_LEN + RECORD + TAG_LEN];
    for _ in 0..records {
        sealer.seal_in_place(&mut frame);
        stream.write_all(&frame)?;
    }
    let bytes = receiver
        .join()
        .map_err(|_| io::Error::other("receiver panicked"))??;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} {:.1} MB/s ({bytes} plaintext bytes in {secs:.3} s)",
        aead.name(),
        bytes as f64 / secs / 1e6
    );
    Ok(())
}

fn key() -> TransitKey {
    TransitKey::from_bytes([9; 32])
}

/// Reads and opens `records` records; returns the plaintext bytes.
fn receive(listener: TcpListener, aead: Aead, records: u64) -> io::Result<u64> {
    let (mut stream, _) = listener.accept()?;
    let mut opener = Opener::new(&key(), aead, Role::Receiver);
    let mut body = Vec::new();
    let mut total = 0;
    for _ in 0..records {
        let mut prefix = [0u8; PREFIX_LEN];
        stream.read_exact(&mut prefix)?;
        body.resize(Opener::body_len(prefix).map_err(io::Error::other)?, 0);
        stream.read_exact(&mut body)?;
        total += opener
            .open_in_place(prefix, &mut body)
            .map_err(io::Error::other)? as u64;
    }
    Ok(total)
}
