/**
 * SPAKE2 over Ed25519, python-spake2 0.9's `SPAKE2_Symmetric`, as Magic
 * Wormhole uses it (password = the whole code, idSymmetric = the appid).
 *
 * Message: `0x53 ('S') ‖ X*` where `X* = x·B + pw·S`, 33 bytes. Key:
 * `SHA256(SHA256(pw) ‖ SHA256(idS) ‖ min(X*,Y*) ‖ max(X*,Y*) ‖ K)` with
 * `K = x·(Y* − pw·S)` and the two elements ordered bytewise without the side
 * byte. A wrong password gives a different key; nothing here can tell, only
 * the first encrypted message that fails to open.
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

  /** The 32-byte shared key from the peer's message. Once only: reuse could leak the password. */
  finish(peerMessage: Uint8Array): Uint8Array {
    if (this.#finished) throw localError("finished", "SPAKE2 finish() may be called once");
    this.#finished = true;
    const inbound = checkPeerMessage(peerMessage);
    const element = decodeElement(inbound);
    if (element === null) throw peerError("pake-bad-element", "peer's PAKE message is not a valid group element");
    const outbound = this.message.subarray(1);
    if (bytesEqual(element.toBytes(), outbound)) {
      throw peerError("pake-reflected", "peer's PAKE message is our own message reflected back");
    }
    const k = multiply(element.subtract(multiply(S, this.#pwScalar)), this.#xScalar);
    return this.#transcriptKey(inbound, outbound, k.toBytes());
  }

  #transcriptKey(inbound: Uint8Array, outbound: Uint8Array, k: Uint8Array): Uint8Array {
    const [first, second] = compareBytes(inbound, outbound) <= 0 ? [inbound, outbound] : [outbound, inbound];
    return sha256(concatBytes(sha256(this.#password), sha256(this.#idSymmetric), first, second, k));
  }
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
