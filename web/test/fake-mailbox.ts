// A small in-memory mailbox server with the reference server's habits that a
// client must cope with (WORMHOLE-PROTOCOL.md §1): `welcome` first, `ack`
// before every direct response, `add` echoed to every side that opened the
// mailbox (the sender too), stored messages replayed on `open`, a third side
// refused as `crowded`. Frames cross as JSON text, like a WebSocket.
import type { ClientMessage } from "../src/wormhole/mailbox-wire.ts";

interface Mailbox {
  messages: Record<string, unknown>[];
  sides: Set<string>;
  listeners: Set<Connection>;
}

export class FakeMailboxServer {
  readonly nameplates = new Map<string, string>();
  readonly mailboxes = new Map<string, Mailbox>();
  readonly log: { side: string | null; frame: ClientMessage }[] = [];
  #counter = 0;

  connect(): Connection {
    return new Connection(this);
  }

  mailboxFor(nameplate: string): string {
    let id = this.nameplates.get(nameplate);
    if (id === undefined) {
      id = `mb${++this.#counter}`;
      this.nameplates.set(nameplate, id);
      this.mailboxes.set(id, { messages: [], sides: new Set(), listeners: new Set() });
    }
    return id;
  }

  allocate(): string {
    for (let n = 1; ; n++) if (!this.nameplates.has(String(n))) return String(n);
  }
}

export class Connection {
  readonly #server: FakeMailboxServer;
  /** Frames waiting for the client, as the JSON text a WebSocket would carry. */
  readonly inbox: string[] = [];
  side: string | null = null;
  mailbox: Mailbox | null = null;

  constructor(server: FakeMailboxServer) {
    this.#server = server;
    this.#emit({ type: "welcome", welcome: { motd: "hello from test" } });
  }

  /** One frame from the client, as JSON text. */
  receive(text: string): void {
    const frame = JSON.parse(text) as ClientMessage;
    this.#server.log.push({ side: this.side, frame });
    this.#emit({ type: "ack", id: null });
    if (frame.type !== "bind" && this.side === null) return this.#error("must bind first", frame);
    this.#handle(frame);
  }

  #handle(frame: ClientMessage): void {
    switch (frame.type) {
      case "bind":
        this.side = frame.side;
        return;
      case "allocate": {
        const nameplate = this.#server.allocate();
        this.#server.mailboxFor(nameplate);
        return this.#emit({ type: "allocated", nameplate });
      }
      case "claim":
        return this.#claim(frame);
      case "open":
        return this.#open(frame.mailbox, frame);
      case "add":
        return this.#add(frame.phase, frame.body);
      case "release":
        return this.#emit({ type: "released" });
      case "close":
        this.mailbox?.listeners.delete(this);
        return this.#emit({ type: "closed" });
      default:
        return;
    }
  }

  #claim(frame: ClientMessage & { type: "claim" }): void {
    const id = this.#server.mailboxFor(frame.nameplate);
    const mailbox = this.#server.mailboxes.get(id)!;
    if (!mailbox.sides.has(this.side!) && mailbox.sides.size >= 2) return this.#error("crowded", frame);
    mailbox.sides.add(this.side!);
    this.#emit({ type: "claimed", mailbox: id });
  }

  #open(id: string, frame: ClientMessage): void {
    const mailbox = this.#server.mailboxes.get(id);
    if (mailbox === undefined) return this.#error("no such mailbox", frame);
    this.mailbox = mailbox;
    mailbox.listeners.add(this);
    for (const m of mailbox.messages) this.#emit(m);
  }

  #add(phase: string, body: string): void {
    const message = { type: "message", side: this.side, phase, body, id: null, server_rx: 1 };
    this.mailbox!.messages.push(message);
    for (const listener of this.mailbox!.listeners) listener.#emit(message);
  }

  #error(error: string, orig: unknown): void {
    this.#emit({ type: "error", error, orig });
  }

  #emit(frame: Record<string, unknown>): void {
    this.inbox.push(JSON.stringify({ ...frame, server_tx: 1700000000.25 }));
  }
}
