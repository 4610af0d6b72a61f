// Mailbox clients on the fake server, for the machine's tests: each on its
// own connection, frames crossing as JSON text both ways.
import assert from "node:assert/strict";
import { MailboxClient, type MailboxEvent, type Step } from "../src/wormhole/mailbox.ts";
import type { ClientMessage } from "../src/wormhole/mailbox-wire.ts";
import type { Random } from "../src/wormhole/random.ts";
import type { Connection, FakeMailboxServer } from "./fake-mailbox.ts";
import { seeded } from "./kat.ts";

export const APPID = "lothar.com/wormhole/text-or-file-xfer";

/** One client on its own connection; frames cross as JSON text both ways. */
export class Peer {
  readonly events: MailboxEvent[] = [];
  readonly sent: ClientMessage[] = [];
  constructor(readonly client: MailboxClient, readonly conn: Connection) {}

  apply(step: Step): void {
    this.events.push(...step.events);
    for (const frame of step.send) {
      this.sent.push(frame);
      this.conn.receive(JSON.stringify(frame));
    }
  }

  /** Delivers what the server queued for us; false when there was nothing. */
  pump(): boolean {
    const frames = this.conn.inbox.splice(0);
    for (const text of frames) this.apply(this.client.handle(JSON.parse(text)));
    return frames.length > 0;
  }

  of<T extends MailboxEvent["type"]>(type: T): Extract<MailboxEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<MailboxEvent, { type: T }> => e.type === type);
  }
}

/** A client bound on a fresh connection; `random` is a seed or the `Random` itself. */
export function peer(server: FakeMailboxServer, side: string, random: number | Random): Peer {
  const rng = typeof random === "number" ? seeded(random) : random;
  const client = new MailboxClient({ appid: APPID, side, random: rng, clientVersion: ["ferry-web", "test"] });
  const p = new Peer(client, server.connect());
  p.apply(client.start());
  return p;
}

export function run(...peers: Peer[]): void {
  for (let rounds = 0; rounds < 100; rounds++) {
    if (!peers.map((p) => p.pump()).some(Boolean)) return;
  }
  assert.fail("the exchange did not settle");
}
