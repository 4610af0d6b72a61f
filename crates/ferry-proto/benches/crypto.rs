//! Micro-benchmarks of the transit hot path: sealing and opening records (v1: the
//! libsodium path ferry uses for bulk data, and the pure-Rust in-place path it
//! keeps for single records; native: ring's AES-256-GCM and ChaCha20-Poly1305, in
//! place), and the hashes a transfer computes (a native group's BLAKE3 CV too).
//!
//! `cargo bench -p ferry-proto --bench crypto`; throughput is per plaintext byte.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sha2::{Digest, Sha256};
use std::hint::black_box;

use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::native::record::{self as native, Aead};
use ferry_proto::native::tree::{group_hash, Layout};
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

/// Native records of 256 KiB (one group), sealed and opened in place.
fn native_records(c: &mut Criterion) {
    const SIZE: usize = 256 * 1024;
    let mut g = c.benchmark_group("native_record");
    g.throughput(Throughput::Bytes(SIZE as u64));
    for aead in [Aead::Aes256Gcm, Aead::ChaCha20Poly1305] {
        let mut sealer = native::Sealer::new(&key(), aead, Role::Sender);
        let mut frame = vec![0x5a; native::PREFIX_LEN + SIZE + native::TAG_LEN];
        g.bench_function(BenchmarkId::new("seal", aead.name()), |b| {
            b.iter(|| sealer.seal_in_place(black_box(&mut frame)))
        });
        let mut sealed = Vec::new();
        native::Sealer::new(&key(), aead, Role::Sender).seal_frame(&[0xa5; SIZE], &mut sealed);
        let prefix: [u8; 4] = sealed[..4].try_into().unwrap_or_default();
        // Each open needs a fresh opener and a fresh copy: made outside the timing.
        let fresh = || {
            let opener = native::Opener::new(&key(), aead, Role::Receiver);
            (opener, sealed[4..].to_vec())
        };
        g.bench_function(BenchmarkId::new("open", aead.name()), |b| {
            b.iter_batched_ref(
                fresh,
                |(opener, body)| black_box(opener.open_in_place(prefix, body)),
                BatchSize::LargeInput,
            )
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
    // A native group: a non-root CV at an offset (what sender and receiver compute).
    let layout = Layout::for_size(1 << 30);
    g.bench_function("blake3_group_cv", |b| {
        b.iter(|| black_box(group_hash(&layout, 3, &data)))
    });
    g.finish();
}

criterion_group!(benches, seal, open, native_records, hashes);
criterion_main!(benches);
