/**
 * The transit worker: one connection through the WebSocket relay
 * (WORMHOLE-PROTOCOL.md §3.6) around the sans-IO `TransitConnection`. It seals
 * and opens every record here, off the page's thread, so the page only hashes
 * and stores; the CLI peer reaches the same relay over TCP, paired by the
 * token derived from the transit key.
 *
 * Received plaintext goes to the page in 1 MiB chunks; sealed records go out
 * in frames of up to 1 MiB (frame boundaries mean nothing to the peer). A
 * sender gets one `credit` per chunk once the socket's buffer has room, so a
 * fast disk cannot pile the whole file up in memory.
 *
 * Memory stays flat: records are sealed into one reused frame buffer
 * (`send` copies it) and opened in reused buffers, and every buffer we are
 * done with is detached at once (`free`), which hands its memory back now
 * instead of at V8's next GC (up to 64 MiB of garbage per thread).
 */
import { Batcher } from "../page/batcher.ts";
import { PageError } from "../page/errors.ts";
import { openSocket } from "../page/socket.ts";
import { FRAME_OVERHEAD, TransitConnection, newRelaySide, type TransitKey, type TransitStep } from "../wormhole/index.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";

/** Above this many queued bytes the sender's next chunk waits. */
const HIGH_WATER = 4 * 1024 * 1024;
const FRAME = 1024 * 1024;
const DATA = 1024 * 1024;
/** Plaintext per record we seal: every peer takes records of any size (§3.5). */
const RECORD = 64 * 1024;
/** A partial data chunk waits at most this long, so progress keeps moving on slow links. */
const DATA_FLUSH_MS = 100;
const CONNECT_TIMEOUT_MS = 60_000;
const DRAIN_POLL_MS = 2;

interface WorkerScope {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

class Session {
  readonly #ws: WebSocket;
  readonly #conn: TransitConnection;
  readonly #data = new Batcher(DATA, (c) => post({ type: "data", chunk: c.buffer }, [c.buffer]));
  readonly #frame = new Uint8Array(FRAME + RECORD + FRAME_OVERHEAD);
  #left: number;
  readonly #receiver: boolean;
  #flushTimer: ReturnType<typeof setTimeout> | null = null;
  #connectTimer: ReturnType<typeof setTimeout> | null = null;
  /** Set once a close is expected (or already reported): no error follows. */
  #done = false;

  constructor(ws: WebSocket, conn: TransitConnection, receiver: boolean, expect: number) {
    this.#ws = ws;
    this.#conn = conn;
    this.#receiver = receiver;
    this.#left = expect;
    ws.onmessage = (ev) => this.#onData(ev.data);
    ws.onclose = () => {
      if (this.#done) return post({ type: "closed" });
      this.fail(new PageError("peer-gone", "The other side went away (the transit connection closed)"));
    };
    this.#connectTimer = setTimeout(() => this.fail(new PageError("peer-gone", "The other side never reached the relay")), CONNECT_TIMEOUT_MS);
    this.#write(conn.start());
  }

  /** Seals `chunk` into records, queues them, and credits the page once there is room. */
  async send(chunk: Uint8Array): Promise<void> {
    let filled = 0;
    for (let i = 0; i < chunk.length; i += RECORD) {
      filled += this.#conn.sealInto(chunk.subarray(i, i + RECORD), this.#frame, filled);
      if (filled >= FRAME) filled = this.#sendFrame(filled);
    }
    this.#sendFrame(filled);
    free(chunk.buffer);
    while (this.#ws.bufferedAmount > HIGH_WATER && !this.#done) await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    if (!this.#done) post({ type: "credit" });
  }

  /** WebSocket `send` copies, so the frame buffer is ours again at once. */
  #sendFrame(filled: number): 0 {
    if (filled > 0) this.#ws.send(this.#frame.subarray(0, filled));
    return 0;
  }

  close(): void {
    this.#done = true;
    this.#ws.close();
  }

  /** Waits (bounded) for the peer to close, e.g. the sender once it has read our ack. */
  linger(ms: number): void {
    this.#done = true; // a close now is the expected end, not a failure
    setTimeout(() => this.#ws.close(), ms);
  }

  fail(e: unknown): void {
    if (this.#done) return;
    this.#done = true;
    const kind = e instanceof PageError ? e.kind : "peer-error";
    post({ type: "error", kind, message: e instanceof Error ? e.message : String(e) });
    this.#ws.close();
  }

  #onData(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) return this.fail(new PageError("peer-error", "The relay sent a text frame"));
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
    for (const bytes of step.send) this.#ws.send(bytes as Uint8Array<ArrayBuffer>);
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

/** Detaches `buf`, releasing its memory now (ES2024 `ArrayBuffer.prototype.transfer`). */
function free(buf: ArrayBufferLike): void {
  (buf as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer }).transfer?.(0);
}

let session: Session | null = null;

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "open") return void open(m.url, m.key as TransitKey, m.role === "receiver", m.expect);
  if (session === null) return;
  if (m.type === "send") void session.send(new Uint8Array(m.chunk)).catch((err: unknown) => session?.fail(err));
  else if (m.type === "close") session.close();
  else session.linger(m.ms);
};

async function open(url: string, key: TransitKey, receiver: boolean, expect: number): Promise<void> {
  try {
    const ws = await openSocket(url, true);
    session = new Session(ws, new TransitConnection(key, receiver ? "receiver" : "sender", newRelaySide()), receiver, expect);
  } catch (e) {
    post({ type: "error", kind: e instanceof PageError ? e.kind : "server-gone", message: e instanceof Error ? e.message : String(e) });
  }
}
