//! The machine's limit for a native transfer: one loopback TCP stream carrying
//! native records (256 KiB groups, sealed in place on one thread, read and opened
//! in place on another), with no file I/O and no hashing. `bench/transfer`
//! measures the native protocol against it.
//!
//! `cargo run --release -p ferry --example transit_limit -- [GIB] [AEAD]`
//! (AEAD: aes-256-gcm, the default, or chacha20-poly1305). Loopback only.
//!
//! `transit_limit files SOURCE DIR [AEAD]`: the file-to-file limit. This process
//! reads SOURCE group by group into record buffers, seals and sends them; a second
//! process (this program again, `files-recv`) opens each record and writes its
//! group into DIR/NAME, then syncs the file: the file I/O of a native transfer,
//! still without hashing and protocol.
//!
//! `transit_limit files-hashed SOURCE DIR [AEAD]`: the same, and each side also
//! hashes every group with BLAKE3 (the sender before sealing, the receiver after
//! opening), as a native transfer hashes and verifies every byte: what is left
//! between it and native is the protocol's own cost.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::native::record::{Aead, Opener, Sealer, PREFIX_LEN, TAG_LEN};
use ferry_proto::transit::Role;

/// Plaintext per record: a group and its `DATA` header.
const RECORD: usize = 256 * 1024 + 9;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(mode @ ("files" | "files-hashed")) if args.len() >= 4 => {
            let hash = Hash(mode == "files-hashed");
            return files(&args[2], &args[3], aead_arg(args.get(4))?, hash);
        }
        Some(mode @ ("files-recv" | "files-recv-hashed")) if args.len() >= 5 => {
            let hash = Hash(mode == "files-recv-hashed");
            return files_recv(&args[2], Path::new(&args[3]), aead_arg(args.get(4))?, hash);
        }
        _ => {}
    }
    let gib: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let aead = aead_arg(args.get(2))?;
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

fn aead_arg(arg: Option<&String>) -> io::Result<Aead> {
    arg.map(|s| Aead::from_name(s).ok_or_else(|| io::Error::other(format!("unknown AEAD {s}"))))
        .transpose()
        .map(|a| a.unwrap_or(Aead::Aes256Gcm))
}

/// Whether each side hashes every group (`files-hashed`).
#[derive(Clone, Copy)]
struct Hash(bool);

impl Hash {
    /// Hashes `group` when asked to; the hash only has to be computed.
    fn group(self, group: &[u8]) {
        if self.0 {
            std::hint::black_box(blake3::hash(group));
        }
    }
}

/// The sending process of the file-to-file limit: starts the receiving one, then
/// sends SOURCE as records of one group each.
fn files(source: &str, dir: &str, aead: Aead, hash: Hash) -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let started = Instant::now();
    let mut receiver = Command::new(std::env::current_exe()?)
        .args([
            if hash.0 {
                "files-recv-hashed"
            } else {
                "files-recv"
            },
            &listener.local_addr()?.to_string(),
            dir,
            aead.name(),
        ])
        .spawn()?;
    let (mut stream, _) = listener.accept()?;
    let file = File::open(source)?;
    let size = file.metadata()?.len();
    let group = (RECORD - 9) as u64;
    let mut sealer = Sealer::new(&key(), aead, Role::Sender);
    // The name first, then the groups: the same framing as the native DATA.
    let mut name = Path::new(source)
        .file_name()
        .map(|n| n.as_encoded_bytes().to_vec())
        .unwrap_or_default();
    let mut frame = vec![0; PREFIX_LEN];
    frame.append(&mut name);
    frame.resize(frame.len() + TAG_LEN, 0);
    sealer.seal_in_place(&mut frame);
    stream.write_all(&frame)?;
    let mut offset = 0;
    while offset < size {
        let len = group.min(size - offset) as usize;
        frame.resize(PREFIX_LEN + 9 + len + TAG_LEN, 0);
        file.read_exact_at(&mut frame[PREFIX_LEN + 9..PREFIX_LEN + 9 + len], offset)?;
        hash.group(&frame[PREFIX_LEN + 9..PREFIX_LEN + 9 + len]);
        sealer.seal_in_place(&mut frame);
        stream.write_all(&frame)?;
        offset += len as u64;
    }
    drop(stream);
    if !receiver.wait()?.success() {
        return Err(io::Error::other("the receiving process failed"));
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} file-to-file{} {:.1} MB/s ({size} bytes in {secs:.3} s)",
        aead.name(),
        if hash.0 { " hashed" } else { "" },
        size as f64 / secs / 1e6
    );
    Ok(())
}

/// The receiving process: opens every record and writes its group to the file
/// the first record names, in DIR; syncs it at the end.
fn files_recv(addr: &str, dir: &Path, aead: Aead, hash: Hash) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    let mut opener = Opener::new(&key(), aead, Role::Receiver);
    let mut body = Vec::new();
    let mut out: Option<File> = None;
    let mut offset = 0u64;
    loop {
        let mut prefix = [0u8; PREFIX_LEN];
        match stream.read_exact(&mut prefix) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            r => r?,
        }
        body.resize(Opener::body_len(prefix).map_err(io::Error::other)?, 0);
        stream.read_exact(&mut body)?;
        let len = opener
            .open_in_place(prefix, &mut body)
            .map_err(io::Error::other)?;
        match &out {
            None => {
                let name = String::from_utf8_lossy(&body[..len]).into_owned();
                out = Some(File::create_new(dir.join(name))?);
            }
            Some(file) => {
                hash.group(&body[9..len]);
                file.write_all_at(&body[9..len], offset)?;
                offset += (len - 9) as u64;
            }
        }
    }
    match out {
        Some(file) => file.sync_all(),
        None => Err(io::Error::other("no records came")),
    }
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
