//! A pool of `ferry serve` instances of a test's own: a private PostgreSQL cluster, N
//! instances on it, and haproxy in TCP mode in front (round robin, with health checks so
//! that a killed instance is skipped). For the failover tests, which kill instances and
//! so cannot share the run's servers. Loopback only, every port free-picked.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ferry_test_support::postgres::PgCluster;
use tempfile::TempDir;

use crate::env::TestEnv;
use crate::process::{Invocation, Running};

/// The running pool; everything stops when it is dropped.
pub struct Pool {
    _pg: PgCluster,
    dir: TempDir,
    instances: Vec<Running>,
    mailbox_ports: Vec<u16>,
    haproxy: Running,
    mailbox_port: u16,
    relay_port: u16,
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// Waits until something listens on `port` (bounded).
fn wait_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} not listening on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn haproxy_config(mailbox: u16, relay: u16, mailboxes: &[u16], relays: &[u16]) -> String {
    let servers = |prefix: &str, ports: &[u16]| -> String {
        ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!("  server {prefix}{i} 127.0.0.1:{p} check inter 200ms fall 1 rise 1\n")
            })
            .collect()
    };
    format!(
        "global\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 1h\n  timeout server 1h\n  retries 3\n  option redispatch\n\
         frontend mailbox\n  bind 127.0.0.1:{mailbox}\n  default_backend mailboxes\n\
         backend mailboxes\n  balance roundrobin\n{}\
         frontend relay\n  bind 127.0.0.1:{relay}\n  default_backend relays\n\
         backend relays\n  balance roundrobin\n{}",
        servers("m", mailboxes),
        servers("r", relays)
    )
}

impl Pool {
    /// A cluster, `n` instances and haproxy in front of them.
    pub fn start(env: &TestEnv, n: usize) -> Pool {
        let pg = PgCluster::start();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut instances = Vec::new();
        let (mut mailbox_ports, mut relay_ports) = (Vec::new(), Vec::new());
        for i in 0..n {
            let (m, r) = (free_port(), free_port());
            let mut inv = Invocation::new(
                format!("ferry serve #{i}"),
                &env.ferry_bin,
                dir.path().to_owned(),
            );
            inv.args(["serve", "--no-relay-ws", "--database", &pg.url()])
                .args(["--mailbox-listen", &format!("127.0.0.1:{m}")])
                .args(["--relay-listen", &format!("127.0.0.1:{r}")]);
            instances.push(Running::spawn(&inv).expect("ferry serve starts"));
            wait_port(m, "ferry serve");
            mailbox_ports.push(m);
            relay_ports.push(r);
        }
        let (mailbox_port, relay_port) = (free_port(), free_port());
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(
            &cfg,
            haproxy_config(mailbox_port, relay_port, &mailbox_ports, &relay_ports),
        )
        .expect("write haproxy.cfg");
        let haproxy = Running::spawn(
            Invocation::new("haproxy", "haproxy", dir.path().to_owned())
                .arg("-f")
                .arg(&cfg)
                .arg("-db"),
        )
        .expect("haproxy starts (apt-get install haproxy)");
        wait_port(mailbox_port, "haproxy");
        Pool {
            _pg: pg,
            dir,
            instances,
            mailbox_ports,
            haproxy,
            mailbox_port,
            relay_port,
        }
    }

    /// The environment with the pool as its servers.
    pub fn env(&self, env: &TestEnv) -> TestEnv {
        let mut e = env.clone();
        e.mailbox = format!("ws://127.0.0.1:{}/v1", self.mailbox_port);
        e.relay = format!("tcp:127.0.0.1:{}", self.relay_port);
        e
    }

    /// The instances now holding a mailbox connection, by index (from their `/metrics`).
    pub fn with_clients(&self) -> Vec<usize> {
        (0..self.instances.len())
            .filter(|&i| metric(self.mailbox_ports[i], "ferry_mailbox_connections") > 0)
            .collect()
    }

    /// The instances now relaying a pair (the owners of split pairs), by index.
    pub fn relaying(&self) -> Vec<usize> {
        (0..self.instances.len())
            .filter(|&i| metric(self.mailbox_ports[i], "ferry_relay_active_pairs") > 0)
            .collect()
    }

    /// `kill -9` of instance `i`, by its PID.
    pub fn kill9(&mut self, i: usize) {
        let pid = self.instances[i].pid().to_string();
        let status = Command::new("kill").args(["-9", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -9 {pid}");
        assert!(self.instances[i].wait_exit(Duration::from_secs(10)));
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// haproxy's and the instances' output, for a failure report.
    pub fn logs(&self) -> String {
        std::iter::once(&self.haproxy)
            .chain(&self.instances)
            .map(|r| format!("--- {}\n{}", r.label(), r.output_so_far()))
            .collect()
    }
}

/// An unlabelled metric of the instance on `port` (0 when it does not answer).
fn metric(port: u16, name: &str) -> u64 {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

impl Drop for Pool {
    fn drop(&mut self) {
        for r in self.instances.iter_mut().chain([&mut self.haproxy]) {
            if !r.poll_exit() {
                let _ = Command::new("kill").arg(r.pid().to_string()).status();
                r.wait_exit(Duration::from_secs(5));
            }
        }
    }
}
