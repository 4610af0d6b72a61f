/**
 * The mailbox WebSocket around the sans-IO `MailboxClient`: frames in are
 * JSON-parsed and fed to it, frames it returns are sent, its events are queued
 * for the flow to `await`. A socket that drops before `closed` means the
 * server went away, and says so.
 */
import { bytesToHex } from "../wormhole/bytes.ts";
import {
  MailboxClient,
  encodePeerMessage,
  parsePeerMessage,
  systemRandom,
  type MailboxEvent,
  type Mood,
  type PeerMessage,
  type SharedKey,
  type Step,
} from "../wormhole/index.ts";
import { PageError, WRONG_CODE } from "./errors.ts";
import { AsyncQueue } from "./queue.ts";
import { openSocket } from "./socket.ts";

const CLOSE_TIMEOUT_MS = 5_000;

export class MailboxSession {
  readonly #ws: WebSocket;
  readonly #client: MailboxClient;
  readonly #events = new AsyncQueue<MailboxEvent>();
  #closed = false;

  private constructor(ws: WebSocket, client: MailboxClient) {
    this.#ws = ws;
    this.#client = client;
    ws.onmessage = (ev) => this.#onFrame(ev.data);
    ws.onclose = () => this.#onSocketClosed();
  }

  static async open(url: string, appid: string): Promise<MailboxSession> {
    const ws = await openSocket(url);
    const side = bytesToHex(systemRandom(5));
    const client = new MailboxClient({ appid, side, clientVersion: ["ferry-web", "0"] });
    const session = new MailboxSession(ws, client);
    session.#apply(client.start());
    return session;
  }

  get sharedKey(): SharedKey | null {
    return this.#client.sharedKey;
  }

  setCode(code: string): void {
    this.#apply(this.#client.setCode(code));
  }

  allocateCode(): void {
    this.#apply(this.#client.allocateCode(2));
  }

  sendMessage(msg: PeerMessage): void {
    this.#apply(this.#client.send(encodePeerMessage(msg)));
  }

  /** The next event; wrong code and mailbox errors come out as a thrown `PageError`. */
  async next(): Promise<MailboxEvent> {
    const ev = await this.#events.next();
    if (ev.type === "wrong-code") throw new PageError("wrong-code", WRONG_CODE);
    if (ev.type === "error") throw new PageError(ev.error.fault === "server" ? "server-gone" : "peer-error", ev.error.message);
    return ev;
  }

  /** The next decrypted peer message, skipping the events a flow does not need. */
  async nextMessage(): Promise<PeerMessage> {
    for (;;) {
      const ev = await this.next();
      if (ev.type === "message") return parsePeerMessage(ev.body);
      if (ev.type === "closed") throw new PageError("peer-gone", "The mailbox closed before the other side answered");
    }
  }

  /** Closes the mailbox with `mood` and waits (bounded) for the server's `closed`. */
  async close(mood: Mood): Promise<void> {
    if (this.#closed) return;
    try {
      this.#apply(this.#client.close(mood));
      await withTimeout(this.#waitClosed(), CLOSE_TIMEOUT_MS);
    } catch {
      // best effort: the transfer is already decided
    } finally {
      this.#closed = true;
      this.#ws.close();
    }
  }

  async #waitClosed(): Promise<void> {
    for (;;) if ((await this.#events.next()).type === "closed") return;
  }

  #apply(step: Step): void {
    for (const frame of step.send) this.#ws.send(JSON.stringify(frame));
    for (const ev of step.events) {
      if (ev.type === "timer") setTimeout(() => this.#closed || this.#apply(this.#client.timeout()), ev.ms);
      else this.#events.push(ev);
    }
  }

  #onFrame(data: unknown): void {
    if (typeof data !== "string") return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return this.#events.fail(new PageError("server-gone", "The mailbox server sent something that is not JSON"));
    }
    this.#apply(this.#client.handle(frame));
  }

  #onSocketClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#events.fail(new PageError("server-gone", "Lost the connection to the ferry server (mailbox)"));
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}
