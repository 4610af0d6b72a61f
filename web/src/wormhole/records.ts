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
import { NONCE_LEN, OVERHEAD, TAG_LEN, nobleRecordCipher, open, sealWithNonce, type RecordCipher } from "./secretbox.ts";

export const LENGTH_PREFIX_LEN = 4;
/** The largest record body accepted or sent (peers send 16 KiB); as ferry-proto's record.rs. */
export const MAX_RECORD_BODY = 16 * 1024 * 1024;
/** The largest plaintext one record can carry. */
export const MAX_RECORD_PLAINTEXT = MAX_RECORD_BODY - OVERHEAD;
/** A frame's bytes beyond its plaintext: length prefix, nonce, tag. */
export const FRAME_OVERHEAD = LENGTH_PREFIX_LEN + OVERHEAD;

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

/**
 * Writes record `seqnum`'s whole frame at `out[offset…]` without allocating
 * (FRAME_OVERHEAD + plaintext bytes); returns the frame's length.
 */
export function sealRecordInto(
  key: Uint8Array,
  seqnum: bigint,
  plaintext: Uint8Array,
  out: Uint8Array,
  offset: number,
  cipher: RecordCipher = nobleRecordCipher(),
): number {
  if (plaintext.length > MAX_RECORD_PLAINTEXT) {
    throw localError("record-too-big", `records carry at most ${MAX_RECORD_PLAINTEXT} bytes`);
  }
  const end = offset + FRAME_OVERHEAD + plaintext.length;
  const tagAt = end - plaintext.length - TAG_LEN;
  // The cipher's scratch bytes before the tag land on the nonce's place, written after.
  cipher.sealAt(key, recordNonce(seqnum), plaintext, out, tagAt);
  out.set(recordNonce(seqnum), offset + LENGTH_PREFIX_LEN);
  new DataView(out.buffer, out.byteOffset).setUint32(offset, end - offset - LENGTH_PREFIX_LEN);
  return end - offset;
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
  readonly #cipher: RecordCipher;
  #next = 0n;

  constructor(key: Uint8Array, cipher: RecordCipher = nobleRecordCipher()) {
    this.#key = key;
    this.#cipher = cipher;
  }

  seal(plaintext: Uint8Array): Uint8Array {
    const frame = sealRecord(this.#key, this.#next, plaintext);
    this.#next += 1n;
    return frame;
  }

  /** `sealRecordInto` for the next record. */
  sealInto(plaintext: Uint8Array, out: Uint8Array, offset: number): number {
    const n = sealRecordInto(this.#key, this.#next, plaintext, out, offset, this.#cipher);
    this.#next += 1n;
    return n;
  }
}

/**
 * Turns the peer's byte stream (TCP segments or WebSocket frames, any
 * boundaries) into plaintext records, in order. One failure kills the stream.
 * Received bytes and plaintexts live in buffers reused from record to record,
 * so a long transfer allocates nothing per record (`pushEach`).
 */
export class RecordReader {
  readonly #key: Uint8Array;
  #next = 0n;
  /** Received bytes not yet opened are `#buf[#start…#end]`. */
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  readonly #cipher: RecordCipher;
  #dead = false;

  constructor(key: Uint8Array, cipher: RecordCipher = nobleRecordCipher()) {
    this.#key = key;
    this.#cipher = cipher;
  }

  /** Feeds received bytes; returns every record they complete (copies). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.pushEach(chunk, (p) => out.push(p.slice()));
    return out;
  }

  /**
   * Feeds received bytes; calls `each` with every record they complete, as a
   * view that is only valid during the call (the next record reuses it).
   */
  pushEach(chunk: Uint8Array, each: (plaintext: Uint8Array) => void): void {
    if (this.#dead) throw localError("stream-dead", "the record stream already failed");
    this.#append(chunk);
    try {
      for (let body = this.#takeBody(); body !== null; body = this.#takeBody()) {
        each(this.#open(body));
        this.#next += 1n;
      }
    } catch (e) {
      this.#dead = true;
      throw e;
    }
  }

  /** Bytes received that do not yet make a whole record. */
  get pending(): number {
    return this.#end - this.#start;
  }

  #open(body: Uint8Array): Uint8Array {
    checkBodyLength(body.length);
    if (!bytesEqual(body.subarray(0, NONCE_LEN), recordNonce(this.#next))) {
      throw peerError("record-out-of-order", `record out of order or replayed (expected #${this.#next})`);
    }
    try {
      return this.#cipher.open(this.#key, body);
    } catch {
      throw peerError("record-forged", "record failed authentication (corrupted or forged)");
    }
  }

  /** Appends `chunk`, moving the unread bytes to the front (or a bigger buffer) when it does not fit. */
  #append(chunk: Uint8Array): void {
    if (this.#buf.length - this.#end < chunk.length) {
      const pending = this.pending;
      if (pending + chunk.length <= this.#buf.length) this.#buf.copyWithin(0, this.#start, this.#end);
      else {
        const bigger = new Uint8Array(Math.max(pending + chunk.length, 2 * this.#buf.length));
        bigger.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = bigger;
      }
      this.#start = 0;
      this.#end = pending;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  #takeBody(): Uint8Array | null {
    if (this.pending < LENGTH_PREFIX_LEN) return null;
    const len = new DataView(this.#buf.buffer, this.#start).getUint32(0);
    checkBodyLength(len);
    const end = this.#start + LENGTH_PREFIX_LEN + len;
    if (end > this.#end) return null;
    const body = this.#buf.subarray(this.#start + LENGTH_PREFIX_LEN, end);
    this.#start = end;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return body;
  }
}
