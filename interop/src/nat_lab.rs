//! A NAT lab: two homes, each behind a router doing NAT, and an "internet" between
//! them running `ferry serve` (mailbox, relay, STUN), all in network namespaces the
//! test makes (holders as in [`crate::lan_net`]) and that go away with the [`NatLab`].
//!
//! ```text
//!  home A 10.0.1.2 ── 10.0.1.1 router A 203.0.113.2 ──┐
//!                                                     internet 203.0.113.1 / 198.51.100.1
//!  home B 10.0.2.2 ── 10.0.2.1 router B 198.51.100.2 ─┘   (ferry serve, forwarding)
//! ```
//!
//! Each router masquerades what leaves its WAN (port-preserving, or `fully-random`:
//! a symmetric NAT) and, like a real one, forwards from the WAN only replies
//! (established/related) and what miniupnpd opened. Router A can run miniupnpd
//! (UPnP-IGD, NAT-PMP, PCP): it learns its external address by STUN from `ferry
//! serve` (miniupnpd 2.3.1 refuses to map behind a reserved WAN address otherwise,
//! and every address here is TEST-NET or private).
//!
//! [`NatLab::with_ipv6`] adds IPv6 as many homes have it: global addresses with no
//! NAT (2001:db8:a::2, 2001:db8:b::2), routed by the internet, and the same router
//! filter, which lets in only replies (a stateful firewall).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::env::TestEnv;
use crate::lan_net::{holder, pid_of, run, Host};
use crate::process::{Invocation, Running};

mod faults;

/// `ferry serve` in the internet.
pub const SERVER_IP: &str = "203.0.113.1";
const MAILBOX_PORT: u16 = 4000;
const RELAY_PORT: u16 = 4001;
const METRICS_PORT: u16 = 9100;
const READY: Duration = Duration::from_secs(15);

/// How a router translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// Plain masquerade: a flow keeps its source port when it is free.
    PortPreserving,
    /// `masquerade fully-random`: every flow gets a random external port.
    Symmetric,
}

/// What miniupnpd on router A offers (router B never runs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upnpd {
    Off,
    /// UPnP-IGD, NAT-PMP and PCP.
    All,
    /// UPnP-IGD only.
    UpnpOnly,
    /// NAT-PMP and PCP only (miniupnpd's `enable_natpmp` is both).
    PmpOnly,
}

/// The lab; dropping it kills every process and with them the namespaces.
pub struct NatLab {
    pub internet: Host,
    /// Router A, router B.
    pub routers: [Host; 2],
    /// Home A, home B.
    pub homes: [Host; 2],
    /// Started last, killed first: miniupnpd, then `ferry serve`, then the holders.
    daemons: Vec<Running>,
    holders: Vec<Running>,
    dir: TempDir,
}

impl NatLab {
    /// Builds the lab with routers A and B as given and starts `ferry serve` (and
    /// miniupnpd on A unless `Upnpd::Off`); panics saying which step failed.
    pub fn new(a: (Nat, Upnpd), b: Nat) -> NatLab {
        let env = TestEnv::get();
        let mut lab = NatLab::wire(env).unwrap_or_else(|e| panic!("NAT lab: {e}"));
        let setup = lab
            .route(a.0, b)
            .and_then(|()| lab.start_server(env))
            .and_then(|()| lab.start_upnpd(a.1));
        setup.unwrap_or_else(|e| panic!("NAT lab: {e}"));
        lab
    }

    /// Adds IPv6 (see the module docs); panics saying which step failed.
    pub fn with_ipv6(self) -> NatLab {
        self.route_v6()
            .unwrap_or_else(|e| panic!("NAT lab IPv6: {e}"));
        self
    }

    /// Lets router `i` forward unsolicited IPv6 to its home, as a provider
    /// whose routers filter nothing (the home is then reachable on IPv6).
    pub fn open_ipv6_inbound(&self, i: usize) {
        let rule = [
            "nft", "insert", "rule", "inet", "filter", "forward", "iifname", "wan0", "meta",
            "nfproto", "ipv6", "accept",
        ];
        self.routers[i]
            .exec(&rule)
            .unwrap_or_else(|e| panic!("NAT lab: opening IPv6 inbound: {e}"));
    }

    /// `ws://…/v1` of the lab's mailbox.
    pub fn mailbox(&self) -> String {
        format!("ws://{SERVER_IP}:{MAILBOX_PORT}/v1")
    }

    /// `tcp:…` of the lab's relay.
    pub fn relay(&self) -> String {
        format!("tcp:{SERVER_IP}:{RELAY_PORT}")
    }

    /// A directory of the lab's own (removed with it).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// `ferry_relay_bytes_total` from `ferry serve`'s /metrics.
    pub fn relay_bytes(&self) -> u64 {
        let get = format!(
            "exec 3<>/dev/tcp/{SERVER_IP}/{METRICS_PORT}; \
             printf 'GET /metrics HTTP/1.0\\r\\nHost: lab\\r\\n\\r\\n' >&3; cat <&3"
        );
        let mut inv = self.internet.invocation("metrics", "bash", self.dir());
        inv.args(["-c", &get]);
        let out = self.internet.run(&inv, Duration::from_secs(5));
        let text = out.stdout_text();
        let line = text
            .lines()
            .find(|l| l.starts_with("ferry_relay_bytes_total "))
            .unwrap_or_else(|| panic!("no ferry_relay_bytes_total in /metrics:\n{out}"));
        let value = line.rsplit(' ').next().unwrap_or_default();
        value
            .parse::<f64>()
            .map(|v| v as u64)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// The port forwards router A has now (miniupnpd's DNAT rules), as `nft` lists them.
    pub fn forwards(&self) -> Vec<String> {
        let mut inv = self.routers[0].invocation("nft", "nft", self.dir());
        inv.args(["list", "chain", "inet", "filter", "prerouting_miniupnpd"]);
        let out = self.routers[0].run(&inv, Duration::from_secs(5));
        assert!(out.succeeded(), "{out}");
        let text = out.stdout_text();
        text.lines()
            .filter(|l| l.contains("dnat"))
            .map(|l| l.trim().to_owned())
            .collect()
    }

    /// Namespaces and links, addresses and default routes.
    fn wire(env: &TestEnv) -> Result<NatLab, String> {
        let dir = env.scratch_dir("natlab.");
        let mut holders = Vec::new();
        let mut host = |name: &str, ip: &str| -> Result<Host, String> {
            let (h, netns) = holder(name)?;
            holders.push(h);
            let host = Host::new(name, ip, netns);
            host.exec(&["ip", "link", "set", "lo", "up"])?;
            Ok(host)
        };
        let internet = host("internet", SERVER_IP)?;
        let routers = [
            host("routerA", "203.0.113.2")?,
            host("routerB", "198.51.100.2")?,
        ];
        let homes = [host("homeA", "10.0.1.2")?, host("homeB", "10.0.2.2")?];
        let lab = NatLab {
            internet,
            routers,
            homes,
            daemons: Vec::new(),
            holders,
            dir,
        };
        let wan = [("203.0.113", "toA"), ("198.51.100", "toB")];
        for (i, (net, port)) in wan.iter().enumerate() {
            let (router, home) = (&lab.routers[i], &lab.homes[i]);
            link(
                &lab.internet,
                port,
                &format!("{net}.1/24"),
                router,
                "wan0",
                &format!("{net}.2/24"),
            )?;
            let lan = format!("10.0.{}", i + 1);
            link(
                router,
                "lan0",
                &format!("{lan}.1/24"),
                home,
                "eth0",
                &format!("{lan}.2/24"),
            )?;
            router.exec(&["ip", "route", "add", "default", "via", &format!("{net}.1")])?;
            home.exec(&["ip", "route", "add", "default", "via", &format!("{lan}.1")])?;
        }
        Ok(lab)
    }

    /// Forwarding everywhere but the homes; each router's NAT and filter.
    fn route(&self, a: Nat, b: Nat) -> Result<(), String> {
        let forward = ["sysctl", "-qw", "net.ipv4.ip_forward=1"];
        self.internet.exec(&forward)?;
        for (router, nat) in self.routers.iter().zip([a, b]) {
            router.exec(&forward)?;
            let rules = self.dir.path().join(format!("{}.nft", router.name));
            let lan = format!("10.0.{}.0/24", if router.name == "routerA" { 1 } else { 2 });
            std::fs::write(&rules, ruleset(nat, &lan)).map_err(|e| e.to_string())?;
            router.exec(&["nft", "-f", &rules.to_string_lossy()])?;
        }
        Ok(())
    }

    /// Per home: WAN 2001:db8:N::/64 (internet ::1, router ::2) and LAN
    /// 2001:db8:X::/64 (router ::1, home ::2), N = 1, 2 and X = a, b; routes both
    /// ways and forwarding. Addresses skip duplicate detection (usable at once).
    fn route_v6(&self) -> Result<(), String> {
        let forward = ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"];
        self.internet.exec(&forward)?;
        let wan_ifs = ["toA", "toB"];
        for (i, (router, home)) in self.routers.iter().zip(&self.homes).enumerate() {
            let (wan, lan) = (
                format!("2001:db8:{}:", i + 1),
                format!("2001:db8:{}:", ["a", "b"][i]),
            );
            router.exec(&forward)?;
            let add = |h: &Host, cidr: String, dev: &str| {
                h.exec(&["ip", "-6", "addr", "add", &cidr, "dev", dev, "nodad"])
            };
            add(&self.internet, format!("{wan}:1/64"), wan_ifs[i])?;
            add(router, format!("{wan}:2/64"), "wan0")?;
            add(router, format!("{lan}:1/64"), "lan0")?;
            add(home, format!("{lan}:2/64"), "eth0")?;
            let route = |h: &Host, to: &str, via: String| {
                h.exec(&["ip", "-6", "route", "add", to, "via", &via])
            };
            route(&self.internet, &format!("{lan}:/64"), format!("{wan}:2"))?;
            route(router, "default", format!("{wan}:1"))?;
            route(home, "default", format!("{lan}:1"))?;
        }
        Ok(())
    }

    fn start_server(&mut self, env: &TestEnv) -> Result<(), String> {
        let mut inv = self
            .internet
            .invocation("ferry serve", &env.ferry_bin, self.dir());
        let db = self.dir.path().join("serve.sqlite");
        inv.args([
            "serve",
            "--mailbox-listen",
            &format!("0.0.0.0:{MAILBOX_PORT}"),
            // The relay's own address, not 0.0.0.0: the STUN responder on the
            // same address then answers home B from 203.0.113.1 too (a wildcard
            // socket would answer from 198.51.100.1, which B's NAT drops).
            "--relay-listen",
            &format!("{SERVER_IP}:{RELAY_PORT}"),
            "--metrics-listen",
            &format!("0.0.0.0:{METRICS_PORT}"),
            "--no-relay-ws",
            "--no-web",
            "--database",
            &db.to_string_lossy(),
        ]);
        let mut server = Running::spawn(&inv).map_err(|e| format!("ferry serve: {e}"))?;
        for port in [MAILBOX_PORT, RELAY_PORT, METRICS_PORT] {
            self.internet
                .wait_listening(SERVER_IP, port, &mut server, READY)?;
        }
        self.daemons.push(server);
        Ok(())
    }

    fn start_upnpd(&mut self, upnpd: Upnpd) -> Result<(), String> {
        let (upnp, pmp) = match upnpd {
            Upnpd::Off => return Ok(()),
            Upnpd::All => (true, true),
            Upnpd::UpnpOnly => (true, false),
            Upnpd::PmpOnly => (false, true),
        };
        let yes = |on: bool| if on { "yes" } else { "no" };
        let conf = format!(
            "ext_ifname=wan0\nlistening_ip=lan0\nhttp_port=5000\nenable_upnp={}\nenable_natpmp={}\n\
             ext_perform_stun=yes\next_stun_host={SERVER_IP}\next_stun_port={RELAY_PORT}\n\
             secure_mode=yes\nsystem_uptime=no\nuuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b\n\
             allow 1024-65535 10.0.1.0/24 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n",
            yes(upnp),
            yes(pmp)
        );
        let path = self.dir.path().join("miniupnpd.conf");
        std::fs::write(&path, conf).map_err(|e| e.to_string())?;
        let pid = self.dir.path().join("miniupnpd.pid");
        let mut inv = self.routers[0].invocation("miniupnpd", "miniupnpd", self.dir());
        inv.arg("-d").arg("-f").arg(&path).arg("-P").arg(&pid);
        let mut daemon = Running::spawn(&inv).map_err(|e| format!("miniupnpd: {e}"))?;
        // Its last word once every listener is up.
        let ready = match pmp {
            true => "Listening for NAT-PMP/PCP traffic",
            false => "HTTP listening on port",
        };
        let waited = daemon.wait_for_output(ready, READY);
        if !daemon
            .output_so_far()
            .contains("Port forwarding is now enabled")
            || waited.is_err()
        {
            return Err(format!(
                "miniupnpd not ready: {waited:?}\n{}",
                daemon.output_so_far()
            ));
        }
        self.daemons.push(daemon);
        Ok(())
    }
}

impl Drop for NatLab {
    fn drop(&mut self) {
        // Running's Drop kills by PID: daemons first, then the namespaces' holders.
        self.daemons.clear();
        self.holders.clear();
    }
}

/// A veth pair from `a` (`a_if`, `a_cidr`) to `b` (`b_if`, `b_cidr`), both up.
fn link(
    a: &Host,
    a_if: &str,
    a_cidr: &str,
    b: &Host,
    b_if: &str,
    b_cidr: &str,
) -> Result<(), String> {
    let (a_pid, b_pid) = (pid_of(a.netns()), pid_of(b.netns()));
    run(std::process::Command::new("ip").args([
        "link", "add", "name", a_if, "netns", a_pid, "type", "veth", "peer", "name", b_if, "netns",
        b_pid,
    ]))?;
    for (host, iface, cidr) in [(a, a_if, a_cidr), (b, b_if, b_cidr)] {
        host.exec(&["ip", "addr", "add", cidr, "dev", iface])?;
        host.exec(&["ip", "link", "set", iface, "up"])?;
    }
    Ok(())
}

/// A home router's nftables: NAT of the home's flows (`lan`) out of `wan0`, and from
/// the WAN only replies and what miniupnpd adds. Unsolicited packets to the router
/// itself are dropped too: accepted (and answered with ICMP), a peer's early punch
/// packet would leave a conntrack entry that makes the masquerade pick another port
/// for the home's own flow to that peer, as no home router does (its chains are the ones miniupnpd
/// 2.3.1 fills by default). The router's own packets (miniupnpd's STUN) keep their
/// ports, as on a real router. IPv6 neighbour discovery on the WAN is answered (ARP,
/// its IPv4 counterpart, never meets these tables).
fn ruleset(nat: Nat, lan: &str) -> String {
    let masquerade = match nat {
        Nat::PortPreserving => "masquerade",
        Nat::Symmetric => "masquerade fully-random",
    };
    format!(
        "table inet filter {{
  chain input {{
    type filter hook input priority 0; policy accept;
    iifname \"wan0\" ct state established,related accept
    iifname \"wan0\" icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept
    iifname \"wan0\" drop
  }}
  chain forward {{
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname \"lan0\" accept
    jump miniupnpd
  }}
  chain miniupnpd {{
  }}
  chain prerouting {{
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }}
  chain postrouting {{
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    ip saddr {lan} oifname \"wan0\" {masquerade}
  }}
  chain prerouting_miniupnpd {{
  }}
  chain postrouting_miniupnpd {{
  }}
}}
"
    )
}

/// Polls `f` every 100 ms until it gives a value, for at most `timeout`.
pub fn wait_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(t) = f() {
            return Some(t);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `program` in `host` with the lab's defaults (unbuffered Python, no colour).
pub fn in_host(host: &Host, label: &str, program: impl Into<PathBuf>, cwd: PathBuf) -> Invocation {
    let mut inv = host.invocation(label, program, cwd);
    for key in [
        "WORMHOLE_RELAY_URL",
        "WORMHOLE_TRANSIT_HELPER",
        "FERRY_SERVER",
        "FERRY_RELAY",
    ] {
        inv.env_remove(key);
    }
    inv.env("PYTHONUNBUFFERED", "1").env("NO_COLOR", "1");
    inv
}
