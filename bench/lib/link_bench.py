#!/usr/bin/env python3
"""bench/transfer --link's runner: transfers over emulated long, lossy links.

Started by bench/transfer inside a private mount namespace (its /run/netns and
/etc/netns are tmpfs of its own). For each congestion control and each link row it
makes two network namespaces joined by the userspace link emulator (`ferry-link`:
TUN devices, one-way delay RTT/2, random loss both ways, the line rate, a drop-tail
queue of one bandwidth-delay product), runs `ferry serve` (mailbox + relay) and the
Python transit relay (the peers' relay) in the sender's namespace, and sends one
random file from namespace A to namespace B with ferry native, ferry v1, Python
`wormhole` and `wormhole-william` (each peer with itself). A transfer that has not
finished after --max-secs (--peer-max-secs for the peers' cases) is stopped; its
rate is then the bytes the receiver's interface took in over that time (IP and TCP
headers included: an upper bound), marked `cut`.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer_bench as tb  # noqa: E402
import transfer_peers as peers  # noqa: E402

NS_A, NS_B = "ferrylink-a", "ferrylink-b"
ADDR_A, ADDR_B = "10.99.0.1", "10.99.0.2"
DEV = "fl0"
MAILBOX = f"ws://{ADDR_A}:4000/v1"
RELAY = f"tcp:{ADDR_A}:4001"
# The peers' relay: the Python transit relay, what they use in the wild. `ferry
# serve`'s relay asks for BBR on its sockets, which would carry a relayed peer
# over the lossy hop with ferry's congestion control, not its own.
PEER_RELAY = f"tcp:{ADDR_A}:4002"
# rate (bit/s), round-trip time, loss (each direction)
ROWS = [("1G", 1e9, "10ms", "0"), ("100M", 100e6, "80ms", "0.5%"), ("20M", 20e6, "200ms", "1%")]
# (label, sender, receiver, ferry protocol)
CASES = [("ferry native", "ferry", "ferry", "native"), ("ferry v1", "ferry", "ferry", "v1-flag"),
         ("python wormhole", "python", "python", None), ("wormhole-william", "william", "william", None),
         # The hole-punching path measured on its own (FERRY_QUIC=only: no direct TCP).
         ("ferry native QUIC", "ferry", "ferry", "native-quic")]


def sh(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True).stdout


def in_ns(ns, argv):
    return ["ip", "netns", "exec", ns, *argv]


class Link:
    """The two namespaces and the emulator between them, for one row."""

    def __init__(self, emulator, rate, rtt, loss, cc, work):
        for ns in (NS_A, NS_B):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        self.out = open(os.path.join(work, "ferry-link.out"), "w+")
        self.proc = subprocess.Popen([emulator, "--a", f"{NS_A}:{DEV}", "--b", f"{NS_B}:{DEV}",
                                      "--rate", rate, "--rtt", rtt, "--loss", loss],
                                     stdin=subprocess.PIPE, stdout=self.out,
                                     stderr=subprocess.STDOUT, text=True)
        self.wait_ready()
        for ns, me, peer in ((NS_A, ADDR_A, ADDR_B), (NS_B, ADDR_B, ADDR_A)):
            sh("ip", "-n", ns, "addr", "add", me, "peer", peer, "dev", DEV)
            sh("ip", "-n", ns, "link", "set", DEV, "up", "txqueuelen", "1000")
            sh(*in_ns(ns, ["sysctl", "-qw", f"net.ipv4.tcp_congestion_control={cc}"]))

    def wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.out.seek(0)
            if "ready" in self.out.read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.out.seek(0)
        raise RuntimeError(f"ferry-link did not start: {self.out.read()}")

    def stats(self):
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        time.sleep(0.2)
        self.out.seek(0)
        return self.out.read().strip().splitlines()[-2:]

    def cut(self, secs):
        self.proc.stdin.write(f"cut {secs}\n")
        self.proc.stdin.flush()

    def close(self):
        self.proc.kill()
        self.proc.wait()
        for ns in (NS_A, NS_B):
            sh("ip", "netns", "del", ns, check=False)


def rx_bytes(ns):
    out = sh(*in_ns(ns, ["cat", f"/sys/class/net/{DEV}/statistics/rx_bytes"]), check=False)
    return int(out.strip() or 0)


SAMPLER = f"""
import sys, time
path = "/sys/class/net/{DEV}/statistics/rx_bytes"
while True:
    with open(path) as f:
        print(time.monotonic(), f.read().strip(), flush=True)
    time.sleep(0.02)
"""


def start_sampler(ns, out_path):
    """The receiver's interface byte count every 20 ms (monotonic time, bytes)."""
    return subprocess.Popen(in_ns(ns, [sys.executable, "-c", SAMPLER]), stdout=open(out_path, "w"))


def data_rate(samples_path, size):
    """The file's rate over the middle 90 % of the bytes the receiver took in
    (5 % to 95 % of the total): without start-up, rendezvous and the last ack."""
    with open(samples_path) as f:
        pts = [(float(t), int(b)) for t, b in (line.split() for line in f if line.strip())]
    if len(pts) < 3:
        return None
    base, total = pts[0][1], pts[-1][1] - pts[0][1]
    lo = next(t for t, b in pts if b - base >= 0.05 * total)
    hi = next(t for t, b in pts if b - base >= 0.95 * total)
    return 0.9 * size / (hi - lo) if hi > lo else None


def start_in_a(argv, port, log_name, what, work):
    """Starts `argv` in the sender's namespace; returns it once ADDR_A:port accepts."""
    log = open(os.path.join(work, log_name), "wb")
    proc = subprocess.Popen(in_ns(NS_A, argv), stdout=log, stderr=subprocess.STDOUT, cwd=work)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = f"exec 3<>/dev/tcp/{ADDR_A}/{port}"
        if subprocess.run(in_ns(NS_A, ["bash", "-c", probe]), capture_output=True).returncode == 0:
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{what} did not start: see {log_name}")


def start_serve(ferry, work):
    argv = [ferry, "serve", "--mailbox-listen", f"{ADDR_A}:4000", "--relay-listen",
            f"{ADDR_A}:4001", "--no-relay-ws", "--no-web", "--database", ":memory:"]
    return start_in_a(argv, 4000, "serve.log", "ferry serve", work)


def start_peer_relay(peers_dir, work):
    """The Python transit relay in the sender's namespace, for the peers' cases."""
    twistd = os.path.join(peers_dir, "venv", "bin", "twistd")
    argv = [twistd, "-n", "--pidfile=", "transitrelay", "--port",
            f"tcp:4002:interface={ADDR_A}", "--usage-db", os.path.join(work, "relay.sqlite")]
    return start_in_a(argv, 4002, "peer-relay.log", "the Python transit relay", work)


# One plain TCP stream: the sink counts what it takes in over the sender's SECS.
SINK = f"""
import socket, sys, time
ls = socket.create_server(("{ADDR_B}", 5299))
print("listening", flush=True)
c, _ = ls.accept()
buf, n, t0 = bytearray(1 << 20), 0, None
while True:
    k = c.recv_into(buf)
    if not k:
        break
    t0 = t0 or time.monotonic()
    n += k
print(n * 8 / (time.monotonic() - t0) / 1e6)
"""
SOURCE = f"""
import socket, sys, time
s = socket.create_connection(("{ADDR_B}", 5299))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"bbr")
chunk, end = bytes(1 << 20), time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    s.sendall(chunk)
s.close()
"""


CEILING_SECS = 15


def ceiling(secs=CEILING_SECS):
    """What one plain TCP stream (BBR, as ferry asks for; no encryption, no files)
    carries over the link as emulated on this machine, in Mbit/s: on the 1 Gbit/s
    row the emulator's CPU share is the limit, not the line rate."""
    sink = subprocess.Popen(in_ns(NS_B, [sys.executable, "-c", SINK]), stdout=subprocess.PIPE,
                            text=True)
    try:
        sink.stdout.readline()
        subprocess.run(in_ns(NS_A, [sys.executable, "-c", SOURCE, str(secs)]), check=True,
                       timeout=secs + 30)
        out, _ = sink.communicate(timeout=secs + 30)
        return float(out.strip())
    except (subprocess.SubprocessError, ValueError):
        return None
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()


def print_ceilings(results, ceilings):
    print(f"\n(one plain TCP stream over the same emulated link, BBR, {CEILING_SECS} s, "
          "after the row's cases: no encryption, no files; ferry native's data rate against "
          "it)\n")
    for (cc, row), top in ceilings.items():
        native = results.get((cc, row, "ferry native"))
        ratio = f"; ferry native ÷ it {mbits(native)[1] / top:.2f}" if native and top else ""
        shown = f"{top:.1f} Mbit/s" if top else "not measured"
        print(f"- {cc} {row}: {shown}{ratio}")


def prepare(args, setup, case, source, nameplate):
    """The code, receive directory, log prefix, and both sides' commands of one case."""
    label, sender, receiver, proto = case
    relay = RELAY if sender == "ferry" else PEER_RELAY
    code = f"{nameplate}-link-bench"
    out_dir = os.path.join(args.work, f"out-{nameplate}")
    os.makedirs(out_dir)
    logs = os.path.join(args.work, f"case-{nameplate}")
    env = []
    if proto == "native-quic":
        proto, env = "native", ["env", "FERRY_QUIC=only"]
    send = peers.PEERS[sender](setup, "send", code, source, False, relay, proto)
    recv = peers.PEERS[receiver](setup, "receive", code, out_dir, False, relay, proto)
    send.argv, recv.argv = in_ns(NS_A, env + send.argv), in_ns(NS_B, env + recv.argv)
    return code, out_dir, logs, send, recv


def run_case(args, setup, case, source, size, nameplate):
    code, out_dir, logs, send, recv = prepare(args, setup, case, source, nameplate)
    limit = args.max_secs if case[1] == "ferry" else args.peer_max_secs
    sp = peers.spawn_timed(send, logs + ".send.time", logs + ".send.log")
    rp, sampler = None, None
    try:
        tb.wait_for_text(logs + ".send.log", code, sp)
        sampler = start_sampler(NS_B, logs + ".rx")
        time.sleep(0.1)
        rx0, t0 = rx_bytes(NS_B), time.monotonic()
        rp = peers.spawn_timed(recv, logs + ".recv.time", logs + ".recv.log")
        cut = False
        try:
            rp.wait(limit)
            sp.wait(max(5, limit - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            cut = True
        wall = time.monotonic() - t0
        carried = rx_bytes(NS_B) - rx0
    finally:
        for p in (sp, rp):
            peers.stop(p)
        if sampler is not None:
            sampler.kill()
            sampler.wait()
    if cut:
        result = {"wall": wall, "bytes": carried, "cut": True, "ok": False}
    else:
        ok = sp.returncode == 0 and rp.returncode == 0 and tb.same_file(source, out_dir, size)
        if not ok:
            tb.report_failure(logs, sp.returncode, rp.returncode)
        result = {"wall": wall, "bytes": size, "cut": False, "ok": ok,
                  "send_cpu": sum(peers.read_time(logs + ".send.time")[1:3]),
                  "recv_cpu": sum(peers.read_time(logs + ".recv.time")[1:3]),
                  "data_rate": data_rate(logs + ".rx", size)}
    subprocess.run(["rm", "-rf", out_dir])
    return result


# What a side prints when it notices a dead link and starts healing (ferry native); any
# other side notices only by exiting.
NOTICED = ("Connection lost",)


def noticed(proc, log_path):
    if proc.poll() is not None:
        return True
    with open(log_path, errors="replace") as f:
        return any(n in f.read() for n in NOTICED)


def run_dead_link(args, setup, link, case, source, size, nameplate):
    """Cuts the link for good once the receiver took in a tenth of the file; returns
    the seconds each side took to notice (exit, or say it lost the connection), or
    None when it had not after --max-secs."""
    code, out_dir, logs, send, recv = prepare(args, setup, case, source, nameplate)
    sides = {"send": (peers.spawn_timed(send, logs + ".send.time", logs + ".send.log"),
                      logs + ".send.log")}
    try:
        tb.wait_for_text(logs + ".send.log", code, sides["send"][0])
        rx0 = rx_bytes(NS_B)
        sides["recv"] = (peers.spawn_timed(recv, logs + ".recv.time", logs + ".recv.log"),
                         logs + ".recv.log")
        deadline = time.monotonic() + args.max_secs
        while rx_bytes(NS_B) - rx0 < size / 10:
            if time.monotonic() > deadline or any(p.poll() is not None for p, _ in sides.values()):
                raise RuntimeError("the transfer ended or stalled before a tenth of the file")
            time.sleep(0.01)
        link.cut(10 * args.max_secs)
        t0 = time.monotonic()
        seen = {}
        while len(seen) < 2 and time.monotonic() - t0 < args.max_secs:
            for side, (proc, log) in sides.items():
                if side not in seen and noticed(proc, log):
                    seen[side] = time.monotonic() - t0
            time.sleep(0.05)
        return {side: seen.get(side) for side in sides}
    finally:
        for proc, _ in sides.values():
            peers.stop(proc)
        link.cut(0)
        subprocess.run(["rm", "-rf", out_dir])


def print_dead_link(results, ccs, rows, cases, max_secs):
    print("\n(seconds from a permanent cut, a tenth into the file, until each side exits or\n"
          f"says it lost the connection; '> {max_secs:g}' = not within --max-secs)\n")
    print("| CC    | link (rate RTT loss) | case             | sender s | receiver s |")
    print("|-------|----------------------|------------------|----------|------------|")
    show = lambda t: f"{t:8.1f}" if t is not None else f"> {max_secs:g}".rjust(8)  # noqa: E731
    for cc in ccs:
        for row in rows:
            for case in cases:
                r = results.get((cc, row[0], case[0]))
                if r:
                    link = f"{row[0]:>4} {row[2]:>5} {row[3]:>4}".ljust(20)
                    print(f"| {cc:5} | {link} | {case[0]:16} | "
                          f"{show(r.get('send'))} | {show(r.get('recv')):>10} |")


def mbits(r):
    """(whole-run Mbit/s, data-phase Mbit/s or the whole-run one for a cut run)."""
    whole = r["bytes"] * 8 / r["wall"] / 1e6
    data = r.get("data_rate")
    return whole, (data * 8 / 1e6 if data else whole)


def fmt_row(cc, row, label, r, best_peer):
    name, rate_bps = row[0], row[1]
    whole, data = mbits(r)
    pct = 100 * data * 1e6 / rate_bps
    vs = f"{data / best_peer:5.1f}×" if best_peer else "    -"
    state = "cut" if r["cut"] else ("ok" if r["ok"] else "FAILED")
    return (f"| {cc:5} | {name:>4} {row[2]:>5} {row[3]:>4} | {label:16} | {r['wall']:7.1f} | "
            f"{whole:8.1f} | {data:8.1f} | {pct:5.1f} % | {vs:>11} | {state:6} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--emulator", required=True)
    ap.add_argument("--peers", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--size", default="32M")
    ap.add_argument("--max-secs", type=float, default=120)
    ap.add_argument("--peer-max-secs", type=float,
                    help="the peers' cases' limit (default --max-secs): on the lossy rows "
                         "they reach their steady rate long before 1 GiB, which they would "
                         "take hours to carry")
    ap.add_argument("--ccs", default="bbr,cubic")
    ap.add_argument("--rows", default="1G,100M,20M", help="which rows, by rate")
    ap.add_argument("--only", help="regex on case labels")
    ap.add_argument("--dead-link", action="store_true",
                    help="instead of rates: the time each side takes to notice a link cut for good")
    ap.add_argument("--json")
    args = ap.parse_args()
    args.peer_max_secs = args.peer_max_secs or args.max_secs

    size = tb.parse_size(args.size)
    source = os.path.join(args.work, "random.bin")
    subprocess.run(["head", "-c", str(size), "/dev/urandom"], stdout=open(source, "wb"), check=True)
    setup = peers.Setup(args.ferry, args.peers, MAILBOX)
    setup.listen = {"send": ADDR_A, "receive": ADDR_B}
    rows = [r for r in ROWS if r[0] in args.rows.split(",")]
    cases = [c for c in CASES if not args.only or re.search(args.only, c[0])]
    print(f"# bench/transfer --link — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
    print(f"- {os.cpu_count()} cores, load at start {tb.load()}; file {tb.human(size)}; "
          f"sender in one namespace (with `ferry serve`, whose relay ferry's cases use, "
          f"and the Python transit relay, which the peers' cases use), receiver in the other")
    print("- link: ferry-link (userspace, TUN), RTT = 2 × one-way delay, loss each way, "
          "queue = 1 BDP (≥ 64 KiB), MTU 1500; rows without loss use segmentation "
          "offloads (super-packets charged per 1500-byte segment), lossy rows real segments")
    print(f"- a case is cut after {args.max_secs:g} s (the peers' after "
          f"{args.peer_max_secs:g} s); a cut case's rate is what the "
          "receiver's interface took in, headers included")
    results, nameplate, ceilings = {}, 100, {}
    for cc in args.ccs.split(","):
        for row in rows:
            link = Link(args.emulator, row[0], row[2], row[3], cc, args.work)
            serve, peer_relay = None, None
            try:
                if cc == args.ccs.split(",")[0] and row == rows[0]:
                    mem = sh(*in_ns(NS_A, ["sysctl", "-n", "net.ipv4.tcp_rmem",
                                            "net.ipv4.tcp_wmem"])).split("\n")
                    print(f"- namespaces' tcp_rmem {mem[0]!r}, tcp_wmem {mem[1]!r}")
                serve = start_serve(args.ferry, args.work)
                peer_relay = start_peer_relay(args.peers, args.work)
                for case in cases:
                    nameplate += 1
                    try:
                        if args.dead_link:
                            r = run_dead_link(args, setup, link, case, source, size, nameplate)
                            results[(cc, row[0], case[0])] = r
                            print(f"{cc} {row[0]} {case[0]}: noticed after {r}",
                                  file=sys.stderr, flush=True)
                            continue
                        r = run_case(args, setup, case, source, size, nameplate)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        print(f"  {cc} {row[0]} {case[0]}: {e}", file=sys.stderr)
                        log = os.path.join(args.work, f"case-{nameplate}.send.log")
                        if os.path.exists(log):
                            print(open(log, errors="replace").read()[-600:], file=sys.stderr)
                        r = {"wall": 1, "bytes": 0, "cut": False, "ok": False}
                    results[(cc, row[0], case[0])] = r
                    print(f"{cc} {row[0]} {case[0]}: {r['bytes'] * 8 / r['wall'] / 1e6:.1f} "
                          f"Mbit/s in {r['wall']:.1f} s {'(cut)' if r['cut'] else ''} "
                          f"load {tb.load()}", file=sys.stderr, flush=True)
                print(f"  link {row[0]} {cc}: {' / '.join(link.stats())}", file=sys.stderr)
                if not args.dead_link:
                    ceilings[(cc, row[0])] = ceiling()
            finally:
                for proc in (serve, peer_relay):
                    if proc:
                        proc.kill()
                        proc.wait()
                link.close()
    if args.dead_link:
        print_dead_link(results, args.ccs.split(","), rows, cases, args.max_secs)
    else:
        print_table(results, args.ccs.split(","), rows, cases)
        print_ceilings(results, ceilings)
    print(f"\n- load at end {tb.load()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"|".join(k): v for k, v in results.items()}, f, indent=1)


def print_table(results, ccs, rows, cases):
    print("\n(Mbit/s: the file over the whole run, from the receiver's start; data: over the\n"
          "middle 90 % of its bytes; % link and ÷ best peer (Python, william) from data)\n")
    print("| CC    | link (rate RTT loss) | case             |  wall s |   Mbit/s |     data |"
          " % link | ÷ best peer | state  |")
    print("|-------|----------------------|------------------|---------|----------|----------|"
          "--------|-------------|--------|")
    for cc in ccs:
        for row in rows:
            peer_rates = [mbits(r)[1] for (c, n, label), r in results.items()
                          if c == cc and n == row[0] and label in ("python wormhole",
                                                                   "wormhole-william")]
            best = max(peer_rates) if peer_rates else None
            for case in cases:
                r = results.get((cc, row[0], case[0]))
                if r:
                    print(fmt_row(cc, row, case[0], r, best))


if __name__ == "__main__":
    main()
