/**
 * The client side of a wormhole rendezvous as a sans-IO state machine.
 *
 * Call order: `start()` (bind), then `setCode()` or `allocateCode()`; feed
 * every server frame (already JSON-parsed) to `handle()`; queue payloads with
 * `send()`; finish with `close()` and wait for the `closed` event. Every call
 * returns a `Step`: frames to send, in order, and events for the application.
 *
 * It follows what the real clients do (§1.8, §2.5-2.8): bind without waiting
 * for `welcome`; `open` and our `pake` as soon as the mailbox is claimed;
 * `version` as soon as the key exists (but see below); release the nameplate
 * on the peer's first message; hold our payloads until the peer's `version`
 * opens (key confirmation), so nothing of ours is sealed under a key a
 * wrong-code peer could attack offline. A `version` that does not open means
 * a wrong code: the machine says so and closes with mood `scary`.
 *
 * When gospake2 (wormhole-william) would derive another key (spake2.ts), our
 * `version` waits for the peer's: the key that opens it is adopted and ours
 * goes out under it. A peer that waits too (another ferry) gets ours, under
 * the standard key, after a `timer` event the driver turns into `timeout()`;
 * from then on that key is the only one (as in the Rust session).
 */

import { bytesToHex, fromUtf8, hexToBytes, utf8 } from "./bytes.ts";
import { generateCode, parseCode, type Code } from "./code.ts";
import { WormholeError, localError, peerError, serverError } from "./errors.ts";
import { decryptPhase, encryptPhase, verifier, type SharedKey } from "./keys.ts";
import { parseServerMessage, type ClientMessage, type Mood, type ServerMessage } from "./mailbox-wire.ts";
import { Pake } from "./pake.ts";
import { PhaseOrder, phaseNumber } from "./phase-order.ts";
import { systemRandom, type Random } from "./random.ts";
import { OVERHEAD } from "./secretbox.ts";

/** Largest payload accepted from the peer, as in transfer.ts. */
export const MAX_PAYLOAD = 1024 * 1024;
/** Peer messages held before our key or their `version` is there (normally one or two). */
export const MAX_EARLY_MESSAGES = 32;
/** How long our `version` waits for the peer's when two keys are possible. */
export const VERSION_WAIT_MS = 2_000;

export interface MailboxConfig {
  readonly appid: string;
  /** 10 lowercase hex chars, the same for the whole session. */
  readonly side: string;
  /** Our `app_versions`, sent inside the encrypted `version` message. */
  readonly appVersions?: Record<string, unknown>;
  /** Sent in `bind` so operators see which clients are in use. */
  readonly clientVersion?: [string, string];
  readonly random?: Random;
}

export type MailboxEvent =
  | { type: "welcome"; motd?: string }
  | { type: "code"; code: Code }
  | { type: "nameplates"; nameplates: string[] }
  /** The PAKE finished; the key is not confirmed yet (with two possible keys: once the peer's `version` picked one). */
  | { type: "key"; verifier: Uint8Array }
  /** For the driver, which owns the clock: call `timeout()` after `ms`. */
  | { type: "timer"; ms: number }
  /** Key confirmed: the peer's `version` opened. */
  | { type: "version"; versions: Record<string, unknown>; verifier: Uint8Array }
  | { type: "message"; phase: number; body: Uint8Array }
  | { type: "wrong-code" }
  | { type: "error"; error: WormholeError }
  | { type: "closed"; mood: Mood };

export interface Step {
  readonly send: ClientMessage[];
  readonly events: MailboxEvent[];
}

interface PeerMessage {
  readonly side: string;
  readonly phase: string;
  readonly body: string;
}

export class MailboxClient {
  readonly #config: MailboxConfig;
  readonly #random: Random;
  #send: ClientMessage[] = [];
  #events: MailboxEvent[] = [];
  #words = 0;
  #code: Code | null = null;
  #pake: Pake | null = null;
  #released = false;
  #mailbox: string | null = null;
  #key: SharedKey | null = null;
  /** gospake2's key while the peer's `version` may still pick it. */
  #goKey: SharedKey | null = null;
  #versionSent = false;
  #peerSide: string | null = null;
  #verified = false;
  #closing: Mood | null = null;
  #closed = false;
  #nextPhase = 0;
  #heldOut: Uint8Array[] = [];
  #early: PeerMessage[] = [];
  readonly #inbox = new PhaseOrder();

  constructor(config: MailboxConfig) {
    this.#config = config;
    this.#random = config.random ?? systemRandom;
  }

  /** The code in use, once set or allocated. */
  get code(): Code | null {
    return this.#code;
  }

  /** The shared key, only once confirmed (derive the transit key from it). */
  get sharedKey(): SharedKey | null {
    return this.#verified ? this.#key : null;
  }

  /** Binds to the server; the server takes this before its `welcome` arrives. */
  start(): Step {
    const { appid, side, clientVersion } = this.#config;
    this.#send.push({ type: "bind", appid, side, ...(clientVersion && { client_version: clientVersion }) });
    return this.#drain();
  }

  /** Uses a code the user typed: claims its nameplate. */
  setCode(code: string | Code): Step {
    this.#claim(typeof code === "string" ? parseCode(code) : code);
    return this.#drain();
  }

  /** Asks the server for a nameplate; the code gets `words` random words. */
  allocateCode(words = 2): Step {
    if (this.#code !== null || this.#words > 0) throw localError("code-set", "this session already has a code");
    this.#words = words;
    this.#send.push({ type: "allocate" });
    return this.#drain();
  }

  /** Asks for the nameplates in use (for completion). */
  listNameplates(): Step {
    this.#send.push({ type: "list" });
    return this.#drain();
  }

  /** Queues one payload; it goes out once the key is confirmed. */
  send(plaintext: Uint8Array): Step {
    if (this.#closing !== null) throw localError("closing", "the mailbox is closing");
    if (this.#verified) this.#sendPhase(plaintext);
    else this.#heldOut.push(plaintext.slice());
    return this.#drain();
  }

  /** Releases the nameplate if still held and closes the mailbox with `mood`. */
  close(mood: Mood = "happy"): Step {
    this.#close(mood);
    return this.#drain();
  }

  /** The `timer` ran out without the peer's `version`: ours goes out under the standard key, which is then the only one. */
  timeout(): Step {
    if (this.#closing === null && this.#key !== null && !this.#versionSent) {
      if (this.#goKey !== null) this.#events.push({ type: "key", verifier: verifier(this.#key) });
      this.#goKey = null;
      this.#sendVersion();
    }
    return this.#drain();
  }

  /** Feeds one frame from the server, as JSON.parse gave it. */
  handle(frame: unknown): Step {
    try {
      if (!this.#closed) this.#dispatch(parseServerMessage(frame));
    } catch (e) {
      this.#fail(e);
    }
    return this.#drain();
  }

  #drain(): Step {
    const step = { send: this.#send, events: this.#events };
    this.#send = [];
    this.#events = [];
    return step;
  }

  #fail(e: unknown): void {
    if (!(e instanceof WormholeError)) throw e;
    if (e.code === "wrong-code") this.#events.push({ type: "wrong-code" });
    else this.#events.push({ type: "error", error: e });
    this.#close(e.code === "unwelcome" ? "unwelcome" : e.fault === "server" ? "errory" : "scary");
  }

  #dispatch(msg: ServerMessage): void {
    if (msg.type === "closed") return this.#onClosed();
    if (this.#closing !== null) return; // only `closed` matters now
    switch (msg.type) {
      case "welcome":
        if (msg.error !== undefined) throw new WormholeError("unwelcome", "server", `the server refused service: ${JSON.stringify(msg.error)}`);
        this.#events.push(msg.motd === undefined ? { type: "welcome" } : { type: "welcome", motd: msg.motd });
        return;
      case "nameplates":
        this.#events.push(msg);
        return;
      case "allocated":
        return this.#onAllocated(msg.nameplate);
      case "claimed":
        return this.#onClaimed(msg.mailbox);
      case "message":
        return this.#onMessage(msg);
      case "error":
        throw serverError("server-error", `the server reported an error: ${JSON.stringify(msg.error)}`);
      default:
        return; // ack, released, pong, and types we do not know
    }
  }

  #claim(code: Code): void {
    if (this.#code !== null) throw localError("code-set", "this session already has a code");
    this.#code = code;
    this.#pake = new Pake(code.code, this.#config.appid, this.#random);
    this.#send.push({ type: "claim", nameplate: code.nameplate });
  }

  #onAllocated(nameplate: string): void {
    if (this.#words === 0 || this.#code !== null) return; // not asked for
    const code = generateCode(nameplate, this.#words, this.#random);
    this.#events.push({ type: "code", code });
    this.#claim(code);
  }

  #onClaimed(mailbox: string): void {
    if (this.#mailbox !== null || this.#pake === null) return;
    this.#mailbox = mailbox;
    this.#send.push({ type: "open", mailbox });
    this.#add("pake", this.#pake.body);
  }

  #onMessage(msg: PeerMessage): void {
    if (msg.side === this.#config.side) return; // the server echoes ours back
    if (this.#peerSide !== null && msg.side !== this.#peerSide) return; // a third side: "crowded"
    this.#peerSide = msg.side;
    this.#release();
    if (msg.phase === "pake") return this.#onPake(msg.body);
    const ready = this.#key !== null && (this.#verified || msg.phase === "version");
    if (ready) return this.#onEncrypted(msg);
    if (this.#early.length >= MAX_EARLY_MESSAGES) throw peerError("too-early", "the other side sent too much before the key exchange");
    this.#early.push(msg);
  }

  #onPake(bodyHex: string): void {
    const pake = this.#pake;
    if (pake === null) return; // a repeated pake
    this.#pake = null;
    const body = hexToBytes(bodyHex);
    if (body === null) throw peerError("pake-bad-hex", "the other side's pake body is not hex");
    const { key, goKey } = pake.finish(body);
    this.#key = key;
    this.#goKey = goKey;
    if (goKey === null) {
      this.#events.push({ type: "key", verifier: verifier(key) });
      this.#sendVersion();
    } else {
      this.#events.push({ type: "timer", ms: VERSION_WAIT_MS });
    }
    this.#replayEarly();
  }

  #sendVersion(): void {
    this.#versionSent = true;
    const version = JSON.stringify({ app_versions: this.#config.appVersions ?? {} });
    this.#addEncrypted("version", utf8(version));
  }

  #replayEarly(): void {
    const early = this.#early;
    this.#early = [];
    for (const msg of early) this.#onMessage(msg);
  }

  #onEncrypted(msg: PeerMessage): void {
    if (msg.phase === "version") return this.#onVersion(msg);
    const n = phaseNumber(msg.phase);
    if (n === null || this.#inbox.seen(n)) return; // dilation and unknown phases, duplicates
    const plaintext = this.#open(msg, "bad-message");
    for (const [phase, body] of this.#inbox.accept(n, plaintext)) this.#events.push({ type: "message", phase, body });
  }

  #onVersion(msg: PeerMessage): void {
    if (this.#verified || this.#key === null) return;
    const plaintext = this.#open(msg, "wrong-code");
    let versions: unknown = null;
    try {
      versions = JSON.parse(fromUtf8(plaintext) ?? "null");
    } catch {
      // refused below
    }
    if (typeof versions !== "object" || versions === null || Array.isArray(versions)) {
      throw peerError("bad-version", "the other side's version message is not a JSON object");
    }
    this.#verified = true;
    if (this.#goKey !== null) this.#events.push({ type: "key", verifier: verifier(this.#key) });
    this.#goKey = null;
    if (!this.#versionSent) this.#sendVersion();
    this.#events.push({ type: "version", versions: versions as Record<string, unknown>, verifier: verifier(this.#key) });
    for (const plaintext of this.#heldOut.splice(0)) this.#sendPhase(plaintext);
    this.#replayEarly();
  }

  /** Opens a peer message; a failure is reported as `code` (wrong code, or a bad message). */
  #open(msg: PeerMessage, code: string): Uint8Array {
    if (msg.body.length > 2 * (MAX_PAYLOAD + OVERHEAD)) throw peerError("too-big", "the other side's message is too big");
    const body = hexToBytes(msg.body);
    if (body === null || this.#key === null) throw peerError("bad-message", "the other side's message is not hex");
    // gospake2's key is tried only until the peer's `version` opens; the key that opened it stays.
    for (const key of this.#goKey === null ? [this.#key] : [this.#key, this.#goKey]) {
      try {
        const plaintext = decryptPhase(key, msg.side, msg.phase, body);
        this.#key = key;
        return plaintext;
      } catch {
        // the next key, or refused below
      }
    }
    if (code === "wrong-code" && !this.#versionSent) {
      // Ours goes out all the same, so the peer learns it too instead of waiting for it.
      this.#goKey = null;
      this.#sendVersion();
    }
    const why = code === "wrong-code" ? "wrong code: the other side used a different code" : `message in phase ${msg.phase} does not decrypt`;
    throw peerError(code, why);
  }

  #sendPhase(plaintext: Uint8Array): void {
    this.#addEncrypted(String(this.#nextPhase), plaintext);
    this.#nextPhase += 1;
  }

  #addEncrypted(phase: string, plaintext: Uint8Array): void {
    if (this.#key === null) return;
    this.#add(phase, encryptPhase(this.#key, this.#config.side, phase, plaintext, this.#random));
  }

  #add(phase: string, body: Uint8Array): void {
    this.#send.push({ type: "add", phase, body: bytesToHex(body) });
  }

  /** Once, after the claim went out; the server handles our commands in order. */
  #release(): void {
    if (this.#released || this.#code === null) return;
    this.#released = true;
    this.#send.push({ type: "release", nameplate: this.#code.nameplate });
  }

  #close(mood: Mood): void {
    if (this.#closing !== null || this.#closed) return;
    this.#closing = mood;
    this.#release();
    if (this.#mailbox !== null) this.#send.push({ type: "close", mailbox: this.#mailbox, mood });
    else this.#onClosed();
  }

  #onClosed(): void {
    if (this.#closing === null || this.#closed) return;
    this.#closed = true;
    this.#events.push({ type: "closed", mood: this.#closing });
  }
}
