/**
 * NaCl secretbox (XSalsa20-Poly1305) in the layout every wormhole message and
 * transit record uses: `nonce(24) ‖ tag(16) ‖ ciphertext`, the same bytes as
 * PyNaCl's `SecretBox.encrypt`.
 */

import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { concatBytes } from "./bytes.ts";
import { peerError, localError } from "./errors.ts";
import { systemRandom, type Random } from "./random.ts";

export const KEY_LEN = 32;
export const NONCE_LEN = 24;
export const TAG_LEN = 16;
/** Bytes a sealed body adds to its plaintext. */
export const OVERHEAD = NONCE_LEN + TAG_LEN;

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_LEN) throw localError("bad-key", `secretbox keys are ${KEY_LEN} bytes`);
}

/** Seals under a nonce the caller chose (a counter, or a KAT's). */
export function sealWithNonce(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkKey(key);
  if (nonce.length !== NONCE_LEN) throw localError("bad-nonce", `nonces are ${NONCE_LEN} bytes`);
  return concatBytes(nonce, xsalsa20poly1305(key, nonce).encrypt(plaintext));
}

/** Seals under a fresh random nonce, as mailbox phase messages are. */
export function seal(key: Uint8Array, plaintext: Uint8Array, random: Random = systemRandom): Uint8Array {
  return sealWithNonce(key, random(NONCE_LEN), plaintext);
}

/**
 * Opens `nonce ‖ tag ‖ ciphertext`. Short bodies are refused before any
 * slicing (Rust and Go clients panic on them); a bad tag is the peer's fault.
 */
export function open(key: Uint8Array, body: Uint8Array): Uint8Array {
  checkKey(key);
  if (body.length < OVERHEAD) {
    throw peerError("too-short", `sealed body of ${body.length} bytes is shorter than ${OVERHEAD}`);
  }
  try {
    return xsalsa20poly1305(key, body.subarray(0, NONCE_LEN)).decrypt(body.subarray(NONCE_LEN));
  } catch {
    throw peerError("decrypt-failed", "sealed body failed authentication");
  }
}

/** Room noble's XSalsa20-Poly1305 needs beyond the data, in the buffers below. */
export const SCRATCH_LEN = 32;

/**
 * `open` without allocating: decrypts inside `scratch` (reused by the caller,
 * at least `body.length - NONCE_LEN + SCRATCH_LEN` bytes) and returns a view
 * of the plaintext there, valid until the scratch is used again.
 */
export function openInto(key: Uint8Array, body: Uint8Array, scratch: Uint8Array): Uint8Array {
  checkKey(key);
  if (body.length < OVERHEAD) {
    throw peerError("too-short", `sealed body of ${body.length} bytes is shorter than ${OVERHEAD}`);
  }
  const sealed = body.subarray(NONCE_LEN);
  try {
    return xsalsa20poly1305(key, body.subarray(0, NONCE_LEN)).decrypt(sealed, scratch.subarray(0, sealed.length + SCRATCH_LEN));
  } catch {
    throw peerError("decrypt-failed", "sealed body failed authentication");
  }
}

/**
 * Seals into `out`, whose last `plaintext.length + TAG_LEN` bytes receive
 * `tag ‖ ciphertext`; its first 16 bytes are scratch (noble's layout), so
 * `out` is `plaintext.length + SCRATCH_LEN` bytes and the caller writes what
 * belongs before the tag (the nonce) afterwards.
 */
export function sealInto(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void {
  checkKey(key);
  if (nonce.length !== NONCE_LEN) throw localError("bad-nonce", `nonces are ${NONCE_LEN} bytes`);
  xsalsa20poly1305(key, nonce).encrypt(plaintext, out);
}

/**
 * XSalsa20-Poly1305 as the record layer uses it, without allocating per
 * record. noble's is the default (`nobleRecordCipher`); the transit worker
 * passes a faster one (libsodium's WebAssembly build, ../transit/sodium.ts).
 */
export interface RecordCipher {
  /**
   * Writes `tag ‖ ciphertext` of `plaintext` at `out[at…]`; it may use the 16
   * bytes before `at` as scratch (the caller writes them afterwards).
   */
  sealAt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array, at: number): void;
  /** The plaintext of `body` (`nonce ‖ tag ‖ ciphertext`), valid until the next call; a bad tag throws. */
  open(key: Uint8Array, body: Uint8Array): Uint8Array;
}

/** noble's cipher, opening in one scratch buffer reused from record to record. */
export function nobleRecordCipher(): RecordCipher {
  let scratch = new Uint8Array(0);
  return {
    sealAt: (key, nonce, plaintext, out, at) => sealInto(key, nonce, plaintext, out.subarray(at - (SCRATCH_LEN - TAG_LEN), at + TAG_LEN + plaintext.length)),
    open: (key, body) => {
      const need = body.length - NONCE_LEN + SCRATCH_LEN;
      if (scratch.length < need) scratch = new Uint8Array(need);
      return openInto(key, body, scratch);
    },
  };
}
