//! A test LAN for the LocalSend tests: N hosts on one Ethernet bridge.
//!
//! Every LocalSend peer hard-binds port 53317 and announces on every interface, so each one
//! runs in a host of its own (docs/localsend/peers.md §5). A host is a `sleep` that
//! `unshare --net` put in a fresh network namespace; programs join it through
//! `nsenter --net=/proc/PID/ns/net`, which execs them, so the PID we hold is the program's.
//! The bridge lives in one more such namespace, and each veth pair is created with both ends
//! already in their namespaces: nothing is added to the namespace the suite runs in
//! (`interop/run-in-netns.sh`), so parallel tests cannot collide on interface names.
//!
//! Each host has `lo` up, `10.77.0.N/24` on `eth0` and the multicast route, and no default
//! route: localsendd would otherwise scan the /24 of the address that routes to 8.8.8.8.
//! Dropping the [`Lan`] kills the holders; a namespace goes away with its last process.

use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{Invocation, Outcome, Running};

/// The hosts' addresses are this prefix followed by 1, 2, ...
pub const SUBNET_PREFIX: &str = "10.77.0.";
/// The interface of every host.
pub const IFACE: &str = "eth0";
/// A holder outlives no test: the Drop kills it long before.
const HOLDER_SECS: &str = "3600";
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// One host of a [`Lan`]: where to run a program and its address.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub ip: String,
    /// `/proc/PID/ns/net` of the host's holder process.
    netns: String,
}

/// N hosts joined by a bridge; torn down on Drop.
pub struct Lan {
    hosts: Vec<Host>,
    /// The bridge's holder first, then one per host.
    holders: Vec<Running>,
}

impl Lan {
    /// Builds a LAN of `n` hosts, or panics saying which step failed.
    pub fn new(n: usize) -> Lan {
        Lan::try_new(n).unwrap_or_else(|e| panic!("test LAN: {e}"))
    }

    fn try_new(n: usize) -> Result<Lan, String> {
        let mut lan = Lan {
            hosts: Vec::new(),
            holders: Vec::new(),
        };
        let switch = lan.add_holder("switch")?;
        run_in(&switch, &["ip", "link", "add", "br0", "type", "bridge"])?;
        // Flood multicast to every port: no IGMP querier runs on this LAN.
        run_in(
            &switch,
            &[
                "ip",
                "link",
                "set",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        )?;
        run_in(&switch, &["ip", "link", "set", "br0", "up"])?;
        for i in 1..=n {
            let netns = lan.add_holder(&format!("host{i}"))?;
            let host = Host {
                name: format!("host{i}"),
                ip: format!("{SUBNET_PREFIX}{i}"),
                netns,
            };
            connect(&switch, &host, i)?;
            lan.hosts.push(host);
        }
        Ok(lan)
    }

    /// The `i`-th host, from 0.
    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    /// Starts a holder in a new network namespace; returns that namespace's path.
    fn add_holder(&mut self, name: &str) -> Result<String, String> {
        let (holder, netns) = holder(name)?;
        self.holders.push(holder);
        Ok(netns)
    }
}

/// A `sleep` that `unshare --net` put in a fresh network namespace, and that
/// namespace's path once the holder is in it. Dropping the holder kills it.
pub(crate) fn holder(name: &str) -> Result<(Running, String), String> {
    let mut inv = Invocation::new(format!("{name} netns"), "unshare", std::env::temp_dir());
    inv.args(["--net", "sleep", HOLDER_SECS]);
    let mut holder = Running::spawn(&inv).map_err(|e| format!("unshare: {e}"))?;
    let netns = format!("/proc/{}/ns/net", holder.pid());
    let ours = std::fs::read_link("/proc/self/ns/net").map_err(|e| e.to_string())?;
    let deadline = Instant::now() + SETUP_TIMEOUT;
    // unshare execs sleep after entering the namespace: wait until it has.
    while std::fs::read_link(&netns).ok().is_none_or(|ns| ns == ours) {
        if holder.poll_exit() || Instant::now() >= deadline {
            return Err(format!(
                "{name}: no namespace of its own\n{}",
                holder.into_outcome()
            ));
        }
        thread::sleep(Duration::from_millis(10));
    }
    Ok((holder, netns))
}

impl Drop for Lan {
    fn drop(&mut self) {
        // Running's Drop kills each holder by its PID.
        self.holders.clear();
    }
}

/// Plugs `host` into the bridge with a veth pair and configures its side.
fn connect(switch: &str, host: &Host, i: usize) -> Result<(), String> {
    let port = format!("p{i}");
    let host_pid = pid_of(&host.netns);
    let switch_pid = pid_of(switch);
    run(Command::new("ip").args([
        "link", "add", "name", IFACE, "netns", host_pid, "type", "veth", "peer", "name", &port,
        "netns", switch_pid,
    ]))?;
    run_in(switch, &["ip", "link", "set", &port, "master", "br0"])?;
    run_in(switch, &["ip", "link", "set", &port, "up"])?;
    let cidr = format!("{}/24", host.ip);
    run_in(&host.netns, &["ip", "link", "set", "lo", "up"])?;
    run_in(&host.netns, &["ip", "addr", "add", &cidr, "dev", IFACE])?;
    run_in(&host.netns, &["ip", "link", "set", IFACE, "up"])?;
    run_in(
        &host.netns,
        &["ip", "route", "add", "224.0.0.0/4", "dev", IFACE],
    )
}

pub(crate) fn pid_of(netns: &str) -> &str {
    netns
        .trim_start_matches("/proc/")
        .trim_end_matches("/ns/net")
}

pub(crate) fn run_in(netns: &str, argv: &[&str]) -> Result<(), String> {
    run(Command::new("nsenter")
        .arg(format!("--net={netns}"))
        .arg("--")
        .args(argv))
}

pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

impl Host {
    /// A host in the namespace at `netns` (`/proc/PID/ns/net` of its holder).
    pub(crate) fn new(name: &str, ip: &str, netns: String) -> Host {
        Host {
            name: name.to_owned(),
            ip: ip.to_owned(),
            netns,
        }
    }

    /// `/proc/PID/ns/net` of the host's holder.
    pub(crate) fn netns(&self) -> &str {
        &self.netns
    }

    /// Runs `argv` inside this host; `Err` says how it failed.
    pub fn exec(&self, argv: &[&str]) -> Result<(), String> {
        run_in(&self.netns, argv)
    }

    /// `program` to be run inside this host (add its arguments to the result).
    pub fn invocation(&self, label: &str, program: impl Into<PathBuf>, cwd: PathBuf) -> Invocation {
        let mut inv = Invocation::new(format!("{label}@{}", self.name), "nsenter", cwd);
        inv.arg(format!("--net={}", self.netns))
            .arg("--")
            .arg(program.into());
        inv
    }

    /// Runs `inv` (from [`Host::invocation`]) to its end, killed after `timeout`.
    pub fn run(&self, inv: &Invocation, timeout: Duration) -> Outcome {
        match Running::spawn(inv) {
            Ok(run) => run.finish(Instant::now() + timeout),
            Err(e) => Outcome::not_started(inv, format!("spawn: {e}")),
        }
    }

    /// Waits until `ip:port` accepts TCP connections inside this host, while `server` runs.
    pub fn wait_listening(
        &self,
        ip: &str,
        port: u16,
        server: &mut Running,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let probe = format!("exec 3<>/dev/tcp/{ip}/{port}");
        loop {
            let mut inv = self.invocation("probe", "bash", std::env::temp_dir());
            inv.args(["-c", &probe]);
            if self.run(&inv, Duration::from_secs(2)).succeeded() {
                return Ok(());
            }
            if server.poll_exit() {
                return Err(format!(
                    "{} exited before listening on {port}:\n{}",
                    server.label(),
                    server.output_so_far()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} not listening on {ip}:{port} after {timeout:?}",
                    server.label()
                ));
            }
            thread::sleep(POLL);
        }
    }
}

impl Host {
    /// Caps what this host sends at `mbit` Mbit/s (a token bucket on its interface), so that
    /// a transfer of a few MiB is still under way when a test interrupts it.
    pub fn limit_rate(&self, mbit: u32) {
        let rate = format!("{mbit}mbit");
        let argv = [
            "tc", "qdisc", "add", "dev", IFACE, "root", "tbf", "rate", &rate,
        ];
        run_in(
            &self.netns,
            &[&argv[..], &["burst", "64kb", "latency", "200ms"]].concat(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", self.name));
    }

    /// Lifts [`Host::limit_rate`].
    pub fn unlimit_rate(&self) {
        let argv = ["tc", "qdisc", "del", "dev", IFACE, "root"];
        run_in(&self.netns, &argv).unwrap_or_else(|e| panic!("{}: {e}", self.name));
    }
}
