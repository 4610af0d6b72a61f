// One `ferry serve` on free loopback ports (mailbox, TCP relay, WebSocket
// relay, in-memory database), serving the page itself at `origin`.
import { freePort, start, waitForPort } from "./procs.mjs";

const READY_MS = 60_000;

/** {proc, origin, config (what /ferry-web.json says), net (the CLI's flags for it), close}. */
export async function startFerryServe(ferry) {
  const [mailbox, relay, relayWs] = await Promise.all([freePort(), freePort(), freePort()]);
  const at = (p) => `127.0.0.1:${p}`;
  const args = ["serve", "--mailbox-listen", at(mailbox), "--relay-listen", at(relay), "--relay-ws-listen", at(relayWs), "--database", ":memory:"];
  const proc = start(ferry, args);
  await Promise.all([
    waitForPort(mailbox, READY_MS, proc, "ferry serve (mailbox)"),
    waitForPort(relay, READY_MS, proc, "ferry serve (relay)"),
    waitForPort(relayWs, READY_MS, proc, "ferry serve (websocket relay)"),
  ]);
  const config = {
    mailbox: `ws://127.0.0.1:${mailbox}/v1`,
    relay_ws: `ws://127.0.0.1:${relayWs}/`,
    relay_tcp: `tcp:127.0.0.1:${relay}`,
    appid: "lothar.com/wormhole/text-or-file-xfer",
  };
  return {
    proc,
    origin: `http://127.0.0.1:${mailbox}`,
    config,
    net: ["--server", config.mailbox, "--relay", config.relay_tcp],
    close: () => proc.child.kill("SIGTERM"),
  };
}
