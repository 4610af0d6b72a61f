#!/usr/bin/env python3
"""A libtorrent 2.x peer (PyPI `libtorrent`) driven by the interop harness (interop/src/bt/).

  bt_libtorrent.py create --mode v1|v2|hybrid --piece-size BYTES [--tracker URL]... -o FILE PATH
      writes a .torrent for PATH (a file or a directory) and prints `magnet <uri>`,
      `btih <hex>` (v1 and hybrid), `btmh <hex>` (v2 and hybrid) and `seconds <hashing time>`.
  bt_libtorrent.py run --ip IP --listen PORT --save DIR (--torrent FILE | --magnet URI)
                      [--peer IP:PORT]... [--seed] [--exit-when-complete]
      one session on IP:PORT with DHT, local service discovery, UPnP, NAT-PMP and uTP
      off; connects to every --peer (again every second while it has none). Prints, one per
      line: `listening IP:PORT`, `metadata` (a magnet's info dictionary arrived), `progress
      DONE TOTAL PEERS`, `uploaded BYTES` (payload sent this session, when it changes),
      `complete` (every piece verified by libtorrent and written to its
      file), `seeding` (--seed: the data in DIR checked and complete), `tracker TEXT`,
      `tracker-error TEXT`, `error TEXT`. Runs until killed or its stdin
      closes, or just after `complete` with --exit-when-complete.
"""

import argparse
import os
import select
import sys
import time
import warnings

import libtorrent as lt

# file_storage + add_files is deprecated in 2.1 but makes the same info dictionary as
# list_files, whose Python binding does not accept a path alone.
warnings.filterwarnings("ignore", category=DeprecationWarning)

POLL_S = 0.2
RECONNECT_S = 1.0


def say(*words):
    print(*words, flush=True)


def create(args):
    fs = lt.file_storage()
    lt.add_files(fs, args.path)
    flags = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}
    ct = lt.create_torrent(fs, args.piece_size, flags=flags[args.mode])
    for tier, url in enumerate(args.tracker):
        ct.add_tracker(url, tier)
    parent = os.path.dirname(os.path.abspath(args.path))
    start = time.monotonic()
    lt.set_piece_hashes(ct, parent)
    seconds = time.monotonic() - start
    entry = ct.generate()
    with open(args.out, "wb") as out:
        out.write(lt.bencode(entry))
    ti = lt.torrent_info(args.out)
    say("magnet", lt.make_magnet_uri(ti))
    hashes = ti.info_hashes()
    if hashes.has_v1():
        say("btih", str(hashes.v1))
    if hashes.has_v2():
        say("btmh", str(hashes.v2))
    say("seconds", f"{seconds:.3f}")


def session(ip, port):
    return lt.session({
        "listen_interfaces": f"{ip}:{port}",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        # Every peer in a test has the same address, on another port.
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification
        | lt.alert.category_t.connect_notification
        | lt.alert.category_t.peer_notification,
    })


def add_params(args):
    if args.torrent:
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(args.torrent)
    else:
        params = lt.parse_magnet_uri(args.magnet)
    params.save_path = args.save
    return params


def peers(args):
    out = []
    for p in args.peer:
        host, _, port = p.rpartition(":")
        out.append((host, int(port)))
    return out


def stdin_closed():
    ready, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(ready) and sys.stdin.read(1) == ""


def report_alerts(ses, state):
    for a in ses.pop_alerts():
        if isinstance(a, lt.listen_succeeded_alert):
            say("listening", f"{a.address}:{a.port}")
        elif isinstance(a, lt.metadata_received_alert):
            say("metadata")
        elif isinstance(a, lt.tracker_reply_alert):
            say("tracker", a.message())
        elif isinstance(a, lt.tracker_error_alert):
            say("tracker-error", a.message())
        elif isinstance(a, (lt.peer_connect_alert, lt.peer_disconnected_alert,
                            lt.peer_error_alert, lt.peer_blocked_alert)):
            say("peer", a.message())
        elif isinstance(a, lt.save_resume_data_alert):
            # Requested with flush_disk_cache: every verified piece is in the files now.
            say(state["said"])
            state["flushed"] = True
        elif isinstance(a, (lt.listen_failed_alert, lt.torrent_error_alert,
                            lt.file_error_alert, lt.hash_failed_alert)):
            say("error", a.message())
            state["errors"] += 1


def run(args):
    ses = session(args.ip, args.listen)
    handle = ses.add_torrent(add_params(args))
    wanted = peers(args)
    state = {"errors": 0, "said": None, "connected": 0.0, "last": None, "flushed": False,
             "uploaded": 0}
    while not stdin_closed():
        report_alerts(ses, state)
        st = handle.status()
        if wanted and st.num_peers == 0 and time.monotonic() - state["connected"] > RECONNECT_S:
            for peer in wanted:
                handle.connect_peer(peer)
            state["connected"] = time.monotonic()
        line = (st.total_wanted_done, st.total_wanted, st.num_peers)
        if st.has_metadata and line != state["last"]:
            say("progress", *line)
            state["last"] = line
        if st.total_payload_upload != state["uploaded"]:
            state["uploaded"] = st.total_payload_upload
            say("uploaded", st.total_payload_upload)
        finished = st.has_metadata and st.is_seeding
        if finished and state["said"] is None:
            # libtorrent counts a piece once hashed, maybe before its disk thread wrote it.
            state["said"] = "seeding" if args.seed else "complete"
            handle.save_resume_data(lt.torrent_handle.flush_disk_cache)
        if state["flushed"] and args.exit_when_complete:
            return
        time.sleep(POLL_S)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("--mode", choices=["v1", "v2", "hybrid"], default="hybrid")
    c.add_argument("--piece-size", type=int, default=0)
    c.add_argument("--tracker", action="append", default=[])
    c.add_argument("-o", "--out", required=True)
    c.add_argument("path")
    r = sub.add_parser("run")
    r.add_argument("--listen", type=int, required=True)
    r.add_argument("--ip", default="127.0.0.1")
    r.add_argument("--save", required=True)
    r.add_argument("--torrent")
    r.add_argument("--magnet")
    r.add_argument("--peer", action="append", default=[])
    r.add_argument("--seed", action="store_true")
    r.add_argument("--exit-when-complete", action="store_true")
    args = parser.parse_args()
    if args.cmd == "create":
        create(args)
    elif bool(args.torrent) == bool(args.magnet):
        parser.error("run needs one of --torrent and --magnet")
    else:
        run(args)


if __name__ == "__main__":
    main()
