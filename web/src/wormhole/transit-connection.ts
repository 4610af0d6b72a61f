/**
 * One transit connection (direct, or through a relay) as a sans-IO machine:
 * bytes in, bytes to write and events out (WORMHOLE-PROTOCOL.md §3.4).
 *
 *   relay?  write `please relay …`, wait for `ok\n`
 *   both    write our handshake at once, wait for the peer's
 *   sender  `handshake-done`: the driver picks one connection and calls
 *           `decide(true)` there (`go\n`), `decide(false)` on the rest
 *   receiver waits for `go\n` right after SENDER-HS
 *   then    `connected`, and records both ways with counter nonces
 *
 * Any peer error is thrown; the driver drops this connection (and no other).
 */

import { localError, peerError } from "./errors.ts";
import { recordKeys, type Role, type TransitKey } from "./keys.ts";
import { RecordReader, RecordSealer } from "./records.ts";
import { nobleRecordCipher, type RecordCipher } from "./secretbox.ts";
import { ExpectBytes, GO, NEVERMIND, RELAY_OK, handshakeFor, relayHandshake } from "./transit.ts";

export type TransitEvent =
  | { type: "handshake-done" }
  | { type: "connected" }
  | { type: "record"; plaintext: Uint8Array };

export interface TransitStep {
  readonly send: Uint8Array[];
  readonly events: TransitEvent[];
}

type State = "new" | "relay" | "handshake" | "deciding" | "records" | "closed";

export class TransitConnection {
  readonly #role: Role;
  readonly #relayLine: Uint8Array | null;
  readonly #ours: Uint8Array;
  readonly #theirs: Uint8Array;
  #expect: ExpectBytes;
  readonly #sealer: RecordSealer;
  readonly #reader: RecordReader;
  #state: State = "new";

  /** `relaySide` set: this connection goes through a relay. `cipher` makes each direction's record cipher. */
  constructor(tk: TransitKey, role: Role, relaySide?: string, cipher: () => RecordCipher = nobleRecordCipher) {
    const { send, expect } = handshakeFor(tk, role);
    const keys = recordKeys(tk, role);
    this.#role = role;
    this.#ours = send;
    this.#theirs = expect;
    this.#relayLine = relaySide === undefined ? null : relayHandshake(tk, relaySide);
    this.#expect = new ExpectBytes(this.#relayLine === null ? expect : RELAY_OK);
    this.#sealer = new RecordSealer(keys.seal, cipher());
    this.#reader = new RecordReader(keys.open, cipher());
  }

  /** What to write as soon as the socket is open. */
  start(): TransitStep {
    this.#require("new");
    this.#state = this.#relayLine === null ? "handshake" : "relay";
    return { send: [this.#relayLine ?? this.#ours], events: [] };
  }

  /**
   * Bytes from the socket, with any boundaries. With `onRecord`, records go
   * there instead of into `events`, as views valid only during the call (no
   * allocation per record; see `RecordReader.pushEach`).
   */
  receive(chunk: Uint8Array, onRecord?: (plaintext: Uint8Array) => void): TransitStep {
    const step: TransitStep = { send: [], events: [] };
    try {
      this.#receive(chunk, step, onRecord);
    } catch (e) {
      this.#state = "closed";
      throw e;
    }
    return step;
  }

  /** Sender only, after `handshake-done`: `go` on the chosen connection, `nevermind` elsewhere. */
  decide(go: boolean): TransitStep {
    if (this.#role !== "sender") throw localError("not-sender", "only the sender decides");
    this.#require("deciding");
    if (!go) {
      this.#state = "closed";
      return { send: [NEVERMIND], events: [] };
    }
    this.#state = "records";
    return { send: [GO], events: [{ type: "connected" }] };
  }

  /** One record for the peer, once connected. */
  seal(plaintext: Uint8Array): Uint8Array {
    this.#require("records");
    return this.#sealer.seal(plaintext);
  }

  /** `seal` written at `out[offset…]` (FRAME_OVERHEAD + plaintext bytes); returns its length. */
  sealInto(plaintext: Uint8Array, out: Uint8Array, offset: number): number {
    this.#require("records");
    return this.#sealer.sealInto(plaintext, out, offset);
  }

  #receive(chunk: Uint8Array, step: TransitStep, onRecord?: (plaintext: Uint8Array) => void): void {
    let rest: Uint8Array | null = chunk;
    if (this.#state === "relay") {
      rest = this.#expect.push(rest);
      if (rest === null) return;
      this.#expect = new ExpectBytes(this.#theirs);
      this.#state = "handshake";
      step.send.push(this.#ours);
    }
    if (this.#state === "handshake") {
      rest = this.#expect.push(rest);
      if (rest === null) return;
      if (this.#role === "sender") {
        this.#state = "deciding";
        step.events.push({ type: "handshake-done" });
      } else {
        this.#state = "records";
        step.events.push({ type: "connected" });
      }
    }
    if (rest.length === 0) return;
    // The receiver writes nothing between its handshake and our `go`.
    if (this.#state === "deciding") throw peerError("impatient", "the receiver sent data before go");
    if (this.#state !== "records") throw localError("transit-state", `bytes received in state ${this.#state}`);
    if (onRecord !== undefined) this.#reader.pushEach(rest, onRecord);
    else for (const plaintext of this.#reader.push(rest)) step.events.push({ type: "record", plaintext });
  }

  #require(state: State): void {
    if (this.#state !== state) throw localError("transit-state", `expected state ${state}, in ${this.#state}`);
  }
}
