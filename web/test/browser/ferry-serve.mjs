// One `ferry serve` on free loopback ports (mailbox, TCP relay, WebSocket
// relay, in-memory database), serving the page itself at `origin`.
import { freePort, start, waitForPort } from "./procs.mjs";

const READY_MS = 60_000;

/**
 * {proc, origin, config (what /ferry-web.json says), net (the CLI's flags for it), close}.
 * `tls` ({cert, key, ca}: PEM files): the mailbox port speaks TLS (https:// page, wss:// /v1, and
 * the WebSocket relay at wss://…/relay, which the page is given), and `net` trusts `ca`.
 * `tcpRelay: false`: no TCP relay, so the page's WebSocket relay is the only one for both sides.
 */
export async function startFerryServe(ferry, { tls, tcpRelay = true } = {}) {
  const [mailbox, relay, relayWs] = await Promise.all([freePort(), freePort(), freePort()]);
  const at = (p) => `127.0.0.1:${p}`;
  const relayArgs = tcpRelay ? ["--relay-listen", at(relay)] : ["--no-relay"];
  const tlsArgs = tls ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : [];
  const args = ["serve", "--mailbox-listen", at(mailbox), ...relayArgs, "--relay-ws-listen", at(relayWs), "--database", ":memory:", ...tlsArgs];
  const proc = start(ferry, args);
  await Promise.all([
    waitForPort(mailbox, READY_MS, proc, "ferry serve (mailbox)"),
    tcpRelay && waitForPort(relay, READY_MS, proc, "ferry serve (relay)"),
    waitForPort(relayWs, READY_MS, proc, "ferry serve (websocket relay)"),
  ]);
  const config = {
    mailbox: `${tls ? "wss" : "ws"}://127.0.0.1:${mailbox}/v1`,
    // With TLS the plain listener on relayWs still runs, but the page is sent to the TLS one.
    relay_ws: tls ? `wss://127.0.0.1:${mailbox}/relay` : `ws://127.0.0.1:${relayWs}/`,
    relay_tcp: tcpRelay ? `tcp:127.0.0.1:${relay}` : null,
    appid: "lothar.com/wormhole/text-or-file-xfer",
  };
  return {
    proc,
    origin: `${tls ? "https" : "http"}://127.0.0.1:${mailbox}`,
    config,
    net: ["--server", config.mailbox, "--relay", config.relay_tcp ?? config.relay_ws, ...(tls ? ["--ca-file", tls.ca] : [])],
    close: () => proc.child.kill("SIGTERM"),
  };
}
