/**
 * Transit abilities and connection hints, as carried in the `transit` message
 * (WORMHOLE-PROTOCOL.md §3.2). Peers disagree on details (Rust adds `name` and
 * `websocket` relay entries, Go ignores inner entries that are not
 * `direct-tcp-v1`) and a hostile peer may send anything, so entries are read
 * one by one: one we cannot use is dropped, never fatal. Only the counts are
 * bounded, so a peer cannot make us dial without end.
 */

import { peerError } from "./errors.ts";

export const MAX_HINTS = 64;
export const MAX_RELAY_ENDPOINTS = 16;

/** A TCP endpoint (direct, Tor, or one of a relay's). */
export interface TcpHint {
  readonly type: "direct-tcp-v1" | "tor-tcp-v1";
  readonly hostname: string;
  readonly port: number;
  readonly priority: number;
}

/** A relay endpoint a browser can reach: Rust's `{"type": "websocket", "url": …}`. */
export interface WebSocketHint {
  readonly type: "websocket";
  readonly url: string;
}

export interface RelayHint {
  readonly type: "relay-v1";
  readonly name?: string;
  readonly hints: readonly (TcpHint | WebSocketHint)[];
}

export type Hint = TcpHint | RelayHint;

export interface TransitHints {
  /** Ability types the peer offers, e.g. `direct-tcp-v1`, `relay-v1`. */
  readonly abilities: readonly string[];
  readonly hints: readonly Hint[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function boundedArray(v: unknown, max: number, what: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > max) {
    throw peerError("bad-transit", `${what} must be a list of at most ${max} entries`);
  }
  return v;
}

function tcpHint(v: Json): TcpHint | null {
  const { type, hostname, port, priority = 0 } = v;
  if (type !== "direct-tcp-v1" && type !== "tor-tcp-v1") return null;
  if (typeof hostname !== "string" || hostname === "" || hostname.length > 255) return null;
  // `port` must be a JSON integer: Python checks, Rust reads a u16.
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) return null;
  if (typeof priority !== "number" || !Number.isFinite(priority)) return null;
  return { type, hostname, port: port as number, priority };
}

function relayEndpoint(v: unknown): TcpHint | WebSocketHint | null {
  if (!isObject(v)) return null;
  if (v["type"] === "websocket") {
    const url = v["url"];
    return typeof url === "string" && /^wss?:\/\//.test(url) && url.length <= 2048 ? { type: "websocket", url } : null;
  }
  return tcpHint(v);
}

function hint(v: unknown): Hint | null {
  if (!isObject(v)) return null;
  if (v["type"] !== "relay-v1") return tcpHint(v);
  const inner = Array.isArray(v["hints"]) ? v["hints"].slice(0, MAX_RELAY_ENDPOINTS) : [];
  const hints = inner.map(relayEndpoint).filter((h) => h !== null);
  if (hints.length === 0) return null;
  const name = v["name"];
  return typeof name === "string" ? { type: "relay-v1", name, hints } : { type: "relay-v1", hints };
}

/** The body of a `transit` message; structure errors are the peer's, odd entries are skipped. */
export function parseTransitHints(v: unknown): TransitHints {
  if (!isObject(v)) throw peerError("bad-transit", "the transit message is not an object");
  const abilities = boundedArray(v["abilities-v1"], MAX_HINTS, "abilities-v1")
    .map((a) => (isObject(a) && typeof a["type"] === "string" ? a["type"] : null))
    .filter((a) => a !== null);
  const hints = boundedArray(v["hints-v1"], MAX_HINTS, "hints-v1")
    .map(hint)
    .filter((h) => h !== null);
  return { abilities, hints };
}

/** The JSON body we send: `{"abilities-v1": [{type}…], "hints-v1": […]}`. */
export function transitHintsJson(t: TransitHints): Json {
  return {
    "abilities-v1": t.abilities.map((type) => ({ type })),
    "hints-v1": t.hints,
  };
}
