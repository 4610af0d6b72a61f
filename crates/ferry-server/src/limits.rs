//! Per-address connection caps. A guard holds one slot and frees it on drop, so a
//! connection task that ends in any way gives its slot back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Counts open connections per IP address for one service.
#[derive(Debug)]
pub(crate) struct PerIp {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One occupied slot.
#[derive(Debug)]
pub(crate) struct IpSlot {
    owner: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(PerIp {
            max,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a slot for `ip`, or `None` when it already has `max` connections.
    pub(crate) fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let ip = canonical(ip);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            owner: Arc::clone(self),
            ip,
        })
    }
}

impl IpSlot {
    /// Moves this slot to `ip` (the client of a handed-over relay connection,
    /// which came from another instance's address); false, leaving it where
    /// it was, when `ip` has no slot free.
    pub(crate) fn move_to(&mut self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if ip == self.ip {
            return true;
        }
        let mut counts = self
            .owner
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry(ip).or_insert(0);
        if *n >= self.owner.max {
            return false;
        }
        *n += 1;
        release(&mut counts, self.ip);
        self.ip = ip;
        true
    }
}

fn release(counts: &mut HashMap<IpAddr, usize>, ip: IpAddr) {
    if let Some(n) = counts.get_mut(&ip) {
        *n -= 1;
        if *n == 0 {
            counts.remove(&ip);
        }
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self
            .owner
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        release(&mut counts, self.ip);
    }
}

/// An IPv4 client seen through a dual-stack socket counts as its IPv4 address.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_and_release() {
        let lim = PerIp::new(2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let a = lim.try_acquire(ip).unwrap();
        let _b = lim.try_acquire(ip).unwrap();
        assert!(lim.try_acquire(ip).is_none());
        assert!(lim.try_acquire(other).is_some());
        drop(a);
        assert!(lim.try_acquire(ip).is_some());
    }

    #[test]
    fn a_slot_moves_to_another_address_only_if_it_has_room() {
        let lim = PerIp::new(1);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut s = lim.try_acquire(a).unwrap();
        assert!(s.move_to(b));
        let _a2 = lim.try_acquire(a).unwrap();
        let mut t = lim.try_acquire("10.0.0.3".parse().unwrap()).unwrap();
        assert!(!t.move_to(b), "b is full");
        drop(s);
        assert!(t.move_to(b));
        assert!(lim.try_acquire("10.0.0.3".parse().unwrap()).is_some());
    }

    #[test]
    fn mapped_v4_is_v4() {
        let lim = PerIp::new(1);
        let _a = lim.try_acquire("::ffff:10.0.0.1".parse().unwrap()).unwrap();
        assert!(lim.try_acquire("10.0.0.1".parse().unwrap()).is_none());
    }
}
