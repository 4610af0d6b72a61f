/**
 * SPAKE2 over Ed25519, python-spake2 0.9's `SPAKE2_Symmetric`, as Magic
 * Wormhole uses it (password = the whole code, idSymmetric = the appid).
 *
 * Message: `0x53 ('S') ‖ X*` where `X* = x·B + pw·S`, 33 bytes. Key:
 * `SHA256(SHA256(pw) ‖ SHA256(idS) ‖ min(X*,Y*) ‖ max(X*,Y*) ‖ K)` with
 * `K = x·(Y* − pw·S)` and the two elements ordered bytewise without the side
 * byte. A wrong password gives a different key; nothing here can tell, only
 * the first encrypted message that fails to open.
 *
 * gospake2 (wormhole-william's SPAKE2) encodes elements with Go's
 * `big.Int.Bytes()` reversed, which drops trailing zero bytes, and sizes every
 * transcript field by K's encoding: when K ends in 0x00 (1 in 256) its key
 * differs, so `finish` also gives that key for the caller to try.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual, compareBytes, concatBytes, utf8 } from "./bytes.ts";
import { localError, peerError } from "./errors.ts";
import { systemRandom, type Random } from "./random.ts";
import {
  ENTROPY_LEN, Point, arbitraryElement, decodeElement, multiply, passwordToScalar, scalarFromEntropy,
} from "./spake2-group.ts";

/** Side byte of the symmetric variant; `A` and `B` belong to the asymmetric one. */
export const SIDE_SYMMETRIC = 0x53;
export const MESSAGE_LEN = 33;

/** The blinding element of the symmetric variant (M and N are the asymmetric ones). */
export const S: Point = arbitraryElement(utf8("symmetric"));

/** The standard key, and the one gospake2 derives when it differs (else `null`). */
export interface Spake2Keys {
  readonly key: Uint8Array;
  readonly goKey: Uint8Array | null;
}

/** One side of the exchange: `message` goes to the peer, `finish` takes theirs. */
export class Spake2Symmetric {
  /** Our 33-byte message. */
  readonly message: Uint8Array;
  readonly #password: Uint8Array;
  readonly #idSymmetric: Uint8Array;
  readonly #pwScalar: bigint;
  readonly #xScalar: bigint;
  #finished = false;

  /** `random` must give the 64 bytes of the secret scalar in one draw (as python-spake2's entropy_f). */
  constructor(password: Uint8Array, idSymmetric: Uint8Array, random: Random = systemRandom) {
    const entropy = random(ENTROPY_LEN);
    if (entropy.length !== ENTROPY_LEN) throw localError("bad-entropy", `SPAKE2 needs ${ENTROPY_LEN} random bytes`);
    this.#password = password.slice();
    this.#idSymmetric = idSymmetric.slice();
    this.#pwScalar = passwordToScalar(password);
    this.#xScalar = scalarFromEntropy(entropy);
    const element = multiply(Point.BASE, this.#xScalar).add(multiply(S, this.#pwScalar));
    this.message = concatBytes(Uint8Array.of(SIDE_SYMMETRIC), element.toBytes());
  }

  /** The 32-byte shared key(s) from the peer's message. Once only: reuse could leak the password. */
  finish(peerMessage: Uint8Array): Spake2Keys {
    if (this.#finished) throw localError("finished", "SPAKE2 finish() may be called once");
    this.#finished = true;
    const inbound = checkPeerMessage(peerMessage);
    const element = decodeElement(inbound);
    if (element === null) throw peerError("pake-bad-element", "peer's PAKE message is not a valid group element");
    const outbound = this.message.subarray(1);
    if (bytesEqual(element.toBytes(), outbound)) {
      throw peerError("pake-reflected", "peer's PAKE message is our own message reflected back");
    }
    const k = multiply(element.subtract(multiply(S, this.#pwScalar)), this.#xScalar).toBytes();
    return {
      key: transcriptKey(this.#password, this.#idSymmetric, inbound, outbound, k),
      goKey: gospake2Key(this.#password, this.#idSymmetric, inbound, outbound, k),
    };
  }
}

/**
 * `SHA256(SHA256(pw) ‖ SHA256(idS) ‖ lo ‖ hi ‖ K)`, the two 32-byte elements
 * ordered bytewise; with `n` < 32 each of the three is cut to `n` bytes.
 */
export function transcriptKey(
  password: Uint8Array, idSymmetric: Uint8Array, u: Uint8Array, v: Uint8Array, k: Uint8Array, n = 32,
): Uint8Array {
  const [lo, hi] = compareBytes(u, v) <= 0 ? [u, v] : [v, u];
  return sha256(concatBytes(sha256(password), sha256(idSymmetric), lo.subarray(0, n), hi.subarray(0, n), k.subarray(0, n)));
}

/** gospake2's key: every field cut to K's length without its trailing zero bytes; `null` if none. */
export function gospake2Key(
  password: Uint8Array, idSymmetric: Uint8Array, u: Uint8Array, v: Uint8Array, k: Uint8Array,
): Uint8Array | null {
  let n = k.length;
  while (n > 0 && k[n - 1] === 0) n--;
  return n === k.length ? null : transcriptKey(password, idSymmetric, u, v, k, n);
}

/** The element part of a peer message, after the length and side byte checks. */
function checkPeerMessage(message: Uint8Array): Uint8Array {
  if (message.length !== MESSAGE_LEN) {
    throw peerError("pake-bad-length", `peer's PAKE message is ${message.length} bytes, expected ${MESSAGE_LEN}`);
  }
  if (message[0] !== SIDE_SYMMETRIC) {
    throw peerError("pake-wrong-side", `peer's PAKE message has side byte 0x${message[0]?.toString(16)}, expected 0x53 ('S')`);
  }
  return message.subarray(1);
}
