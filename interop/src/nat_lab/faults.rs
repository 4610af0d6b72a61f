//! Faults a test inflicts on the lab (`tests/nat_faults.rs`): a home's link cut at
//! its router for a while (a Wi-Fi link gone dead: packets vanish, nothing is
//! refused), a home that moves to a new address (the old one is gone), and `ferry
//! serve` killed (SIGKILL) then started again on the same ports and database.

use std::time::Duration;

use crate::env::TestEnv;

use super::NatLab;

/// The table that cuts: dropped before the router's own filter sees anything.
const CUT_TABLE: &str = "fault";

impl NatLab {
    /// From now on router `home` forwards nothing to or from its home, until
    /// [`NatLab::mend`]; the router itself and the rest of the lab stay up.
    pub fn cut(&self, home: usize) {
        let router = &self.routers[home];
        let chain = "{ type filter hook forward priority -10 ; policy drop ; }";
        router
            .exec(&["nft", "add", "table", "inet", CUT_TABLE])
            .and_then(|()| {
                router.exec(&["nft", "add", "chain", "inet", CUT_TABLE, "forward", chain])
            })
            .unwrap_or_else(|e| panic!("cut {}: {e}", router.name));
    }

    /// Ends [`NatLab::cut`]: packets flow again (the NAT's flows are as they were).
    pub fn mend(&self, home: usize) {
        let router = &self.routers[home];
        router
            .exec(&["nft", "delete", "table", "inet", CUT_TABLE])
            .unwrap_or_else(|e| panic!("mend {}: {e}", router.name));
    }

    /// Home `home` gets `ip` (in its LAN, 10.0.N.0/24) and loses the address it had:
    /// its connections from the old one are dead ends, as after a DHCP change.
    pub fn move_home(&self, home: usize, ip: &str) {
        let host = &self.homes[home];
        let lan = format!("10.0.{}", home + 1);
        // The old one goes first: deleting a primary address deletes its secondaries.
        let steps: [&[&str]; 3] = [
            &[
                "ip",
                "addr",
                "del",
                &format!("{}/24", host.ip),
                "dev",
                "eth0",
            ],
            &["ip", "addr", "add", &format!("{ip}/24"), "dev", "eth0"],
            &[
                "ip",
                "route",
                "replace",
                "default",
                "via",
                &format!("{lan}.1"),
            ],
        ];
        for argv in steps {
            host.exec(argv)
                .unwrap_or_else(|e| panic!("move {}: {e}", host.name));
        }
    }

    /// Kills `ferry serve` (SIGKILL: no goodbye to anyone), waits `down`, and starts
    /// it again on the same ports with the same database.
    pub fn restart_server(&mut self, down: Duration) {
        let serve = self
            .daemons
            .iter()
            .position(|d| d.label().starts_with("ferry serve"))
            .expect("ferry serve runs");
        // Running's Drop kills it by PID and reaps it.
        drop(self.daemons.remove(serve));
        std::thread::sleep(down);
        self.start_server(TestEnv::get())
            .unwrap_or_else(|e| panic!("ferry serve again: {e}"));
    }
}
