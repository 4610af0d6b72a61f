//! libtorrent 2.1 (PyPI) as a peer: `interop/bt_libtorrent.py run`, one session per process,
//! read through the lines it prints (`seeding`, `complete`, `progress ...`, `uploaded ...`).

use std::net::SocketAddr;
use std::time::Duration;

use super::{bt_addr, free_port, torrent::driver, Job, Role, Source, Swarm, BT_IP};
use crate::process::Running;
use crate::TestEnv;

pub(super) struct Libtorrent {
    port: u16,
    role: Role,
    run: Running,
}

impl Libtorrent {
    pub(super) fn start(env: &TestEnv, job: &Job) -> Libtorrent {
        let port = free_port();
        let mut inv = driver(env, "libtorrent", job.dir);
        inv.args([
            "run",
            "--ip",
            BT_IP,
            "--listen",
            &port.to_string(),
            "--save",
        ])
        .arg(job.dir);
        match job.source {
            Source::File(path) => inv.arg("--torrent").arg(path),
            Source::Magnet(uri) => inv.args(["--magnet", uri]),
        };
        for peer in &job.peers.connect_to {
            inv.args(["--peer", &peer.to_string()]);
        }
        if job.role == Role::Seed {
            inv.arg("--seed");
        }
        // It runs until its stdin closes: a harness that dies takes it along.
        inv.keep_stdin_open();
        let run = Running::spawn(&inv).expect("spawn the libtorrent driver");
        Libtorrent {
            port,
            role: job.role,
            run,
        }
    }
}

impl Swarm for Libtorrent {
    fn listen_addr(&self) -> SocketAddr {
        bt_addr(self.port)
    }

    fn wait_complete(&mut self, timeout: Duration) -> Result<(), String> {
        let line = match self.role {
            Role::Seed => "\nseeding\n",
            Role::Fetch => "\ncomplete\n",
        };
        self.run.wait_for_output(line, timeout)
    }

    fn pid(&self) -> u32 {
        self.run.pid()
    }

    /// Its last `uploaded BYTES` line (0 before the first).
    fn uploaded(&self) -> Option<u64> {
        let text = self.run.stdout_so_far();
        let last = text.lines().rev().find_map(|l| l.strip_prefix("uploaded "));
        Some(last.and_then(|n| n.trim().parse().ok()).unwrap_or(0))
    }

    fn log(&self) -> String {
        format!(
            "── libtorrent (pid {})\n{}",
            self.run.pid(),
            self.run.output_so_far()
        )
    }
}
