/**
 * The wormhole's use of SPAKE2: the whole code (nameplate included) is the
 * password, the appid the identity, and the message travels in phase `pake`
 * as the JSON body `{"pake_v1": "<66 hex digits>"}` (unencrypted).
 *
 * Code and appid are taken as raw UTF-8, like the Rust and Go clients; Python
 * NFC-normalises first, so a non-ASCII code agrees with Python only in NFC.
 */

import { bytesToHex, fromUtf8, hexToBytes, utf8 } from "./bytes.ts";
import { peerError } from "./errors.ts";
import { asSharedKey, type SharedKey } from "./keys.ts";
import { systemRandom, type Random } from "./random.ts";
import { Spake2Symmetric } from "./spake2.ts";

/** See `Spake2Keys`: `goKey` is what a wormhole-william peer derives, when that differs. */
export interface PakeKeys {
  readonly key: SharedKey;
  readonly goKey: SharedKey | null;
}

/** Our side of the key agreement, from the code until the peer's `pake` body. */
export class Pake {
  readonly #spake: Spake2Symmetric;

  constructor(code: string, appid: string, random: Random = systemRandom) {
    this.#spake = new Spake2Symmetric(utf8(code), utf8(appid), random);
  }

  /** The raw 33-byte SPAKE2 message. */
  get message(): Uint8Array {
    return this.#spake.message;
  }

  /** The body of our `pake` phase, byte for byte what Python's json.dumps writes. */
  get body(): Uint8Array {
    return pakeBody(this.#spake.message);
  }

  /** The shared key from the peer's `pake` body (not yet confirmed), and gospake2's if it differs. */
  finish(peerBody: Uint8Array): PakeKeys {
    const { key, goKey } = this.#spake.finish(parsePakeBody(peerBody));
    return { key: asSharedKey(key), goKey: goKey === null ? null : asSharedKey(goKey) };
  }
}

export function pakeBody(message: Uint8Array): Uint8Array {
  return utf8(`{"pake_v1": "${bytesToHex(message)}"}`);
}

/** The SPAKE2 message inside a `pake` body; extra keys and upper-case hex pass, as in Python. */
export function parsePakeBody(body: Uint8Array): Uint8Array {
  const value = parseJsonObject(body);
  if (value === null) throw peerError("pake-not-json", "peer's PAKE message is not a JSON object");
  const hex = value["pake_v1"];
  if (typeof hex !== "string") throw peerError("pake-missing", `peer's PAKE message has no "pake_v1" string`);
  const message = hexToBytes(hex);
  if (message === null) throw peerError("pake-bad-hex", "peer's PAKE message is not valid hex");
  return message;
}

function parseJsonObject(body: Uint8Array): Record<string, unknown> | null {
  const text = fromUtf8(body);
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
