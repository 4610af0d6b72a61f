//! TUN devices made inside named network namespaces (`ip netns add NAME`).
//!
//! A device belongs to the namespace of the thread that creates it and lives as
//! long as its descriptor: a short-lived thread enters the namespace, creates the
//! device and hands it back; the emulator's process stays where it was, and the
//! devices vanish with it.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
use tun_tap::{Iface, Mode};

/// Creates TUN device `dev` (no packet information header) in the network
/// namespace `/run/netns/NS`.
pub fn open_in(ns: &str, dev: &str) -> io::Result<Iface> {
    let path = format!("/run/netns/{ns}");
    let dev = dev.to_owned();
    std::thread::spawn(move || {
        let netns = File::open(&path)?;
        move_into_link_name_space(netns.as_fd(), Some(LinkNameSpaceType::Network))?;
        Iface::without_packet_info(&dev, Mode::Tun)
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))?
}
