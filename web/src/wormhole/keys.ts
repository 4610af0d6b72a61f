/**
 * HKDF-SHA256 key derivation, with one type per key purpose.
 *
 * Every wormhole key is `HKDF(ikm, salt = none, info = purpose)` (RFC 5869; no
 * salt means 32 zero bytes), as Python's `wormhole.util.HKDF`. The branded
 * types keep a phase key from being used as a transit key and the raw PAKE
 * output from sealing anything. Purposes are raw UTF-8, like the Rust and Go
 * clients (Python NFC-normalises first; the same for the ASCII purposes used).
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8 } from "./bytes.ts";
import { localError } from "./errors.ts";
import { open, seal } from "./secretbox.ts";
import { systemRandom, type Random } from "./random.ts";

declare const brand: unique symbol;
type Key<Purpose extends string> = Uint8Array & { readonly [brand]: Purpose };

/** The 32 bytes SPAKE2 agreed on; the root of every other key. */
export type SharedKey = Key<"shared">;
/** The key of one mailbox message: one sender side, one phase. */
export type PhaseKey = Key<"phase">;
/** The root of one transit connection. */
export type TransitKey = Key<"transit">;

/** The appid of file transfer, and the one Python always uses for the transit key. */
export const FILE_TRANSFER_APPID = "lothar.com/wormhole/text-or-file-xfer";

/** RFC 5869's limit for SHA-256: 255 blocks. */
export const MAX_DERIVE_LEN = 255 * 32;

/** `HKDF-SHA256(ikm, salt = none, info)`, `len` bytes. */
export function hkdfSha256(ikm: Uint8Array, info: Uint8Array, len: number): Uint8Array {
  if (!Number.isInteger(len) || len < 0 || len > MAX_DERIVE_LEN) {
    throw localError("bad-length", `HKDF-SHA256 gives 0 to ${MAX_DERIVE_LEN} bytes, not ${len}`);
  }
  return hkdf(sha256, ikm, undefined, info, len);
}

function toBytes(purpose: Uint8Array | string): Uint8Array {
  return typeof purpose === "string" ? utf8(purpose) : purpose;
}

/** Wraps 32 raw bytes (the PAKE output, or a KAT's) as the shared key. */
export function asSharedKey(bytes: Uint8Array): SharedKey {
  if (bytes.length !== 32) throw localError("bad-key", "the shared key is 32 bytes");
  return bytes.slice() as SharedKey;
}

/** Python's `derive_key(key, purpose, length)`, e.g. `"dilation-v1"`. */
export function deriveKey(key: SharedKey, purpose: Uint8Array | string, len = 32): Uint8Array {
  return hkdfSha256(key, toBytes(purpose), len);
}

/** What both users may compare out of band (`--verify`); shown as hex. */
export function verifier(key: SharedKey): Uint8Array {
  return deriveKey(key, "wormhole:verifier");
}

/** `"wormhole:phase:" ‖ SHA256(side) ‖ SHA256(phase)`: raw digests, not hex. */
export function phasePurpose(side: string, phase: string): Uint8Array {
  return concatBytes(utf8("wormhole:phase:"), sha256(utf8(side)), sha256(utf8(phase)));
}

/** The key for what `side` sends in `phase`; always the *sender's* side. */
export function phaseKey(key: SharedKey, side: string, phase: string): PhaseKey {
  return deriveKey(key, phasePurpose(side, phase)) as PhaseKey;
}

/** Seals our message for `phase` (`side` is ours) under a fresh random nonce. */
export function encryptPhase(
  key: SharedKey,
  side: string,
  phase: string,
  plaintext: Uint8Array,
  random: Random = systemRandom,
): Uint8Array {
  return seal(phaseKey(key, side, phase), plaintext, random);
}

/** Opens the peer's message; `side` is the `side` field it arrived with. */
export function decryptPhase(key: SharedKey, side: string, phase: string, body: Uint8Array): Uint8Array {
  return open(phaseKey(key, side, phase), body);
}

/**
 * The transit key, purpose `"{appid}/transit-key"`. Rust and Go pass their real
 * appid; Python always passes FILE_TRANSFER_APPID (its bug #339), so the two
 * camps agree only under the file-transfer appid.
 */
export function transitKey(key: SharedKey, appid: string): TransitKey {
  return deriveKey(key, `${appid}/transit-key`) as TransitKey;
}

/** The subkeys of a transit key (WORMHOLE-PROTOCOL.md §3.3). */
export const TRANSIT_PURPOSES = {
  senderHandshake: "transit_sender",
  receiverHandshake: "transit_receiver",
  relayToken: "transit_relay_token",
  senderRecords: "transit_record_sender_key",
  receiverRecords: "transit_record_receiver_key",
} as const;

export type TransitPurpose = (typeof TRANSIT_PURPOSES)[keyof typeof TRANSIT_PURPOSES];

export function transitSubkey(tk: TransitKey, purpose: TransitPurpose): Uint8Array {
  return hkdfSha256(tk, utf8(purpose), 32);
}

/** Which end of a transfer we are: it picks handshakes and record keys. */
export type Role = "sender" | "receiver";

/** Record keys for `role`: we seal with our own role's key, open with the peer's. */
export function recordKeys(tk: TransitKey, role: Role): { seal: Uint8Array; open: Uint8Array } {
  const sender = transitSubkey(tk, TRANSIT_PURPOSES.senderRecords);
  const receiver = transitSubkey(tk, TRANSIT_PURPOSES.receiverRecords);
  return role === "sender" ? { seal: sender, open: receiver } : { seal: receiver, open: sender };
}
