/**
 * The Ed25519 group exactly as python-spake2 0.9 (`ed25519_basic.py`,
 * `groups.py`) uses it for SPAKE2. Curve arithmetic is @noble/curves'; what is
 * python-spake2's own is how bytes become scalars and elements:
 *
 * - scalars from entropy and from the password are read **big-endian** and
 *   reduced mod L (point encodings, by contrast, are little-endian as usual);
 * - the blinding elements M, N, S come from its own hash-to-point: HKDF the
 *   seed to 48 bytes, read big-endian mod p as a y coordinate, try y, y+1, …
 *   with the even x until a point exists, multiply by the cofactor 8.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import type { EdwardsPoint } from "@noble/curves/abstract/edwards.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bigintFromBytesBE, utf8 } from "./bytes.ts";

export type Point = EdwardsPoint;
export const Point = ed25519.Point;

/** Order of the prime subgroup. */
export const L: bigint = Point.Fn.ORDER;
const Fp = Point.Fp;
const D: bigint = Point.CURVE().d;
const SQRT_M1: bigint = Fp.pow(2n, (Fp.ORDER - 1n) / 4n);

/** python-spake2 reads `entropy_f(64)` as one big-endian integer, mod L. */
export const ENTROPY_LEN = 64;

export function scalarFromEntropy(entropy: Uint8Array): bigint {
  return bigintFromBytesBE(entropy) % L;
}

/** HKDF-SHA256(pw, salt "", info "SPAKE2 pw", 32 + 16 bytes), big-endian, mod L. */
export function passwordToScalar(password: Uint8Array): bigint {
  return bigintFromBytesBE(hkdf(sha256, password, new Uint8Array(), utf8("SPAKE2 pw"), 48)) % L;
}

/** x for a y on the curve, always the even root; `null` if there is none. */
function evenX(y: bigint): bigint | null {
  const y2 = Fp.sqr(y);
  const xx = Fp.mul(Fp.sub(y2, 1n), Fp.inv(Fp.add(Fp.mul(D, y2), 1n)));
  let x = Fp.pow(xx, (Fp.ORDER + 3n) / 8n);
  if (!Fp.eql(Fp.sqr(x), xx)) x = Fp.mul(x, SQRT_M1);
  if (!Fp.eql(Fp.sqr(x), xx)) return null;
  return x & 1n ? Fp.neg(x) : x;
}

/** python-spake2's `arbitrary_element(seed)`: an element nobody knows the log of. */
export function arbitraryElement(seed: Uint8Array): Point {
  const expanded = hkdf(sha256, seed, new Uint8Array(), utf8("SPAKE2 arbitrary element"), 48);
  const y0 = bigintFromBytesBE(expanded) % Fp.ORDER;
  for (let plus = 0n; ; plus++) {
    const y = Fp.create(y0 + plus);
    const x = evenX(y);
    if (x === null) continue;
    const p8 = Point.fromAffine({ x, y }).multiplyUnsafe(8n);
    if (!p8.is0()) return p8;
  }
}

/** `point · scalar` for any scalar mod L (noble's constant-time multiply refuses 0). */
export function multiply(point: Point, scalar: bigint): Point {
  const s = scalar % L;
  return s === 0n ? Point.ZERO : point.multiply(s);
}

/**
 * A peer's element, checked as python-spake2 checks it: it decodes (non-canonical
 * y accepted, like Python's decoder), is not the identity, and lies in the
 * prime-order subgroup. `null` otherwise.
 */
export function decodeElement(bytes: Uint8Array): Point | null {
  if (bytes.length !== 32) return null;
  let point: Point;
  try {
    point = Point.fromBytes(bytes, true);
  } catch {
    return null;
  }
  return point.is0() || !point.isTorsionFree() ? null : point;
}
