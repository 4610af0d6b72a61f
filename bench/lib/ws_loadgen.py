#!/usr/bin/env python3
"""An independent mailbox load generator for bench/serve: asyncio + `websockets`,
none of ferry's code, so that a figure measured with it does not depend on how
ferry's own client (crates/ferry-server/examples/loadgen.rs) happens to talk.

    ws_loadgen.py rendezvous URL PAIRS CONC MAX_SECS [--fixed]
        PAIRS rendezvous, CONC in flight, for at most MAX_SECS. In each, both
        sides bind; side A allocates a nameplate (which claims it too) and hands
        it to side B, which claims it (as `wormhole send` and `wormhole receive`
        do; --fixed claims a nameplate of its own on both sides instead, like
        loadgen.rs); both open the mailbox, add `pake`, wait for the other's,
        release, add `version`, wait for the other's, close and disconnect.
        Prints one line:
        RENDEZVOUS completed=N errors=N secs=S rate=R p50_ms=X p99_ms=Y
    ws_loadgen.py idle URL N HOLD_SECS
        N clients, each bound with an open mailbox of its own; prints
        `READY N clients in S s` once the server has answered a ping on every
        one, then holds them for HOLD_SECS (or until killed).

Works against any server that speaks the mailbox protocol (`ferry serve`, the
Python magic-wormhole-mailbox-server). No compression is offered (real wormhole
clients offer none), and the client sends no keepalive pings of its own, so the
server does only the protocol's work. Bounded in count and time; the URL is the
caller's, bench/serve only ever passes 127.0.0.1.
"""

import argparse
import asyncio
import itertools
import json
import sys
import time

from websockets.asyncio.client import connect

APPID = "lothar.com/wormhole/text-or-file-xfer"
# Longest one rendezvous may take before it counts as failed (as loadgen.rs).
PAIR_TIMEOUT = 20.0
PAKE_BODY = "7b2270616b655f7631223a20" * 6
VERSION_BODY = "ab" * 120


class ServerError(Exception):
    pass


async def dial(url):
    return await connect(url, compression=None, ping_interval=None,
                         max_size=2 ** 20, open_timeout=PAIR_TIMEOUT)


async def send(ws, **frame):
    await ws.send(json.dumps(frame))


async def wait_for(ws, pred):
    """Reads frames until one satisfies `pred`; an `error` frame fails."""
    while True:
        v = json.loads(await ws.recv())
        if v.get("type") == "error":
            raise ServerError(v.get("error"))
        if pred(v):
            return v


def is_type(kind):
    return lambda v: v.get("type") == kind


async def bound(url, side):
    ws = await dial(url)
    await send(ws, type="bind", appid=APPID, side=side, id="0001")
    return ws


async def one_side(url, me, nameplate, allocate):
    """One side of a rendezvous. `nameplate` is a future: the allocating side
    sets it, the other waits for it; with --fixed it is set already."""
    ws = await bound(url, me)
    try:
        if allocate:
            await send(ws, type="allocate", id="0002")
            nameplate.set_result((await wait_for(ws, is_type("allocated")))["nameplate"])
        name = await nameplate
        await send(ws, type="claim", nameplate=name, id="0002")
        mailbox = (await wait_for(ws, is_type("claimed")))["mailbox"]
        await send(ws, type="open", mailbox=mailbox, id="0003")
        await send(ws, type="add", phase="pake", body=PAKE_BODY, id="0004")

        def theirs(phase):
            return lambda v: (v.get("type") == "message" and v.get("side") != me
                              and v.get("phase") == phase)

        await wait_for(ws, theirs("pake"))
        await send(ws, type="release", id="0005")
        await send(ws, type="add", phase="version", body=VERSION_BODY, id="0006")
        await wait_for(ws, theirs("version"))
        await send(ws, type="close", mood="happy", id="0007")
        await wait_for(ws, is_type("closed"))
    finally:
        await ws.close()


async def one_pair(url, i, fixed):
    t0 = time.monotonic()
    loop = asyncio.get_running_loop()
    nameplate = loop.create_future()
    if fixed:
        nameplate.set_result(str(1_000_000 + i))
    # B connects and binds with A, and claims once A has been allocated a nameplate.
    a = asyncio.ensure_future(one_side(url, f"a{i:09d}", nameplate, not fixed))
    b = asyncio.ensure_future(one_side(url, f"b{i:09d}", nameplate, False))
    try:
        await asyncio.gather(a, b)
    finally:
        # A failed A leaves B waiting for a nameplate: end it too.
        for t in (a, b):
            t.cancel()
        await asyncio.gather(a, b, return_exceptions=True)
    return time.monotonic() - t0


async def rendezvous(url, pairs, conc, max_secs, fixed):
    deadline = time.monotonic() + max_secs
    counter = itertools.count()
    lat, errors = [], []

    async def worker():
        while True:
            i = next(counter)
            if i >= pairs or time.monotonic() > deadline:
                return
            try:
                lat.append(await asyncio.wait_for(one_pair(url, i, fixed), PAIR_TIMEOUT))
            except Exception as e:  # a failed or timed-out pair is counted, not fatal
                errors.append(e)

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(conc)))
    secs = time.monotonic() - t0
    lat.sort()

    def pct(p):
        if not lat:
            return 0.0
        return lat[min(int(len(lat) * p), len(lat) - 1)] * 1000.0

    if errors:
        print(f"first error: {errors[0]!r}", file=sys.stderr)
    print(f"RENDEZVOUS completed={len(lat)} errors={len(errors)} secs={secs:.2f} "
          f"rate={len(lat) / secs:.1f} p50_ms={pct(0.50):.2f} p99_ms={pct(0.99):.2f}",
          flush=True)


async def idle(url, n, hold):
    t0 = time.monotonic()
    clients = []
    for i in range(n):
        ws = await bound(url, f"idle{i:06d}")
        await send(ws, type="open", mailbox=f"idlebox{i:07d}", id="0002")
        clients.append(ws)
        if len(clients) % 500 == 0:
            # Make sure the server keeps up before opening more.
            await send(ws, type="ping", ping=1, id="0003")
            await wait_for(ws, is_type("pong"))
    for ws in clients:
        await send(ws, type="ping", ping=2, id="0004")
    for ws in clients:
        await wait_for(ws, is_type("pong"))
    print(f"READY {n} clients in {time.monotonic() - t0:.1f}s", flush=True)
    await asyncio.sleep(hold)
    for ws in clients:
        await ws.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("rendezvous")
    r.add_argument("url")
    r.add_argument("pairs", type=int)
    r.add_argument("conc", type=int)
    r.add_argument("max_secs", type=float)
    r.add_argument("--fixed", action="store_true",
                   help="claim nameplate 1000000+i on both sides instead of allocating")
    d = sub.add_parser("idle")
    d.add_argument("url")
    d.add_argument("n", type=int)
    d.add_argument("hold_secs", type=float)
    a = p.parse_args()
    if a.mode == "rendezvous":
        asyncio.run(rendezvous(a.url, a.pairs, a.conc, a.max_secs, a.fixed))
    else:
        asyncio.run(idle(a.url, a.n, a.hold_secs))


if __name__ == "__main__":
    main()
