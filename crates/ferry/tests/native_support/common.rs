//! Test support shared by the native-protocol tests of `ferry` and `ferry-cli`
//! (the cli's `native_support` includes this file by path).

use std::path::Path;

use ferry_server::{Config, Server, ServerHandle};

/// A mailbox server and relay on 127.0.0.1, port 0.
pub async fn server() -> ServerHandle {
    Server::spawn(Config::ephemeral())
        .await
        .expect("server starts")
}

/// Names in a directory (hidden resume files included).
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
