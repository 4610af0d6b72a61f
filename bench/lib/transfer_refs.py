"""The limits of this machine that a transfer cannot beat, measured in the same run:
ciphers and hashes on one core, a plain loopback TCP copy, and file read/write.

Every function returns a list of (name, MB/s, note) rows; a reference that cannot
be measured here returns a row with None and says why.
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import threading
import time

MB = 1e6


def timed_rate(nbytes, fn):
    t0 = time.perf_counter()
    fn()
    return nbytes / (time.perf_counter() - t0) / MB


# criterion's --output-format bencher line: "test GROUP/NAME/SIZE ... bench: N ns/iter (+/- M)"
BENCHER = re.compile(r"^test (\S+) \.\.\. bench:\s+([\d,.]+) ns/iter")


def criterion(root):
    """ferry-proto's crypto benches (built beforehand; no network needed)."""
    cmd = ["cargo", "bench", "--offline", "-q", "-p", "ferry-proto", "--bench", "crypto", "--",
           "--output-format", "bencher", "--warm-up-time", "1", "--measurement-time", "3"]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    rows = []
    for line in out.stdout.splitlines():
        m = BENCHER.match(line.strip())
        if not m:
            continue
        name, ns = m.group(1), float(m.group(2).replace(",", ""))
        last = name.rsplit("/", 1)[1]
        size = int(last) if last.isdigit() else 256 * 1024
        rows.append((f"criterion {name}", size / ns * 1e9 / MB, "1 core, ferry-proto bench"))
    if not rows:
        rows.append(("criterion ferry-proto crypto", None, out.stderr.strip()[-300:]))
    return rows


def transit_limit(root):
    """The native protocol's ceiling on this machine: one loopback TCP stream of
    native records, sealed on one thread and opened on another, no file I/O."""
    exe = os.path.join(root, "target/release/examples/transit_limit")
    rows = []
    for aead in ("aes-256-gcm", "chacha20-poly1305"):
        name = f"native record stream, {aead}, loopback (limit)"
        try:
            out = subprocess.run([exe, "4", aead], capture_output=True, text=True, timeout=300,
                                 check=True).stdout
        except (OSError, subprocess.SubprocessError) as e:
            rows.append((name, None, f"not measured: {e}"))
            continue
        m = re.match(r"\S+ ([\d.]+) MB/s", out)
        rows.append((name, float(m.group(1)) if m else None, "4 GiB, 1 stream, 2 threads"))
    return rows


def transit_limit_files(root, source, recv_dir, runs=1):
    """The file-to-file limit: the record stream plus reading the source and writing
    (and syncing) the receive directory, in two processes; no hashing, no protocol.
    Then the same with BLAKE3 over every group on both sides (what native adds to
    verify), so the protocol's own share shows. Each is the median of `runs` (one
    run moved by a third from the next on a shared machine); the two alternate."""
    exe = os.path.join(root, "target/release/examples/transit_limit")
    modes = {"files": ("native records file-to-file, aes-256-gcm, loopback (file limit)",
                       "2 processes, read + write + sync"),
             "files-hashed": ("the same + BLAKE3 both sides (hashed file limit)",
                              "2 processes, read + hash + write + sync")}
    out_dir = os.path.join(recv_dir, "transit-limit")
    rates = {mode: [] for mode in modes}
    for _ in range(runs):
        for mode in modes:
            os.makedirs(out_dir, exist_ok=True)
            try:
                out = subprocess.run([exe, mode, source, out_dir], capture_output=True,
                                     text=True, timeout=300, check=True).stdout
            except (OSError, subprocess.SubprocessError) as e:
                return [(modes[mode][0], None, f"not measured: {e}")]
            finally:
                shutil.rmtree(out_dir, ignore_errors=True)
            m = re.match(r"\S+ file-to-file(?: hashed)? ([\d.]+) MB/s", out)
            if not m:
                return [(modes[mode][0], None, f"not measured: {out[:200]!r}")]
            rates[mode].append(float(m.group(1)))
    rows = []
    for mode, (name, what) in modes.items():
        shown = ", ".join(f"{r:.0f}" for r in rates[mode])
        rows.append((name, statistics.median(rates[mode]), f"{what}; median of {runs}: {shown}"))
    return rows


PYNACL = r"""
import sys, time, hashlib
from nacl.bindings import crypto_secretbox, crypto_secretbox_open
key, nonce = b"k" * 32, b"n" * 24
msg = bytes(256 * 1024)
def rate(fn, arg):
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 2.0:
        fn(arg); n += 1
    return n * len(msg) / (time.perf_counter() - t0) / 1e6
box = crypto_secretbox(msg, nonce, key)
print("seal", rate(lambda m: crypto_secretbox(m, nonce, key), msg))
print("open", rate(lambda b: crypto_secretbox_open(b, nonce, key), box))
print("sha256", rate(lambda m: hashlib.sha256(m).digest(), msg))
"""


def pynacl(venv_python):
    """libsodium as the Python peer uses it (PyNaCl), and OpenSSL's SHA-256."""
    try:
        out = subprocess.run([venv_python, "-c", PYNACL], capture_output=True, text=True,
                             timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return [("PyNaCl secretbox", None, f"not measured: {e}")]
    vals = dict(line.split() for line in out.splitlines())
    return [
        ("PyNaCl (libsodium) secretbox seal 256K", float(vals["seal"]), "1 core, incl. Python copies"),
        ("PyNaCl (libsodium) secretbox open 256K", float(vals["open"]), "1 core, incl. Python copies"),
        ("Python hashlib (OpenSSL) SHA-256", float(vals["sha256"]), "1 core"),
    ]


def tcp_copy(total=4 << 30, chunk=256 * 1024):
    """One TCP stream over loopback, 256 KiB writes and reads (a plain socket copy)."""
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def sink():
        conn, _ = srv.accept()
        buf = bytearray(chunk)
        view = memoryview(buf)
        while conn.recv_into(view):
            pass
        conn.close()

    t = threading.Thread(target=sink)
    t.start()
    data = bytes(chunk)

    def pump():
        with socket.create_connection(("127.0.0.1", port)) as c:
            for _ in range(total // chunk):
                c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            t.join()

    rate = timed_rate(total, pump)
    srv.close()
    return [("loopback TCP, plain socket copy (Python)", rate, "1 stream, sender+receiver")]


def iperf3():
    if not shutil.which("iperf3"):
        return [("loopback TCP, iperf3", None, "iperf3 not installed (apt-get install iperf3)")]
    srv = subprocess.Popen(["iperf3", "-s", "-1", "-p", "5299", "-B", "127.0.0.1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", "5299", "-t", "4", "-f", "m"],
                             capture_output=True, text=True, timeout=30).stdout
    finally:
        srv.kill()
        srv.wait()
    m = re.search(r"([\d.]+) Mbits/sec\s+\S*\s*receiver", out)
    rate = float(m.group(1)) * 1e6 / 8 / MB if m else None
    return [("loopback TCP, iperf3", rate, "1 stream")]


def dd(args):
    """MB/s from GNU dd's last line ("... copied, S s, X MB/s")."""
    out = subprocess.run(["dd", *args, "status=progress"], capture_output=True, text=True,
                         timeout=600).stderr
    m = re.findall(r"(\d+) bytes .* copied, ([\d.]+) s", out)
    if not m:
        return None
    nbytes, secs = m[-1]
    return int(nbytes) / float(secs) / MB


def files(source, recv_dir, disk_dir):
    """Reading the source, writing where receivers write, and the disk for comparison."""
    rows = [("read source (page cache/tmpfs), dd 1M", dd([f"if={source}", "of=/dev/null", "bs=1M"]),
             source)]
    target = os.path.join(recv_dir, "dd-write.bin")
    rows.append(("write receive dir, dd 1M + fdatasync",
                 dd(["if=/dev/zero", f"of={target}", "bs=1M", "count=1024", "conv=fdatasync"]),
                 recv_dir))
    os.unlink(target)
    if disk_dir:
        os.makedirs(disk_dir, exist_ok=True)
        target = os.path.join(disk_dir, "dd-disk.bin")
        rows.append(("write disk, dd 1M + fdatasync",
                     dd(["if=/dev/zero", f"of={target}", "bs=1M", "count=1024", "conv=fdatasync"]),
                     disk_dir))
        rows.append(("read disk, dd 1M O_DIRECT",
                     dd([f"if={target}", "of=/dev/null", "bs=1M", "iflag=direct"]), disk_dir))
        os.unlink(target)
    return rows
