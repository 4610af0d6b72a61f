//! ferry-to-ferry transfers (`docs/protocol.md`): negotiated in the encrypted
//! `version` exchange, then run over a transit connection keyed for it. A manifest
//! of many files and directories streamed file by file, every group of every file
//! verified against its BLAKE3 tree before it is written, resume of interrupted
//! transfers, and files the receiver already has left alone.
//!
//! The sans-IO rules live in `ferry_proto::native`; this module drives them:
//! - `connect`: hints through the mailbox, the transit race with the native key;
//! - `link`: frames over transit records; `hash`: BLAKE3 trees of files;
//! - `send/`: the sender — `source` (the walked selection as a manifest),
//!   `ahead` (batches hashed ahead of need), the frame loop;
//! - `receive/`: the receiver — `plan` (what to ask for, given what is on disk),
//!   `writer` and `saver` (the threads that verify, write and checkpoint),
//!   `keep` (its stored session, for a new process to continue);
//! - `stored`: those sessions on disk (`ferry receive --resume`).
//!
//! Where files land, and under which partial and resume names, is the shared
//! `transfer::landing`.

mod connect;
mod current;
mod hash;
mod link;
mod receive;
mod reconnect;
mod send;
mod stored;

use serde_json::Value;

use ferry_proto::native::manifest::Manifest;
use ferry_proto::native::negotiate::{self, Features, Protocol};
use ferry_proto::native::record::Aead;

use crate::rendezvous::{MailboxConfig, Wormhole};

pub(crate) use link::Link;
pub(crate) use receive::{receive, receive_over, receive_resumed, Keeping};
pub(crate) use send::{send, send_over};
pub use stored::{SessionStore, StoredSession};

/// The `app_versions` that tells another ferry we speak the native protocol.
/// Put it in [`MailboxConfig::app_versions`] to use native transfers with ferry peers.
pub fn app_versions() -> Value {
    negotiate::app_versions(fastest_aead())
}

/// AES-256-GCM where the CPU has AES and carry-less multiply instructions (ring
/// then runs it at several GB/s per core), ChaCha20-Poly1305 everywhere else.
pub(crate) fn fastest_aead() -> Aead {
    #[cfg(target_arch = "x86_64")]
    let hardware_aes = std::arch::is_x86_feature_detected!("aes")
        && std::arch::is_x86_feature_detected!("pclmulqdq");
    #[cfg(target_arch = "aarch64")]
    let hardware_aes = std::arch::is_aarch64_feature_detected!("aes")
        && std::arch::is_aarch64_feature_detected!("pmull");
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let hardware_aes = false;
    match hardware_aes {
        true => Aead::Aes256Gcm,
        false => Aead::ChaCha20Poly1305,
    }
}

/// The mailbox settings to connect with: `v1` withdraws the native capability.
pub(crate) fn mailbox_config(config: &MailboxConfig, v1: bool) -> MailboxConfig {
    let mut config = config.clone();
    if v1 {
        config.app_versions = negotiate::without_native(&config.app_versions);
    }
    config
}

/// What two ferry agreed on for a native transfer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Agreed {
    pub(crate) aead: Aead,
    pub(crate) features: Features,
}

impl Agreed {
    /// What a stored session agreed on: it was stored only because both
    /// sides can reconnect.
    pub(crate) fn stored(session: &StoredSession) -> crate::error::Result<Agreed> {
        Ok(Agreed {
            aead: session.aead()?,
            features: Features {
                keepalive: session.keepalive,
                reconnect: true,
                quic: session.quic,
                late_roots: session.late_roots,
            },
        })
    }
}

/// The cipher and features of the native protocol, if this wormhole runs it
/// (both sides advertised it).
pub(crate) fn negotiated(ours: &MailboxConfig, wormhole: &Wormhole) -> Option<Agreed> {
    let theirs = wormhole.peer_app_versions();
    match negotiate::negotiate(&ours.app_versions, theirs) {
        Protocol::Native(aead) => Some(Agreed {
            aead,
            features: Features::shared(&ours.app_versions, theirs),
        }),
        Protocol::V1 => None,
    }
}

/// Groups queued between two pipeline stages: 2 MiB worth, at least 2 and at
/// most 8, so that memory stays flat even when huge files bring 4 MiB groups.
fn queue_depth(manifest: &Manifest) -> usize {
    let largest = manifest.entries().iter().filter_map(|e| e.size()).max();
    depth_for(largest.unwrap_or(0))
}

fn depth_for(largest_file: u64) -> usize {
    let group = ferry_proto::native::tree::Layout::for_size(largest_file).group_len();
    ((2 << 20) / group.max(1)).clamp(2, 8) as usize
}

#[cfg(test)]
mod tests {
    #[test]
    fn queues_hold_about_two_mib_of_groups() {
        assert_eq!(super::depth_for(0), 8); // 256 KiB groups
        assert_eq!(super::depth_for(1 << 30), 8);
        assert_eq!(super::depth_for(20 << 30), 4); // 512 KiB groups
        assert_eq!(super::depth_for(200 << 30), 2); // 4 MiB groups
    }
}
