/**
 * The transit worker: one connection through the WebSocket relay
 * (WORMHOLE-PROTOCOL.md §3.6) around the sans-IO `TransitConnection`. It seals
 * and opens every record here, off the page's thread, so the page only hashes
 * and stores; the CLI peer reaches the same relay over TCP, paired by the
 * token derived from the transit key.
 *
 * Received plaintext goes to the page in 1 MiB chunks; sealed records go out
 * in frames of up to 1 MiB (frame boundaries mean nothing to the peer). Both
 * ways are paced by credits, so no end piles the file up in memory: a sender
 * gets one `credit` per chunk once the socket has room; a receiver reads
 * from the socket only while the page has granted data chunks (`credit`),
 * which it does as its download consumes them.
 *
 * Memory stays flat: records are sealed into one reused frame buffer
 * (`send` copies it) and opened in reused buffers, and every buffer we are
 * done with is detached at once (`free`), which hands its memory back now
 * instead of at V8's next GC (up to 64 MiB of garbage per thread).
 */
import { Batcher } from "../page/batcher.ts";
import { free } from "../page/buffers.ts";
import { PageError } from "../page/errors.ts";
import { FRAME_OVERHEAD, TransitConnection, newRelaySide, type TransitKey, type TransitStep } from "../wormhole/index.ts";
import type { FromWorker, SocketKind, ToWorker } from "./protocol.ts";
import { sodiumReady, sodiumRecordCipher } from "./sodium.ts";
import { openRelaySocket, type RelaySocket } from "./socket.ts";

const FRAME = 1024 * 1024;
const DATA = 1024 * 1024;
/** Plaintext per record we seal: every peer takes records of any size (§3.5). */
const RECORD = 64 * 1024;
/** A partial data chunk waits at most this long, so progress keeps moving on slow links. */
const DATA_FLUSH_MS = 100;
const CONNECT_TIMEOUT_MS = 60_000;

interface WorkerScope {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

class Session {
  #sock: RelaySocket | null = null;
  readonly #conn: TransitConnection;
  readonly #data = new Batcher(DATA, (c) => this.#postData(c));
  readonly #frame = new Uint8Array(FRAME + RECORD + FRAME_OVERHEAD);
  /** Sends run one after another: they share `#frame`. */
  #sending: Promise<void> = Promise.resolve();
  #left: number;
  readonly #receiver: boolean;
  /** Data chunks the page can still take; reading waits at zero. */
  #credits = 0;
  #creditWaiter: (() => void) | null = null;
  #flushTimer: ReturnType<typeof setTimeout> | null = null;
  #connectTimer: ReturnType<typeof setTimeout> | null = null;
  #isConnected = false;
  /** Set once a close is expected (or already reported): no error follows. */
  #done = false;

  constructor(conn: TransitConnection, receiver: boolean, expect: number) {
    this.#conn = conn;
    this.#receiver = receiver;
    this.#left = expect;
  }

  async open(url: string, kind: SocketKind): Promise<void> {
    this.#sock = await openRelaySocket(url, {
      data: (buf) => this.#onData(buf),
      closed: () => this.#onClosed(),
      ready: () => this.#ready(),
    }, kind);
    this.#connectTimer = setTimeout(() => this.fail(new PageError("peer-gone", "The other side never reached the relay")), CONNECT_TIMEOUT_MS);
    this.#write(this.#conn.start());
  }

  /** Seals `chunk` into records and sends them; credits the page once the socket has room. */
  send(chunk: Uint8Array): void {
    // A receiver sends one record, its ack, after all the data: the sender may hang up as soon as it reads it.
    if (this.#receiver) this.#done = true;
    this.#sending = this.#sending.then(() => this.#send(chunk)).catch((e: unknown) => this.fail(e));
  }

  /** The page can take `n` more data chunks. */
  credit(n: number): void {
    this.#credits += n;
    if (this.#credits > 0) this.#creditWaiter?.();
  }

  close(): void {
    this.#done = true;
    this.#sock?.close();
  }

  /** Waits (bounded) for the peer to close, e.g. the sender once it has read our ack. */
  linger(ms: number): void {
    this.#done = true; // a close now is the expected end, not a failure
    void this.#sending.then(() => setTimeout(() => this.#sock?.close(), ms));
  }

  fail(e: unknown): void {
    if (this.#done) return;
    this.#done = true;
    const kind = e instanceof PageError ? e.kind : "peer-error";
    post({ type: "error", kind, message: e instanceof Error ? e.message : String(e) });
    this.#sock?.close();
  }

  async #send(chunk: Uint8Array): Promise<void> {
    let filled = 0;
    for (let i = 0; i < chunk.length; i += RECORD) {
      filled += this.#conn.sealInto(chunk.subarray(i, i + RECORD), this.#frame, filled);
      if (filled >= FRAME) filled = await this.#sendFrame(filled);
    }
    await this.#sendFrame(filled);
    free(chunk.buffer);
    if (!this.#done) post({ type: "credit" });
  }

  async #sendFrame(filled: number): Promise<0> {
    if (filled > 0 && this.#sock !== null) await this.#sock.send(this.#frame.subarray(0, filled));
    return 0;
  }

  /** Reading waits only in the data phase: the handshake needs no credit. */
  #ready(): Promise<void> {
    if (!this.#receiver || !this.#isConnected || this.#credits > 0 || this.#done) return Promise.resolve();
    return new Promise((resolve) => (this.#creditWaiter = () => ((this.#creditWaiter = null), resolve())));
  }

  #postData(c: Uint8Array<ArrayBuffer>): void {
    this.#credits -= 1;
    post({ type: "data", chunk: c.buffer }, [c.buffer]);
  }

  #onClosed(): void {
    if (this.#done) return post({ type: "closed" });
    this.fail(new PageError("peer-gone", "The other side went away (the transit connection closed)"));
  }

  #onData(data: ArrayBuffer | null): void {
    if (data === null) return this.fail(new PageError("peer-error", "The relay sent a text frame"));
    try {
      this.#write(this.#conn.receive(new Uint8Array(data), (p) => this.#onRecord(p)));
      free(data);
    } catch (e) {
      this.fail(new PageError("peer-error", `Transit failed: ${e instanceof Error ? e.message : String(e)}`));
    }
    if (this.#data.pending > 0 && this.#flushTimer === null) {
      this.#flushTimer = setTimeout(() => ((this.#flushTimer = null), this.#data.flush()), DATA_FLUSH_MS);
    }
  }

  #write(step: TransitStep): void {
    for (const bytes of step.send) this.#sock?.send(bytes).catch(() => {}); // a failure shows as `closed`
    for (const ev of step.events) {
      if (ev.type === "handshake-done") this.#write(this.#conn.decide(true)); // one connection: always "go"
      else if (ev.type === "connected") this.#connected();
      else this.#onRecord(ev.plaintext);
    }
  }

  /** `plaintext` is only valid during this call (a reused buffer). */
  #onRecord(plaintext: Uint8Array): void {
    if (this.#receiver) this.#take(plaintext);
    else post({ type: "record", bytes: plaintext.slice() });
  }

  #connected(): void {
    this.#isConnected = true;
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer);
    post({ type: "connected" });
  }

  #take(plaintext: Uint8Array): void {
    if (plaintext.length > this.#left) throw new PageError("peer-error", "The other side sent more than it offered");
    this.#left -= plaintext.length;
    this.#data.add(plaintext);
    if (this.#left === 0) this.#data.flush();
  }
}

let session: Session | null = null;

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "open") return void open(m, m.key as TransitKey);
  if (session === null) return;
  if (m.type === "send") session.send(new Uint8Array(m.chunk));
  else if (m.type === "credit") session.credit(m.chunks);
  else if (m.type === "close") session.close();
  else session.linger(m.ms);
};

async function open(m: Extract<ToWorker, { type: "open" }>, key: TransitKey): Promise<void> {
  await sodiumReady;
  const receiver = m.role === "receiver";
  const s = new Session(new TransitConnection(key, m.role, newRelaySide(), sodiumRecordCipher), receiver, m.expect);
  session = s;
  try {
    await s.open(m.url, m.socket);
  } catch (e) {
    post({ type: "error", kind: e instanceof PageError ? e.kind : "server-gone", message: e instanceof Error ? e.message : String(e) });
  }
}
