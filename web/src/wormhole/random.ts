/**
 * Where randomness comes from. Every machine takes a `Random` so tests can
 * replay known bytes (the KATs) while the page uses the platform CSPRNG.
 */

import { randomBytes } from "@noble/hashes/utils.js";

/** Returns `n` fresh random bytes. */
export type Random = (n: number) => Uint8Array;

/** `crypto.getRandomValues`, in the browser and in Node alike. */
export const systemRandom: Random = (n) => randomBytes(n);
