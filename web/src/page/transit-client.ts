/**
 * The page's end of the transit worker (../transit/worker.ts): it opens the
 * relay connection there, hands over plaintext chunks to seal (at most
 * `WINDOW` in flight) or receives opened ones, and turns the worker's
 * failures into `PageError`s.
 */
import type { FromWorker, ToWorker } from "../transit/protocol.ts";
import type { Role, TransitKey } from "../wormhole/index.ts";
import { whole } from "./buffers.ts";
import { PageError } from "./errors.ts";
import { AsyncQueue } from "./queue.ts";

/** Chunks posted to the worker and not yet credited back. */
const WINDOW = 4;
/** Beyond the linger asked for, how long we wait for the worker to report. */
const LINGER_SLACK_MS = 1_000;

export class TransitClient {
  readonly #worker: Worker;
  readonly #records = new AsyncQueue<Uint8Array>();
  readonly #credits: (() => void)[] = [];
  #inFlight = 0;
  #error: PageError | null = null;
  #closed!: () => void;
  #connected: () => void = () => {};
  readonly #closedP = new Promise<void>((r) => (this.#closed = r));
  /** Rejects once, when the connection fails (never if it ends well). */
  readonly failed: Promise<never>;
  #fail!: (e: PageError) => void;

  private constructor(worker: Worker, onData: (chunk: Uint8Array) => void) {
    this.#worker = worker;
    this.failed = new Promise<never>((_, reject) => (this.#fail = reject));
    this.failed.catch(() => {});
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.#on(e.data, onData);
    worker.onerror = (e) => this.#failWith(new PageError("local", `The transit worker failed: ${e.message}`));
  }

  /** Resolves once records can flow; `expect` bounds what a receiver takes. */
  static async open(url: string, key: TransitKey, role: Role, expect: number, onData: (chunk: Uint8Array) => void = () => {}): Promise<TransitClient> {
    const worker = new Worker(new URL("transit.js", location.href));
    const client = new TransitClient(worker, onData);
    const connected = new Promise<void>((resolve) => (client.#connected = resolve));
    // `?transit-socket=websocket` forces the plain WebSocket the browsers without WebSocketStream use.
    const socket = new URLSearchParams(location.search).get("transit-socket") === "websocket" ? "websocket" : "auto";
    client.#post({ type: "open", url, key, role, expect, socket });
    await Promise.race([connected, client.failed]);
    return client;
  }

  /** Hands `chunk` (its buffer is transferred) to the worker; waits while the window is full. */
  async send(chunk: Uint8Array): Promise<void> {
    while (this.#inFlight >= WINDOW) await Promise.race([new Promise<void>((r) => this.#credits.push(r)), this.failed]);
    if (this.#error !== null) throw this.#error;
    this.#inFlight += 1;
    const buf = whole(chunk).buffer;
    this.#post({ type: "send", chunk: buf }, [buf]);
  }

  /** Receiver: the page can take `chunks` more data chunks (its download consumed them). */
  credit(chunks: number): void {
    this.#post({ type: "credit", chunks });
  }

  /** The peer's next record (a sender's only one is the receiver's ack). */
  nextRecord(): Promise<Uint8Array> {
    return Promise.race([this.#records.next(), this.failed]);
  }

  /** Waits (bounded) for the peer to hang up after our last record, then ends the worker. */
  async linger(ms: number): Promise<void> {
    this.#post({ type: "linger", ms });
    await Promise.race([this.#closedP, this.failed.catch(() => {}), new Promise((r) => setTimeout(r, ms + LINGER_SLACK_MS))]);
    this.#worker.terminate();
  }

  /** Ends the connection now; a flow still waiting on it (a cancel) gets `cancelled`. */
  close(): void {
    this.#post({ type: "close" });
    this.#closed();
    this.#failWith(new PageError("cancelled", "Cancelled"));
  }

  #post(m: ToWorker, transfer: Transferable[] = []): void {
    this.#worker.postMessage(m, transfer);
  }

  #on(m: FromWorker, onData: (chunk: Uint8Array) => void): void {
    switch (m.type) {
      case "connected":
        return this.#connected();
      case "data":
        return onData(new Uint8Array(m.chunk));
      case "record":
        return this.#records.push(m.bytes);
      case "credit":
        this.#inFlight -= 1;
        return this.#credits.shift()?.();
      case "closed":
        return this.#closed();
      case "error":
        return this.#failWith(new PageError(m.kind, m.message));
    }
  }

  #failWith(e: PageError): void {
    if (this.#error !== null) return;
    this.#error = e;
    this.#fail(e);
    this.#worker.terminate();
  }
}
