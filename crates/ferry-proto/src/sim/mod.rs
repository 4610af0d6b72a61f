//! A deterministic two-peer simulation, in the manner of quinn-proto's test
//! `Pair`: a sender machine and a receiver machine run whole transfers against
//! each other over the real record layers, through a simulated byte pipe that
//! delays, splits and coalesces bytes and injects faults from a seeded RNG.
//!
//! - [`pipe`]: one direction of a connection: ticks of delay, arbitrary cuts,
//!   duplicated, reordered, truncated or corrupted records, a drop;
//! - [`link`]: a record layer (native AEAD or v1 secretbox) over two pipes, read
//!   through the same [`Deframer`](crate::transit::deframe::Deframer) the client uses;
//! - [`native`]: drivers for the native machines over in-memory files and an
//!   in-memory resume store;
//! - [`side`]: what both sides of any protocol share, and the loop that runs them;
//! - [`mailbox`] and [`v1`]: the v1 machines, their mailbox messages delayed,
//!   interleaved and duplicated, the file over v1 transit records.
//!
//! Every failing run prints its seed; `SIM_SEED=<n> cargo test -p ferry-proto sim`
//! replays one.

mod link;
mod mailbox;
mod native;
pub(crate) use native::tree_of;
mod native_tests;
mod pipe;
mod side;
mod v1;
mod v1_tests;

use rand::rngs::StdRng;
use rand::SeedableRng;

/// The seeds a test runs: `SIM_SEED` alone if set, else `0..count`.
fn seeds(count: u64) -> Vec<u64> {
    match std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => (0..count).collect(),
    }
}

/// Runs `test` for every seed; a failure names the seed that reproduces it.
fn for_seeds(count: u64, test: impl Fn(&mut StdRng)) {
    for seed in seeds(count) {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            test(&mut StdRng::seed_from_u64(seed))
        }));
        if let Err(panic) = run {
            eprintln!("simulation failed with seed {seed} (replay: SIM_SEED={seed})");
            std::panic::resume_unwind(panic);
        }
    }
}
