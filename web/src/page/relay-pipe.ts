/**
 * A transit connection through the WebSocket relay (WORMHOLE-PROTOCOL.md §3.6):
 * binary frames carry the byte stream, with any boundaries, into the sans-IO
 * `TransitConnection`. The CLI peer reaches the same relay over TCP; the relay
 * pairs us by the token derived from the transit key.
 *
 * Records go to `onRecord` synchronously (no promise per record: a 1 GiB file
 * is 65536 of them). Sends wait while the socket's buffer is full, so a fast
 * disk read cannot pile the whole file up in memory.
 */
import { TransitConnection, newRelaySide, type Role, type TransitKey, type TransitStep } from "../wormhole/index.ts";
import { PageError } from "./errors.ts";
import { openSocket } from "./mailbox-session.ts";

/** Above this many queued bytes a sender waits for the socket to drain. */
const HIGH_WATER = 4 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 60_000;

export class RelayPipe {
  readonly #ws: WebSocket;
  readonly #conn: TransitConnection;
  readonly #onRecord: (plaintext: Uint8Array) => void;
  #connected!: () => void;
  #failed!: (e: unknown) => void;
  readonly connected: Promise<void>;
  /** Resolves when the socket closes, whoever closed it. */
  readonly closed: Promise<void>;
  #done = false;

  private constructor(ws: WebSocket, conn: TransitConnection, onRecord: (p: Uint8Array) => void) {
    this.#ws = ws;
    this.#conn = conn;
    this.#onRecord = onRecord;
    this.connected = new Promise((resolve, reject) => {
      this.#connected = resolve;
      this.#failed = reject;
    });
    // A failure before `connected` would otherwise be an unhandled rejection.
    this.connected.catch(() => {});
    ws.onmessage = (ev) => this.#onData(ev.data);
    this.closed = new Promise((resolve) => {
      ws.onclose = () => {
        resolve();
        this.#fail(new PageError("peer-gone", "The other side went away (the transit connection closed)"));
      };
    });
  }

  /** Connects, writes the relay line, and resolves once records can flow. */
  static async open(url: string, tk: TransitKey, role: Role, onRecord: (p: Uint8Array) => void): Promise<RelayPipe> {
    const ws = await openSocket(url, true);
    const pipe = new RelayPipe(ws, new TransitConnection(tk, role, newRelaySide()), onRecord);
    pipe.#write(pipe.#conn.start());
    const timer = setTimeout(() => pipe.#fail(new PageError("peer-gone", "The other side never reached the relay")), CONNECT_TIMEOUT_MS);
    try {
      await pipe.connected;
    } finally {
      clearTimeout(timer);
    }
    return pipe;
  }

  /** Seals and queues records; resolves when the socket has room again. */
  async send(plaintexts: Uint8Array[]): Promise<void> {
    for (const p of plaintexts) this.#ws.send(this.#conn.seal(p) as Uint8Array<ArrayBuffer>);
    while (this.#ws.bufferedAmount > HIGH_WATER) {
      if (this.#done) throw new PageError("peer-gone", "The other side went away");
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.#done = true;
    this.#ws.close();
  }

  /** Waits (bounded) for the peer to close, e.g. the sender once it has read our ack. */
  async waitPeerClose(ms: number): Promise<void> {
    this.#done = true; // a close now is the expected end, not a failure
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, ms))]);
    this.#ws.close();
  }

  #onData(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) return this.#fail(new PageError("peer-error", "The relay sent a text frame"));
    try {
      this.#write(this.#conn.receive(new Uint8Array(data)));
    } catch (e) {
      this.#fail(new PageError("peer-error", `Transit failed: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  #write(step: TransitStep): void {
    for (const bytes of step.send) this.#ws.send(bytes as Uint8Array<ArrayBuffer>);
    for (const ev of step.events) {
      if (ev.type === "handshake-done") this.#write(this.#conn.decide(true)); // one connection: always "go"
      else if (ev.type === "connected") this.#connected();
      else this.#onRecord(ev.plaintext);
    }
  }

  #fail(e: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#failed(e);
    this.onError(e);
    this.#ws.close();
  }

  /** Set by the flow: called once when the pipe dies after (or before) connecting. */
  onError: (e: unknown) => void = () => {};
}

