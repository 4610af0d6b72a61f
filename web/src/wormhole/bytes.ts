/**
 * Byte helpers shared by the codecs: hex as the wire writes it, UTF-8 that
 * refuses invalid input, and big-endian integers (python-spake2 and the
 * transit nonces are big-endian; see spake2-group.ts).
 */

import { bytesToHex as nobleBytesToHex } from "@noble/hashes/utils.js";

/** Lowercase hex, as every wormhole implementation writes it. */
export function bytesToHex(bytes: Uint8Array): string {
  return nobleBytesToHex(bytes);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Hex in either case (Python's unhexlify takes both); `null` for anything else. */
export function hexToBytes(hex: string): Uint8Array | null {
  if (!HEX.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decoding; `null` on invalid bytes rather than U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Lexicographic order, like Python's comparison of `bytes`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function bigintFromBytesBE(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt("0x" + bytesToHex(bytes));
}

/** `n` as exactly `len` big-endian bytes; throws if it does not fit. */
export function bigintToBytesBE(n: bigint, len: number): Uint8Array {
  if (n < 0n || n >= 1n << BigInt(8 * len)) {
    throw new RangeError(`${n} does not fit in ${len} bytes`);
  }
  const out = new Uint8Array(len);
  for (let i = len - 1, v = n; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}
