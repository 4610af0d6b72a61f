/**
 * Transit records: `len(u32 BE) ‖ nonce(24) ‖ tag(16) ‖ ciphertext`, where
 * `len` counts nonce, tag and ciphertext (WORMHOLE-PROTOCOL.md §3.5).
 *
 * The nonce is a per-direction counter from 0 written as a 24-byte
 * **big-endian** integer (the spec text says little-endian; every
 * implementation does big-endian). A record whose nonce is not the next one
 * expected is refused, which stops replay and reordering; after any refusal
 * the stream is dead. Lengths come from the peer and are bounded before
 * anything is buffered.
 */

import { bigintToBytesBE, bytesEqual, concatBytes } from "./bytes.ts";
import { localError, peerError } from "./errors.ts";
import { NONCE_LEN, OVERHEAD, open, sealWithNonce } from "./secretbox.ts";

export const LENGTH_PREFIX_LEN = 4;
/** The largest record body accepted or sent (peers send 16 KiB); as ferry-proto's record.rs. */
export const MAX_RECORD_BODY = 16 * 1024 * 1024;
/** The largest plaintext one record can carry. */
export const MAX_RECORD_PLAINTEXT = MAX_RECORD_BODY - OVERHEAD;

/** Record `seqnum`'s nonce: the counter as 24 big-endian bytes. */
export function recordNonce(seqnum: bigint): Uint8Array {
  return bigintToBytesBE(seqnum, NONCE_LEN);
}

/** The whole frame (length prefix included) of record `seqnum`. */
export function sealRecord(key: Uint8Array, seqnum: bigint, plaintext: Uint8Array): Uint8Array {
  if (plaintext.length > MAX_RECORD_PLAINTEXT) {
    throw localError("record-too-big", `records carry at most ${MAX_RECORD_PLAINTEXT} bytes`);
  }
  const body = sealWithNonce(key, recordNonce(seqnum), plaintext);
  const prefix = new Uint8Array(LENGTH_PREFIX_LEN);
  new DataView(prefix.buffer).setUint32(0, body.length);
  return concatBytes(prefix, body);
}

/** Opens the body (`nonce ‖ tag ‖ ciphertext`) of what must be record `seqnum`. */
export function openRecord(key: Uint8Array, seqnum: bigint, body: Uint8Array): Uint8Array {
  checkBodyLength(body.length);
  if (!bytesEqual(body.subarray(0, NONCE_LEN), recordNonce(seqnum))) {
    throw peerError("record-out-of-order", `record out of order or replayed (expected #${seqnum})`);
  }
  try {
    return open(key, body);
  } catch {
    throw peerError("record-forged", "record failed authentication (corrupted or forged)");
  }
}

function checkBodyLength(len: number): void {
  if (len < OVERHEAD || len > MAX_RECORD_BODY) {
    throw peerError("record-bad-length", `record length ${len} is out of bounds`);
  }
}

/** Seals the records we write, numbering them 0, 1, 2, … */
export class RecordSealer {
  readonly #key: Uint8Array;
  #next = 0n;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  seal(plaintext: Uint8Array): Uint8Array {
    const frame = sealRecord(this.#key, this.#next, plaintext);
    this.#next += 1n;
    return frame;
  }
}

/**
 * Turns the peer's byte stream (TCP segments or WebSocket frames, any
 * boundaries) into plaintext records, in order. One failure kills the stream.
 */
export class RecordReader {
  readonly #key: Uint8Array;
  #next = 0n;
  #buffer: Uint8Array = new Uint8Array(0);
  #dead = false;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  /** Feeds received bytes; returns every record they complete. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#dead) throw localError("stream-dead", "the record stream already failed");
    // Only a partial record is ever kept, so a chunk is copied once, not once per record in it.
    this.#buffer = this.#buffer.length === 0 ? chunk.slice() : concatBytes(this.#buffer, chunk);
    const out: Uint8Array[] = [];
    try {
      for (let body = this.#takeBody(); body !== null; body = this.#takeBody()) {
        out.push(openRecord(this.#key, this.#next, body));
        this.#next += 1n;
      }
    } catch (e) {
      this.#dead = true;
      throw e;
    }
    return out;
  }

  /** Bytes received that do not yet make a whole record. */
  get pending(): number {
    return this.#buffer.length;
  }

  #takeBody(): Uint8Array | null {
    if (this.#buffer.length < LENGTH_PREFIX_LEN) return null;
    const len = new DataView(this.#buffer.buffer, this.#buffer.byteOffset).getUint32(0);
    checkBodyLength(len);
    const end = LENGTH_PREFIX_LEN + len;
    if (this.#buffer.length < end) return null;
    // Views, not copies: copying the rest after each record made a 1 MiB frame cost 32 MiB of copying.
    const body = this.#buffer.subarray(LENGTH_PREFIX_LEN, end);
    this.#buffer = this.#buffer.subarray(end);
    return body;
  }
}
