/**
 * The transit connection's handshake bytes and the final ack (WORMHOLE-PROTOCOL.md
 * §3.3-3.4, §4.1). All derive from the transit key:
 *
 * - relay first, when going through a relay: `please relay <token> for side <side16>\n`,
 *   answered `ok\n` once the peer arrives;
 * - then each side writes its handshake at once, without waiting (the Go
 *   receiver reads the sender's before writing its own);
 * - the sender picks one connection and writes `go\n` there (`nevermind\n` or
 *   a plain close elsewhere); the receiver expects exactly `go\n`.
 */

import { bytesToHex, fromUtf8, utf8 } from "./bytes.ts";
import { localError, peerError } from "./errors.ts";
import { TRANSIT_PURPOSES, transitSubkey, type Role, type TransitKey } from "./keys.ts";
import { systemRandom, type Random } from "./random.ts";

export const GO = utf8("go\n");
export const NEVERMIND = utf8("nevermind\n");
/** What the relay says once both sides of a token are connected. */
export const RELAY_OK = utf8("ok\n");

export function senderHandshake(tk: TransitKey): Uint8Array {
  return utf8(`transit sender ${bytesToHex(transitSubkey(tk, TRANSIT_PURPOSES.senderHandshake))} ready\n\n`);
}

export function receiverHandshake(tk: TransitKey): Uint8Array {
  return utf8(`transit receiver ${bytesToHex(transitSubkey(tk, TRANSIT_PURPOSES.receiverHandshake))} ready\n\n`);
}

/** The relay requires exactly 16 word characters; all clients send hex. */
const RELAY_SIDE = /^[0-9a-f]{16}$/;

/** A fresh relay side: 8 random bytes as hex, one per transit attempt. */
export function newRelaySide(random: Random = systemRandom): string {
  return bytesToHex(random(8));
}

export function relayHandshake(tk: TransitKey, side: string): Uint8Array {
  if (!RELAY_SIDE.test(side)) throw localError("bad-relay-side", "the relay side is 16 lowercase hex digits");
  const token = bytesToHex(transitSubkey(tk, TRANSIT_PURPOSES.relayToken));
  return utf8(`please relay ${token} for side ${side}\n`);
}

/** What we write, and what we must read before records start, for our role. */
export function handshakeFor(tk: TransitKey, role: Role): { send: Uint8Array; expect: Uint8Array } {
  return role === "sender"
    ? { send: senderHandshake(tk), expect: receiverHandshake(tk) }
    : { send: receiverHandshake(tk), expect: new Uint8Array([...senderHandshake(tk), ...GO]) };
}

/**
 * Waits for an exact byte string, refusing at the first wrong byte (as Python's
 * `_check_and_remove`), so a wrong key or a confused peer is dropped early.
 */
export class ExpectBytes {
  readonly #expected: Uint8Array;
  #matched = 0;

  constructor(expected: Uint8Array) {
    this.#expected = expected;
  }

  /** `null` while waiting; once matched, the bytes that came after. */
  push(chunk: Uint8Array): Uint8Array | null {
    const take = Math.min(chunk.length, this.#expected.length - this.#matched);
    for (let i = 0; i < take; i++) {
      if (chunk[i] !== this.#expected[this.#matched + i]) {
        throw peerError("bad-handshake", "the other end sent an unexpected handshake");
      }
    }
    this.#matched += take;
    return this.#matched === this.#expected.length ? chunk.slice(take) : null;
  }
}

/** The receiver's last record: `{"ack": "ok", "sha256": "<hex>"}` (Python's spacing). */
export function encodeAck(sha256: Uint8Array): Uint8Array {
  return utf8(`{"ack": "ok", "sha256": "${bytesToHex(sha256)}"}`);
}

const MAX_ACK_LEN = 1024;

/**
 * Checks the receiver's ack against the SHA-256 of what we sent. Like Python, an
 * ack without `sha256` (old receivers) passes, reported as `hashChecked: false`.
 */
export function checkAck(record: Uint8Array, sha256: Uint8Array): { hashChecked: boolean } {
  const ack = parseAck(record);
  if (ack["ack"] !== "ok") throw peerError("ack-not-ok", `the receiver did not confirm: ${JSON.stringify(ack["ack"])}`);
  const hash = ack["sha256"];
  if (hash === undefined) return { hashChecked: false };
  if (typeof hash !== "string" || hash.toLowerCase() !== bytesToHex(sha256)) {
    throw peerError("ack-bad-hash", "the receiver got different bytes than we sent (SHA-256 mismatch)");
  }
  return { hashChecked: true };
}

function parseAck(record: Uint8Array): Record<string, unknown> {
  const text = record.length <= MAX_ACK_LEN ? fromUtf8(record) : null;
  let value: unknown = null;
  try {
    value = text === null ? null : JSON.parse(text);
  } catch {
    // fall through to the refusal below
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw peerError("ack-malformed", "the receiver's ack is not a small JSON object");
  }
  return value as Record<string, unknown>;
}
