#!/usr/bin/env python3
"""bench/transfer --lan's runner: ferry's LocalSend (LAN) speed and cost, in one run.

Started by bench/transfer inside interop/run-in-netns.sh (loopback, the Python
mailbox and relay). It builds a two-host LAN there: two network namespaces (an
`unshare --net sleep` each) joined by one veth pair, 10.77.0.1 and 10.77.0.2,
lo up, the multicast route, no default route (docs/localsend/peers.md §5). With
one file of --size (1 GiB) it times, median of --runs:
  ferry->localsendd, localsendd->ferry, localsend-cli->ferry, ferry->ferry over
  the veth LAN (native, and plain LocalSend with --v1), and ferry->ferry with ferry's native wormhole protocol on
  loopback (the servers of run-in-netns.sh), the reference for the LAN rate.
Per case: wall time, MB/s, CPU seconds of ferry and of the peer, ferry's peak
RSS. ferry and localsend-cli run under /usr/bin/time; localsendd is a daemon, so
its CPU is the growth of its /proc/PID/stat times over the transfer plus that of
localsendctl. Then the issue's ratios.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer_bench as tb  # noqa: E402
import transfer_peers as peers  # noqa: E402

PORT = 53317
HOSTS = ("10.77.0.1", "10.77.0.2")
READY_TIMEOUT_S = 30
RUN_TIMEOUT_S = 900
MB = 1e6
GIB = 1 << 30


class Lan:
    """Two hosts joined by a veth pair; `close` kills the namespaces' holders."""

    def __init__(self):
        self.holders = [subprocess.Popen(["unshare", "--net", "sleep", "3600"]) for _ in HOSTS]
        ours = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + READY_TIMEOUT_S
        for h in self.holders:
            while readlink(f"/proc/{h.pid}/ns/net") in (None, ours):
                if time.monotonic() > deadline:
                    raise RuntimeError("a host got no network namespace")
                time.sleep(0.01)
        a, b = (str(h.pid) for h in self.holders)
        check(["ip", "link", "add", "name", "eth0", "netns", a, "type", "veth",
               "peer", "name", "eth0", "netns", b])
        for i, ip in enumerate(HOSTS):
            for argv in (["ip", "link", "set", "lo", "up"],
                         ["ip", "addr", "add", f"{ip}/24", "dev", "eth0"],
                         ["ip", "link", "set", "eth0", "up"],
                         ["ip", "route", "add", "224.0.0.0/4", "dev", "eth0"]):
                check(self.ns(i, argv))

    def ns(self, i, argv):
        return ["nsenter", f"--net=/proc/{self.holders[i].pid}/ns/net", "--", *argv]

    def wait_listening(self, i, proc, what):
        deadline = time.monotonic() + READY_TIMEOUT_S
        probe = self.ns(i, ["bash", "-c", f"exec 3<>/dev/tcp/{HOSTS[i]}/{PORT}"])
        while subprocess.run(probe, stderr=subprocess.DEVNULL).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} is not listening on {HOSTS[i]}:{PORT}")
            time.sleep(0.1)

    def close(self):
        for h in self.holders:
            h.kill()
            h.wait()


def readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def check(argv):
    subprocess.run(argv, check=True, capture_output=True)


def python_env(home):
    env = peers.child_env()
    for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "LOCALSEND_ALIAS", "LOCALSEND_PIN",
              "LOCALSENDD_SOCKET"):
        env.pop(k, None)
    env.update(HOME=home, XDG_RUNTIME_DIR=f"{home}/run", XDG_STATE_HOME=f"{home}/state",
               XDG_CONFIG_HOME=f"{home}/config")
    os.makedirs(f"{home}/run", mode=0o700, exist_ok=True)
    return env


def ferry_env(home):
    env = peers.child_env()
    env.update(HOME=home, XDG_CONFIG_HOME=f"{home}/config")
    return env


def timed(argv, tag, env):
    """Starts argv (already wrapped in nsenter, or not) under /usr/bin/time."""
    if argv[0] == "nsenter":
        cut = argv.index("--") + 1
        argv = argv[:cut] + ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tag + ".time"] + argv[cut:]
    else:
        argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tag + ".time", *argv]
    log = open(tag + ".log", "wb")
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)
    log.close()
    return proc


def finish(proc, tag):
    """Waits (bounded); returns (returncode, (wall, user, sys, rss KiB))."""
    try:
        proc.wait(RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        peers.stop(proc)
    return proc.returncode, peers.read_time(tag + ".time")


class Bench:
    def __init__(self, args):
        self.args, self.lan, self.n = args, Lan(), 0
        self.daemon = None
        self.ferry_homes = [os.path.join(args.work, f"ferry-home-{i}") for i in (0, 1)]
        self.venv = os.path.join(args.peers, "venv/bin")

    def tag(self, name):
        self.n += 1
        return os.path.join(self.args.work, f"lan-{self.n}-{name}")

    def out_dir(self):
        d = os.path.join(self.args.recv_dir, f"lan-out-{self.n}")
        os.makedirs(d)
        return d

    # localsendd in host 0, unattended, saving into the receive directory.
    def start_daemon(self):
        home = os.path.join(self.args.work, "localsendd-home")
        self.daemon_dl = os.path.join(self.args.recv_dir, "localsendd-downloads")
        os.makedirs(self.daemon_dl, exist_ok=True)
        self.daemon_env = python_env(home)
        log = open(os.path.join(self.args.work, "localsendd.log"), "wb")
        argv = self.lan.ns(0, [f"{self.venv}/localsendd", "--alias", "daemonA",
                               "--download-dir", self.daemon_dl, "--unattended"])
        self.daemon = subprocess.Popen(argv, env=self.daemon_env, stdout=log,
                                       stderr=subprocess.STDOUT)
        log.close()
        self.lan.wait_listening(0, self.daemon, "localsendd")

    def stop_daemon(self):
        if self.daemon is not None:
            self.daemon.terminate()
            try:
                self.daemon.wait(10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
            self.daemon = None

    def ferry_receive(self, host, out, tag):
        argv = self.lan.ns(host, [self.args.ferry, "receive", "--lan", "--yes", "-q",
                                  "--alias", "ferryB", "-o", out])
        proc = timed(argv, tag, ferry_env(self.ferry_homes[host]))
        self.lan.wait_listening(host, proc, "ferry receive")
        return proc

    def ferry_send(self, host, to, source, tag, extra=()):
        argv = self.lan.ns(host, [self.args.ferry, "send", "--lan", "-q", "--alias", "ferryA",
                                  *extra, "--to", to, source])
        return timed(argv, tag, ferry_env(self.ferry_homes[host]))

    def ferry_to_daemon(self, source):
        tag = self.tag("ferry-send")
        before = tb.cpu_seconds(self.daemon.pid)
        rc, t = finish(self.ferry_send(1, HOSTS[0], source, tag), tag)
        peer_cpu = tb.cpu_seconds(self.daemon.pid) - before
        ok = rc == 0 and tb.same_file(source, self.daemon_dl, self.args.size_bytes)
        clear(self.daemon_dl)
        return result(ok, t[0], t[1] + t[2], peer_cpu, t[3], tag)

    def daemon_to_ferry(self, source):
        out, rtag, ctag = self.out_dir(), self.tag("ferry-recv"), self.tag("localsendctl")
        recv = self.ferry_receive(1, out, rtag)
        before = tb.cpu_seconds(self.daemon.pid)
        ctl = self.lan.ns(0, [f"{self.venv}/localsendctl", "send", source, "--to", HOSTS[1],
                              "--wait"])
        crc, c = finish(timed(ctl, ctag, self.daemon_env), ctag)
        peer_cpu = tb.cpu_seconds(self.daemon.pid) - before + c[1] + c[2]
        rrc, r = finish(recv, rtag)
        ok = crc == 0 and rrc == 0 and tb.same_file(source, out, self.args.size_bytes)
        clear(out)
        return result(ok, c[0], r[1] + r[2], peer_cpu, r[3], rtag)

    def cli_to_ferry(self, source):
        out, rtag, stag = self.out_dir(), self.tag("ferry-recv"), self.tag("localsend-cli")
        recv = self.ferry_receive(1, out, rtag)
        env = python_env(os.path.join(self.args.work, "localsend-cli-home"))
        cli = self.lan.ns(0, [f"{self.venv}/localsend-cli", "send", HOSTS[1], source])
        src, s = finish(timed(cli, stag, env), stag)
        rrc, r = finish(recv, rtag)
        ok = src == 0 and rrc == 0 and tb.same_file(source, out, self.args.size_bytes)
        clear(out)
        return result(ok, s[0], r[1] + r[2], s[1] + s[2], r[3], rtag)

    def ferry_to_ferry(self, source, extra=()):
        out, rtag, stag = self.out_dir(), self.tag("ferry-recv"), self.tag("ferry-send")
        recv = self.ferry_receive(1, out, rtag)
        src, s = finish(self.ferry_send(0, HOSTS[1], source, stag, extra), stag)
        rrc, r = finish(recv, rtag)
        ok = src == 0 and rrc == 0 and tb.same_file(source, out, self.args.size_bytes)
        clear(out)
        return result(ok, s[0], s[1] + s[2] + r[1] + r[2], None, max(s[3], r[3]), stag)

    def ferry_to_ferry_v1(self, source):
        """Plain LocalSend between two ferry (--v1): no native frames."""
        return self.ferry_to_ferry(source, ("--v1",))

    def native_loopback(self, source):
        """ferry's native wormhole protocol, direct on 127.0.0.1 (the suite's servers)."""
        setup = peers.Setup(self.args.ferry, self.args.peers, "ws://127.0.0.1:4000/v1")
        code = f"{700 + self.n}-lan-bench"
        out, stag, rtag = self.out_dir(), self.tag("native-send"), self.tag("native-recv")
        send = peers.ferry(setup, "send", code, source, False, tb.PY_RELAY, "native")
        recv = peers.ferry(setup, "receive", code, out, False, tb.PY_RELAY, "native")
        sp = peers.spawn_timed(send, stag + ".time", stag + ".log")
        tb.wait_for_text(stag + ".log", code, sp)
        t0 = time.monotonic()
        rp = peers.spawn_timed(recv, rtag + ".time", rtag + ".log")
        rrc, r = finish(rp, rtag)
        src, s = finish(sp, stag)
        wall = time.monotonic() - t0
        ok = src == 0 and rrc == 0 and tb.same_file(source, out, self.args.size_bytes)
        clear(out)
        return result(ok, wall, s[1] + s[2] + r[1] + r[2], None, max(s[3], r[3]), stag)


def clear(d):
    subprocess.run(["rm", "-rf", d])
    os.makedirs(d, exist_ok=True)


def result(ok, wall, ferry_cpu, peer_cpu, rss_kib, tag):
    if not ok:
        with open(tag + ".log", "rb") as f:
            tail = f.read().decode("utf-8", "replace").strip().splitlines()[-4:]
        print(f"  failed run ({tag}): " + " | ".join(tail)[:400], file=sys.stderr)
    return {"ok": ok, "wall": wall, "ferry_cpu": ferry_cpu, "peer_cpu": peer_cpu,
            "rss": rss_kib / 1024}


CASES = (
    ("ferry->localsendd", "ferry_to_daemon"),
    ("localsendd->ferry", "daemon_to_ferry"),
    ("localsend-cli->ferry", "cli_to_ferry"),
    ("ferry->ferry LAN", "ferry_to_ferry"),
    ("ferry->ferry LAN --v1", "ferry_to_ferry_v1"),
    ("ferry->ferry native loopback", "native_loopback"),
)


def run(args):
    source = os.path.join(args.work, "lan-bench.bin")
    with open(source, "wb") as f:
        for _ in range(args.size_bytes // (1 << 20)):
            f.write(os.urandom(1 << 20))
        f.write(os.urandom(args.size_bytes % (1 << 20)))
    bench = Bench(args)
    runs = {name: [] for name, _ in CASES}
    try:
        bench.start_daemon()
        for i in range(args.runs):
            for name, method in CASES:
                if method == "ferry_to_ferry":
                    bench.stop_daemon()  # ferry's sender must not meet localsendd's port
                if method == "ferry_to_daemon" and bench.daemon is None:
                    bench.start_daemon()
                r = getattr(bench, method)(source)
                runs[name].append(r)
                print(f"lan bench: run {i + 1} {name}: {'ok' if r['ok'] else 'FAILED'} "
                      f"{r['wall']:.2f}s", file=sys.stderr)
    finally:
        bench.stop_daemon()
        bench.lan.close()
    return {name: summarize(rs) for name, rs in runs.items()}


def summarize(rs):
    good = [r for r in rs if r["ok"]]
    if not good:
        return None
    med = statistics.median(r["wall"] for r in good)
    mid = min(good, key=lambda r: abs(r["wall"] - med))
    return dict(mid, wall=med, ok=len(good), runs=len(rs),
                rss=max(r["rss"] for r in good))


def print_report(args, results):
    size = args.size_bytes
    print(f"## LAN (LocalSend) transfers, {size / GIB:g} GiB random file, median of {args.runs}\n")
    print("| case | wall s | MB/s | ferry CPU s | peer CPU s | ferry CPU/peer CPU | "
          "ferry peak RSS MiB | ok |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, _ in CASES:
        s = results[name]
        if s is None:
            print(f"| {name} | failed | | | | | | 0/{args.runs} |")
            continue
        peer = "-" if s["peer_cpu"] is None else f"{s['peer_cpu']:.2f}"
        ratio = "-" if not s["peer_cpu"] else f"{s['ferry_cpu'] / s['peer_cpu']:.2f}"
        print(f"| {name} | {s['wall']:.2f} | {size / s['wall'] / MB:.0f} | "
              f"{s['ferry_cpu']:.2f} | {peer} | {ratio} | {s['rss']:.1f} | "
              f"{s['ok']}/{s['runs']} |")
    print("\nRatios (issue 12's targets):")
    for name in ("ferry->localsendd", "localsendd->ferry", "localsend-cli->ferry"):
        s = results[name]
        if s and s["peer_cpu"]:
            r = s["ferry_cpu"] / s["peer_cpu"]
            print(f"- {name}: ferry CPU per GiB / peer CPU per GiB = {r:.2f} "
                  f"(target <= 0.33: {'met' if r <= 1 / 3 else 'NOT met'})")
    lan, loop = results["ferry->ferry LAN"], results["ferry->ferry native loopback"]
    if lan and loop:
        r = loop["wall"] / lan["wall"]
        print(f"- ferry->ferry LAN / native loopback rate = {r * 100:.0f} % "
              f"(target >= 80 %: {'met' if r >= 0.8 else 'NOT met'})")
    lan_rss = [results[n]["rss"] for n, m in CASES if m != "native_loopback" and results[n]]
    if lan_rss:
        top = max(lan_rss)
        print(f"- ferry's peak RSS over the LAN cases = {top:.1f} MiB "
              f"(target < 64 MiB: {'met' if top < 64 else 'NOT met'})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--peers", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--recv-dir", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", default="1G")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    args.size_bytes = tb.parse_size(args.size)
    results = run(args)
    print_report(args, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
