// Loads test-vectors/wormhole-kat.json, found from the repository root, and
// gives its hex fields back as bytes. Shapes follow test-vectors/generate.py.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hexToBytes } from "../src/wormhole/bytes.ts";

const KAT_PATH = join("test-vectors", "wormhole-kat.json");

/** The checkout root: the nearest directory above this file holding the KAT file. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, KAT_PATH))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no ${KAT_PATH} above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export interface PhaseVector { side: string; phase: string; phase_key: string; nonce: string; plaintext: string; body: string }
export interface RecordVector { seqnum: string; nonce: string; plaintext: string; body: string; frame: string }
export interface TransitVector {
  transit_key: string;
  sender_handshake: string;
  receiver_handshake: string;
  relay_side: string;
  relay_handshake: string;
  subkeys: Record<string, string>;
  sender_records: RecordVector[];
}
export interface CaseVector {
  name: string;
  code: string;
  appid: string;
  entropy_a: string;
  entropy_b: string;
  msg_a: string;
  msg_b: string;
  body_a: string;
  body_b: string;
  shared_key: string;
  verifier: string;
  derive: { purpose: string; len: number; okm: string }[];
  phases: PhaseVector[];
  transit: TransitVector;
}
export interface Kat {
  versions: Record<string, string>;
  cases: CaseVector[];
  hkdf: { ikm: string; info: string; len: number; okm: string }[];
  secretbox: { key: string; nonce: string; plaintext: string; body: string }[];
  wordlist: [string, string][];
  choose_words: { bytes: string; words: string }[];
  completions: { prefix: string; num_words: number; completions: string[] }[];
}

let cached: Kat | undefined;

export function kat(): Kat {
  cached ??= JSON.parse(readFileSync(join(repoRoot(), KAT_PATH), "utf8")) as Kat;
  return cached;
}

/** Hex from the KAT file as bytes; a malformed vector fails the test loudly. */
export function unhex(hex: string): Uint8Array {
  const bytes = hexToBytes(hex);
  if (bytes === null) throw new Error(`bad hex in KAT: ${hex.slice(0, 20)}…`);
  return bytes;
}

/** A `Random` that hands out `bytes` and then fails, so a test sees every draw. */
export function replay(...chunks: Uint8Array[]): (n: number) => Uint8Array {
  const queue = [...chunks];
  return (n) => {
    const next = queue.shift();
    if (next === undefined || next.length !== n) {
      throw new Error(`unexpected draw of ${n} random bytes`);
    }
    return next;
  };
}

/** A deterministic but unpredictable-looking `Random` (xorshift), for round trips. */
export function seeded(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 0xff;
    }
    return out;
  };
}
