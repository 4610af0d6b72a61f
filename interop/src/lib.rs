//! Interop test harness: ferry against the real wormhole peers.
//!
//! The tests in `interop/tests/` drive four command-line programs — `ferry`, Python
//! `wormhole`, `wormhole-william` and `wormhole-rs` — against one mailbox server and one
//! transit relay inside a private network namespace (`interop/run-in-netns.sh` sets it up and
//! exports the addresses). The pieces:
//!
//! - [`peer`]: how each program is run as a sender or a receiver, with the flags each needs;
//! - [`transfer`]: one transfer — sender first, receiver once the code is printed, both
//!   bounded in time, all output kept for the failure report;
//! - [`cases`]: the test matrix as functions of (sender, receiver), with every peer's real
//!   behaviour (tar/zip directories, no text mode, ...) pinned in one place;
//! - [`data`] and [`tree`]: test data and content comparison by SHA-256;
//! - [`relay`]: proof, from the relay's usage database, that a transfer was relayed;
//! - [`code`]: codes whose nameplates are unique within a run, so tests can run in parallel;
//! - [`process`]: child processes with captured output, killed by PID at their deadline;
//! - [`pool`]: `ferry serve` instances on a PostgreSQL cluster behind haproxy, of a
//!   test's own (the failover tests kill instances).
//!
//! The LocalSend (LAN) tests run ferry against `localsendd` and `localsend-cli` instead:
//! - [`lan_net`]: a test LAN of network namespaces on a bridge, one peer per host;
//! - [`lan_peers`] and [`lan_ferry`]: each program in a host, with state of its own;
//! - [`lan_client`]: a plain HTTP client of a share (a browser, a script) in a host.
//!
//! [`nat_lab`] puts two homes behind NAT routers (nftables, miniupnpd) with `ferry serve`
//! between them, for the port-mapping and relay-fallback tests.

pub mod bt;
pub mod cases;
pub mod code;
pub mod data;
pub mod env;
pub mod lan_cases;
pub mod lan_client;
pub mod lan_ferry;
pub mod lan_net;
pub mod lan_peers;
pub mod nat_lab;
pub mod peer;
pub mod pool;
pub mod process;
pub mod relay;
pub mod transfer;
pub mod tree;

pub use env::TestEnv;
pub use peer::{Payload, Peer};
pub use transfer::{Transfer, TransferRun};
