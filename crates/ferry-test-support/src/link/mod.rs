//! A userspace link emulator (this kernel has no `sch_netem`): two TUN devices in
//! two network namespaces, and packets carried between them with a one-way delay,
//! random loss, a line rate and a drop-tail queue, each direction on its own.
//! The `ferry-link` binary runs it for `bench/transfer --link` and fault tests.
//!
//! [`pipe`] is the sans-IO model (packets in with their arrival time, out with
//! their delivery time), [`forward`] the threads that move real packets through
//! it, [`tun`] the devices, [`gso`] the offload header of a device's packets.

pub mod forward;
pub mod gso;
pub mod pipe;
pub mod tun;

pub use pipe::{Counts, Fate, Pipe, Shape};
