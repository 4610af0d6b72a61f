//! Micro-benchmarks of the transit hot path: sealing and opening records (the
//! libsodium path ferry uses for bulk data, and the pure-Rust in-place path it
//! keeps for single records), and the hashes a transfer computes.
//!
//! `cargo bench -p ferry-proto --bench crypto`; throughput is per plaintext byte.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sha2::{Digest, Sha256};
use std::hint::black_box;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::record::{Opener, Sealer, OVERHEAD};
use ferry_proto::transit::Role;

/// Record sizes: what the peers send, and what ferry sends.
const SIZES: [usize; 2] = [16 * 1024, 256 * 1024];

fn key() -> TransitKey {
    TransitKey::from_bytes([7; 32])
}

fn seal(c: &mut Criterion) {
    let mut g = c.benchmark_group("record_seal");
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let plaintext = vec![0x5a; size];
        let mut sealer = Sealer::new(&key(), Role::Sender);
        let rk = sealer.record_key();
        g.bench_with_input(BenchmarkId::new("libsodium", size), &plaintext, |b, p| {
            b.iter(|| black_box(rk.seal(sealer.reserve(), p)))
        });
        let mut frame = vec![0; 4 + OVERHEAD + size];
        g.bench_function(BenchmarkId::new("rustcrypto_in_place", size), |b| {
            b.iter(|| sealer.seal_in_place(black_box(&mut frame)))
        });
    }
    g.finish();
}

/// `count` sealed record bodies (length prefix removed), numbered from 0.
fn bodies(size: usize, count: usize) -> Vec<Vec<u8>> {
    let mut sealer = Sealer::new(&key(), Role::Sender);
    let plaintext = vec![0xa5; size];
    (0..count)
        .map(|_| {
            let mut frame = Vec::new();
            sealer.seal_frame(&plaintext, &mut frame);
            frame.split_off(4)
        })
        .collect()
}

fn open(c: &mut Criterion) {
    let mut g = c.benchmark_group("record_open");
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let body = bodies(size, 1).remove(0);
        let rk = Opener::new(&key(), Role::Receiver).record_key();
        g.bench_with_input(BenchmarkId::new("libsodium", size), &body, |b, body| {
            b.iter(|| black_box(rk.open(0, body)))
        });
        // In place needs a fresh counter and fresh ciphertext each time: reopen a
        // copy with a new Opener (the copy costs far less than the cipher).
        let mut scratch = body.clone();
        g.bench_function(BenchmarkId::new("rustcrypto_in_place", size), |b| {
            b.iter(|| {
                scratch.copy_from_slice(&body);
                black_box(Opener::new(&key(), Role::Receiver).open_in_place(&mut scratch))
            })
        });
    }
    g.finish();
}

fn hashes(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    let data = vec![0x3c; 256 * 1024];
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("sha256", |b| b.iter(|| black_box(Sha256::digest(&data))));
    g.bench_function("blake3", |b| b.iter(|| black_box(blake3::hash(&data))));
    g.finish();
}

criterion_group!(benches, seal, open, hashes);
criterion_main!(benches);
