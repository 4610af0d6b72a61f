//! TUN devices made inside named network namespaces (`ip netns add NAME`).
//!
//! A device belongs to the namespace of the thread that creates it and lives as
//! long as its descriptor: a short-lived thread enters the namespace, creates the
//! device and hands it back; the emulator's process stays where it was, and the
//! devices vanish with it.
//!
//! With offloads, each packet read or written starts with a `virtio_net_hdr`
//! ([`gso`](super::gso)) and TCP (UDP too, on kernels with USO) comes as
//! segmentation-offload super-packets of up to 64 KiB, as a NIC with TSO/GRO hands
//! them over: the emulator then moves a few thousand packets a second at 1 Gbit/s
//! instead of ~100,000, and the receiving stack takes them whole. The MTU, and so
//! every segment on the emulated wire, stays 1500 bytes.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
use tun_rs::{DeviceBuilder, SyncDevice};

/// One TUN device (no packet information header).
pub struct Tun {
    device: SyncDevice,
    name: String,
    offload: bool,
}

impl Tun {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether packets carry a `virtio_net_hdr` (see the module docs).
    pub fn offload(&self) -> bool {
        self.offload
    }

    /// Reads one packet.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.device.recv(buf)
    }

    /// Writes one packet.
    pub fn send(&self, packet: &[u8]) -> io::Result<usize> {
        self.device.send(packet)
    }
}

/// Creates TUN device `dev` in the network namespace `/run/netns/NS`, with
/// segmentation offloads when `offload` is set.
pub fn open_in(ns: &str, dev: &str, offload: bool) -> io::Result<Tun> {
    let path = format!("/run/netns/{ns}");
    let name = dev.to_owned();
    let device = std::thread::spawn(move || {
        let netns = File::open(&path)?;
        move_into_link_name_space(netns.as_fd(), Some(LinkNameSpaceType::Network))?;
        DeviceBuilder::new()
            .name(name)
            .offload(offload)
            .enable(false)
            .build_sync()
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))??;
    Ok(Tun {
        device,
        name: dev.to_owned(),
        offload,
    })
}
