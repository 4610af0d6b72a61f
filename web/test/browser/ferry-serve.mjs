// One `ferry serve` on free loopback ports (mailbox, TCP relay, WebSocket
// relay, in-memory database), serving the page itself at `origin`.
import { freePort, start, waitForPort } from "./procs.mjs";

const READY_MS = 60_000;

export async function startFerryServe(ferry) {
  const [mailbox, relay, relayWs] = await Promise.all([freePort(), freePort(), freePort()]);
  const at = (p) => `127.0.0.1:${p}`;
  const args = ["serve", "--mailbox-listen", at(mailbox), "--relay-listen", at(relay), "--relay-ws-listen", at(relayWs), "--database", ":memory:"];
  const proc = start(ferry, args);
  await Promise.all([waitForPort(mailbox, READY_MS, proc, "ferry serve (mailbox)"), waitForPort(relayWs, READY_MS, proc, "ferry serve (websocket relay)")]);
  return {
    origin: `http://127.0.0.1:${mailbox}`,
    net: ["--server", `ws://127.0.0.1:${mailbox}/v1`, "--relay", `tcp:127.0.0.1:${relay}`],
    close: () => proc.child.kill("SIGTERM"),
  };
}
