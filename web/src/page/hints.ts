/**
 * Our `transit` message: a relay hint naming the relay's TCP address, so a CLI
 * peer connects to the same relay the page reaches over WebSocket (the relay
 * pairs TCP and WebSocket clients by token). The page never listens, so it
 * offers no direct hints.
 */
import type { TcpHint, TransitHints } from "../wormhole/index.ts";

/** `tcp:HOST:PORT` → a hint; null if it does not parse. */
export function parseTcpAddress(addr: string): TcpHint | null {
  const m = /^tcp:(.+):(\d{1,5})$/.exec(addr);
  if (m === null) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { type: "direct-tcp-v1", hostname: (m[1] as string).replace(/^\[(.*)\]$/, "$1"), port, priority: 0 };
}

export function ourTransitHints(relayTcp: string | null): TransitHints {
  const tcp = relayTcp === null ? null : parseTcpAddress(relayTcp);
  return {
    abilities: ["relay-v1"],
    hints: tcp === null ? [] : [{ type: "relay-v1", hints: [tcp] }],
  };
}
