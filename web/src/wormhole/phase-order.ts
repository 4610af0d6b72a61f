/**
 * Delivery of the peer's numbered phases ("0", "1", …) in numeric order,
 * once each, as Python's client does (Rust and Go deliver in arrival order,
 * which is the same for every peer that sends in order). A peer re-sends after
 * reconnecting, so duplicates are dropped; a gap may hold back only so many.
 */

import { peerError } from "./errors.ts";

/** Out-of-order phases held while an earlier one is missing. */
export const MAX_HELD_PHASES = 64;

/** The number of a decimal phase name, or `null` for `version`, `pake`, `dilate-0`, … */
export function phaseNumber(phase: string): number | null {
  if (!/^(?:0|[1-9][0-9]{0,14})$/.test(phase)) return null;
  return Number(phase);
}

export class PhaseOrder {
  #next = 0;
  readonly #held = new Map<number, Uint8Array>();

  /** Whether `n` was delivered or is already held. */
  seen(n: number): boolean {
    return n < this.#next || this.#held.has(n);
  }

  /** Takes phase `n` and returns every phase now deliverable, in order, with its number. */
  accept(n: number, body: Uint8Array): [number, Uint8Array][] {
    if (this.seen(n)) return [];
    if (n !== this.#next && this.#held.size >= MAX_HELD_PHASES) {
      throw peerError("too-many-phases", `the other side skipped a phase and sent ${MAX_HELD_PHASES} more`);
    }
    this.#held.set(n, body);
    const ready: [number, Uint8Array][] = [];
    for (let next = this.#held.get(this.#next); next !== undefined; next = this.#held.get(this.#next)) {
      this.#held.delete(this.#next);
      ready.push([this.#next, next]);
      this.#next += 1;
    }
    return ready;
  }
}
