#!/usr/bin/env python3
"""bench/transfer's runner, started by bench/transfer inside the private network
namespace (interop/run-in-netns.sh: loopback only, 198.18.0.1 on lo, the Python
mailbox on :4000 and relay on :4001, transit.magic-wormhole.io -> 127.0.0.1).

For every case (sender -> receiver, direct or relayed, through which relay) and
every size it runs the transfer RUNS times, checks the received bytes, and keeps
wall time (receiver start to both exited), user+sys CPU and peak RSS of both
sides. Then the references, the table, and the ratios.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in the clone
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer_peers as peers  # noqa: E402
import transfer_refs as refs  # noqa: E402

FERRY_SERVE_RELAY = "tcp:127.0.0.1:4101"
PY_RELAY = "tcp:127.0.0.1:4001"
CODE_TIMEOUT_S = 30
RUN_TIMEOUT_S = 600
MB = 1e6


def parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * units[s[-1].upper()] if s[-1].upper() in units else int(s)


def human(n):
    for unit, f in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= f and n % f == 0:
            return f"{n // f} {unit}"
    return f"{n} B"


class Case:
    """sender -> receiver over `path` (direct, relay = the Python relay, serve =
    ferry serve's relay); `proto` picks ferry's protocol where it has two."""

    def __init__(self, sender, receiver, path, proto="v1"):
        self.sender, self.receiver, self.path, self.proto = sender, receiver, path, proto

    @property
    def name(self):
        tag = "" if self.proto == "v1" else f" [{self.proto}]"
        return f"{self.sender}->{self.receiver}{tag} {self.path}"


def cases(has_native, has_serve):
    out = []
    for path in ("direct", "relay"):
        out.append(Case("ferry", "ferry", path))
        if has_native:
            out.append(Case("ferry", "ferry", path, "native"))
        for peer in ("python", "william", "rust"):
            out += [Case("ferry", peer, path), Case(peer, "ferry", path), Case(peer, peer, path)]
    if has_serve:
        out.append(Case("ferry", "ferry", "serve"))
        if has_native:
            out.append(Case("ferry", "ferry", "serve", "native"))
        for peer in ("python", "rust"):  # william cannot be pointed at another relay
            out += [Case("ferry", peer, "serve"), Case(peer, "ferry", "serve")]
    return out


class Runner:
    def __init__(self, args, setup, has_v1_flag, relay_pids):
        self.args, self.setup = args, setup
        self.has_v1_flag = has_v1_flag
        # path -> PID of the relay process, to charge its CPU to relayed cases
        self.relay_pids = relay_pids
        self.nameplate = 100

    def sides(self, case, code, source, out_dir):
        relay = case.path != "direct"
        relay_addr = FERRY_SERVE_RELAY if case.path == "serve" else PY_RELAY
        ferry_proto = "native" if case.proto == "native" else (
            "v1-flag" if self.has_v1_flag else "v1")
        send = peers.PEERS[case.sender](self.setup, "send", code, source, relay, relay_addr,
                                        ferry_proto)
        recv = peers.PEERS[case.receiver](self.setup, "receive", code, out_dir, relay,
                                          relay_addr, ferry_proto)
        return send, recv

    def run_once(self, case, source, size, tag):
        self.nameplate += 1
        code = f"{self.nameplate}-bench-transfer"
        out_dir = os.path.join(self.args.recv_dir, f"out-{self.nameplate}")
        os.makedirs(out_dir)
        logs = os.path.join(self.args.work, tag)
        send, recv = self.sides(case, code, source, out_dir)
        relay_pid = self.relay_pids.get(case.path)
        before = cpu_seconds(relay_pid)
        try:
            result = self.time_pair(send, recv, code, logs, out_dir, source, size)
        finally:
            subprocess.run(["rm", "-rf", out_dir])
        after = cpu_seconds(relay_pid)
        result["relay_cpu"] = after - before if before is not None and after is not None else None
        return result

    def time_pair(self, send, recv, code, logs, out_dir, source, size):
        sp = peers.spawn_timed(send, logs + ".send.time", logs + ".send.log")
        rp = None
        try:
            wait_for_text(logs + ".send.log", code, sp)
            t0 = time.monotonic()
            rp = peers.spawn_timed(recv, logs + ".recv.time", logs + ".recv.log")
            rp.wait(RUN_TIMEOUT_S)
            sp.wait(RUN_TIMEOUT_S)
            wall = time.monotonic() - t0
        finally:
            for p in (sp, rp):
                peers.stop(p)
        ok = sp.returncode == 0 and rp.returncode == 0 and same_file(source, out_dir, size)
        if not ok:
            report_failure(logs, sp.returncode, rp.returncode)
        return {
            "wall": wall, "ok": ok,
            "send": peers.read_time(logs + ".send.time"),
            "recv": peers.read_time(logs + ".recv.time"),
        }


def cpu_seconds(pid):
    """user+sys CPU seconds a process has used so far (None if unknown)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listener_pid(port):
    """The PID listening on 127.0.0.1:PORT (the Python relay run-in-netns.sh started)."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True)
    m = re.search(r"pid=(\d+)", out.stdout)
    return int(m.group(1)) if m else None


def report_failure(logs, send_rc, recv_rc):
    """The tail of both sides' output: the logs live in the tmpfs, gone after the run."""
    print(f"  failed run (sender exit {send_rc}, receiver exit {recv_rc}):", file=sys.stderr)
    for side in ("send", "recv"):
        with open(f"{logs}.{side}.log", "rb") as f:
            tail = f.read().decode("utf-8", "replace").strip().splitlines()[-4:]
        for line in tail:
            print(f"    {side}: {line[:200]}", file=sys.stderr)


def wait_for_text(path, text, proc):
    """Bounded wait until the sender shows its code (it is ready for a receiver)."""
    deadline = time.monotonic() + CODE_TIMEOUT_S
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            if text.encode() in f.read():
                return
        if proc.poll() is not None:
            raise RuntimeError(f"sender exited before showing its code: see {path}")
        time.sleep(0.05)
    raise RuntimeError(f"sender showed no code within {CODE_TIMEOUT_S}s: see {path}")


def same_file(source, out_dir, size):
    """The receiver wrote exactly the source's bytes under the same name."""
    got = os.path.join(out_dir, os.path.basename(source))
    if not os.path.isfile(got) or os.path.getsize(got) != size:
        return False
    return subprocess.run(["cmp", "-s", source, got]).returncode == 0


def summarize(runs):
    good = [r for r in runs if r["ok"]]
    if not good:
        return None
    walls = sorted(r["wall"] for r in good)
    med = statistics.median(walls)
    # Report CPU and RSS from the run closest to the median wall time.
    mid = min(good, key=lambda r: abs(r["wall"] - med))
    return {
        "wall": med, "min": walls[0], "max": walls[-1], "ok": len(good), "runs": len(runs),
        "send_cpu": mid["send"][1] + mid["send"][2], "send_rss": mid["send"][3] / 1024,
        "recv_cpu": mid["recv"][1] + mid["recv"][2], "recv_rss": mid["recv"][3] / 1024,
        "send_rss_max": max(r["send"][3] for r in good) / 1024,
        "recv_rss_max": max(r["recv"][3] for r in good) / 1024,
        "relay_cpu": mid.get("relay_cpu"),
    }


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def start_ferry_serve(ferry, work):
    log = open(os.path.join(work, "ferry-serve.log"), "wb")
    host, port = FERRY_SERVE_RELAY.removeprefix("tcp:").split(":")
    proc = subprocess.Popen([ferry, "serve", "--no-mailbox", "--relay-listen", f"{host}:{port}",
                             "--no-relay-ws", "--database", ":memory:"],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("ferry serve did not start: see ferry-serve.log")


def set_bench_address(present):
    """william offers only non-loopback addresses as direct hints: without
    198.18.0.1 it has none, so william->william must use the relay."""
    verb = "add" if present else "del"
    subprocess.run(["ip", "addr", verb, "198.18.0.1/32", "dev", "lo"], check=True)


def run_matrix(args, runner, sources, selected):
    results = {}
    for case in selected:
        no_hint = case.sender == case.receiver == "william" and case.path == "relay"
        if no_hint:
            set_bench_address(False)
        try:
            for size, source in sources:
                runs = []
                for i in range(args.runs):
                    tag = re.sub(r"[^A-Za-z0-9]+", "_", f"{case.name}_{size}_{i}")
                    try:
                        runs.append(runner.run_once(case, source, size, tag))
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        print(f"  {case.name} {human(size)} run {i}: {e}", file=sys.stderr)
                        runs.append({"ok": False, "wall": 0})
                s = summarize(runs)
                results[(case.name, size)] = s
                print(progress_line(case, size, s), file=sys.stderr, flush=True)
        finally:
            if no_hint:
                set_bench_address(True)
    return results


def progress_line(case, size, s):
    if s is None:
        return f"{case.name:34} {human(size):>8}  FAILED"
    return f"{case.name:34} {human(size):>8}  {size / s['wall'] / MB:8.1f} MB/s  ({s['ok']}/{s['runs']} ok, load {load()})"


def print_refs(rows):
    print("\n## References on this machine (same run)\n")
    print(f"| {'reference':56} | {'MB/s':>8} | note |")
    print(f"|{'-' * 58}|{'-' * 10}|------|")
    for name, rate, note in rows:
        r = f"{rate:8.0f}" if rate else "       -"
        print(f"| {name:56} | {r} | {note} |")


def marginal(results, name, big, small):
    """Data-phase rate: the extra bytes over the extra time of the big transfer
    over the small one, which cancels start-up, rendezvous and connection set-up."""
    b, s = results.get((name, big)), results.get((name, small))
    if not b or not s or b["wall"] <= s["wall"]:
        return None
    return (big - small) / (b["wall"] - s["wall"]) / MB


def print_table(results, selected, sizes):
    print("\n## Transfers (median of runs; CPU = user+sys s; RSS = peak MiB; relay CPU = the relay\n"
          "## process's user+sys during the run; data MB/s = (1 GiB - 16 MiB) / (t_1GiB - t_16MiB),\n"
          "## i.e. without start-up and rendezvous)\n")
    head = (f"| {'case':34} | {'size':>7} | {'wall s':>7} | {'MB/s':>7} | {'data MB/s':>9} "
            f"| {'snd CPU':>7} | {'snd RSS':>7} | {'rcv CPU':>7} | {'rcv RSS':>7} | {'relay CPU':>9} | ok |")
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    big, small = max(sizes), min(sizes)
    for case in selected:
        for size in sorted(sizes, reverse=True):
            s = results.get((case.name, size))
            if s is None:
                print(f"| {case.name:34} | {human(size):>7} | failed |")
                continue
            m = marginal(results, case.name, big, small) if size == big else None
            ms = f"{m:9.0f}" if m else " " * 9
            print(f"| {case.name:34} | {human(size):>7} | {s['wall']:7.2f} | "
                  f"{size / s['wall'] / MB:7.0f} | {ms} | {s['send_cpu']:7.2f} | "
                  f"{s['send_rss_max']:7.1f} | {s['recv_cpu']:7.2f} | {s['recv_rss_max']:7.1f} | "
                  f"{relay_cpu(s)} | {s['ok']}/{s['runs']} |")


def relay_cpu(s):
    return f"{s['relay_cpu']:9.2f}" if s.get("relay_cpu") is not None else " " * 9


def rate_of(results, name, size):
    s = results.get((name, size))
    return size / s["wall"] / MB if s else None


def ratio_line(label, num, den, target=None):
    if not num or not den:
        print(f"- {label}: n/a")
        return
    r = num / den
    verdict = "" if target is None else (" — target met" if r >= target else " — target MISSED")
    print(f"- {label}: {num:.0f} / {den:.0f} = {r:.2f}{'' if target is None else f' (target ≥ {target:.2f})'}{verdict}")


def print_ratios(results, ref_rows, size, has_native, has_serve):
    print(f"\n## Ratios ({human(size)}, wall-time MB/s)\n")
    r = lambda name: rate_of(results, name, size)  # noqa: E731
    pairs = {p: r(f"{p}->{p} direct") for p in ("python", "william", "rust")}
    best_peer = max((v, k) for k, v in pairs.items() if v) if any(pairs.values()) else (None, None)
    ff = r("ferry->ferry direct")
    ratio_line(f"ferry->ferry v1 ÷ best peer pair ({best_peer[1]}->{best_peer[1]})", ff,
               best_peer[0], 1.0)
    seals = [v for n, v, _ in ref_rows
             if v and ("secretbox seal" in n or "record_seal/" in n)]
    ratio_line("ferry->ferry v1 ÷ fastest single-core secretbox seal", ff,
               max(seals) if seals else None, 0.60)
    tcp = [v for n, v, _ in ref_rows if v and "loopback TCP" in n]
    ratio_line("ferry->ferry v1 ÷ loopback TCP", ff, max(tcp) if tcp else None)
    if has_native:
        nat = r("ferry->ferry [native] direct")
        ratio_line("ferry->ferry native ÷ v1", nat, ff)
        ratio_line(f"ferry->ferry native ÷ best peer pair ({best_peer[1]}->{best_peer[1]})",
                   nat, best_peer[0], 3.0)
        limit = [v for n, v, _ in ref_rows if v and "aes-256-gcm, loopback (limit)" in n]
        ratio_line("ferry->ferry native ÷ AES-256-GCM record stream (limit)", nat,
                   limit[0] if limit else None, 0.60)
        files = [v for n, v, _ in ref_rows if v and "(file limit)" in n]
        ratio_line("ferry->ferry native ÷ file-to-file record stream (file limit)", nat,
                   files[0] if files else None, 0.85)
        if limit and files:
            print(f"- file I/O share of the file-to-file limit: "
                  f"{100 * (1 - files[0] / limit[0]):.0f} % (1 − file limit ÷ record limit)")
        hashed = [v for n, v, _ in ref_rows if v and "(hashed file limit)" in n]
        ratio_line("ferry->ferry native ÷ the same + BLAKE3 both sides (hashed file limit)",
                   nat, hashed[0] if hashed else None)
        if files and hashed:
            print(f"- hashing share of the hashed file limit: "
                  f"{100 * (1 - hashed[0] / files[0]):.0f} % (1 − hashed ÷ file limit)")
        ratio_line("ferry->ferry native relayed (Python relay) ÷ direct",
                   r("ferry->ferry [native] relay"), nat, 0.90)
        if has_serve:
            ratio_line("ferry->ferry native relayed (ferry serve) ÷ direct",
                       r("ferry->ferry [native] serve"), nat, 0.90)
    for path in ("direct", "relay"):
        for p in ("python", "william", "rust"):
            own = r(f"{p}->{p} {path}")
            ratio_line(f"ferry->{p} ÷ {p}->{p} ({path})", r(f"ferry->{p} {path}"), own, 1.0)
            ratio_line(f"{p}->ferry ÷ {p}->{p} ({path})", r(f"{p}->ferry {path}"), own, 1.0)
    ratio_line("ferry->ferry v1 relayed (Python relay) ÷ direct", r("ferry->ferry relay"), ff, 0.90)
    if has_serve:
        ratio_line("ferry->ferry v1 relayed (ferry serve) ÷ direct", r("ferry->ferry serve"), ff,
                   0.90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--peers", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--recv-dir", required=True)
    ap.add_argument("--disk-dir")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="1G,16M")
    ap.add_argument("--only", help="regex on case names, e.g. 'ferry->ferry'")
    ap.add_argument("--skip-refs", action="store_true")
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args()

    help_send = subprocess.run([args.ferry, "send", "--help"], capture_output=True, text=True).stdout
    has_v1_flag = "--v1" in help_send
    has_serve = subprocess.run([args.ferry, "serve", "--help"], capture_output=True).returncode == 0
    setup = peers.Setup(args.ferry, args.peers, os.environ["FERRY_TEST_MAILBOX"])
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    print(f"# bench/transfer — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
    print(f"- machine: {os.cpu_count()} cores, load at start {load()}")
    print(f"- ferry: {args.ferry} (native protocol: {'yes' if has_v1_flag else 'no'}; "
          f"ferry serve: {'yes' if has_serve else 'no'})")
    print(f"- received into {args.recv_dir} ({fs_type(args.recv_dir)}); sources in {args.work} "
          f"({fs_type(args.work)}); {args.runs} runs per case")

    sources = []
    for size in sizes:
        path = os.path.join(args.work, f"random-{human(size).replace(' ', '')}.bin")
        subprocess.run(["head", "-c", str(size), "/dev/urandom"], stdout=open(path, "wb"),
                       check=True)
        sources.append((size, path))

    ref_rows = []
    if not args.skip_refs:
        ref_rows += refs.criterion(args.root)
        ref_rows += refs.transit_limit(args.root)
        ref_rows += refs.pynacl(os.path.join(args.peers, "venv/bin/python"))
        ref_rows += refs.iperf3() + refs.tcp_copy()
        ref_rows += refs.files(max(sources)[1], args.recv_dir, args.disk_dir)
        ref_rows += refs.transit_limit_files(args.root, max(sources)[1], args.recv_dir,
                                            args.runs)

    serve = start_ferry_serve(args.ferry, args.work) if has_serve else None
    relay_pids = {"relay": listener_pid(4001)}
    if serve:
        relay_pids["serve"] = serve.pid
    selected = [c for c in cases(has_v1_flag, has_serve)
                if not args.only or re.search(args.only, c.name)]
    try:
        results = run_matrix(args, Runner(args, setup, has_v1_flag, relay_pids), sources,
                             selected)
    finally:
        if serve:
            serve.kill()
            serve.wait()
    print_refs(ref_rows)
    print_table(results, selected, sizes)
    print_ratios(results, ref_rows, max(sizes), has_v1_flag, has_serve)
    print(f"\n- load at end {load()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"refs": ref_rows,
                       "results": {f"{k[0]}|{k[1]}": v for k, v in results.items()}}, f, indent=1)


def fs_type(path):
    out = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True)
    return out.stdout.strip() or "?"


if __name__ == "__main__":
    main()
