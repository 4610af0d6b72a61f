"""How bench/transfer runs each wormhole implementation as a sender or a receiver.

The flags mirror interop/src/peer.rs (the peers' own --help is the authority):
servers are always named with flags, never through the environment, because
WORMHOLE_RELAY_URL means the mailbox to Python but the transit relay to wormhole-rs.
"""

import os
import signal
import subprocess

# Variables that would point a peer at other servers or change its output.
SCRUBBED_ENV = (
    "WORMHOLE_RELAY_URL", "WORMHOLE_TRANSIT_HELPER", "WORMHOLE_MAILBOX_URL",
    "WORMHOLE_ACCEPT_FILE", "WORMHOLE_QR", "FERRY_SERVER", "FERRY_RELAY",
    "FERRY_APP_ID", "FERRY_APPID",
)


def child_env():
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", NO_COLOR="1",
               RUST_BACKTRACE="0", RUST_LIB_BACKTRACE="0")
    return env


class Setup:
    """Where the programs and servers are. `relay` is tcp:HOST:PORT."""

    def __init__(self, ferry, peers, mailbox):
        self.ferry = ferry
        self.python = os.path.join(peers, "venv/bin/wormhole")
        self.rust = os.path.join(peers, "cargo/bin/wormhole-rs")
        self.william = "wormhole-william"
        self.mailbox = mailbox
        # The address ferry listens on and advertises, per role (`send`, `receive`).
        self.listen = {"send": "127.0.0.1", "receive": "127.0.0.1"}


class Side:
    """One process of a transfer: argv, working directory, standard input."""

    def __init__(self, argv, cwd, stdin=b""):
        self.argv, self.cwd, self.stdin = argv, cwd, stdin


# Each function returns a Side. `relay` is True to keep the peer off direct
# connections with its own flag, where it has one (william has none).

def ferry(s, role, code, path, relay, relay_addr, proto="v1"):
    common = ["--server", s.mailbox, "--relay", relay_addr, "--hide-progress"]
    common += ["--force-relay"] if relay else ["--listen", s.listen[role]]
    if proto == "v1-flag":
        common.append("--v1")
    if role == "send":
        return Side([s.ferry, "send", *common, "--code", code, path], "/tmp")
    return Side([s.ferry, "receive", *common, "--yes", "--output-dir", path, code], path)


def python(s, role, code, path, relay, relay_addr, proto=None):
    argv = [s.python, "--relay-url", s.mailbox, "--transit-helper", relay_addr,
            role if role == "send" else "receive", "--hide-progress"]
    if relay:
        argv.append("--no-listen")
    if role == "send":
        return Side(argv + ["--no-qr", "--code", code, path], "/tmp")
    # It writes into its working directory.
    return Side(argv + ["--accept-file", code], path)


def william(s, role, code, path, relay, relay_addr, proto=None):
    # Its transit relay is always transit.magic-wormhole.io:4001 (mapped to
    # 127.0.0.1 in the namespace); it has no flag to avoid direct connections.
    argv = [s.william, "--relay-url", s.mailbox]
    if role == "send":
        return Side(argv + ["send", "--hide-progress", "--code", code, path], "/tmp")
    # It asks "ok? (y/N)" before accepting a file, and writes into its cwd.
    return Side(argv + ["receive", "--hide-progress", code], path, b"y\n")


def rust(s, role, code, path, relay, relay_addr, proto=None):
    host_port = relay_addr.removeprefix("tcp:")
    argv = [s.rust, role if role == "send" else "receive", "--no-color",
            "--rendezvous-server", s.mailbox, "--relay-server", f"tcp://{host_port}"]
    if relay:
        argv.append("--force-relay")
    if role == "send":
        return Side(argv + ["--no-qr", "--code", code, path], "/tmp")
    return Side(argv + ["--noconfirm", "--out-dir", path, code], path)


PEERS = {"ferry": ferry, "python": python, "william": william, "rust": rust}


def spawn_timed(side, time_file, log_file):
    """Starts `side` under /usr/bin/time (wall, user, sys, max RSS), in a process
    group of its own for `stop`."""
    argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", time_file, *side.argv]
    log = open(log_file, "wb")
    proc = subprocess.Popen(argv, cwd=side.cwd, env=child_env(), stdin=subprocess.PIPE,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.stdin.write(side.stdin)
    proc.stdin.close()
    log.close()
    return proc


def stop(proc):
    """Ends a `spawn_timed` side and all it started. Killing /usr/bin/time alone
    leaves the program it runs going: a transfer cut at --max-secs would go on
    sharing the link with the next case and count in its bytes."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def read_time(time_file):
    """(wall, user, sys, max RSS in KiB) from a /usr/bin/time -f file."""
    with open(time_file) as f:
        last = f.read().strip().splitlines()[-1].split()
    wall, user, sys_, rss = last
    return float(wall), float(user), float(sys_), int(rss)
